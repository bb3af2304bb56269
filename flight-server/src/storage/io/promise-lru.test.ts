import { describe, expect, it } from 'vitest';
import { PromiseLru } from './promise-lru.js';

describe('PromiseLru', () => {
  it('shares one load per key, evicts the least recently used and releases it', async () => {
    const released: string[] = [];
    const lru = new PromiseLru<string>(2, (v) => released.push(v));
    let loads = 0;
    const load = (v: string) => async () => (loads++, v);
    expect(await Promise.all([lru.get('/d/a', load('A')), lru.get('/d/a', load('A2'))])).toEqual(['A', 'A']);
    await lru.get('/d/b', load('B'));
    await lru.get('/d/a', load('A3')); // a is now the most recent
    await lru.get('/d/c', load('C')); // evicts b
    await new Promise((r) => setImmediate(r));
    expect(released).toEqual(['B']);
    expect(loads).toBe(3);
    lru.deleteUnder('/d');
    await new Promise((r) => setImmediate(r));
    expect(released.sort()).toEqual(['A', 'B', 'C']);
  });

  it('forgets a failed load, so the next get tries again', async () => {
    const lru = new PromiseLru<string>(4);
    await expect(lru.get('k', async () => Promise.reject(new Error('gone')))).rejects.toThrow('gone');
    await new Promise((r) => setImmediate(r));
    expect(await lru.get('k', async () => 'back')).toBe('back');
  });
});
