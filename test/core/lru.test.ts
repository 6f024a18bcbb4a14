import { describe, expect, it } from 'vitest';
import { Lru } from '../../src/core/lru.ts';

describe('Lru', () => {
  it('drops the least recently set entry past its size', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1).set('b', 2).set('c', 3);
    expect(lru.size).toBe(2);
    expect(lru.has('a')).toBe(false);
    expect(lru.get('b')).toBe(2);
    expect(lru.get('c')).toBe(3);
  });

  it('a read makes an entry the most recently used', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1).set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.has('a')).toBe(true);
    expect(lru.has('b')).toBe(false);
  });

  it('setting an existing key replaces it without growing, and refreshes it', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1).set('b', 2).set('a', 10).set('c', 3);
    expect(lru.size).toBe(2);
    expect(lru.get('a')).toBe(10);
    expect(lru.has('b')).toBe(false);
  });

  it('keeps undefined values apart from missing keys, and deletes', () => {
    const lru = new Lru<string, number | undefined>(3);
    lru.set('u', undefined);
    expect(lru.has('u')).toBe(true);
    expect(lru.get('u')).toBeUndefined();
    expect(lru.delete('u')).toBe(true);
    expect(lru.has('u')).toBe(false);
    lru.set('x', 1);
    lru.clear();
    expect(lru.size).toBe(0);
  });

  it('stays bounded under many distinct keys', () => {
    const lru = new Lru<number, number>(100);
    for (let i = 0; i < 10_000; i++) lru.set(i, i);
    expect(lru.size).toBe(100);
    expect(lru.has(9_899)).toBe(false);
    expect(lru.get(9_900)).toBe(9_900);
  });

  it('refuses a size below one', () => {
    expect(() => new Lru(0)).toThrow(RangeError);
    expect(() => new Lru(1.5)).toThrow(RangeError);
  });
});
