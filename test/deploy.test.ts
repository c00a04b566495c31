import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TEMPORAL_SERVER_VERSION } from '../src/temporal/cluster.js';
import { ALL_LEAD_SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes.js';

/**
 * There is no Docker engine on the machines this is built on, so docker-compose.yml cannot be run
 * here. What can be checked is: it parses, every image is pinned, every file, variable and port it
 * names exists in the project and agrees with it.
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    {
      image?: string;
      build?: string;
      command?: string[] | string;
      environment?: Record<string, string | number>;
      ports?: Array<string | { target?: number; published?: string | number; host_ip?: string }>;
      network_mode?: string;
    }
  >;
};
const services = compose.services;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}
const source = sourceFiles(join(ROOT, 'src'))
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');

describe('docker-compose.yml', () => {
  it('runs Temporal on PostgreSQL, the UI, the codec server, the worker and the API', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'codec', 'postgresql', 'temporal', 'temporal-setup', 'temporal-ui', 'worker'].sort(),
    );
    expect(services.temporal?.environment?.DB).toBe('postgres12');
  });

  it('runs the same Temporal server version as npm run cluster (TEMPORAL_SERVER_VERSION)', () => {
    const version = (name: string) => services[name]?.image?.match(/:(\d+\.\d+\.\d+)/)?.[1];
    expect(version('temporal')).toBe(TEMPORAL_SERVER_VERSION);
    expect(version('temporal-setup')).toBe(TEMPORAL_SERVER_VERSION);
  });

  it('pins every image, and builds ours from the Dockerfile', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) {
        expect(existsSync(join(ROOT, service.build, 'Dockerfile')), name).toBe(true);
      } else {
        expect(service.image, name).toMatch(/^[\w./-]+:\d[\w.-]*$/);
      }
    }
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^FROM node:20[\w.-]*$/m);
  });

  it('starts compiled entry points whose sources exist', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('RUN npm run build');
    expect(dockerfile).not.toContain('tsx');
    for (const [name, service] of Object.entries(services)) {
      if (!service.build) continue;
      const command = Array.isArray(service.command) ? service.command : [];
      const entry = command.find((part) => /^dist\/.+\.js$/.test(part));
      expect(entry, name).toBeDefined();
      // dist/ is built in the image (tsconfig.build.json: src/ -> dist/).
      const source = (entry as string).replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(existsSync(join(ROOT, source)), `${name}: ${entry}`).toBe(true);
    }
  });

  it('sets only variables the code reads', () => {
    for (const [name, service] of Object.entries(services)) {
      if (!service.build) continue;
      for (const variable of Object.keys(service.environment ?? {})) {
        expect(source.includes(variable), `${name}: ${variable} is read nowhere in src/`).toBe(true);
      }
    }
  });

  it('wires the ports together: the UI and the codec server agree on the origin; the API listens where published', () => {
    const uiPort = String(services['temporal-ui']?.ports?.[0]).split(':').at(-1);
    expect(services.codec?.environment?.LEADCYCLE_CODEC_ORIGINS).toBe(`http://localhost:${uiPort}`);
    const apiPort = String(services.api?.environment?.LEADCYCLE_API_PORT);
    expect(services.api?.ports).toContain(`${apiPort}:${apiPort}`);
    expect(services.worker?.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('registers exactly the search attributes the workflow keeps current', () => {
    const script = String(services['temporal-setup']?.command);
    const registered = [...script.matchAll(/(\w+)=(\w+)/g)].map(([, n, t]) => `${n}=${t?.toUpperCase()}`);
    expect(registered.sort()).toEqual(ALL_LEAD_SEARCH_ATTRIBUTES.map((k) => `${k.name}=${k.type}`).sort());
  });
});

/** Where a `ports` entry publishes: the host address (`''` for every interface) and the port. */
function published(entry: string | { published?: string | number; host_ip?: string; target?: number }) {
  if (typeof entry !== 'string') {
    return { host: entry.host_ip ?? '', port: String(entry.published ?? entry.target) };
  }
  const parts = entry.replace(/\/(tcp|udp)$/, '').split(':');
  // HOST:PUBLISHED:TARGET, PUBLISHED:TARGET or TARGET (a random host port, on every interface).
  return parts.length === 3
    ? { host: parts[0] ?? '', port: parts[1] ?? '' }
    : { host: '', port: parts[0] ?? '' };
}

describe('docker-compose.yml publishes nothing but the API and the UI (closed doors)', () => {
  it('only the API and the Temporal UI have published ports; no service shares the host network', () => {
    const publishing = Object.entries(services)
      .filter(([, service]) => (service.ports ?? []).length > 0)
      .map(([name]) => name)
      .sort();
    expect(publishing).toEqual(['api', 'temporal-ui']);
    for (const [name, service] of Object.entries(services)) {
      expect(service.network_mode, name).toBeUndefined();
    }
    // Temporal has no authentication of its own, the codec server decrypts, PostgreSQL holds it all.
    for (const name of ['temporal', 'codec', 'postgresql', 'worker']) {
      expect(services[name]?.ports ?? [], name).toEqual([]);
    }
  });

  it("the UI is published on the host's loopback only (it has no login of its own)", () => {
    const ports = services['temporal-ui']?.ports ?? [];
    expect(ports.length).toBeGreaterThan(0);
    for (const entry of ports) expect(published(entry).host).toBe('127.0.0.1');
  });

  it('the codec server cannot run without authentication: its token is required, with no default', () => {
    const token = String(services.codec?.environment?.LEADCYCLE_CODEC_TOKEN ?? '');
    // `${VAR:?message}`: compose refuses to start when VAR is unset or empty.
    expect(token).toMatch(/^\$\{LEADCYCLE_CODEC_TOKEN:\?[^}]+\}$/);
    // And the server itself refuses a non-loopback address without one (test/codec-server.test.ts).
    expect(String(services.codec?.environment?.LEADCYCLE_CODEC_HOST)).toBe('0.0.0.0');
  });

  it('the published entry parser reads every form compose accepts', () => {
    expect(published('3000:3000')).toEqual({ host: '', port: '3000' });
    expect(published('127.0.0.1:8080:8080')).toEqual({ host: '127.0.0.1', port: '8080' });
    expect(published('8888')).toEqual({ host: '', port: '8888' });
    expect(published({ target: 8080, published: 8080, host_ip: '127.0.0.1' })).toEqual({
      host: '127.0.0.1',
      port: '8080',
    });
  });
});
