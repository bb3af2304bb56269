#!/usr/bin/env node
/**
 * Creates `.venv` at the repository root with the Python clients the interop tests use
 * (pyarrow, duckdb, pytest; pandas and polars for the README's examples) at pinned versions.
 * Idempotent: when the venv already imports the pinned versions it exits at once. Fails loudly
 * (non-zero) when anything is missing, so CI never silently skips the Python suite.
 *
 * A local wheel mirror at /opt/pypi/simple is used as the index when present: the default
 * index is unreachable offline and pip would stall on it before falling back.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// pandas and polars: the README's Python examples hand Flight results to them.
const PINS = { pyarrow: '25.0.1', duckdb: '1.5.6', pytest: '9.1.1', pandas: '3.0.6', polars: '1.44.2' };
const LOCAL_INDEX = '/opt/pypi/simple';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const venv = join(root, '.venv');
const venvPython = join(venv, 'bin', 'python');

function fail(message) {
  console.error(`setup-python: ${message}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { cwd: root, encoding: 'utf8', ...opts });
}

/** Returns null when every pinned module imports at its pinned version, else a description. */
function checkInstalled() {
  if (!existsSync(venvPython)) return 'no .venv/bin/python';
  const probe = [
    'import importlib, json, sys',
    `pins = ${JSON.stringify(PINS)}`,
    'bad = {}',
    'for name, want in pins.items():',
    '    try:',
    '        got = importlib.import_module(name).__version__',
    '    except Exception as e:',
    '        got = f"import failed: {e}"',
    '    if got != want:',
    '        bad[name] = got',
    'print(json.dumps(bad))',
    'sys.exit(1 if bad else 0)',
  ].join('\n');
  const r = run(venvPython, ['-c', probe]);
  if (r.error) return `cannot run ${venvPython}: ${r.error.message}`;
  if (r.status === 0) return null;
  return (r.stdout || r.stderr || `exit ${r.status}`).trim();
}

function findBasePython() {
  const candidates = [process.env.PYTHON, 'python3.11', 'python3', 'python'].filter(Boolean);
  for (const c of candidates) {
    const r = run(c, ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])']);
    if (r.status === 0) {
      const [major, minor] = r.stdout.trim().split('.').map(Number);
      if (major === 3 && minor >= 9) return c;
    }
  }
  return fail(`no usable Python 3.9+ with the venv module found (tried ${candidates.join(', ')}); set PYTHON`);
}

const before = checkInstalled();
if (before === null) {
  console.log(`setup-python: .venv ready (${Object.entries(PINS).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  process.exit(0);
}

const venvBroken = !existsSync(venvPython) || run(venvPython, ['-c', 'import pip']).status !== 0;
if (venvBroken) {
  if (existsSync(venv)) rmSync(venv, { recursive: true, force: true });
  const python = findBasePython();
  console.log(`setup-python: creating .venv with ${python}`);
  const r = run(python, ['-m', 'venv', venv], { stdio: 'inherit' });
  if (r.status !== 0) fail(`'${python} -m venv .venv' failed (exit ${r.status ?? r.signal})`);
}

const indexArgs = existsSync(LOCAL_INDEX) ? ['--index-url', `file://${LOCAL_INDEX}`] : [];
const specs = Object.entries(PINS).map(([name, version]) => `${name}==${version}`);
console.log(`setup-python: installing ${specs.join(' ')}${indexArgs.length ? ` from ${LOCAL_INDEX}` : ''}`);
const install = run(
  venvPython,
  ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', ...indexArgs, ...specs],
  { stdio: 'inherit' },
);
if (install.status !== 0) fail(`pip install failed (exit ${install.status ?? install.signal}); the Python interop tests need ${specs.join(', ')}`);

const after = checkInstalled();
if (after !== null) fail(`after install the venv still lacks the pinned modules: ${after}`);
console.log('setup-python: .venv ready');
