// Sign in, registration, and the two-factor step.
import { useState } from 'preact/hooks';
import { ApiError, RestClient } from '../sync/rest';
import { deviceToken, saveSession, type SavedSession } from './session';
import type { LoginResponse, TwoFactorChallenge } from '../protocol/types';

type Mode = 'signin' | 'register' | 'code';

export function SignIn({ onSignedIn, notice }: { onSignedIn: (s: SavedSession) => void; notice: string | null }) {
  const [mode, setMode] = useState<Mode>('signin');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [code, setCode] = useState('');
  const [challenge, setChallenge] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const rest = new RestClient();

  const finish = (r: LoginResponse) => onSignedIn(saveSession(r));

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (mode === 'code') {
        finish(await rest.secondFactor(challenge, code.trim()));
        return;
      }
      if (mode === 'register') await rest.register(username.trim(), password, displayName.trim());
      const r = await rest.logIn(username.trim(), password, deviceToken(username.trim()));
      if ((r as TwoFactorChallenge).two_factor_required) {
        setChallenge((r as TwoFactorChallenge).challenge);
        setMode('code');
      } else finish(r as LoginResponse);
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  const title = mode === 'register' ? 'Create your account' : mode === 'code' ? 'Two-step sign-in' : 'Sign in to Parley';
  return (
    <div class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <div class="brand"><img src="/icon.svg" alt="" width={40} height={40} /><span>Parley</span></div>
        <h1 id="signin-title">{title}</h1>
        {notice && <p class="notice" role="status">{notice}</p>}
        {mode !== 'code' && (
          <>
            <label>
              Username
              <input name="username" autoComplete="username" required minLength={3} maxLength={32} pattern="[A-Za-z][A-Za-z0-9_.]{2,31}"
                value={username} onInput={(e) => setUsername(e.currentTarget.value)} autoFocus />
            </label>
            {mode === 'register' && (
              <label>
                Display name
                <input name="display_name" autoComplete="name" required maxLength={64} value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
              </label>
            )}
            <label>
              Password
              <input name="password" type="password" autoComplete={mode === 'register' ? 'new-password' : 'current-password'} required
                minLength={mode === 'register' ? 8 : 1} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          </>
        )}
        {mode === 'code' && (
          <label>
            Code
            <input name="code" inputMode="numeric" autoComplete="one-time-code" required maxLength={64} value={code} aria-describedby="code-hint"
              onInput={(e) => setCode(e.currentTarget.value)} autoFocus />
          </label>
        )}
        {mode === 'code' && <p id="code-hint" class="hint">The 6-digit code from your authenticator app, or a recovery code.</p>}
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy}>
          {mode === 'register' ? 'Create account' : mode === 'code' ? 'Verify' : 'Sign in'}
        </button>
        {mode === 'signin' && <button type="button" class="link" onClick={() => { setMode('register'); setError(null); }}>Register</button>}
        {mode !== 'signin' && <button type="button" class="link" onClick={() => { setMode('signin'); setError(null); setCode(''); }}>I have an account</button>}
      </form>
    </div>
  );
}

function explain(e: unknown): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'invalid_credentials': return 'Wrong username or password.';
      case 'username_taken': return 'This username is taken.';
      case 'invalid_two_factor_code': return 'Wrong or expired code.';
      case 'invalid_challenge': return 'The sign-in took too long: start again.';
      case 'too_many_requests': return 'Too many attempts: wait a little and try again.';
      case 'network': return 'The server cannot be reached.';
      default: return e.message;
    }
  }
  return String(e);
}
