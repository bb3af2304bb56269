/**
 * The subgraphs' SDL, fetched the way composition does (`{ _service { sdl } }`), and the bounded,
 * logged wait for all of them at start-up.
 */
import type { Logger } from 'pino';
import type { SubgraphEndpoint } from './config.js';

export interface SubgraphSdl {
  name: string;
  url: string;
  sdl: string;
}

const SDL_QUERY = 'query __ApolloGetServiceDefinition__ { _service { sdl } }';
const FETCH_TIMEOUT_MS = 3000;

export async function fetchSdl(subgraph: SubgraphEndpoint): Promise<SubgraphSdl> {
  let res: Response;
  try {
    res = await fetch(subgraph.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: SDL_QUERY }),
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`subgraph "${subgraph.name}" at ${subgraph.url} (${subgraph.variable}) is unreachable: ${cause}`);
  }
  const body = (await res.json().catch(() => null)) as { data?: { _service?: { sdl?: string } }; errors?: { message: string }[] } | null;
  const sdl = body?.data?._service?.sdl;
  if (!res.ok || typeof sdl !== 'string') {
    const why = body?.errors?.map((e) => e.message).join('; ') ?? `HTTP ${res.status}`;
    throw new Error(`subgraph "${subgraph.name}" at ${subgraph.url} (${subgraph.variable}) gave no SDL: ${why}`);
  }
  return { name: subgraph.name, url: subgraph.url, sdl };
}

/**
 * Polls every subgraph until all answer with their SDL (backoff 250 ms doubling to 2 s), logging
 * which are still down; fails after `timeoutMs` naming them.
 */
export async function waitForSubgraphs(
  subgraphs: SubgraphEndpoint[],
  opts: { timeoutMs: number; logger: Logger; signal?: AbortSignal },
): Promise<SubgraphSdl[]> {
  const deadline = Date.now() + opts.timeoutMs;
  const ready = new Map<string, SubgraphSdl>();
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    const pending = subgraphs.filter((s) => !ready.has(s.name));
    const results = await Promise.allSettled(pending.map(fetchSdl));
    const failures: string[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') ready.set(pending[i]!.name, r.value);
      else failures.push((r.reason as Error).message);
    });
    if (failures.length === 0) return subgraphs.map((s) => ready.get(s.name)!);
    if (Date.now() >= deadline || opts.signal?.aborted) {
      throw new Error(`gave up waiting for subgraphs after ${opts.timeoutMs} ms (GATEWAY_STARTUP_TIMEOUT_MS): ${failures.join('; ')}`);
    }
    opts.logger.warn({ attempt, retryInMs: delay, waitingFor: failures }, 'waiting for subgraphs');
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 2000);
  }
}
