import { FlightError } from '@flightdeck/proto';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { InputError } from './input-error.js';
import { isTransientError } from './transient-error.js';

describe('isTransientError', () => {
  it('retries what a restart or a broken connection causes, nothing else', () => {
    for (const code of ['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'ABORTED', 'CANCELLED'] as const) {
      expect(isTransientError(new FlightError(code, 'x')), code).toBe(true);
    }
    expect(isTransientError(new FlightError('INTERNAL', 'Received RST_STREAM with code 2'))).toBe(true);
    expect(isTransientError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    for (const code of ['INVALID_ARGUMENT', 'NOT_FOUND', 'PERMISSION_DENIED', 'UNAUTHENTICATED', 'RESOURCE_EXHAUSTED', 'ALREADY_EXISTS'] as const) {
      expect(isTransientError(new FlightError(code, 'x')), code).toBe(false);
    }
    expect(isTransientError(new FlightError('INTERNAL', 'disk full'))).toBe(false);
    expect(isTransientError(new InputError('bad value'))).toBe(false);
    expect(isTransientError(new Error('boom'))).toBe(false);
    expect(isTransientError('UNAVAILABLE')).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with jitter in the upper half', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** attempt);
      for (let i = 0; i < 20; i++) {
        const d = backoffDelay(attempt, { initialDelayMs: 100, maxDelayMs: 1000 });
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});
