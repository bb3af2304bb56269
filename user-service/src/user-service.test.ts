/**
 * The user subgraph end to end over HTTP (real server on port 0, plain fetch), once per backend:
 * PGlite always, PostgreSQL when DATABASE_URL is set.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from './db/connect.js';
import { createUserService, type RunningUserService } from './user-service.js';
import { testBackends, type ProvisionedDatabase } from './testing/backends.js';
import { codes, graphql } from './testing/graphql-client.js';
import { captureLogs } from './testing/log-capture.js';
import { WATCHLIST_SYMBOLS_MAX } from './validation.js';

const CREATE_USER = `mutation ($email: String!, $name: String!) {
  createUser(email: $email, name: $name) { id email name createdAt watchlists { id } }
}`;
const CREATE_WATCHLIST = `mutation ($userId: ID!, $name: String!) {
  createWatchlist(userId: $userId, name: $name) { id name symbols instruments { symbol } }
}`;
const ADD = `mutation ($id: ID!, $symbol: String!) { addToWatchlist(watchlistId: $id, symbol: $symbol) { id name symbols } }`;
const REMOVE = `mutation ($id: ID!, $symbol: String!) { removeFromWatchlist(watchlistId: $id, symbol: $symbol) { id symbols } }`;
const DELETE = `mutation ($id: ID!) { deleteWatchlist(id: $id) }`;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

async function rows(database: Database, query: ReturnType<typeof sql>): Promise<Array<Record<string, unknown>>> {
  const result = (await database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> };
  return result.rows;
}

describe.each(testBackends)('user service on $name', (backend) => {
  const logs = captureLogs('trace');
  let provisioned: ProvisionedDatabase;
  let database: Database;
  let service: RunningUserService;
  let url: string;
  let base: string;

  const createUser = async (email: string, name = 'Test User') => {
    const r = await graphql(url, CREATE_USER, { email, name });
    expect(r.errors).toBeUndefined();
    return r.data!.createUser as { id: string; email: string; name: string; createdAt: string };
  };
  const createWatchlist = async (userId: string, name: string) => {
    const r = await graphql(url, CREATE_WATCHLIST, { userId, name });
    expect(r.errors).toBeUndefined();
    return r.data!.createWatchlist as { id: string; name: string; symbols: string[] };
  };

  beforeAll(async () => {
    provisioned = await backend.provision();
    database = await openDatabase({ databaseUrl: provisioned.databaseUrl, dataDir: provisioned.dataDir, logger: logs.logger });
    await database.migrate();
    service = await createUserService({ database, logger: logs.logger, port: 0 });
    url = service.url;
    base = url.replace(/\/graphql$/, '');
  }, 60_000);

  afterAll(async () => {
    await service?.close();
    await database?.close();
    await provisioned?.drop();
  }, 60_000);

  it('listens on a free port and serves the backend it was given', () => {
    expect(service.port).toBeGreaterThan(0);
    expect(url).toBe(`http://127.0.0.1:${service.port}/graphql`);
    expect(service.backend).toBe(backend.name);
  });

  it('answers /healthz and /readyz', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: backend.name });
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
  });

  it('creates a user and reads it back', async () => {
    const before = Date.now();
    const user = await createUser('  Ada@Example.com ', 'Ada Lovelace');
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(user).toMatchObject({ email: 'Ada@Example.com', name: 'Ada Lovelace', watchlists: [] });
    expect(user.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(user.createdAt)).toBeGreaterThanOrEqual(before - 5_000);

    const byId = await graphql(url, 'query ($id: ID!) { user(id: $id) { id email name createdAt } }', { id: user.id });
    expect(byId.data?.user).toEqual({ id: user.id, email: user.email, name: user.name, createdAt: user.createdAt });
    const upper = await graphql(url, 'query ($id: ID!) { user(id: $id) { id } }', { id: user.id.toUpperCase() });
    expect(upper.data?.user).toEqual({ id: user.id });
    const all = await graphql(url, '{ users { id email } }');
    expect(all.data?.users).toContainEqual({ id: user.id, email: user.email });
  });

  it('returns null for an unknown or malformed user id', async () => {
    for (const id of [UNKNOWN_ID, 'not-a-uuid', '']) {
      const r = await graphql(url, 'query ($id: ID!) { user(id: $id) { id } }', { id });
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual({ user: null });
    }
  });

  it('refuses a duplicate email regardless of case, naming it', async () => {
    await createUser('grace@example.com', 'Grace');
    const r = await graphql(url, CREATE_USER, { email: 'GRACE@Example.COM', name: 'Grace again' });
    expect(codes(r)).toEqual(['BAD_USER_INPUT']);
    expect(r.errors?.[0]?.message).toContain('GRACE@Example.COM');
    expect(r.errors?.[0]?.extensions?.field).toBe('email');
    expect(r.data).toBeNull();
    const count = await rows(database, sql`select count(*)::int as n from users where lower(email) = 'grace@example.com'`);
    expect(count[0]?.n).toBe(1);
  });

  it('refuses invalid emails and names with BAD_USER_INPUT', async () => {
    const bad: Array<[string, string, string]> = [
      ['not-an-email', 'X', 'email'],
      ['a@b', 'X', 'email'],
      ['a b@example.com', 'X', 'email'],
      ['a@@example.com', 'X', 'email'],
      ['', 'X', 'email'],
      [`${'a'.repeat(65)}@example.com`, 'X', 'email'],
      ['ok@example.com', '   ', 'name'],
      ['ok@example.com', 'x'.repeat(201), 'name'],
      ['ok@example.com', 'tab\there', 'name'],
    ];
    for (const [email, name, field] of bad) {
      const r = await graphql(url, CREATE_USER, { email, name });
      expect(codes(r), `${email} / ${name}`).toEqual(['BAD_USER_INPUT']);
      expect(r.errors?.[0]?.extensions?.field).toBe(field);
    }
    const count = await rows(database, sql`select count(*)::int as n from users where email = 'ok@example.com'`);
    expect(count[0]?.n).toBe(0);
  });

  it('refuses a NUL or another control character in every string argument with BAD_USER_INPUT naming it', async () => {
    const user = await createUser('control@example.com', 'Control');
    const list = await createWatchlist(user.id, 'Controlled');
    const before = logs.lines.length;
    const cases: Array<[string, string, Record<string, unknown>, (c: string) => Record<string, unknown>]> = [
      [CREATE_USER, 'email', { email: 'fresh@example.com', name: 'Fresh' }, (c) => ({ email: `fr${c}esh@example.com` })],
      [CREATE_USER, 'name', { email: 'fresh@example.com', name: 'Fresh' }, (c) => ({ name: `Fr${c}esh` })],
      [CREATE_WATCHLIST, 'userId', { userId: user.id, name: 'Fresh' }, (c) => ({ userId: `${user.id}${c}` })],
      [CREATE_WATCHLIST, 'name', { userId: user.id, name: 'Fresh' }, (c) => ({ name: `Fr${c}esh` })],
      [ADD, 'watchlistId', { id: list.id, symbol: 'AAPL' }, (c) => ({ id: `${c}${list.id}` })],
      [ADD, 'symbol', { id: list.id, symbol: 'AAPL' }, (c) => ({ symbol: `AA${c}PL` })],
      [REMOVE, 'watchlistId', { id: list.id, symbol: 'AAPL' }, (c) => ({ id: `${list.id}${c}` })],
      [REMOVE, 'symbol', { id: list.id, symbol: 'AAPL' }, (c) => ({ symbol: `AAPL${c}` })],
      [DELETE, 'id', { id: list.id }, (c) => ({ id: `${list.id}${c}` })],
      ['query ($id: ID!) { user(id: $id) { id } }', 'id', { id: user.id }, (c) => ({ id: `${user.id}${c}` })],
      [
        'query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id } } }',
        'id',
        {},
        (c) => ({ reps: [{ __typename: 'User', id: `${user.id}${c}` }] }),
      ],
    ];
    for (const control of ['\u0000', '\u0007']) {
      for (const [query, field, valid, bad] of cases) {
        const r = await graphql(url, query, { ...valid, ...bad(control) });
        const label = `${JSON.stringify(control)} in ${field}`;
        expect.soft(codes(r), label).toEqual(['BAD_USER_INPUT']);
        expect.soft(r.errors?.[0]?.extensions?.field, label).toBe(field);
        expect.soft(r.errors?.[0]?.message, label).toMatch(new RegExp(`^${field} must not contain control characters`));
      }
    }
    expect(logs.lines.slice(before).filter((l) => (l.level as number) >= 50)).toEqual([]);
    const stored = await rows(database, sql`select count(*)::int as n from users where email like 'fr%esh@example.com'`);
    expect(stored[0]?.n).toBe(0);
    const read = await graphql(url, 'query ($id: ID!) { user(id: $id) { watchlists { name symbols } } }', { id: user.id });
    expect(read.data?.user).toEqual({ watchlists: [{ name: 'Controlled', symbols: [] }] });
  });

  it('creates watchlists, refusing unknown users and duplicate names', async () => {
    const user = await createUser('lists@example.com');
    const created = await graphql(url, CREATE_WATCHLIST, { userId: user.id, name: ' Tech ' });
    expect(created.errors).toBeUndefined();
    expect(created.data?.createWatchlist).toMatchObject({ name: 'Tech', symbols: [], instruments: [] });

    const duplicate = await graphql(url, CREATE_WATCHLIST, { userId: user.id, name: 'tech' });
    expect(codes(duplicate)).toEqual(['BAD_USER_INPUT']);
    expect(duplicate.errors?.[0]?.extensions?.field).toBe('name');

    for (const userId of [UNKNOWN_ID, 'garbage']) {
      const r = await graphql(url, CREATE_WATCHLIST, { userId, name: 'Tech' });
      expect(codes(r)).toEqual(['NOT_FOUND']);
      expect(r.errors?.[0]?.extensions?.field).toBe('userId');
    }
    expect(codes(await graphql(url, CREATE_WATCHLIST, { userId: user.id, name: '' }))).toEqual(['BAD_USER_INPUT']);

    // Another user may reuse the name.
    const other = await createUser('lists2@example.com');
    await createWatchlist(other.id, 'Tech');
    const read = await graphql(url, 'query ($id: ID!) { user(id: $id) { watchlists { name } } }', { id: user.id });
    expect(read.data?.user).toEqual({ watchlists: [{ name: 'Tech' }] });
  });

  it('adds symbols in order, normalised and idempotently, and removes them', async () => {
    const user = await createUser('symbols@example.com');
    const list = await createWatchlist(user.id, 'Mixed');
    let r = await graphql(url, ADD, { id: list.id, symbol: ' aapl ' });
    expect(r.data?.addToWatchlist).toEqual({ id: list.id, name: 'Mixed', symbols: ['AAPL'] });
    for (const symbol of ['BRK.B', '^GSPC', 'eurusd=x', 'SPX']) {
      r = await graphql(url, ADD, { id: list.id, symbol });
      expect(r.errors).toBeUndefined();
    }
    expect(r.data?.addToWatchlist).toMatchObject({ symbols: ['AAPL', 'BRK.B', '^GSPC', 'EURUSD=X', 'SPX'] });

    // Adding a symbol already present changes nothing (not even its position).
    r = await graphql(url, ADD, { id: list.id, symbol: 'aapl' });
    expect(r.errors).toBeUndefined();
    expect(r.data?.addToWatchlist).toMatchObject({ symbols: ['AAPL', 'BRK.B', '^GSPC', 'EURUSD=X', 'SPX'] });

    r = await graphql(url, REMOVE, { id: list.id, symbol: 'brk.b' });
    expect(r.data?.removeFromWatchlist).toEqual({ id: list.id, symbols: ['AAPL', '^GSPC', 'EURUSD=X', 'SPX'] });
    // Removing an absent symbol changes nothing.
    r = await graphql(url, REMOVE, { id: list.id, symbol: 'BRK.B' });
    expect(r.errors).toBeUndefined();
    expect(r.data?.removeFromWatchlist).toEqual({ id: list.id, symbols: ['AAPL', '^GSPC', 'EURUSD=X', 'SPX'] });
    // Re-adding puts it at the end.
    r = await graphql(url, ADD, { id: list.id, symbol: 'BRK.B' });
    expect(r.data?.addToWatchlist).toMatchObject({ symbols: ['AAPL', '^GSPC', 'EURUSD=X', 'SPX', 'BRK.B'] });

    const read = await graphql(url, 'query ($id: ID!) { user(id: $id) { watchlists { symbols instruments { __typename symbol } } } }', {
      id: user.id,
    });
    expect(read.data?.user).toEqual({
      watchlists: [
        {
          symbols: ['AAPL', '^GSPC', 'EURUSD=X', 'SPX', 'BRK.B'],
          instruments: ['AAPL', '^GSPC', 'EURUSD=X', 'SPX', 'BRK.B'].map((symbol) => ({ __typename: 'Instrument', symbol })),
        },
      ],
    });
  });

  it('refuses invalid symbols with BAD_USER_INPUT and unknown watchlists with NOT_FOUND', async () => {
    const user = await createUser('badsymbols@example.com');
    const list = await createWatchlist(user.id, 'Strict');
    for (const symbol of ['', '   ', 'A B', 'TOO-LONG-SYMBOL-NAME-X', '.AAPL', 'AA$L', 'ÄPPL', 'A/B', '^']) {
      for (const mutation of [ADD, REMOVE]) {
        const r = await graphql(url, mutation, { id: list.id, symbol });
        expect(codes(r), JSON.stringify(symbol)).toEqual(['BAD_USER_INPUT']);
        expect(r.errors?.[0]?.extensions?.field).toBe('symbol');
      }
    }
    for (const id of [UNKNOWN_ID, 'garbage']) {
      for (const mutation of [ADD, REMOVE]) {
        const r = await graphql(url, mutation, { id, symbol: 'AAPL' });
        expect(codes(r)).toEqual(['NOT_FOUND']);
        expect(r.errors?.[0]?.extensions?.field).toBe('watchlistId');
      }
    }
    const count = await rows(database, sql`select count(*)::int as n from watchlist_symbols where watchlist_id = ${list.id}`);
    expect(count[0]?.n).toBe(0);
  });

  it('deleteWatchlist is true once, then false; symbols go with it', async () => {
    const user = await createUser('delete@example.com');
    const list = await createWatchlist(user.id, 'Doomed');
    await graphql(url, ADD, { id: list.id, symbol: 'MSFT' });
    expect((await graphql(url, DELETE, { id: list.id })).data).toEqual({ deleteWatchlist: true });
    expect((await graphql(url, DELETE, { id: list.id })).data).toEqual({ deleteWatchlist: false });
    expect((await graphql(url, DELETE, { id: 'garbage' })).data).toEqual({ deleteWatchlist: false });
    const left = await rows(database, sql`select count(*)::int as n from watchlist_symbols where watchlist_id = ${list.id}`);
    expect(left[0]?.n).toBe(0);
    expect(codes(await graphql(url, ADD, { id: list.id, symbol: 'MSFT' }))).toEqual(['NOT_FOUND']);
    const read = await graphql(url, 'query ($id: ID!) { user(id: $id) { watchlists { id } } }', { id: user.id });
    expect(read.data?.user).toEqual({ watchlists: [] });
  });

  it('sees its own writes across several mutations in one request', async () => {
    const user = await createUser('serial@example.com');
    const list = await createWatchlist(user.id, 'Serial');
    const r = await graphql(
      url,
      `mutation ($id: ID!) {
        a: addToWatchlist(watchlistId: $id, symbol: "AAA") { symbols }
        b: addToWatchlist(watchlistId: $id, symbol: "BBB") { symbols }
        c: removeFromWatchlist(watchlistId: $id, symbol: "AAA") { symbols }
      }`,
      { id: list.id },
    );
    expect(r.data).toEqual({ a: { symbols: ['AAA'] }, b: { symbols: ['AAA', 'BBB'] }, c: { symbols: ['BBB'] } });
  });

  it('keeps every concurrent add, and one row for a symbol added concurrently', async () => {
    const user = await createUser('concurrent@example.com');
    const list = await createWatchlist(user.id, 'Busy');
    const symbols = Array.from({ length: 12 }, (_, i) => `SYM${i}`);
    const results = await Promise.all([...symbols, 'DUP', 'DUP', 'DUP'].map((symbol) => graphql(url, ADD, { id: list.id, symbol })));
    for (const r of results) expect(r.errors).toBeUndefined();
    const stored = await rows(
      database,
      sql`select symbol, position from watchlist_symbols where watchlist_id = ${list.id} order by position`,
    );
    expect(stored.map((s) => s.symbol).sort()).toEqual([...symbols, 'DUP'].sort());
    expect(new Set(stored.map((s) => s.position)).size).toBe(stored.length);
  });

  it(`caps a watchlist at ${WATCHLIST_SYMBOLS_MAX} symbols, still accepting a re-add`, async () => {
    const user = await createUser('full@example.com');
    const list = await createWatchlist(user.id, 'Full');
    await database.db.execute(sql`
      insert into watchlist_symbols (watchlist_id, symbol, position)
      select ${list.id}::uuid, 'F' || n, n from generate_series(1, ${WATCHLIST_SYMBOLS_MAX}) as n`);
    const refused = await graphql(url, ADD, { id: list.id, symbol: 'ONEMORE' });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0]?.message).toContain(String(WATCHLIST_SYMBOLS_MAX));
    const again = await graphql(url, ADD, { id: list.id, symbol: 'F1' });
    expect(again.errors).toBeUndefined();
    const removed = await graphql(url, REMOVE, { id: list.id, symbol: 'F1' });
    expect((removed.data?.removeFromWatchlist as { symbols: string[] }).symbols).toHaveLength(WATCHLIST_SYMBOLS_MAX - 1);
    expect((await graphql(url, ADD, { id: list.id, symbol: 'ONEMORE' })).errors).toBeUndefined();
  });

  it('rolls a failed mutation back completely', async () => {
    const user = await createUser('atomic@example.com');
    const list = await createWatchlist(user.id, 'Atomic');
    await graphql(url, ADD, { id: list.id, symbol: 'KEEP' });
    // The symbol row is written first, then the watchlist's updated_at: make that second write fail.
    await database.db.execute(
      sql.raw(`create function test_fail_update() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`),
    );
    await database.db.execute(
      sql.raw('create trigger test_fail_update before update on watchlists for each row execute function test_fail_update()'),
    );
    try {
      const r = await graphql(url, ADD, { id: list.id, symbol: 'LOST' });
      expect(codes(r)).toEqual(['INTERNAL_SERVER_ERROR']);
      // Driver errors carry SQL and parameters; the client sees none of it.
      expect(r.errors?.[0]?.message).toBe('internal error');
      expect(JSON.stringify(r)).not.toMatch(/injected|watchlist_symbols|insert/i);
    } finally {
      await database.db.execute(sql.raw('drop trigger test_fail_update on watchlists'));
      await database.db.execute(sql.raw('drop function test_fail_update()'));
    }
    const stored = await rows(database, sql`select symbol from watchlist_symbols where watchlist_id = ${list.id}`);
    expect(stored).toEqual([{ symbol: 'KEEP' }]);
    const logged = logs.lines.find((l) => l.msg === 'graphql internal error');
    expect(logged).toMatchObject({ level: 50, code: 'INTERNAL_SERVER_ERROR', reqId: expect.any(String) });
    // The service still works afterwards.
    const after = await graphql(url, ADD, { id: list.id, symbol: 'LATER' });
    expect(after.data?.addToWatchlist).toMatchObject({ symbols: ['KEEP', 'LATER'] });
  });

  it('loads users -> watchlists -> symbols with one query per level', async () => {
    for (let u = 0; u < 3; u++) {
      const user = await createUser(`batch${u}@example.com`);
      for (let w = 0; w < 2; w++) {
        const list = await createWatchlist(user.id, `List ${w}`);
        await graphql(url, ADD, { id: list.id, symbol: `S${u}${w}A` });
        await graphql(url, ADD, { id: list.id, symbol: `S${u}${w}B` });
      }
    }
    const before = logs.lines.length;
    const r = await graphql(url, '{ users { email watchlists { name symbols instruments { symbol } } } }');
    expect(r.errors).toBeUndefined();
    const users = r.data?.users as Array<{ email: string; watchlists: Array<{ symbols: string[] }> }>;
    const batch1 = users.find((u) => u.email === 'batch1@example.com');
    expect(batch1?.watchlists).toEqual([
      { name: 'List 0', symbols: ['S10A', 'S10B'], instruments: [{ symbol: 'S10A' }, { symbol: 'S10B' }] },
      { name: 'List 1', symbols: ['S11A', 'S11B'], instruments: [{ symbol: 'S11A' }, { symbol: 'S11B' }] },
    ]);
    const queries = logs.lines.slice(before).filter((l) => l.msg === 'sql');
    expect(queries).toHaveLength(3);
  });

  it('serves federation: _service.sdl and User entities', async () => {
    const sdl = await graphql(url, '{ _service { sdl } }');
    const text = (sdl.data?._service as { sdl: string }).sdl;
    expect(text).toContain('https://specs.apollo.dev/federation/v2');
    expect(text).toMatch(/type User\s+@key\(fields: "id"\)/);
    expect(text).toMatch(/type Instrument\s+@key\(fields: "symbol", resolvable: false\)/);
    expect(text).toContain('scalar DateTime');

    const user = await createUser('entity@example.com', 'Entity');
    const list = await createWatchlist(user.id, 'Fed');
    await graphql(url, ADD, { id: list.id, symbol: 'NVDA' });
    const r = await graphql(
      url,
      `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id email watchlists { name instruments { symbol } } } } }`,
      {
        reps: [
          { __typename: 'User', id: user.id },
          { __typename: 'User', id: UNKNOWN_ID },
          { __typename: 'User', id: 'garbage' },
        ],
      },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?._entities).toEqual([
      { id: user.id, email: 'entity@example.com', watchlists: [{ name: 'Fed', instruments: [{ symbol: 'NVDA' }] }] },
      null,
      null,
    ]);
  });

  it('answers transport faults with a GraphQL-shaped error', async () => {
    const notJson = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { errors: unknown[] }).errors).toHaveLength(1);

    const huge = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ users { id } } # ${'x'.repeat(1024 * 1024)}` }),
    });
    expect(huge.status).toBe(413);

    const put = await fetch(url, { method: 'PUT' });
    expect(put.status).toBe(405);

    const badQuery = await graphql(url, '{ users { nope } }');
    expect(badQuery.status).toBe(400);
    expect(codes(badQuery)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('logs a child line per request with its request id', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-me-123' },
      body: JSON.stringify({ query: 'mutation { createUser(email: "nope", name: "x") { id } }' }),
    });
    expect(response.headers.get('x-request-id')).toBe('trace-me-123');
    await response.json();
    const line = logs.lines.find((l) => l.reqId === 'trace-me-123' && l.msg === 'graphql client error');
    expect(line).toMatchObject({ level: 30, code: 'BAD_USER_INPUT', service: 'user-service' });
  });
});

describe('readiness without a database', () => {
  it('fails /readyz with 503 and masks query failures, while /healthz stays up', async () => {
    const { logger } = captureLogs('info');
    // Nothing listens on port 1: a real pg pool that can never connect.
    const database = await openDatabase({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', dataDir: 'unused', logger });
    const service = await createUserService({ database, logger, port: 0 });
    try {
      const base = service.url.replace(/\/graphql$/, '');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unavailable' });
      const r = await graphql(service.url, '{ users { id } }');
      expect(codes(r)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(r.errors?.[0]?.message).toBe('internal error');
    } finally {
      await service.close();
      await database.close();
    }
  });
});
