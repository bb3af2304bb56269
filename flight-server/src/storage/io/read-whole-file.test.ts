import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readWholeFile } from './read-whole-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-read-whole-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readWholeFile', () => {
  it('returns every byte of a file read in several pieces, and of one read whole', async () => {
    const bytes = randomBytes(10_000 + 7);
    const path = join(dir, 'f.bin');
    await writeFile(path, bytes);
    expect(Buffer.compare(await readWholeFile(path, 4096), bytes)).toBe(0);
    expect(Buffer.compare(await readWholeFile(path), bytes)).toBe(0);
  });

  it('reads an empty file as no bytes', async () => {
    const path = join(dir, 'empty.bin');
    await writeFile(path, new Uint8Array(0));
    expect((await readWholeFile(path)).byteLength).toBe(0);
  });

  it('fails on a missing file with ENOENT, as readFile does', async () => {
    await expect(readWholeFile(join(dir, 'missing.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
