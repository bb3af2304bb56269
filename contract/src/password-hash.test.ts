import { describe, expect, it } from 'vitest';
import { hashPassword, looksLikePasswordHash, parsePasswordHash, verifyPassword } from './password-hash.js';

const FAST = { N: 1024, r: 8, p: 1 };

describe('password hash format (FLIGHT_USERS_FILE)', () => {
  it('a hash written before still verifies: the format is fixed', async () => {
    // Made once with hashPassword('s3cret: with colon', FAST); changing the format must fail here.
    const fixture = 'scrypt$N=1024,r=8,p=1$KuKaMvNhebsj1VfH/MnkpQ==$cr5z8g8OPisHy/+LZToYdGFtDByRQCQfeI6P5jbMigM=';
    const parsed = parsePasswordHash(fixture);
    expect(parsed.params).toEqual(FAST);
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.key).toHaveLength(32);
    expect(await verifyPassword('s3cret: with colon', parsed)).toBe(true);
    expect(await verifyPassword('s3cret', parsed)).toBe(false);
  });

  it('writes the self-describing form that a users line can hold', async () => {
    const hash = await hashPassword('pw', FAST);
    expect(hash).toMatch(/^scrypt\$N=1024,r=8,p=1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
    expect(hash).not.toContain(':');
    expect(looksLikePasswordHash(hash)).toBe(true);
    expect(looksLikePasswordHash('plain')).toBe(false);
    await expect(hashPassword('')).rejects.toThrow('the password is empty');
  });

  it('refuses malformed hashes naming the fault, never quoting the hash', () => {
    expect(() => parsePasswordHash('scrypt$N=1024$abc')).toThrow('not a scrypt hash of the form');
    expect(() => parsePasswordHash('scrypt$N=1000,r=8,p=1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==')).toThrow('scrypt N=1000 must be a power of two');
    expect(() => parsePasswordHash('scrypt$N=1024,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==')).toThrow('scrypt salt must be at least 8 bytes');
  });
});
