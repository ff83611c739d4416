// Formatting helpers for dates, sizes and names (browser locale).
import type { PublicUser } from '../protocol/types';

export function displayName(u: PublicUser | undefined): string {
  if (!u) return 'Unknown user';
  if (u.deleted) return 'Deleted user';
  return u.display_name || u.username;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const chars = parts.length > 1 ? [parts[0]![0], parts[parts.length - 1]![0]] : [...(parts[0] ?? '?')].slice(0, 2);
  return chars.join('').toUpperCase();
}

// Intl formatters are costly to create: one each, made once.
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const shortDateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

export function time(ms: number): string {
  return timeFormat.format(ms);
}

// The local day of a time, cheaply (called for every loaded message): the
// offset of the local time zone is taken once per hour of the clock.
let offsetMs = new Date().getTimezoneOffset() * 60_000;
let offsetAt = Date.now();
export function dayKey(ms: number): string {
  if (Math.abs(ms - offsetAt) > 3_600_000) {
    offsetMs = new Date(ms).getTimezoneOffset() * 60_000;
    offsetAt = ms;
  }
  return String(Math.floor((ms - offsetMs) / 86_400_000));
}

export function dayLabel(ms: number): string {
  const d = new Date(ms);
  const today = new Date();
  const yesterday = new Date();
  yesterday.setDate(today.getDate() - 1);
  if (dayKey(ms) === dayKey(today.getTime())) return 'Today';
  if (dayKey(ms) === dayKey(yesterday.getTime())) return 'Yesterday';
  return d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' });
}

/** A short time for the conversation list: the time today, else the date. */
export function shortWhen(ms: number): string {
  if (dayKey(ms) === dayKey(Date.now())) return time(ms);
  return shortDateFormat.format(ms);
}

export function relative(ms: number): string {
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(1)} GB`;
}

/** A small stable number for a user or conversation id (avatar colours). */
export function hue(id: number): number {
  return (id * 47) % 8;
}
