/**
 * The environment flightdeck's processes are started with so that glibc's malloc backs its large
 * allocations with transparent huge pages (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, glibc 2.35+).
 *
 * Why: Node allocates every Buffer (file reads, gRPC messages, Arrow columns built in JavaScript,
 * response bodies) through malloc, which maps a large block afresh and unmaps it when freed; each
 * first touch of a 4 KiB page is then a page fault. On the virtual machines we run on that costs
 * up to ~1 ms per MB: reading 500 MB into fresh 4 MiB buffers took 130–550 ms against 70–80 ms
 * into one reused buffer, and 80–120 ms with this setting. The C++ peer's pyarrow uses mimalloc,
 * which keeps freed pages. Bench A/B in one sitting (docs/configuration.md, "Memory allocator").
 *
 * glibc reads the variable only when a process starts, so it is set by whatever starts the
 * processes: `npm start` (scripts/start-all.ts), the bench, and the image (Dockerfile `ENV`).
 */

/** The tunable: malloc advises the kernel to use transparent huge pages for its mappings. */
export const MALLOC_HUGE_PAGES = 'glibc.malloc.hugetlb=1';

/**
 * `env` with {@link MALLOC_HUGE_PAGES} added to `GLIBC_TUNABLES`; unchanged when that already
 * says what `glibc.malloc.hugetlb` is (so `GLIBC_TUNABLES=glibc.malloc.hugetlb=0` turns it off).
 */
export function withMallocHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (tunables.split(':').some((t) => t.startsWith('glibc.malloc.hugetlb='))) return env;
  return { ...env, GLIBC_TUNABLES: tunables === '' ? MALLOC_HUGE_PAGES : `${tunables}:${MALLOC_HUGE_PAGES}` };
}
