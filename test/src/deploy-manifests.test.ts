/**
 * The deployment files checked against the code, since this machine builds no image and runs no
 * cluster: `Dockerfile`, `.dockerignore`, `deploy/compose.yaml` and `deploy/k8s/` (base and the
 * example overlay). The variables each service reads are taken from its `config.ts`, the routes
 * from `graphql-http`, the health service from the Flight server, the start commands from the
 * package.json files; every environment a container gets is run through that service's own
 * `loadConfig`, so a variable a service starts to require (or a value it refuses) fails here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { loadConfig as loadFlightConfig } from '@flightdeck/flight-server';
import { loadConfig as loadFacadeConfig } from '@flightdeck/graphql-facade';
import { loadConfig as loadGatewayConfig } from '@flightdeck/gateway';
import { loadConfig as loadUsersConfig } from '@flightdeck/user-service';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { repoRoot } from './cli-harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Env = Record<string, string>;

const SERVICES = ['flight-server', 'graphql-facade', 'user-service', 'gateway'] as const;
type Service = (typeof SERVICES)[number];

const read = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');
const readJson = (path: string): Json => JSON.parse(read(path)) as Json;

/** The variables a service's config module reads: `env.NAME` and `helper(env, 'NAME', ...)`. */
function configVariables(service: Service): Set<string> {
  const text = read(`${service}/src/config.ts`);
  const names = new Set<string>();
  for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
  for (const m of text.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)) names.add(m[1]!);
  for (const m of text.matchAll(/\(env,\s*['"]([A-Z][A-Z0-9_]*)['"]/g)) names.add(m[1]!);
  return names;
}
const READS = new Map(SERVICES.map((s) => [s, configVariables(s)]));

/**
 * Read by the AWS SDK's standard credential chain inside the Flight server's S3 store, not by
 * config.ts (the contract: "credentials and region by the AWS SDK's standard chain").
 */
const AWS_SDK_VARIABLES = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']);

/** The contract's shared-mode variables ("Shared storage and replicas"); each one the server reads must be set on every replica. */
const SHARED_MODE_VARIABLES = ['DATA_URL', 'S3_ENDPOINT', 'CATALOG_URL', 'CACHE_DIR', 'FLIGHT_ADVERTISE_URL'];

const LOADERS: Record<Service, (env: Env) => { port: number; host: string }> = {
  'flight-server': (env) => loadFlightConfig(env),
  'graphql-facade': (env) => loadFacadeConfig(env),
  'user-service': (env) => loadUsersConfig(env),
  gateway: (env) => loadGatewayConfig(env),
};

/** HTTP routes of the GraphQL processes' shared front. */
const HTTP_ROUTES = new Set([...read('graphql-http/src/http-server.ts').matchAll(/^\s*'(\/[a-z]+)': \[/gm)].map((m) => m[1]!));

/** The service a container runs, from its command (`node --import tsx <service>/src/<entry>.ts`). */
function serviceOf(command: readonly string[]): { service: Service; entry: string } {
  const entry = command.find((c) => /\.ts$/.test(c));
  expect(entry, `command ${JSON.stringify(command)} names no .ts entry point`).toBeDefined();
  const service = entry!.split('/')[0] as Service;
  expect(SERVICES, `command ${JSON.stringify(command)}`).toContain(service);
  return { service, entry: entry! };
}

/** A command is a real entry point: `node --import <module> <file>` with the file present and the module a production dependency. */
function checkCommand(command: readonly string[]): void {
  expect(command[0]).toBe('node');
  const { entry } = serviceOf(command);
  expect(existsSync(join(repoRoot, entry)), `${entry} exists`).toBe(true);
  const imported = command.indexOf('--import');
  if (imported >= 0) expect(PRODUCTION_MODULES.has(command[imported + 1]!), `${command[imported + 1]} is a production dependency of an installed workspace`).toBe(true);
}

/** Each variable is one the service reads (or the AWS SDK, in the Flight server). */
function checkVariables(where: string, service: Service, env: Env, intermediates: ReadonlySet<string> = new Set()): void {
  const reads = READS.get(service)!;
  const unknown = Object.keys(env).filter((name) => !reads.has(name) && !intermediates.has(name) && !(service === 'flight-server' && AWS_SDK_VARIABLES.has(name)));
  expect(unknown, `${where}: variables ${service}'s config.ts does not read`).toEqual([]);
}

/** The variables a shared-mode replica must have, and that its config is in shared mode. */
function checkSharedReplica(where: string, env: Env): void {
  const reads = READS.get('flight-server')!;
  const missing = SHARED_MODE_VARIABLES.filter((v) => reads.has(v) && (env[v] === undefined || env[v] === ''));
  expect(missing, `${where}: shared-mode variables not set`).toEqual([]);
  const config = loadFlightConfig(env) as unknown as Json;
  expect(config.catalogUrl, `${where}: CATALOG_URL`).toMatch(/^postgres/);
  if ('dataUrl' in config) expect(config.dataUrl, `${where}: DATA_URL`).toMatch(/^s3:\/\//);
}

// ---------------------------------------------------------------------------------------------
// Workspaces and the image

const WORKSPACES: string[] = readJson('package.json').workspaces;
const packageOf = new Map(WORKSPACES.map((w) => [readJson(`${w}/package.json`).name as string, w]));

/** A workspace and every workspace it depends on in production. */
function closure(workspace: string): Set<string> {
  const seen = new Set<string>();
  const visit = (w: string): void => {
    if (seen.has(w)) return;
    seen.add(w);
    for (const dep of Object.keys(readJson(`${w}/package.json`).dependencies ?? {})) {
      const local = packageOf.get(dep);
      if (local !== undefined) visit(local);
    }
  };
  visit(workspace);
  return seen;
}

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  steps: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (op === undefined) continue;
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!.trim())!;
      stages.push({ from: m[1]!, name: m[2] ?? String(stages.length), steps: [] });
    } else if (stages.length > 0) stages.at(-1)!.steps.push({ op: upper, args: args!.trim() });
  }
  return stages;
}

const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1)!;

/** `ENV A=1 B=2` of the final stage. */
const imageEnv: Env = Object.fromEntries(
  runtime.steps.filter((s) => s.op === 'ENV').flatMap((s) => [...s.args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)].map((m) => [m[1]!, m[2]!])),
);

/** COPY sources and destination, and the stage copied from. */
function copies(stage: Stage): { from: string | null; sources: string[]; dest: string }[] {
  return stage.steps
    .filter((s) => s.op === 'COPY')
    .map((s) => {
      const words = s.args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, sources: paths.slice(0, -1).map((p) => p.replace(/\/$/, '')), dest: paths.at(-1)! };
    });
}

/** Workspaces whose production dependencies the image installs (`npm ci --omit=dev --workspace ...` in a stage the runtime copies node_modules from). */
function installedWorkspaces(): string[] {
  const source = copies(runtime).find((c) => c.sources.includes('/app/node_modules'))?.from;
  expect(source, 'the runtime stage copies node_modules from a dependency stage').toBeDefined();
  const stage = stages.find((s) => s.name === source)!;
  const ci = stage.steps.find((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args));
  expect(ci?.args, 'the dependency stage runs npm ci').toBeDefined();
  expect(ci!.args, 'production dependencies only').toMatch(/--omit=dev\b/);
  return [...ci!.args.matchAll(/--workspace[= ](\S+)/g)].map((m) => m[1]!);
}
const INSTALLED = installedWorkspaces();

/** Modules `node --import X` may name: production dependencies of the installed workspaces. */
const PRODUCTION_MODULES = new Set(INSTALLED.flatMap((w) => Object.keys(readJson(`${w}/package.json`).dependencies ?? {})));

/** .dockerignore as Docker reads it: patterns in order, `!` re-includes, the last match wins. */
function dockerIgnored(): (path: string) => boolean {
  const rules = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const glob = normalize(negate ? l.slice(1) : l).replace(/^\/+/, '');
      const source = glob
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => (part === '**/' || part === '**' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('');
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negate;
    return ignored;
  };
}
const ignored = dockerIgnored();

describe('Dockerfile', () => {
  it('is multi-stage, runs as a non-root user, and installs production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const user = runtime.steps.filter((s) => s.op === 'USER').at(-1)?.args;
    expect(user, 'the runtime stage sets USER').toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    expect(INSTALLED.length).toBeGreaterThan(0);
  });

  it('installs and copies every workspace each service needs, with the lockfile', () => {
    const copied = new Set(copies(runtime).filter((c) => c.from === null).flatMap((c) => c.sources));
    for (const file of ['package.json', 'package-lock.json']) expect(copied, file).toContain(file);
    for (const service of SERVICES) {
      for (const w of closure(service)) {
        expect(INSTALLED, `${service} needs workspace ${w} installed`).toContain(w);
        expect(copied, `${service} needs workspace ${w} copied`).toContain(w);
      }
    }
    // npm ci needs every workspace's package.json, in each stage that runs it.
    for (const stage of stages.filter((s) => s.steps.some((x) => x.op === 'RUN' && /\bnpm ci\b/.test(x.args)))) {
      const manifests = new Set(copies(stage).flatMap((c) => c.sources));
      for (const w of WORKSPACES) expect(manifests.has(`${w}/package.json`) || manifests.has(w), `stage ${stage.name} copies ${w}/package.json`).toBe(true);
    }
  });

  it('runs what `npm start -w <service>` runs, for each service, from the files the image holds', () => {
    for (const service of SERVICES) {
      const start: string = readJson(`${service}/package.json`).scripts.start;
      const [node, ...rest] = start.split(/\s+/);
      expect(node).toBe('node');
      checkCommand(['node', ...rest.map((a) => (a.endsWith('.ts') ? `${service}/${a}` : a))]);
      expect(ignored(`${service}/${rest.at(-1)}`), `${service}'s entry point is not .dockerignored`).toBe(false);
    }
    const cmd = runtime.steps.filter((s) => s.op === 'CMD').at(-1);
    expect(cmd, 'a default CMD').toBeDefined();
    checkCommand(JSON.parse(cmd!.args) as string[]);
  });

  it('keeps out of the image what it must not hold, and in what the services read at run time', () => {
    for (const path of ['node_modules', 'data/flight/x', '.git', '.venv', 'flight-server/src/config.test.ts', '.env']) expect(ignored(path), path).toBe(true);
    for (const path of ['user-service/migrations/0000_init.sql', 'user-service/migrations/meta/_journal.json', 'flight-server/src/storage/catalog/postgres/migrations/0001.sql', 'gateway/src/main.ts']) {
      expect(ignored(path), path).toBe(false);
    }
    // The gateway serves the explorer from web/dist: built in a stage, copied into the runtime.
    expect(read('gateway/src/config.ts')).toMatch(/'\.\.\/\.\.\/web\/dist'/);
    const dist = copies(runtime).find((c) => c.sources.includes('/app/web/dist'));
    expect(dist?.from, 'web/dist copied from a build stage').toBeTruthy();
    expect(stages.find((s) => s.name === dist!.from)!.steps.some((s) => s.op === 'RUN' && /npm run build -w web/.test(s.args))).toBe(true);
    expect(readJson('web/package.json').scripts.build).toBeDefined();
    expect(readJson('user-service/package.json').scripts.migrate).toBe('node --import tsx src/migrate.ts');
  });

  it('sets only variables the services read, and listens on all interfaces', () => {
    const all = new Set(SERVICES.flatMap((s) => [...READS.get(s)!]));
    expect(Object.keys(imageEnv).filter((n) => n !== 'NODE_ENV' && !all.has(n))).toEqual([]);
    for (const service of SERVICES) {
      const own = Object.fromEntries(Object.entries(imageEnv).filter(([n]) => READS.get(service)!.has(n)));
      expect(LOADERS[service](own).host, service).toBe('0.0.0.0');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// compose

const compose = parseYaml(read('deploy/compose.yaml'), { merge: true }) as Json;
const composeServices = compose.services as Record<string, Json>;
const ours = Object.entries(composeServices).filter(([, s]) => s.image === 'flightdeck:latest');

function composeEnv(s: Json): Env {
  const env = s.environment ?? {};
  expect(Array.isArray(env), 'environment as a map').toBe(false);
  return Object.fromEntries(Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** `scheme://host:port...` -> [host, port]. */
function hostPort(url: string): [string, number] {
  const u = new URL(url);
  return [u.hostname, Number(u.port)];
}

describe('deploy/compose.yaml', () => {
  it('has PostgreSQL, an S3-compatible store, two Flight replicas, the facade, the user service and the gateway', () => {
    const images = Object.values(composeServices).map((s) => String(s.image));
    expect(images.some((i) => i.startsWith('postgres:'))).toBe(true);
    expect(images.some((i) => i.startsWith('minio/minio'))).toBe(true);
    const byService = (svc: Service) => ours.filter(([, s]) => serviceOf(s.command).entry === `${svc}/src/main.ts`);
    expect(byService('flight-server').length).toBe(2);
    for (const svc of ['graphql-facade', 'user-service', 'gateway'] as const) expect(byService(svc).length, svc).toBe(1);
    expect(compose.services['flight-1'].build.context).toBe('..');
    expect(existsSync(join(repoRoot, 'deploy', compose.services['flight-1'].build.context, compose.services['flight-1'].build.dockerfile))).toBe(true);
  });

  it('runs real entry points with variables their config reads, and each config loads', () => {
    for (const [name, s] of ours) {
      checkCommand(s.command);
      const { service } = serviceOf(s.command);
      const env = composeEnv(s);
      checkVariables(`compose ${name}`, service, env);
      const config = LOADERS[service]({ ...imageEnv, ...env });
      expect(config.host, name).toBe('0.0.0.0');
      if (s.ports) for (const p of s.ports as string[]) expect(Number(p.split(':').at(-1)), `${name} publishes its port`).toBe(config.port);
      if (service === 'flight-server' && serviceOf(s.command).entry.endsWith('main.ts')) checkSharedReplica(`compose ${name}`, { ...imageEnv, ...env });
    }
  });

  it('points every URL at a service of the file, on the port that service listens on', () => {
    const listening = new Map<string, number>();
    for (const [name, s] of ours) listening.set(name, LOADERS[serviceOf(s.command).service]({ ...imageEnv, ...composeEnv(s) }).port);
    listening.set('postgres', 5432);
    listening.set('minio', 9000);
    for (const [name, s] of ours) {
      for (const [key, value] of Object.entries(composeEnv(s))) {
        if (!/^[a-z0-9+]+:\/\//.test(value) || key === 'DATA_URL') continue;
        const [host, port] = hostPort(value);
        expect(listening.get(host), `compose ${name} ${key}=${value}: a service listening on ${port}`).toBe(port);
      }
      for (const dep of Object.keys(s.depends_on ?? {})) expect(composeServices[dep], `${name} depends on ${dep}`).toBeDefined();
    }
  });

  it('migrates the user database before the user service starts', () => {
    const migrate = ours.find(([, s]) => serviceOf(s.command).entry === 'user-service/src/migrate.ts');
    expect(migrate).toBeDefined();
    const users = ours.find(([, s]) => serviceOf(s.command).entry === 'user-service/src/main.ts')![1];
    expect(users.depends_on[migrate![0]].condition).toBe('service_completed_successfully');
    expect(composeEnv(migrate![1]).DATABASE_URL).toBe(composeEnv(users).DATABASE_URL);
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

interface Kustomization {
  dir: string;
  resources: Json[];
  spec: Json;
}

function loadKustomization(dir: string): Kustomization {
  const spec = parseYaml(read(join(dir, 'kustomization.yaml'))) as Json;
  const resources: Json[] = [];
  for (const r of spec.resources as string[]) {
    const path = join(dir, r);
    expect(existsSync(join(repoRoot, path)), `${dir}: resource ${r}`).toBe(true);
    if (statSync(join(repoRoot, path)).isDirectory()) continue;
    for (const doc of parseAllDocuments(read(path))) {
      expect(doc.errors, path).toEqual([]);
      resources.push(doc.toJS() as Json);
    }
  }
  return { dir, resources, spec };
}

const base = loadKustomization('deploy/k8s/base');
const overlay = loadKustomization('deploy/k8s/overlays/example');
const find = (kind: string, name?: string) => base.resources.filter((r) => r.kind === kind && (name === undefined || r.metadata.name === name));

interface Workload {
  kind: string;
  name: string;
  pod: Json;
  container: Json;
  service: Service;
  entry: string;
}

const workloads: Workload[] = [...find('Deployment'), ...find('Job')].flatMap((w) =>
  (w.spec.template.spec.containers as Json[]).map((c) => ({ kind: w.kind, name: w.metadata.name, pod: w.spec.template.spec, container: c, ...serviceOf(c.command) })),
);
const flightPods = workloads.filter((w) => w.entry === 'flight-server/src/main.ts');

/** A container's environment as the kubelet builds it (ConfigMaps and Secrets of the base, then `env`); `patched` overrides ConfigMap or Secret data. */
/** What the downward API gives a pod, as a sample (a real value must pass the config's checks, e.g. a host name in a URL). */
const FIELD_REF_SAMPLES: Record<string, string> = { 'metadata.name': 'flight-server-5c7d9-x2q4z', 'metadata.namespace': 'flightdeck' };

function containerEnv(c: Json, patched: Map<string, Env> = new Map()): { env: Env; intermediates: Set<string> } {
  const source = (kind: string, name: string): Env => {
    if (patched.has(`${kind}/${name}`)) return patched.get(`${kind}/${name}`)!;
    const r = find(kind, name)[0];
    expect(r, `${kind} ${name}`).toBeDefined();
    return { ...(r!.data ?? {}), ...(r!.stringData ?? {}) } as Env;
  };
  const env: Env = {};
  for (const from of c.envFrom ?? []) Object.assign(env, from.configMapRef ? source('ConfigMap', from.configMapRef.name) : source('Secret', from.secretRef.name));
  const intermediates = new Set<string>();
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) env[e.name] = source('Secret', e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key]!;
    else if (e.valueFrom?.configMapKeyRef) env[e.name] = source('ConfigMap', e.valueFrom.configMapKeyRef.name)[e.valueFrom.configMapKeyRef.key]!;
    else if (e.valueFrom?.fieldRef) env[e.name] = FIELD_REF_SAMPLES[e.valueFrom.fieldRef.fieldPath] ?? `<${e.valueFrom.fieldRef.fieldPath}>`;
  }
  // Kubernetes expands $(NAME) of variables defined before; such a variable may exist only to be expanded.
  for (const [name, value] of Object.entries(env)) {
    env[name] = value.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (_, ref: string) => {
      intermediates.add(ref);
      return env[ref] ?? '';
    });
  }
  return { env, intermediates };
}

function portNumber(c: Json, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = (c.ports as Json[]).find((p) => p.name === port);
  expect(named, `port ${port} of container ${c.name}`).toBeDefined();
  return named!.containerPort;
}

describe('deploy/k8s base', () => {
  it('runs real entry points with variables their config reads; each config loads', () => {
    for (const w of workloads) {
      checkCommand(w.container.command);
      const { env, intermediates } = containerEnv(w.container);
      checkVariables(`${w.kind} ${w.name}`, w.service, env, intermediates);
      LOADERS[w.service]({ ...imageEnv, ...env });
    }
  });

  it('Flight replicas are in shared mode, with gRPC health probes on the Flight port', () => {
    expect(flightPods.length).toBe(1);
    for (const w of flightPods) {
      const { env } = containerEnv(w.container);
      checkSharedReplica(`Deployment ${w.name}`, { ...imageEnv, ...env });
      const port = loadFlightConfig({ ...imageEnv, ...env }).port;
      expect((w.container.ports as Json[]).map((p) => p.containerPort)).toContain(port);
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        expect(w.container[probe]?.grpc, `${w.name} ${probe} is a gRPC health check (grpc.health.v1)`).toBeDefined();
        expect(portNumber(w.container, w.container[probe].grpc.port)).toBe(port);
        // The server's health service answers "" (the server) and the Flight service's name.
        if (w.container[probe].grpc.service !== undefined) expect(['', 'arrow.flight.protocol.FlightService']).toContain(w.container[probe].grpc.service);
      }
      expect(read('flight-server/src/server/transport/grpc-health.ts')).toMatch(/HEALTH_SERVICE_NAME = 'grpc\.health\.v1\.Health'/);
    }
  });

  it('a headless Service gives each Flight replica its own name', () => {
    const [w] = flightPods;
    const headless = find('Service').filter((s) => s.spec.clusterIP === 'None');
    expect(headless.length).toBe(1);
    const pod = find('Deployment', w!.name)[0]!.spec.template;
    expect(Object.entries(headless[0]!.spec.selector).every(([k, v]) => pod.metadata.labels[k] === v)).toBe(true);
    expect(pod.spec.subdomain, 'pods resolve as <pod>.<headless service>').toBe(headless[0]!.metadata.name);
    if (READS.get('flight-server')!.has('FLIGHT_ADVERTISE_URL')) {
      const advertised = (w!.container.env as Json[] | undefined)?.find((e) => e.name === 'FLIGHT_ADVERTISE_URL')?.value as string | undefined;
      expect(advertised, 'FLIGHT_ADVERTISE_URL from the downward API').toMatch(new RegExp(`\\$\\(\\w+\\)\\.${headless[0]!.metadata.name}\\.`));
    }
  });

  it('GraphQL processes probe /readyz and /healthz on their port', () => {
    expect(HTTP_ROUTES).toEqual(new Set(['/graphql', '/healthz', '/readyz', '/metrics']));
    for (const w of workloads.filter((x) => x.kind === 'Deployment' && x.service !== 'flight-server')) {
      const port = LOADERS[w.service]({ ...imageEnv, ...containerEnv(w.container).env }).port;
      expect(w.container.readinessProbe.httpGet.path, w.name).toBe('/readyz');
      expect(w.container.livenessProbe.httpGet.path, w.name).toBe('/healthz');
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        if (!w.container[probe]) continue;
        expect(HTTP_ROUTES.has(w.container[probe].httpGet.path)).toBe(true);
        expect(portNumber(w.container, w.container[probe].httpGet.port), `${w.name} ${probe}`).toBe(port);
      }
    }
  });

  it('Services select pods and reach their ports; URLs between services name them', () => {
    const services = new Map<string, number[]>();
    for (const s of find('Service')) {
      const target = find('Deployment').find((d) => Object.entries(s.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
      expect(target, `Service ${s.metadata.name} selects a Deployment`).toBeDefined();
      const c = target!.spec.template.spec.containers[0];
      for (const p of s.spec.ports as Json[]) portNumber(c, p.targetPort ?? p.port);
      services.set(s.metadata.name, (s.spec.ports as Json[]).map((p) => p.port));
    }
    for (const w of workloads) {
      for (const [key, value] of Object.entries(containerEnv(w.container).env)) {
        if (!/^(grpc|http)s?:\/\//.test(value) || key === 'S3_ENDPOINT') continue;
        const [host, port] = hostPort(value);
        // A replica's advertised address is its own name under the headless Service: <pod>.<service>.<namespace>.svc.
        const service = key === 'FLIGHT_ADVERTISE_URL' ? host.split('.')[1]! : host.split('.')[0]!;
        expect(services.get(service), `${w.name} ${key}=${value}`).toContain(port);
      }
    }
  });

  it('every container has resources and runs as non-root; PDB, HPAs and the migration Job exist', () => {
    for (const w of workloads) {
      expect(w.container.resources?.requests?.cpu, w.name).toBeDefined();
      expect(w.container.resources?.requests?.memory, w.name).toBeDefined();
      expect(w.container.resources?.limits?.memory, w.name).toBeDefined();
      expect(w.pod.securityContext?.runAsNonRoot, w.name).toBe(true);
      expect(w.container.securityContext?.readOnlyRootFilesystem, w.name).toBe(true);
      expect((w.container.volumeMounts as Json[]).map((m) => m.mountPath), `${w.name}: tsx writes its cache in /tmp`).toContain('/tmp');
    }
    const flightLabels = find('Deployment', flightPods[0]!.name)[0]!.spec.template.metadata.labels;
    expect(find('PodDisruptionBudget').some((p) => Object.entries(p.spec.selector.matchLabels).every(([k, v]) => flightLabels[k] === v))).toBe(true);
    const scaled = new Set(find('HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name));
    for (const w of workloads.filter((x) => x.kind === 'Deployment' && x.service !== 'flight-server')) expect(scaled, w.name).toContain(w.name);
    for (const name of scaled) expect(find('Deployment', name).length, `HPA target ${name}`).toBe(1);
    const job = workloads.find((w) => w.kind === 'Job');
    expect(job?.entry).toBe('user-service/src/migrate.ts');
    expect(containerEnv(job!.container).env.DATABASE_URL).toMatch(/^postgres/);
  });
});

describe('deploy/k8s/overlays/example', () => {
  const byKindName = (r: Json) => `${r.kind}/${r.metadata.name}`;

  it('builds on the base; its patches, replicas and generated secrets name base resources', () => {
    expect(overlay.spec.resources).toContain('../../base');
    const known = new Set(base.resources.map(byKindName));
    for (const patch of overlay.spec.patches as { path: string }[]) {
      const r = parseYaml(read(join(overlay.dir, patch.path))) as Json;
      expect(known, patch.path).toContain(byKindName(r));
    }
    for (const r of overlay.spec.replicas as { name: string }[]) expect(find('Deployment', r.name).length).toBe(1);
    for (const g of overlay.spec.secretGenerator as { name: string; behavior: string; envs: string[] }[]) {
      expect(g.behavior).toBe('replace');
      expect(find('Secret', g.name).length, g.name).toBe(1);
      for (const file of g.envs) {
        // The real file is git-ignored; its example lists the keys it must hold.
        expect(read(join(overlay.dir, '.gitignore'))).toMatch(/\*\.secrets\.env/);
        expect(existsSync(join(repoRoot, overlay.dir, `${file}.example`)), `${file}.example`).toBe(true);
      }
    }
  });

  it('every container still loads its config with the overlay applied', () => {
    const patched = new Map<string, Env>();
    for (const patch of overlay.spec.patches as { path: string }[]) {
      const r = parseYaml(read(join(overlay.dir, patch.path))) as Json;
      if (r.kind === 'ConfigMap') patched.set(byKindName(r), { ...find('ConfigMap', r.metadata.name)[0]!.data, ...r.data });
    }
    for (const g of overlay.spec.secretGenerator as { name: string; envs: string[] }[]) {
      const env: Env = {};
      for (const file of g.envs) {
        for (const line of read(join(overlay.dir, `${file}.example`)).split('\n')) {
          const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
          if (m) env[m[1]!] = m[2]!;
        }
      }
      patched.set(`Secret/${g.name}`, env);
    }
    for (const w of workloads) {
      const { env, intermediates } = containerEnv(w.container, patched);
      checkVariables(`overlay ${w.kind} ${w.name}`, w.service, env, intermediates);
      LOADERS[w.service]({ ...imageEnv, ...env });
      if (w.entry === 'flight-server/src/main.ts') checkSharedReplica(`overlay ${w.name}`, { ...imageEnv, ...env });
    }
  });
});

it('the deploy folder holds only files the manifests use', () => {
  const used = new Set([
    'compose.yaml',
    'postgres/init.sql',
    ...(base.spec.resources as string[]).map((r) => `k8s/base/${r}`),
    'k8s/base/kustomization.yaml',
    'k8s/overlays/example/kustomization.yaml',
    'k8s/overlays/example/.gitignore',
    ...(overlay.spec.resources as string[]).filter((r) => !r.startsWith('..')).map((r) => `k8s/overlays/example/${r}`),
    ...(overlay.spec.patches as { path: string }[]).map((p) => `k8s/overlays/example/${p.path}`),
    ...(overlay.spec.secretGenerator as { envs: string[] }[]).flatMap((g) => g.envs.map((e) => `k8s/overlays/example/${e}.example`)),
  ]);
  const mounted = (composeServices.postgres!.volumes as string[]).find((v) => v.startsWith('./'))!.split(':')[0]!;
  expect(existsSync(join(repoRoot, 'deploy', mounted))).toBe(true);
  const walk = (dir: string): string[] =>
    readdirSync(join(repoRoot, 'deploy', dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.secrets.env') ? [] : [join(dir, e.name)],
    );
  expect(walk('').filter((f) => !used.has(f)).sort()).toEqual([]);
});
