// A round avatar: the user's (or group's) picture, else their initials.
import type { PublicUser } from '../protocol/types';
import { displayName, hue, initials } from './format';
import { thumbnailPath, useMediaUrl } from './media';

export function Avatar({ user, size = 40, name, mediaId, id }: {
  user?: PublicUser | undefined; size?: number; name?: string; mediaId?: string | null; id?: number;
}) {
  const media = mediaId !== undefined ? mediaId : user?.avatar_media_id ?? null;
  const url = useMediaUrl(media ? thumbnailPath(media, 'small') : null);
  const label = name ?? displayName(user);
  const dims = { width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.4)}px` };
  if (url) return <img class="avatar" src={url} alt="" style={dims} />;
  return (
    <span class={`avatar hue-${hue(id ?? user?.id ?? 0)}`} style={dims} aria-hidden="true">
      {initials(label)}
    </span>
  );
}
