/**
 * Auth: the user table formats, scrypt hashes, bearer tokens (expiry, forgery), and over real gRPC
 * each role against each call and action, plus malformed Basic and Bearer headers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightError, encodeFlightData, pathDescriptor, serializeFlightData } from '@flightdeck/proto';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { makeBars } from '../../../test-support/bars.js';
import { ACTION_ROLES, CALL_ROLES } from './access-rules.js';
import { ACTIONS } from '../handlers/actions.js';
import { Authenticator } from './auth.js';
import { hashPassword, parsePasswordHash, verifyPassword } from '@flightdeck/contract';
import { encodeRequest, metadataOf, rawCall, rawClient } from '../../../test-support/raw-flight-calls.js';
import { seedBars, startTestServer, type TestServer } from '../../../test-support/test-fixture.js';
import { parseUsersFile, parseUsersList, type UserTable } from './user-table.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('user table', () => {
  it('parses FLIGHT_USERS, with a colon inside a password', () => {
    const t = parseUsersList('alice:s3cret:read, crawler:p:w:d:write,root:x:admin');
    expect([...t.values()].map((u) => [u.name, u.role])).toEqual([
      ['alice', 'read'],
      ['crawler', 'write'],
      ['root', 'admin'],
    ]);
    expect(t.get('crawler')!.secret.kind).toBe('digest');
  });

  it('refuses bad entries, naming the entry and never the password', () => {
    expect(() => parseUsersList('alice:hunter2:reader')).toThrow(/FLIGHT_USERS entry 1 \(user "alice"\): role "reader"/);
    expect(() => parseUsersList('alice:hunter2:reader')).not.toThrow(/hunter2/);
    expect(() => parseUsersList('alice:read')).toThrow(/expected user:password:role/);
    expect(() => parseUsersList('a:x:read,a:y:write')).toThrow(/user "a" is defined twice/);
    expect(() => parseUsersList('bad name:x:read')).toThrow(/user name/);
    expect(() => parseUsersList('bob::read')).toThrow(/password is empty/);
  });

  it('parses a users file of scrypt hashes and refuses plain passwords in it', async () => {
    const hash = await hashPassword('pw', FAST);
    const t = parseUsersFile(`# analysts\n\nalice:${hash}:read\r\ncrawler:${hash}:write\n`);
    expect(t.get('alice')!.secret.kind).toBe('scrypt');
    expect(t.get('crawler')!.role).toBe('write');
    expect(() => parseUsersFile('alice:plain:read')).toThrow(/line 1 \(user "alice"\): the password must be a scrypt hash/);
    expect(() => parseUsersFile('alice:scrypt$N=3,r=8,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==:read')).toThrow(/power of two/);
  });

  it('loads FLIGHT_USERS_FILE through loadConfig and merges FLIGHT_USERS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fd-users-'));
    const file = join(dir, 'users');
    await writeFile(file, `bob:${await hashPassword('pw', FAST)}:admin\n`);
    const config = loadConfig({ FLIGHT_USERS: 'alice:x:read', FLIGHT_USERS_FILE: file });
    expect([...config.users!.keys()]).toEqual(['alice', 'bob']);
    expect(() => loadConfig({ FLIGHT_USERS_FILE: join(dir, 'missing') })).toThrow(/FLIGHT_USERS_FILE=.*cannot be read: ENOENT/);
    expect(() => loadConfig({ FLIGHT_USERS: 'bob:x:read', FLIGHT_USERS_FILE: file })).toThrow(/"bob" is defined twice/);
    expect(loadConfig({}).users).toBeNull();
    await rm(dir, { recursive: true });
  });
});

describe('scrypt password hashes', () => {
  it('verifies the right password only, with a fresh salt each time', async () => {
    const a = await hashPassword('correct horse', FAST);
    const b = await hashPassword('correct horse', FAST);
    expect(a).toMatch(/^scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', parsePasswordHash(a))).toBe(true);
    expect(await verifyPassword('correct horsE', parsePasswordHash(a))).toBe(false);
    expect(await verifyPassword('', parsePasswordHash(a))).toBe(false);
  });

  it('hashes with the default parameters', async () => {
    expect(parsePasswordHash(await hashPassword('x')).params).toEqual({ N: 32768, r: 8, p: 1 });
  });
});

describe('Authenticator', () => {
  const users: UserTable = parseUsersList('alice:pw:read,bob:pw:admin');
  const basic = (text: string) => metadataOf({ authorization: `Basic ${Buffer.from(text).toString('base64')}` });
  const bearer = (token: string) => metadataOf({ authorization: `Bearer ${token}` });

  it('issues tokens that expire after the TTL', async () => {
    let now = 1_000_000;
    const auth = new Authenticator({ users, tokenTtlMs: 60_000, now: () => now });
    const issued = await auth.handshake(basic('alice:pw'));
    expect(issued.expiresAt).toBe(1_060_000);
    expect(auth.authenticate(bearer(issued.token))).toEqual({ user: 'alice', role: 'read' });
    now = 1_059_999;
    expect(auth.authenticate(bearer(issued.token))).toEqual({ user: 'alice', role: 'read' });
    now = 1_060_000;
    expect(() => auth.authenticate(bearer(issued.token))).toThrow(/bearer token expired at/);
  });

  it('refuses forged, tampered and foreign tokens', async () => {
    const auth = new Authenticator({ users, tokenTtlMs: 60_000 });
    const other = new Authenticator({ users, tokenTtlMs: 60_000 });
    const { token } = await auth.handshake(basic('alice:pw'));
    const [prefix, payload, mac] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const escalated = Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url');
    const flipped = mac.slice(0, -2) + (mac.at(-2) === 'A' ? 'B' : 'A') + mac.at(-1)!;
    const forged = [
      `${prefix}.${escalated}.${mac}`,
      `${prefix}.${payload}.${flipped}`,
      `${prefix}.${payload}.${mac.slice(0, 10)}`,
      `${prefix}.${payload}`,
      (await other.handshake(basic('bob:pw'))).token,
      'x'.repeat(5000),
      'fdt1..',
      `${prefix}.${Buffer.from('not json').toString('base64url')}.${mac}`,
    ];
    for (const t of forged) {
      expect(() => auth.authenticate(bearer(t)), t).toThrow(FlightError);
      expect(() => auth.authenticate(bearer(t)), t).toThrow(/invalid bearer token/);
    }
  });

  it('shares tokens between servers with the same FLIGHT_TOKEN_SECRET', async () => {
    const secret = Buffer.from('s'.repeat(32));
    const a = new Authenticator({ users, tokenTtlMs: 60_000, tokenSecret: secret });
    const b = new Authenticator({ users, tokenTtlMs: 60_000, tokenSecret: secret });
    expect(b.authenticate(bearer((await a.handshake(basic('bob:pw'))).token))).toEqual({ user: 'bob', role: 'admin' });
  });

  it('refuses bad Basic credentials with UNAUTHENTICATED', async () => {
    const auth = new Authenticator({ users, tokenTtlMs: 60_000 });
    const cases: [grpc.Metadata, RegExp][] = [
      [metadataOf({}), /no credentials/],
      [metadataOf({ authorization: 'Basic' }), /not base64|not Basic/],
      [metadataOf({ authorization: 'Basic !!!' }), /not base64/],
      [metadataOf({ authorization: 'Bearer abc' }), /not Basic/],
      [metadataOf({ authorization: 'Digest x' }), /not Basic/],
      [basic('alice'), /not user:password/],
      [basic(':pw'), /not user:password/],
      [basic('alice:wrong'), /invalid user name or password/],
      [basic('mallory:pw'), /invalid user name or password/],
      [basic('alice:pw\u0000'), /invalid user name or password/],
    ];
    for (const [md, message] of cases) {
      const err = await auth.handshake(md).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FlightError);
      expect((err as FlightError).code).toBe('UNAUTHENTICATED');
      expect((err as FlightError).message).toMatch(message);
    }
  });

  it('is open when no users are configured', async () => {
    const auth = new Authenticator({ users: null, tokenTtlMs: 1000 });
    expect((await auth.handshake(metadataOf({}))).token.length).toBeGreaterThan(20);
    expect(auth.authenticate(metadataOf({}))).toBeNull();
    expect(() => auth.authorize(null, 'DoPut')).not.toThrow();
  });

  it('classifies every call and every action the server offers', () => {
    expect(Object.keys(ACTION_ROLES).sort()).toEqual(Object.keys(ACTIONS).sort());
    expect(Object.keys(CALL_ROLES).sort()).toEqual(
      ['DoAction', 'DoExchange', 'DoGet', 'DoPut', 'GetFlightInfo', 'GetSchema', 'ListActions', 'ListFlights', 'PollFlightInfo'].sort(),
    );
  });
});

describe('auth over gRPC', () => {
  let t: TestServer;
  let raw: grpc.Client;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestServer({ FLIGHT_USERS: 'reader:r-pw:read,writer:w-pw:write,root:a-pw:admin' });
    const root = t.client();
    tokens.admin = await root.handshake('root', 'a-pw');
    tokens.write = await t.client().handshake('writer', 'w-pw');
    tokens.read = await t.client().handshake('reader', 'r-pw');
    await seedBars(root, 'bars');
    raw = rawClient(t.server.url.replace('grpc://', ''));
  });

  afterAll(async () => {
    raw.close();
    await t.stop();
  });

  const putMessages = async (dataset: string): Promise<Buffer[]> => {
    const out: Buffer[] = [];
    const batch = makeBars({ symbols: ['AAPL'], start: '2024-01-02T09:30:00Z', minutes: 2 });
    for await (const m of encodeFlightData([batch], { descriptor: pathDescriptor(dataset) })) out.push(serializeFlightData(m));
    return out;
  };
  const action = (type: string, body: object) => [encodeRequest('DoAction', { type, body: Buffer.from(JSON.stringify(body)) })];
  const nope = 'nope';

  /** Each call and action with the least role it needs; writes target a missing dataset or fail, so data never changes. */
  const table: [string, () => Promise<[Parameters<typeof rawCall>[1], Buffer[]]>, 'read' | 'write' | 'admin'][] = [
    ['ListFlights', async () => ['ListFlights', [encodeRequest('ListFlights', { expression: Buffer.alloc(0) })]], 'read'],
    ['GetFlightInfo', async () => ['GetFlightInfo', [encodeRequest('GetFlightInfo', pathDescriptor('bars'))]], 'read'],
    ['PollFlightInfo', async () => ['PollFlightInfo', [encodeRequest('PollFlightInfo', pathDescriptor('bars'))]], 'read'],
    ['GetSchema', async () => ['GetSchema', [encodeRequest('GetSchema', pathDescriptor('bars'))]], 'read'],
    ['DoGet', async () => ['DoGet', [encodeRequest('DoGet', { ticket: Buffer.from('{"dataset":"bars","limit":3}') })]], 'read'],
    ['ListActions', async () => ['ListActions', [encodeRequest('ListActions', {})]], 'read'],
    ['DoPut', async () => ['DoPut', await putMessages(nope)], 'write'],
    ['DoExchange', async () => ['DoExchange', []], 'write'],
    ['describe_dataset', async () => ['DoAction', action('describe_dataset', { name: 'bars' })], 'read'],
    ['health', async () => ['DoAction', action('health', {})], 'read'],
    ['create_dataset', async () => ['DoAction', action('create_dataset', { name: 'bars', time_column: 'ts' })], 'write'],
    ['evolve_schema', async () => ['DoAction', action('evolve_schema', { dataset: nope, add: [{ name: 'x', type: 'int64', nullable: true }] })], 'write'],
    ['delete_range', async () => ['DoAction', action('delete_range', { dataset: nope })], 'write'],
    ['compact', async () => ['DoAction', action('compact', { dataset: nope })], 'write'],
    ['drop_dataset', async () => ['DoAction', action('drop_dataset', { name: nope })], 'admin'],
    ['vacuum', async () => ['DoAction', action('vacuum', { dataset: nope, retain_versions: 1 })], 'admin'],
  ];
  const rank = { read: 0, write: 1, admin: 2 } as const;

  for (const role of ['read', 'write', 'admin'] as const) {
    it(`role ${role}: allowed calls pass auth, the others are PERMISSION_DENIED naming call and role`, async () => {
      for (const [what, build, needs] of table) {
        const [name, messages] = await build();
        const out = await rawCall(raw, name, messages, { metadata: metadataOf({ authorization: `Bearer ${tokens[role]}` }) });
        if (rank[role] >= rank[needs]) {
          expect(['UNAUTHENTICATED', 'PERMISSION_DENIED'], `${role} ${what}: ${out.code} ${out.details}`).not.toContain(out.code);
        } else {
          expect(out.code, `${role} ${what}`).toBe('PERMISSION_DENIED');
          expect(out.details).toContain(what);
          expect(out.details).toContain(`role ${role}`);
          expect(out.details).toContain(`needs ${needs}`);
        }
      }
    });
  }

  it('refuses every call without a token, and with bad or non-bearer headers', async () => {
    const headers: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer not-a-token' },
      { authorization: `Basic ${Buffer.from('root:a-pw').toString('base64')}` },
      { authorization: `bearer ${tokens.admin!}x` },
      { authorization: tokens.admin! },
    ];
    for (const h of headers) {
      for (const [what, build] of table) {
        const [name, messages] = await build();
        const out = await rawCall(raw, name, messages, { metadata: metadataOf(h) });
        expect(out.code, `${what} with ${JSON.stringify(h).slice(0, 60)}`).toBe('UNAUTHENTICATED');
      }
    }
    const describe = await t.client({ token: tokens.read! }).doActionJson<{ version: number; rows: number }>('describe_dataset', { name: 'bars' });
    expect(describe).toMatchObject({ version: 1, rows: 780 });
  });

  it('authenticates a DoGet before it looks at the ticket (DoGet runs on node:http2)', async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const anonymous = await rawCall(raw, 'DoGet', [garbage], { metadata: metadataOf({}) });
    expect(anonymous.code).toBe('UNAUTHENTICATED');
    const reader = await rawCall(raw, 'DoGet', [garbage], { metadata: metadataOf({ authorization: `Bearer ${tokens.read!}` }) });
    expect(reader.code).toBe('INVALID_ARGUMENT');
  });

  it('answers Handshake with the token in the header and the trailer, and refuses bad Basic credentials', async () => {
    const ok = await rawCall(raw, 'Handshake', [], { metadata: metadataOf({ authorization: `Basic ${Buffer.from('writer:w-pw').toString('base64')}` }) });
    expect(ok.code).toBe('OK');
    const trailer = String(ok.trailers!.get('authorization')[0]);
    expect(trailer).toMatch(/^Bearer fdt1\./);
    for (const h of ['Basic', 'Basic %%%', `Basic ${Buffer.from('writer').toString('base64')}`, `Basic ${Buffer.from('writer:nope').toString('base64')}`, 'Bearer x']) {
      const out = await rawCall(raw, 'Handshake', [], { metadata: metadataOf({ authorization: h }) });
      expect(out.code, h).toBe('UNAUTHENTICATED');
    }
    // A client that sends a HandshakeRequest before half-closing is served too.
    const withPayload = await rawCall(raw, 'Handshake', [encodeRequest('Handshake', { protocolVersion: 0, payload: Buffer.from('x') })], {
      metadata: metadataOf({ authorization: `Basic ${Buffer.from('reader:r-pw').toString('base64')}` }),
    });
    expect(withPayload.code).toBe('OK');
  });

  it('lets the FlightClient handshake and use its token', async () => {
    const c = t.client();
    await expect(c.handshake('reader', 'wrong')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await c.handshake('reader', 'r-pw');
    expect((await c.readTable('{"dataset":"bars","limit":5}')).numRows).toBe(5);
    await expect(c.doActionJson('drop_dataset', { name: 'bars' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
  });
});
