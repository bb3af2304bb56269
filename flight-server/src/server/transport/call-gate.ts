/**
 * What every Flight call passes before its handler runs, and the bookkeeping of calls in progress:
 * refusal while shutting down (UNAVAILABLE), the bearer token and role (auth.ts), malformed request
 * messages (INVALID_ARGUMENT), and the concurrency limits (RESOURCE_EXHAUSTED): calls open on one
 * connection (FLIGHT_MAX_CALLS_PER_CONNECTION) and on the server (FLIGHT_MAX_CONCURRENT_CALLS).
 * It observes every CallLog, so metrics and the open-call count follow each call's one end.
 * It also keeps the budget of memory DoGet streams hold (FLIGHT_STREAM_MEMORY_MB, stream-memory.ts).
 */
import type { Metadata } from '@grpc/grpc-js';
import { FlightError } from '@flightdeck/proto';
import type { Authenticator } from '../auth/auth.js';
import type { GuardedCall } from '../auth/access-rules.js';
import type { CallLog, CallObserver } from '../observe/call-log.js';
import type { FlightMetrics } from '../observe/metrics.js';
import { wellFormed } from './request-guard.js';
import { StreamMemoryBudget } from './stream-memory.js';

export interface CallLimits {
  /** 0 = unlimited. */
  maxConcurrentCalls: number;
  /** 0 = unlimited. */
  maxCallsPerConnection: number;
  /** 0 = unlimited. */
  maxRowsPerGet: number;
  /** Bytes open DoGet streams may hold together; 0 or absent = unlimited. */
  streamMemoryBytes?: number;
  /** How long a DoGet may wait for that memory (default 30 s). */
  streamMemoryWaitMs?: number;
  /** Commits a DoGet `follow` stream may have pending before it is cut (default 1000). */
  followMaxPending?: number;
}

/** The parts of a grpc-js server call the gate reads. */
export interface GateCall {
  metadata: Metadata;
  getPeer(): string;
  request?: unknown;
}

export class CallGate implements CallObserver {
  readonly #auth: Authenticator;
  readonly #metrics: FlightMetrics;
  readonly #limits: CallLimits;
  readonly #admitted = new Map<CallLog, string>();
  readonly #perPeer = new Map<string, number>();
  readonly #open = new Set<CallLog>();
  readonly #shutdown = new AbortController();
  #idleWaiters: (() => void)[] = [];
  /** What open DoGet streams hold: each reserves its share before it reads, until it ends. */
  readonly streamMemory: StreamMemoryBudget;

  constructor(auth: Authenticator, metrics: FlightMetrics, limits: CallLimits) {
    this.#auth = auth;
    this.#metrics = metrics;
    this.#limits = limits;
    this.streamMemory = new StreamMemoryBudget(limits.streamMemoryBytes ?? 0, limits.streamMemoryWaitMs ?? 30_000);
    metrics.observeStreamMemory(() => this.streamMemory.stats());
  }

  get auth(): Authenticator {
    return this.#auth;
  }

  get metrics(): FlightMetrics {
    return this.#metrics;
  }

  /** Aborted when shutdown begins; its reason is the UNAVAILABLE error for an interrupted DoPut. */
  get shutdownSignal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /** FLIGHT_FOLLOW_MAX_PENDING: commits a follower may fall behind before RESOURCE_EXHAUSTED. */
  get followMaxPending(): number {
    return this.#limits.followMaxPending ?? 1000;
  }

  /** Calls not yet closed: a stream counts until the client has its last bytes and the status. */
  get openCalls(): number {
    return this.#open.size;
  }

  /**
   * Admits a call or throws the status to answer with. `rpc` null skips auth (Handshake checks
   * credentials itself). For unary and server-streaming calls the request is checked too, and for
   * DoAction the role is that of the action type. Returns the request.
   */
  admit<T>(log: CallLog, call: GateCall, rpc: GuardedCall | null): T {
    if (this.#shutdown.signal.aborted) throw new FlightError('UNAVAILABLE', 'the server is shutting down; retry once it is back');
    const principal = rpc === null ? null : this.#auth.authenticate(call.metadata);
    if (principal) log.user = principal.user;
    const request = call.request === undefined ? undefined : wellFormed(call.request);
    if (rpc !== null) {
      let actionType: string | undefined;
      if (rpc === 'DoAction') {
        actionType = (request as { type?: unknown } | undefined)?.type as string | undefined;
        log.action = actionType;
      }
      this.#auth.authorize(principal, rpc, actionType);
    }
    this.#reserve(log, call.getPeer());
    return request as T;
  }

  /** RESOURCE_EXHAUSTED once a DoGet has sent FLIGHT_MAX_ROWS_PER_GET rows and has more. */
  checkGetRows(rows: number): void {
    const max = this.#limits.maxRowsPerGet;
    if (max > 0 && rows > max) {
      throw new FlightError(
        'RESOURCE_EXHAUSTED',
        `DoGet would return more than FLIGHT_MAX_ROWS_PER_GET=${max} rows; narrow the query (start, end, symbols, limit) or read the endpoints of GetFlightInfo one by one`,
      );
    }
  }

  /** Refuses new calls and stops DoPuts that are still receiving (see incomingMessages). */
  beginShutdown(): void {
    if (this.#shutdown.signal.aborted) return;
    this.#shutdown.abort(new FlightError('UNAVAILABLE', 'the server is shutting down: this DoPut was aborted and nothing of it was committed'));
  }

  /** Resolves once no call is open, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== waiter);
        resolve();
      }, timeoutMs);
      this.#idleWaiters.push(waiter);
    });
  }

  started(log: CallLog): void {
    this.#open.add(log);
    this.#metrics.callStarted(log.rpc);
  }

  finished(log: CallLog, status: string, seconds: number): void {
    const peer = this.#admitted.get(log);
    if (peer !== undefined) {
      this.#admitted.delete(log);
      const n = (this.#perPeer.get(peer) ?? 1) - 1;
      if (n <= 0) this.#perPeer.delete(peer);
      else this.#perPeer.set(peer, n);
    }
    this.#metrics.callFinished({ rpc: log.rpc, action: log.action, status, seconds, rows: log.rows, bytes: log.bytes });
  }

  /** The call's stream has closed too: only now is it no longer open for a graceful stop. */
  closed(log: CallLog): void {
    this.#open.delete(log);
    if (this.#open.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #reserve(log: CallLog, peer: string): void {
    const { maxConcurrentCalls, maxCallsPerConnection } = this.#limits;
    if (maxConcurrentCalls > 0 && this.#admitted.size >= maxConcurrentCalls) {
      throw new FlightError('RESOURCE_EXHAUSTED', `the server has FLIGHT_MAX_CONCURRENT_CALLS=${maxConcurrentCalls} calls open; retry later`);
    }
    const onPeer = this.#perPeer.get(peer) ?? 0;
    if (maxCallsPerConnection > 0 && onPeer >= maxCallsPerConnection) {
      throw new FlightError(
        'RESOURCE_EXHAUSTED',
        `this connection has FLIGHT_MAX_CALLS_PER_CONNECTION=${maxCallsPerConnection} calls open; finish some or open another connection`,
      );
    }
    this.#perPeer.set(peer, onPeer + 1);
    this.#admitted.set(log, peer);
  }
}
