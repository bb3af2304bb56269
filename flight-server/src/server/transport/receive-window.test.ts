/**
 * The receive windows a client sees on the Flight port: what FLIGHT_RECEIVE_WINDOW_BYTES says per
 * stream (4 MiB by default) and four times that per connection, and a DoPut that uses them.
 */
import { connect, type ClientHttp2Session } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { seedBars, startTestServer, type TestServer } from '../../../test-support/test-fixture.js';

/** The server's SETTINGS and connection window, as a plain HTTP/2 client sees them once it has both. */
async function windowsSeenBy(url: string): Promise<{ stream: number; connection: number }> {
  const session: ClientHttp2Session = connect(url.replace(/^grpc:/, 'http:'));
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
    // The connection's WINDOW_UPDATE follows the server's SETTINGS: a ping's answer comes after it.
    await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
    return { stream: session.remoteSettings.initialWindowSize!, connection: session.state.remoteWindowSize! };
  } finally {
    session.close();
  }
}

describe('HTTP/2 receive windows', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('are 4 MiB per stream and 16 MiB per connection by default', async () => {
    t = await startTestServer();
    expect(await windowsSeenBy(t.server.url)).toEqual({ stream: 4 * 1024 * 1024, connection: 16 * 1024 * 1024 });
  });

  it('follow FLIGHT_RECEIVE_WINDOW_BYTES, and a DoPut larger than the window commits whole', async () => {
    t = await startTestServer({ FLIGHT_RECEIVE_WINDOW_BYTES: String(256 * 1024) });
    expect(await windowsSeenBy(t.server.url)).toEqual({ stream: 256 * 1024, connection: 1024 * 1024 });
    const client = t.client();
    // ~2.9 MB of bars in one DoPut: many windows' worth.
    const rows = await seedBars(client, 'wide', { symbols: Array.from({ length: 20 }, (_, i) => `S${i}`), days: 2, minutes: 1440 });
    expect(rows).toBe(57_600);
    expect(await client.doActionJson('describe_dataset', { name: 'wide' })).toMatchObject({ version: 1, rows });
  });

  it('refuses a window outside [65535, 256 MiB] at start-up, naming the variable', () => {
    expect(() => loadConfig({ FLIGHT_RECEIVE_WINDOW_BYTES: '1000' })).toThrow('FLIGHT_RECEIVE_WINDOW_BYTES="1000" must be an integer in [65535, 268435456]');
    expect(() => loadConfig({ FLIGHT_RECEIVE_WINDOW_BYTES: String(2 ** 31) })).toThrow(/FLIGHT_RECEIVE_WINDOW_BYTES/);
  });
});
