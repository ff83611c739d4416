import { describe, expect, it } from 'vitest';
import type { Message } from '../protocol/types';
import { message } from '../sync/testing/fakes';
import { buildRows, extendRows, type BuiltRows, type Row } from './rows';

/** A history over several days, of runs of a few senders: day separators and run starts to get right. */
function history(n: number, seed: number): Message[] {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let t = Date.UTC(2026, 0, 1);
  return Array.from({ length: n }, (_, i) => {
    t += rnd() < 0.05 ? 20 * 3_600_000 : rnd() < 0.2 ? 10 * 60_000 : 30_000;
    return message(i + 1, i + 1, { sender_id: rnd() < 0.6 ? 2 : 3, created_at: t });
  });
}

const shape = (rows: Row[]) => rows.map((r) => (r.kind === 'msg' ? `${r.key}${r.first ? '*' : ''}` : r.key));

describe('message rows', () => {
  it('a window paged up and down, its far end dropped, has the rows of one built from scratch', () => {
    const all = history(3000, 7);
    const WINDOW = 400;
    const PAGE = 50;
    let lo = 2600;
    let hi = 3000;
    let built: BuiltRows | null = null;
    // Up to the first message, then down to the last, then a few jumps.
    const moves = [...Array(60).fill('up'), ...Array(60).fill('down'), 'up', 'down', 'down', 'up'];
    for (const move of moves) {
      if (move === 'up') {
        lo = Math.max(0, lo - PAGE);
        hi = Math.min(hi, lo + WINDOW);
      } else {
        hi = Math.min(all.length, hi + PAGE);
        lo = Math.max(lo, hi - WINDOW);
      }
      const messages = all.slice(lo, hi);
      const rows = extendRows(built, messages);
      const expected = buildRows(messages.slice());
      expect(shape(rows)).toEqual(shape(expected));
      built = { messages, rows };
    }
  });

  it('anything else (a jump to the newest, a message changed in the middle) is built afresh, correctly', () => {
    const all = history(500, 3);
    const first = all.slice(100, 300);
    let built: BuiltRows = { messages: first, rows: extendRows(null, first) };
    const jumped = all.slice(400, 500);
    expect(shape(extendRows(built, jumped))).toEqual(shape(buildRows(jumped)));
    const edited = first.slice();
    edited[50] = { ...edited[50]!, text: 'edited' };
    built = { messages: first, rows: built.rows };
    expect(shape(extendRows(built, edited))).toEqual(shape(buildRows(edited)));
  });
});
