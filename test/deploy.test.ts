import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
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
      ports?: string[];
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

  it('starts entry points that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      if (!service.build) continue;
      const command = Array.isArray(service.command) ? service.command : [];
      const entry = command.find((part) => part.endsWith('.ts'));
      expect(entry, name).toBeDefined();
      expect(existsSync(join(ROOT, entry as string)), `${name}: ${entry}`).toBe(true);
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

  it('wires the ports together: the UI calls the codec server, which admits the UI', () => {
    const codecPort = String(services.codec?.environment?.LEADCYCLE_CODEC_PORT);
    expect(services.codec?.ports).toContain(`${codecPort}:${codecPort}`);
    expect(services['temporal-ui']?.environment?.TEMPORAL_CODEC_ENDPOINT).toBe(
      `http://localhost:${codecPort}`,
    );
    const uiPort = services['temporal-ui']?.ports?.[0]?.split(':')[0];
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
