// The message log's rows: day separators and messages, built from the
// loaded window of a conversation. The window changes a page at a time
// (older messages above, newer below, the far end dropped beyond its
// size), and the rows of the messages that stay are the same objects as
// before: the list recognises them (their rendered content, their measured
// height) by identity.
import type { Message } from '../protocol/types';
import type { OutboxItem } from '../sync/store';
import { dayKey, dayLabel } from './format';

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'msg'; key: string; m: Message; first: boolean }
  | { kind: 'out'; key: string; item: OutboxItem };

type MsgRow = Extract<Row, { kind: 'msg' }>;

// Row objects are cached per message (and per day), so that paging through
// tens of thousands of messages allocates only the new rows.
const msgRows = new WeakMap<Message, MsgRow>();
// A day separator is keyed by the message that starts the day: when older
// messages of the same day are loaded above, the separator moves up as a new
// row instead of being the same row somewhere else (which would move the
// reader's place).
const dayRows = new WeakMap<Message, Row>();

/** Whether `m` starts a run of one sender's messages after `prev`. */
export function firstOfRun(prev: Message | null, m: Message): boolean {
  return !prev || prev.sender_id !== m.sender_id || m.created_at - prev.created_at > 5 * 60_000;
}

/** What the rows were built from, and the rows. */
export interface BuiltRows {
  messages: Message[];
  rows: Row[];
}

/**
 * The rows of `messages`, the same as `buildRows(messages)`, reusing those
 * built for `previous` when the window only gained messages at one end and
 * maybe lost some at the other (scrolling up: older ones above, the newest
 * dropped; scrolling down: newer ones below, the oldest dropped), so that a
 * page costs its own rows, not the window's.
 */
export function extendRows(previous: BuiltRows | null, messages: Message[]): Row[] {
  const old = previous?.messages ?? [];
  if (!previous || old.length === 0 || messages.length === 0) return buildRows(messages);
  const rows = previous.rows;
  // Older messages above: `messages` is a head, then a prefix of `old`.
  const n = messages[0] === old[0] ? 0 : indexOfFrom(messages, old[0]!, 0);
  if (n >= 0) {
    const kept = messages.length - n;
    if (kept <= old.length && sameSpan(messages, n, old, 0, kept)) {
      const end = rowIndex(rows, old[kept - 1]!, kept - 1) + 1;
      let tail = end === rows.length ? rows : rows.slice(0, end);
      if (n === 0) return tail;
      const last = messages[n - 1]!;
      const next = old[0]!;
      if (dayKey(last.created_at) === dayKey(next.created_at)) {
        // The old first day separator is now inside the day: drop it, and the
        // old first message may no longer start a run.
        tail = tail.slice(1);
        const first = firstOfRun(last, next);
        const row = tail[0];
        if (row && row.kind === 'msg' && row.first !== first) {
          const replaced = { kind: 'msg' as const, key: row.key, m: row.m, first };
          msgRows.set(row.m, replaced);
          tail = [replaced, ...tail.slice(1)];
        }
      }
      return buildRows(messages.slice(0, n)).concat(tail);
    }
  }
  // Newer messages below: a suffix of `old`, then a tail.
  const d = indexOfFrom(old, messages[0]!, 0);
  if (d >= 0) {
    const kept = old.length - d;
    if (kept <= messages.length && sameSpan(messages, 0, old, d, kept)) {
      const at = rowIndex(rows, old[d]!, d);
      // The new first message has a day separator and starts a run, as the
      // first row of any list.
      const head = d === 0 ? rows.slice(0, at + 1) : buildRows([old[d]!]);
      const out = head.concat(rows.slice(at + 1));
      return kept === messages.length ? out : out.concat(buildRows(messages.slice(kept), old[old.length - 1]!));
    }
  }
  return buildRows(messages);
}

/** Rows of `messages`; `before` is the message shown just above them, if any. */
export function buildRows(messages: Message[], before: Message | null = null): Row[] {
  const out: Row[] = [];
  let day = before ? dayKey(before.created_at) : '';
  let prev: Message | null = before;
  for (const m of messages) {
    const d = dayKey(m.created_at);
    if (d !== day) {
      let dr = dayRows.get(m);
      if (!dr) {
        dr = { kind: 'day', key: `d${m.id}`, label: dayLabel(m.created_at) };
        dayRows.set(m, dr);
      }
      out.push(dr);
      day = d;
      prev = null;
    }
    const first = firstOfRun(prev, m);
    let row = msgRows.get(m);
    if (!row || row.first !== first) {
      row = { kind: 'msg', key: `m${m.id}`, m, first };
      msgRows.set(m, row);
    }
    out.push(row);
    prev = m;
  }
  return out;
}

function indexOfFrom(list: Message[], m: Message, from: number): number {
  for (let i = from; i < list.length; i++) if (list[i] === m) return i;
  return -1;
}

/** Whether `a` from `ai` and `b` from `bi` hold the same `len` objects (pointer checks: cheap). */
function sameSpan(a: Message[], ai: number, b: Message[], bi: number, len: number): boolean {
  if (ai + len > a.length || bi + len > b.length) return false;
  for (let i = 0; i < len; i++) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}

/** The index of `m`'s row in `rows`, where it is the `index`th message (its row is at least that far in). */
function rowIndex(rows: Row[], m: Message, index: number): number {
  for (let i = index; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.kind === 'msg' && r.m === m) return i;
  }
  throw new Error('rows: a message of the window has no row');
}
