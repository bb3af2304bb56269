import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { FlightError, flightErrorCodes, fromServiceError, grpcStatusOf, toServiceError } from './errors.js';

describe('toServiceError', () => {
  it('maps every FlightError code to its gRPC status and back', () => {
    for (const code of flightErrorCodes) {
      const err = toServiceError(new FlightError(code, `bad ${code}`));
      expect(err).toMatchObject({ code: grpcStatusOf(code), details: `bad ${code}`, unexpected: false });
      expect(err.metadata).toBeInstanceOf(Metadata);
      expect(fromServiceError(err)).toMatchObject({ code, message: `bad ${code}` });
    }
    expect(grpcStatusOf('NOT_FOUND')).toBe(status.NOT_FOUND);
    expect(grpcStatusOf('RESOURCE_EXHAUSTED')).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('accepts any error carrying a known string code (duck-typed)', () => {
    class StorageError extends Error {
      constructor(
        readonly code: string,
        message: string,
      ) {
        super(message);
      }
    }
    expect(toServiceError(new StorageError('ALREADY_EXISTS', "dataset 'bars' exists"))).toMatchObject({
      code: status.ALREADY_EXISTS,
      details: "dataset 'bars' exists",
      unexpected: false,
    });
    expect(toServiceError({ code: 'PERMISSION_DENIED', message: 'admin only' })).toMatchObject({ code: status.PERMISSION_DENIED });
  });

  it('maps everything else to INTERNAL and flags it', () => {
    expect(toServiceError(new TypeError('x is undefined'))).toMatchObject({ code: status.INTERNAL, details: 'x is undefined', unexpected: true });
    expect(toServiceError(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }))).toMatchObject({
      code: status.INTERNAL,
      unexpected: true,
    });
    expect(toServiceError('just a string')).toMatchObject({ code: status.INTERNAL, details: 'just a string', unexpected: true });
    expect(toServiceError(undefined)).toMatchObject({ code: status.INTERNAL, details: 'internal error', unexpected: true });
  });
});

describe('fromServiceError', () => {
  it('keeps the server details and maps unknown statuses to INTERNAL', () => {
    const err = fromServiceError({ code: status.DATA_LOSS, details: 'lost', metadata: new Metadata() });
    expect(err).toBeInstanceOf(FlightError);
    expect(err).toMatchObject({ code: 'INTERNAL', message: 'lost' });
    expect(fromServiceError({ code: status.UNAUTHENTICATED, details: 'token expired' })).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'token expired',
    });
    const same = new FlightError('ABORTED', 'conflict');
    expect(fromServiceError(same)).toBe(same);
  });
});
