// The settings toggle for Web Push on this browser, and whether the pushes
// show the message's text (the account's notification_previews setting).
import { useEffect, useState } from 'preact/hooks';
import { disablePush, enablePush, pushEnabled, pushSupported } from './push';

export function PushToggle({
  token,
  act,
  onPermission,
}: {
  token: () => string | null;
  act: (f: () => Promise<unknown>, ok?: string) => Promise<void>;
  onPermission: (p: NotificationPermission) => void;
}) {
  const [on, setOn] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (pushSupported()) void pushEnabled().then(setOn, () => setOn(false));
  }, []);
  if (!pushSupported()) return <p class="hint">This browser cannot show notifications while Parley is closed.</p>;
  const change = async (enable: boolean) => {
    setBusy(true);
    await act(async () => {
      try {
        if (enable) await enablePush(token);
        else await disablePush(token);
      } finally {
        onPermission(Notification.permission);
        setOn(await pushEnabled().catch(() => false));
        setBusy(false);
      }
    }, enable ? 'Notifications will arrive while Parley is closed.' : 'Notifications while Parley is closed are off.');
  };
  return (
    <label class="check">
      <input type="checkbox" name="push" checked={on === true} disabled={on === null || busy} onChange={(e) => void change(e.currentTarget.checked)} />
      Notify me when Parley is closed
    </label>
  );
}
