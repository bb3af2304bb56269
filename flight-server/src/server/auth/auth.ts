/**
 * Flight authentication (CONTRACT.md, Auth). Handshake turns `authorization: Basic base64(user:pw)`
 * into a bearer token; every other call presents `authorization: Bearer <token>` and is checked
 * against the role its call or action needs (access-rules.ts).
 *
 * Tokens are stateless: `fdt1.<payload>.<mac>` where the payload (base64url JSON) names the user and
 * the expiry and the mac is HMAC-SHA256 under a server secret (random per process unless
 * FLIGHT_TOKEN_SECRET is set, so tokens then survive restarts and are shared by replicas). The role
 * is looked up in the user table on each call. Password and mac comparisons use timingSafeEqual on
 * equal-length digests. Without users the server is open: Handshake still answers with a token,
 * which is ignored.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { FlightError } from '@flightdeck/proto';
import { requiredRole, roleAllows, type GuardedCall } from './access-rules.js';
import { DEFAULT_SCRYPT_PARAMS, verifyPassword, type PasswordHash } from '@flightdeck/contract';
import { passwordDigest, type Role, type UserEntry, type UserTable } from './user-table.js';

export interface Principal {
  user: string;
  role: Role;
}

export interface IssuedToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Null when auth is off. */
  principal: Principal | null;
}

export interface AuthenticatorOptions {
  /** Null: auth off. */
  users: UserTable | null;
  tokenTtlMs: number;
  /** HMAC key for tokens; random when null. */
  tokenSecret?: Buffer | null;
  now?: () => number;
}

const TOKEN_PREFIX = 'fdt1';
const MAC_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HANDSHAKE_HINT = 'Handshake needs the header `authorization: Basic base64(user:password)`';
const BEARER_HINT = 'send `authorization: Bearer <token>` with a token from Handshake (pyarrow: client.authenticate_basic_token)';

/** A throwaway hash so an unknown user costs as much as a known one. */
const DUMMY_SALT = randomBytes(16);

export class Authenticator {
  readonly #users: UserTable | null;
  readonly #ttlMs: number;
  readonly #secret: Buffer;
  readonly #now: () => number;
  #dummyHash: PasswordHash | undefined;

  constructor(opts: AuthenticatorOptions) {
    this.#users = opts.users;
    this.#ttlMs = opts.tokenTtlMs;
    this.#secret = opts.tokenSecret ?? randomBytes(32);
    this.#now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.#users !== null;
  }

  /** Handshake: checks Basic credentials (when auth is on) and issues a token. */
  async handshake(metadata: Metadata): Promise<IssuedToken> {
    const expiresAt = this.#now() + this.#ttlMs;
    if (this.#users === null) {
      return { token: randomBytes(24).toString('base64url'), expiresAt, principal: null };
    }
    const { user, password } = parseBasic(headerOf(metadata));
    const entry = this.#users.get(user);
    const ok = await this.#verify(entry, password);
    if (!entry || !ok) throw new FlightError('UNAUTHENTICATED', 'invalid user name or password');
    const principal = { user: entry.name, role: entry.role };
    return { token: this.#sign(entry.name, expiresAt), expiresAt, principal };
  }

  /**
   * The caller of a call: null when auth is off; UNAUTHENTICATED when the bearer token is missing,
   * forged, expired or names a user no longer configured.
   */
  authenticate(metadata: Metadata): Principal | null {
    if (this.#users === null) return null;
    const header = headerOf(metadata);
    if (header === undefined) throw new FlightError('UNAUTHENTICATED', `no credentials: ${BEARER_HINT}`);
    const m = /^bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new FlightError('UNAUTHENTICATED', `the authorization header is not a bearer token: ${BEARER_HINT}`);
    const claims = this.#verifyToken(m[1]!);
    if (claims === null) throw new FlightError('UNAUTHENTICATED', 'invalid bearer token: Handshake again');
    if (claims.exp <= this.#now()) {
      throw new FlightError('UNAUTHENTICATED', `bearer token expired at ${new Date(claims.exp).toISOString()}: Handshake again`);
    }
    const entry = this.#users.get(claims.sub);
    if (!entry) throw new FlightError('UNAUTHENTICATED', 'the bearer token names a user that is no longer configured');
    return { user: entry.name, role: entry.role };
  }

  /** PERMISSION_DENIED unless the principal's role covers the call (or the action of a DoAction). */
  authorize(principal: Principal | null, rpc: GuardedCall, actionType?: string): void {
    if (principal === null) return;
    const needed = requiredRole(rpc, actionType);
    if (roleAllows(principal.role, needed)) return;
    const what = rpc === 'DoAction' && actionType !== undefined ? `run action ${actionType}` : `call ${rpc}`;
    throw new FlightError('PERMISSION_DENIED', `user "${principal.user}" has role ${principal.role} and may not ${what} (needs ${needed})`);
  }

  async #verify(entry: UserEntry | undefined, password: string): Promise<boolean> {
    if (entry === undefined) {
      // Spend what a scrypt user would, so the answer time does not tell whether the user exists.
      this.#dummyHash ??= { params: DEFAULT_SCRYPT_PARAMS, salt: DUMMY_SALT, key: Buffer.alloc(32) };
      await verifyPassword(password, this.#dummyHash);
      return false;
    }
    if (entry.secret.kind === 'scrypt') return verifyPassword(password, entry.secret.hash);
    return timingSafeEqual(passwordDigest(password), entry.secret.digest);
  }

  #mac(payload: string): Buffer {
    return createHmac('sha256', this.#secret).update(`${TOKEN_PREFIX}.${payload}`).digest();
  }

  #sign(user: string, exp: number): string {
    const payload = Buffer.from(JSON.stringify({ sub: user, exp, jti: randomBytes(9).toString('base64url') })).toString('base64url');
    return `${TOKEN_PREFIX}.${payload}.${this.#mac(payload).toString('base64url')}`;
  }

  #verifyToken(token: string): { sub: string; exp: number } | null {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return null;
    const [, payload, mac] = parts as [string, string, string];
    if (!BASE64URL.test(payload) || !BASE64URL.test(mac) || payload.length > 4096) return null;
    const given = Buffer.from(mac, 'base64url');
    const expected = this.#mac(payload);
    if (given.length !== MAC_BYTES || !timingSafeEqual(given, expected)) return null;
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof claims !== 'object' || claims === null) return null;
    const { sub, exp } = claims as { sub?: unknown; exp?: unknown };
    if (typeof sub !== 'string' || typeof exp !== 'number') return null;
    return { sub, exp };
  }
}

function headerOf(metadata: Metadata): string | undefined {
  const [value] = metadata.get('authorization');
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

function parseBasic(header: string | undefined): { user: string; password: string } {
  if (header === undefined) throw new FlightError('UNAUTHENTICATED', `no credentials: ${HANDSHAKE_HINT}`);
  const m = /^basic\s+(\S*)\s*$/i.exec(header);
  if (!m) throw new FlightError('UNAUTHENTICATED', `the authorization header is not Basic: ${HANDSHAKE_HINT}`);
  const encoded = m[1]!;
  if (!BASE64.test(encoded) || encoded.length > 8192) {
    throw new FlightError('UNAUTHENTICATED', `the Basic credentials are not base64: ${HANDSHAKE_HINT}`);
  }
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) throw new FlightError('UNAUTHENTICATED', `the Basic credentials are not user:password: ${HANDSHAKE_HINT}`);
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
