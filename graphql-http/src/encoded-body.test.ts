import { request, type IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyBuffers, ENCODED_BODY, EncodedBody, stringifyResult, withEncodedBody } from './encoded-body.js';
import { closeServer, createHttpFront, listen, type RunningHttpServer } from './http-server.js';

describe('EncodedBody', () => {
  it('encodes what Apollo writes by default, lends one buffer and takes it back once', () => {
    const buffers = new BodyBuffers();
    const body = new EncodedBody(buffers);
    const result = { data: { n: [1.5, null, 'é'] } };
    expect(body.encode(result)).toBe(true);
    expect(body.bytes()!.toString('utf8')).toBe(`${JSON.stringify(result)}\n`);
    // A second answer (Apollo's error path after a first one) replaces the first.
    expect(body.encode({ errors: [{ message: 'late' }] })).toBe(true);
    expect(body.bytes()!.toString('utf8')).toBe('{"errors":[{"message":"late"}]}\n');
    body.release();
    body.release();
    expect(buffers.pooled).toBe(1);
    expect(body.bytes()).toBeUndefined();
    expect(body.encode(result)).toBe(false);
  });

  it('stringifyResult: the marker inside withEncodedBody, Apollo\u2019s own text outside it or once released', async () => {
    const result = { data: { ok: true } };
    expect(stringifyResult(result)).toBe('{"data":{"ok":true}}\n');
    const body = new EncodedBody(new BodyBuffers());
    await withEncodedBody(body, async () => {
      await Promise.resolve();
      expect(stringifyResult(result)).toBe(ENCODED_BODY);
    });
    expect(body.bytes()!.toString()).toBe('{"data":{"ok":true}}\n');
    body.release();
    await withEncodedBody(body, async () => expect(stringifyResult(result)).toBe('{"data":{"ok":true}}\n'));
  });
});

describe('the HTTP front writes encoded answers', () => {
  // Far more than a client that stops reading lets loopback's socket buffers take (it leaves bytes
  // queued in the server), and in pieces, so the buffer that holds it is one the front keeps for reuse.
  const PIECES = 10_000;
  const PIECE = 1000;
  let running: RunningHttpServer;

  beforeAll(async () => {
    const apollo = new ApolloServer({
      typeDefs: 'type Query { texts(letter: String!): [String!]! rows: [Row!]! } type Row { id: Int! name: String }',
      resolvers: {
        Query: {
          texts: (_: unknown, args: { letter: string }) => new Array<string>(PIECES).fill(args.letter.repeat(PIECE)),
          rows: () => Array.from({ length: 3000 }, (_, id) => ({ id, name: id % 3 === 0 ? null : `row ${id} \u00e9\u20ac` })),
        },
      },
      stringifyResult,
    });
    await apollo.start();
    const server = createHttpFront({ apollo, context: async () => ({}), ready: async () => ({}), logger: pino({ level: 'silent' }), service: 'encoded-body-test' });
    running = await listen(server, '127.0.0.1', 0);
  });

  afterAll(async () => {
    if (running) await closeServer(running.server);
  });

  function post(query: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify({ query });
      const req = request(`${running.url}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, resolve);
      req.once('error', reject);
      req.end(body);
    });
  }

  async function text(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  it('answers with exactly the JSON Apollo would write, with its length', async () => {
    const res = await post('{ rows { id name } }');
    const expected = `${JSON.stringify({ data: { rows: Array.from({ length: 3000 }, (_, id) => ({ id, name: id % 3 === 0 ? null : `row ${id} \u00e9\u20ac` })) } })}\n`;
    expect(res.statusCode).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(expected));
    expect(await text(res)).toBe(expected);

    const refused = await post('{ nope }');
    expect(refused.statusCode).toBe(400);
    const errors = JSON.parse(await text(refused)) as { errors: { extensions: { code: string } }[] };
    expect(errors.errors[0]!.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('never reuses a buffer whose answer a slow client has not read yet', async () => {
    const expected = (letter: string) => `${JSON.stringify({ data: { texts: new Array<string>(PIECES).fill(letter.repeat(PIECE)) } })}\n`;
    const slow = await post('{ texts(letter: "a") }');
    slow.pause();
    // The slow answer's bytes are still queued in the server while the next answers are encoded.
    for (const letter of ['b', 'c']) expect(await text(await post(`{ texts(letter: "${letter}") }`))).toBe(expected(letter));
    slow.resume();
    expect(await text(slow)).toBe(expected('a'));
  });
});
