/**
 * scrypt password hashes for FLIGHT_USERS_FILE, a public format: `flightdeck hash-password` writes
 * them, the Flight server verifies them. One self-describing string:
 * `scrypt$N=32768,r=8,p=1$<salt base64>$<key base64>` (no `:`, so it fits a users line).
 * Verification recomputes the key with the stored parameters and compares with timingSafeEqual.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 2^15 × 8 × 128 B = 32 MiB and roughly 50-100 ms per hash: expensive to guess, cheap per Handshake. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 32768, r: 8, p: 1 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const PREFIX = 'scrypt$';
const FORMAT = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

export interface PasswordHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function scrypt(password: string, salt: Buffer, keyBytes: number, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCallback(password.normalize('NFC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a password with a fresh random salt; the result goes after `user:` in a users file line. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  if (password === '') throw new Error('the password is empty');
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, params);
  return `${PREFIX}N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export function looksLikePasswordHash(text: string): boolean {
  return text.startsWith(PREFIX);
}

/** Parses a hash string; the error names what is wrong (never the hash itself). */
export function parsePasswordHash(text: string): PasswordHash {
  const m = FORMAT.exec(text);
  if (!m) throw new Error('not a scrypt hash of the form scrypt$N=<n>,r=<r>,p=<p>$<salt base64>$<key base64>');
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.N < 2 || (params.N & (params.N - 1)) !== 0 || params.N > 2 ** 20) throw new Error(`scrypt N=${params.N} must be a power of two in [2, 2^20]`);
  if (params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) throw new Error('scrypt r must be in [1, 32] and p in [1, 16]');
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8) throw new Error('scrypt salt must be at least 8 bytes');
  if (key.length < 16 || key.length > 64) throw new Error('scrypt key must be 16 to 64 bytes');
  return { params, salt, key };
}

/** Whether `password` matches `hash`; the key comparison is constant-time. */
export async function verifyPassword(password: string, hash: PasswordHash): Promise<boolean> {
  const key = await scrypt(password, hash.salt, hash.key.length, hash.params);
  return timingSafeEqual(key, hash.key);
}
