import { FlightError } from '@flightdeck/proto';
import { describe, expect, it } from 'vitest';
import { describeFailure, EXIT_REFUSED } from './cli-error.js';
import { formatCounted } from './human-units.js';

const url = 'grpc://127.0.0.1:8815';

describe('describeFailure: UNAUTHENTICATED names the CLI options, not pyarrow calls', () => {
  // The server's own messages, with its hint for Flight clients in general.
  const noCredentials = 'no credentials: send `authorization: Bearer <token>` with a token from Handshake (pyarrow: client.authenticate_basic_token)';

  it('without credentials: --user/--password and --token, with their env variables', () => {
    const f = describeFailure(new FlightError('UNAUTHENTICATED', noCredentials), { url, credentials: 'none' });
    expect(f).toEqual({
      line: 'UNAUTHENTICATED: no credentials: log in with --user <name> --password <password> (env FLIGHT_USER, FLIGHT_PASSWORD), or pass --token <token> (env FLIGHT_TOKEN)',
      exitCode: EXIT_REFUSED,
    });
    expect(f.line).not.toMatch(/pyarrow|authenticate_basic_token/);
  });

  it('a refused password or token', () => {
    expect(describeFailure(new FlightError('UNAUTHENTICATED', 'invalid user name or password'), { url, credentials: 'user' }).line).toBe(
      'UNAUTHENTICATED: invalid user name or password: check --user and --password (env FLIGHT_USER, FLIGHT_PASSWORD)',
    );
    expect(describeFailure(new FlightError('UNAUTHENTICATED', 'invalid bearer token: Handshake again'), { url, credentials: 'token' }).line).toBe(
      'UNAUTHENTICATED: invalid bearer token: pass a fresh --token (env FLIGHT_TOKEN), or log in with --user <name> --password <password> (env FLIGHT_USER, FLIGHT_PASSWORD)',
    );
    expect(
      describeFailure(new FlightError('UNAUTHENTICATED', 'bearer token expired at 2024-01-02T10:00:00.000Z: Handshake again'), { url, credentials: 'token' }).line,
    ).toMatch(/^UNAUTHENTICATED: bearer token expired at 2024-01-02T10:00:00\.000Z: pass a fresh --token/);
  });

  it('other refusals keep the server message', () => {
    expect(describeFailure(new FlightError('NOT_FOUND', 'dataset "x" does not exist'), { url, credentials: 'none' }).line).toBe('NOT_FOUND: dataset "x" does not exist');
  });
});

describe('formatCounted', () => {
  it('singular for one', () => {
    expect(formatCounted(1, 'file')).toBe('1 file');
    expect(formatCounted(0, 'file')).toBe('0 files');
    expect(formatCounted(1234, 'row')).toBe('1,234 rows');
    expect(formatCounted(1, 'retry', 'retries')).toBe('1 retry');
    expect(formatCounted(2, 'retry', 'retries')).toBe('2 retries');
  });
});
