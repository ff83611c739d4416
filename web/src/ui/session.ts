// The signed-in session, kept in localStorage so that a reload (even with
// the server unreachable) opens the app straight away. The device token of
// each username is kept apart and survives sign-out: it is not a credential,
// it only keeps others' failed logins from throttling this device.

import type { LoginResponse, Me } from '../protocol/types';

export interface SavedSession {
  token: string;
  session_id: number;
  user: Me;
}

const KEY = 'parley.session';

export function loadSession(): SavedSession | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as SavedSession;
    return typeof s.token === 'string' && s.user && typeof s.user.id === 'number' ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(login: LoginResponse): SavedSession {
  const s: SavedSession = { token: login.token, session_id: login.session.id, user: login.user };
  localStorage.setItem(KEY, JSON.stringify(s));
  localStorage.setItem(`parley.device.${login.user.username}`, login.device_token);
  return s;
}

export function updateSavedUser(user: Me): void {
  const s = loadSession();
  if (s) localStorage.setItem(KEY, JSON.stringify({ ...s, user }));
}

export function clearSession(): void {
  localStorage.removeItem(KEY);
}

export function deviceToken(username: string): string | undefined {
  return localStorage.getItem(`parley.device.${username.toLowerCase()}`) ?? undefined;
}
