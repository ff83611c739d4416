import { describe, expect, it } from 'vitest';
import type { VNode } from 'preact';
import { richText, safeHref } from './text';

const links = (nodes: unknown[]) => nodes.filter((n): n is VNode<{ href: string; rel: string; target: string }> => typeof n === 'object' && n !== null && (n as VNode).type === 'a');

describe('richText', () => {
  it('keeps markup as text: nothing is parsed as HTML', () => {
    const nodes = richText('<img src=x onerror=alert(1)> <b>bold</b>');
    expect(nodes).toEqual(['<img src=x onerror=alert(1)> <b>bold</b>']);
  });

  it('links http and https only, without trailing punctuation, opened safely', () => {
    const nodes = richText('see https://example.org/a?b=1, and javascript:alert(1) or ftp://x.org.');
    const a = links(nodes);
    expect(a).toHaveLength(1);
    expect(a[0]!.props.href).toBe('https://example.org/a?b=1');
    expect(a[0]!.props.rel).toBe('noopener noreferrer');
    expect(a[0]!.props.target).toBe('_blank');
    expect(nodes.filter((n) => typeof n === 'string').join('')).toContain('javascript:alert(1)');
  });

  it('highlights @mentions of members only', () => {
    const nodes = richText('hi @bob and @mallory (@bob)', new Set(['bob']));
    const spans = nodes.filter((n) => typeof n === 'object' && n !== null && (n as VNode).type === 'span');
    expect(spans).toHaveLength(2);
  });
});

describe('safeHref', () => {
  it('accepts absolute http(s) URLs and refuses the rest', () => {
    expect(safeHref('https://example.org')).toBe('https://example.org/');
    expect(safeHref('http://example.org/x')).toBe('http://example.org/x');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,hi')).toBeNull();
    expect(safeHref('/relative')).toBeNull();
  });
});
