import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DATA_DIR, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('puts data in <repository>/data/flight by default, whatever the working directory', () => {
    const repository = resolve(DEFAULT_DATA_DIR, '..', '..');
    expect(existsSync(join(repository, 'flight-server', 'package.json'))).toBe(true);
    expect(loadConfig({}).dataDir).toBe(join(repository, 'data', 'flight'));
    const cwd = process.cwd();
    try {
      process.chdir(join(repository, 'flight-server'));
      expect(loadConfig({}).dataDir).toBe(join(repository, 'data', 'flight'));
      expect(loadConfig({ DATA_DIR: 'elsewhere' }).dataDir).toBe(join(repository, 'flight-server', 'elsewhere'));
    } finally {
      process.chdir(cwd);
    }
  });
});
