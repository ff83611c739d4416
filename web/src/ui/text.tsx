// Message text to DOM: plain text nodes, with http(s) links made clickable
// and @mentions highlighted. Never HTML: every piece is a text child, so a
// message cannot inject markup whatever it says.
import type { ComponentChildren } from 'preact';

const TOKEN = /(https?:\/\/[^\s<>"']+)|(@[A-Za-z][A-Za-z0-9_.]{2,31})/g;

/** Safe link target: only absolute http(s) URLs. */
export function safeHref(raw: string): string | null {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

const NO_NAMES: ReadonlySet<string> = new Set();

export function richText(text: string, mentionable: ReadonlySet<string> = NO_NAMES): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const start = m.index ?? 0;
    let token = m[0];
    if (m[1]) {
      // Trailing punctuation usually ends the sentence, not the URL.
      const trimmed = token.replace(/[.,;:!?)\]}]+$/, '');
      token = trimmed;
    }
    if (start > last) out.push(text.slice(last, start));
    if (m[1]) {
      const href = safeHref(token);
      out.push(href ? <a href={href} target="_blank" rel="noopener noreferrer">{token}</a> : token);
    } else {
      const name = token.slice(1).toLowerCase();
      const before = start === 0 ? ' ' : text[start - 1]!;
      out.push(mentionable.has(name) && /[\s(]/.test(before) ? <span class="mention">{token}</span> : token);
    }
    last = start + token.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
