/**
 * The import rules of README "Architecture" (.dependency-cruiser.cjs), checked on the real packages,
 * and shown to fire on a small tree that breaks each of them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as IConfiguration;
const PACKAGES = ['contract', 'proto', 'flight-server', 'client', 'graphql-http', 'graphql-facade', 'user-service', 'gateway', 'web'];

async function violations(baseDir: string, dirs: string[]): Promise<string[]> {
  const result = await cruise(dirs, { validate: true, ruleSet: config, ...config.options, baseDir, outputType: 'json' });
  const out = (typeof result.output === 'string' ? JSON.parse(result.output) : result.output) as ICruiseResult;
  return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe('import rules', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'fd-arch-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('hold in every package', async () => {
    const { existsSync } = await import('node:fs');
    const dirs = PACKAGES.map((p) => `${p}/src`).filter((d) => existsSync(join(root, d)));
    expect(dirs.length).toBeGreaterThan(5);
    expect(await violations(root, dirs)).toEqual([]);
  });

  it('fire on a tree that breaks each of them', async () => {
    const files: Record<string, string> = {
      'contract/src/a.ts': "import { b } from '../../proto/src/b.js';\nexport const a = b;\n",
      'proto/src/b.ts': "import { c } from './c.js';\nexport const b = c;\n",
      'proto/src/c.ts': "import { b } from './b.js';\nimport { s } from '../../flight-server/src/storage/s.js';\nexport const c = () => [b, s];\n",
      'flight-server/src/storage/s.ts': "import { h } from '../server/h.js';\nexport const s = h;\n",
      'flight-server/src/server/h.ts': 'export const h = 1;\n',
      'client/src/x.ts': "import { s } from '../../flight-server/src/storage/s.js';\nexport const x = s;\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(scratch, path)), { recursive: true });
      writeFileSync(join(scratch, path), text);
    }
    const found = await violations(scratch, ['contract/src', 'proto/src', 'flight-server/src', 'client/src']);
    const rules = new Set(found.map((v) => v.split(':')[0]));
    expect([...rules].sort()).toEqual([
      'client-never-imports-the-server',
      'contract-imports-nothing-of-ours',
      'no-circular',
      'no-flight-server-internals',
      'proto-imports-only-contract',
      'storage-never-imports-transport',
    ]);
  });
});
