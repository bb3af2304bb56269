import { describe, expect, it } from 'vitest';
import { MALLOC_HUGE_PAGES, withMallocHugePages } from '../../scripts/malloc-env.js';

describe('withMallocHugePages', () => {
  it('adds the tunable to an environment without GLIBC_TUNABLES, and keeps the rest', () => {
    const env = withMallocHugePages({ PATH: '/bin', DATA_DIR: '/d' });
    expect(env).toEqual({ PATH: '/bin', DATA_DIR: '/d', GLIBC_TUNABLES: MALLOC_HUGE_PAGES });
    expect(MALLOC_HUGE_PAGES).toBe('glibc.malloc.hugetlb=1');
  });

  it("appends it to other tunables, and leaves an operator's own hugetlb choice alone", () => {
    expect(withMallocHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    expect(withMallocHugePages({ GLIBC_TUNABLES: '' }).GLIBC_TUNABLES).toBe('glibc.malloc.hugetlb=1');
    for (const own of ['glibc.malloc.hugetlb=0', 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2']) {
      expect(withMallocHugePages({ GLIBC_TUNABLES: own }).GLIBC_TUNABLES).toBe(own);
    }
  });

  it('does not change the environment it is given', () => {
    const env = { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' };
    withMallocHugePages(env);
    expect(env).toEqual({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' });
  });
});
