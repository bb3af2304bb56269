/**
 * The users the Flight server admits, from FLIGHT_USERS (`user:password:role,...`, plain passwords)
 * and FLIGHT_USERS_FILE (one `user:scrypt$...:role` per line, `#` comments; see password-hash.ts in @flightdeck/contract).
 * Plain passwords are kept only as SHA-256 digests; error messages never quote a password.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { looksLikePasswordHash, parsePasswordHash, type PasswordHash } from '@flightdeck/contract';

export const ROLES = ['read', 'write', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type UserSecret = { kind: 'digest'; digest: Buffer } | { kind: 'scrypt'; hash: PasswordHash };

export interface UserEntry {
  name: string;
  role: Role;
  secret: UserSecret;
}

export type UserTable = ReadonlyMap<string, UserEntry>;

const USER_NAME = /^[A-Za-z0-9_.@-]{1,128}$/;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function passwordDigest(password: string): Buffer {
  return createHash('sha256').update(password.normalize('NFC'), 'utf8').digest();
}

/** Splits `user:secret:role`; the secret may itself contain `:`. */
function splitEntry(entry: string, where: string): { name: string; secret: string; role: Role } {
  const first = entry.indexOf(':');
  const last = entry.lastIndexOf(':');
  if (first < 0 || last === first) throw new Error(`${where}: expected user:password:role`);
  const name = entry.slice(0, first).trim();
  const secret = entry.slice(first + 1, last);
  const role = entry.slice(last + 1).trim();
  if (!USER_NAME.test(name)) throw new Error(`${where}: user name ${JSON.stringify(name.slice(0, 40))} must match ${USER_NAME.source}`);
  if (!isRole(role)) throw new Error(`${where} (user "${name}"): role ${JSON.stringify(role.slice(0, 20))} must be one of ${ROLES.join(', ')}`);
  if (secret === '') throw new Error(`${where} (user "${name}"): the password is empty`);
  return { name, secret, role };
}

function add(table: Map<string, UserEntry>, entry: UserEntry, where: string): void {
  if (table.has(entry.name)) throw new Error(`${where}: user "${entry.name}" is defined twice`);
  table.set(entry.name, entry);
}

/** FLIGHT_USERS: comma-separated `user:password:role` with plain passwords. */
export function parseUsersList(text: string, table = new Map<string, UserEntry>(), source = 'FLIGHT_USERS'): Map<string, UserEntry> {
  text.split(',').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const where = `${source} entry ${i + 1}`;
    const { name, secret, role } = splitEntry(raw, where);
    add(table, { name, role, secret: { kind: 'digest', digest: passwordDigest(secret) } }, where);
  });
  return table;
}

/** A users file: one `user:scrypt$...:role` per line; blank lines and `#` comments are skipped. */
export function parseUsersFile(text: string, table = new Map<string, UserEntry>(), source = 'FLIGHT_USERS_FILE'): Map<string, UserEntry> {
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source} line ${i + 1}`;
    const { name, secret, role } = splitEntry(line, where);
    if (!looksLikePasswordHash(secret)) {
      throw new Error(`${where} (user "${name}"): the password must be a scrypt hash (make one with \`flightdeck hash-password\`)`);
    }
    let hash: PasswordHash;
    try {
      hash = parsePasswordHash(secret);
    } catch (err) {
      throw new Error(`${where} (user "${name}"): ${(err as Error).message}`);
    }
    add(table, { name, role, secret: { kind: 'scrypt', hash } }, where);
  });
  return table;
}

/** The users of FLIGHT_USERS and FLIGHT_USERS_FILE together; null when neither names any (auth off). */
export function loadUserTable(list: string | undefined, file: string | undefined): UserTable | null {
  const table = new Map<string, UserEntry>();
  if (list !== undefined && list.trim() !== '') parseUsersList(list, table);
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`FLIGHT_USERS_FILE=${JSON.stringify(file)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    parseUsersFile(text, table);
    if (table.size === 0) throw new Error(`FLIGHT_USERS_FILE=${JSON.stringify(file)} names no user`);
  }
  return table.size === 0 ? null : table;
}
