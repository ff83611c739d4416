import { describe, expect, it } from 'vitest';
import { RowHeights } from './heights';

describe('RowHeights', () => {
  it('keeps at most its limit, forgetting the least recently measured rows', () => {
    const h = new RowHeights(3);
    for (let i = 1; i <= 5; i++) h.set(`m${i}`, 40 + i);
    expect(h.size).toBe(3);
    expect(h.has('m1')).toBe(false);
    expect(h.has('m2')).toBe(false);
    expect(h.get('m3')).toBe(43);
    expect(h.get('m5')).toBe(45);
  });

  it('a row measured again counts as recent', () => {
    const h = new RowHeights(2);
    h.set('a', 10);
    h.set('b', 20);
    h.set('a', 11);
    h.set('c', 30);
    expect(h.get('a')).toBe(11);
    expect(h.has('b')).toBe(false);
    expect(h.get('c')).toBe(30);
  });

  it('stays bounded over a long history', () => {
    const h = new RowHeights(1000);
    for (let i = 0; i < 50_000; i++) h.set(`m${i}`, 50);
    expect(h.size).toBe(1000);
    expect(h.has('m48999')).toBe(false);
    expect(h.has('m49000')).toBe(true);
  });

  it('clear forgets everything', () => {
    const h = new RowHeights(10);
    h.set('a', 1);
    h.clear();
    expect(h.size).toBe(0);
    expect(h.get('a')).toBeUndefined();
  });
});
