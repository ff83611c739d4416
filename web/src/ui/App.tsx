// The root: the sign-in screen, or the chat once a session exists.
import { useState } from 'preact/hooks';
import { SignIn } from './SignIn';
import { Chat } from './Chat';
import { clearSession, loadSession, type SavedSession } from './session';

export function App() {
  const [session, setSession] = useState<SavedSession | null>(() => loadSession());
  const [notice, setNotice] = useState<string | null>(null);
  if (!session) return <SignIn notice={notice} onSignedIn={(s) => { setNotice(null); setSession(s); }} />;
  return (
    <Chat
      key={session.token}
      session={session}
      onSignedOut={(reason) => {
        clearSession();
        setNotice(reason === 'user' ? null : 'You were signed out: this session was ended.');
        setSession(null);
      }}
    />
  );
}
