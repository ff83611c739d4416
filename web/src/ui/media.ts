// Media the browser cannot load by URL (the API needs the bearer token):
// fetched with the token into Blobs, shown through blob: URLs. A small
// cache keeps the URLs of recent files and revokes the oldest.

import { useEffect, useState } from 'preact/hooks';
import type { RestClient } from '../sync/rest';

const MAX = 300;
const cache = new Map<string, Promise<string>>();
const resolved = new Map<string, string>();
let rest: RestClient | null = null;

export function setMediaClient(client: RestClient | null): void {
  rest = client;
  for (const url of resolved.values()) URL.revokeObjectURL(url);
  resolved.clear();
  cache.clear();
}

export function mediaUrl(path: string): Promise<string> {
  const hit = cache.get(path);
  if (hit) {
    // Most recently used last.
    cache.delete(path);
    cache.set(path, hit);
    return hit;
  }
  if (!rest) return Promise.reject(new Error('signed out'));
  const p = rest.blob(path).then((b) => {
    const url = URL.createObjectURL(b);
    resolved.set(path, url);
    return url;
  });
  p.catch(() => cache.delete(path));
  cache.set(path, p);
  while (cache.size > MAX) {
    const oldest = cache.keys().next().value as string;
    cache.delete(oldest);
    const url = resolved.get(oldest);
    if (url) URL.revokeObjectURL(url);
    resolved.delete(oldest);
  }
  return p;
}

/** The blob: URL of an API path, or null while loading (or on failure). */
export function useMediaUrl(path: string | null): string | null {
  const [url, setUrl] = useState<string | null>(() => (path ? resolved.get(path) ?? null : null));
  useEffect(() => {
    if (!path) {
      setUrl(null);
      return;
    }
    const known = resolved.get(path);
    if (known) {
      setUrl(known);
      return;
    }
    let live = true;
    mediaUrl(path).then(
      (u) => live && setUrl(u),
      () => live && setUrl(null),
    );
    return () => {
      live = false;
    };
  }, [path]);
  return url;
}

export const thumbnailPath = (id: string, size: 'small' | 'medium' | 'large') => `/api/v1/media/${id}/thumbnail?size=${size}`;
export const mediaPath = (id: string) => `/api/v1/media/${id}`;
export const stickerPath = (id: number) => `/api/v1/stickers/${id}/image`;

/** Saves a file through a temporary link (the download attribute). */
export async function download(id: string, name: string): Promise<void> {
  if (!rest) return;
  const blob = await rest.blob(mediaPath(id));
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
