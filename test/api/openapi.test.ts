import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analytics, openAnalyticsStore, type SqliteAnalyticsStore } from '../../src/analytics/index.js';
import { OPENAPI_FILE, openApiText } from '../../src/api/openapi-document.js';
import { API_KEY, type ApiStack, startApiStack, unique } from './support.js';

/**
 * The OpenAPI document (docs/openapi.json) as its users meet it: current, clean under Redocly's
 * linter, with examples, and good enough for a generator: a client generated from it by
 * openapi-typescript type-checks and works against the real API (worker and dev server included).
 */
const execFileAsync = promisify(execFile);
/** Runs a program to its end: its exit code and output, a failure included. */
async function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { ...options, timeout: 45_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout = '', stderr = '' } = err as { code?: number; stdout?: string; stderr?: string };
    return { code: code ?? 1, stdout, stderr };
  }
}
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

type Schema = { $ref?: string; examples?: unknown[] };
type Media = { schema?: Schema; example?: unknown; examples?: unknown };
type Operation = {
  operationId?: string;
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { content?: Record<string, Media> }>;
};

let committed: string;
let doc: {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};

beforeAll(async () => {
  committed = await readFile(join(ROOT, OPENAPI_FILE), 'utf8');
  doc = JSON.parse(committed);
});

describe('docs/openapi.json', () => {
  it('is the document the code builds (npm run openapi writes it)', async () => {
    expect(committed === (await openApiText()), `${OPENAPI_FILE} is stale: run npm run openapi`).toBe(true);
  });

  it('lints clean with Redocly (redocly.yaml: the recommended rules, examples checked)', async () => {
    const lint = await run(bin('redocly'), ['lint', '--format=json'], {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const result = JSON.parse(lint.stdout);
    expect(result.problems).toEqual([]);
    expect(result.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(lint.code).toBe(0);
  });

  it('has an example for every JSON request body and success answer', () => {
    const exampleOf = (media: Media): unknown => {
      if (media.example !== undefined || media.examples !== undefined) return media.example ?? media.examples;
      const ref = media.schema?.$ref;
      const schema = ref ? doc.components.schemas[ref.split('/').pop() as string] : media.schema;
      return schema?.examples?.[0];
    };
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const bodies: Array<[string, Media | undefined]> = [
          ['request', operation.requestBody?.content?.['application/json']],
          ...Object.entries(operation.responses ?? {})
            .filter(([status]) => status.startsWith('2'))
            .map(([status, response]): [string, Media | undefined] => [
              status,
              response.content?.['application/json'],
            ]),
        ];
        for (const [which, media] of bodies) {
          if (media && exampleOf(media) === undefined) missing.push(`${method} ${path} ${which}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('a client generated from it', () => {
  let dir: string;
  let api: ApiStack;
  let store: SqliteAnalyticsStore;

  beforeAll(async () => {
    // Inside the repository, so that the client finds openapi-fetch and @types/node in node_modules.
    await mkdir(join(ROOT, '.leadcycle'), { recursive: true });
    dir = await mkdtemp(join(ROOT, '.leadcycle', 'openapi-client-'));
    api = await startApiStack((h) => {
      // The reports read the store the worker records the stage changes in.
      store = openAnalyticsStore(h.dataDir);
      return { analytics: new Analytics(store) };
    });
  });
  afterAll(async () => {
    await api?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('type-checks with openapi-typescript types and openapi-fetch, and drives a lead and a report', async () => {
    // A .ts (not .d.ts) file: skipLibCheck leaves it checked.
    await writeFile(join(dir, 'api.ts'), astToString(await openapiTS(doc as never)));
    await copyFile(join(ROOT, 'test/api/openapi-client/main.ts'), join(dir, 'main.ts'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM'],
          types: ['node'],
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: true,
          outDir: 'out',
        },
        files: ['main.ts', 'api.ts'],
      }),
    );
    const tsc = await run(bin('tsc'), ['-p', join(dir, 'tsconfig.json')], { cwd: dir });
    expect(tsc.stdout, "tsc's diagnostics").toBe('');
    expect(tsc.code).toBe(0);

    const client = await run(process.execPath, [join(dir, 'out', 'main.js'), api.base, API_KEY, unique()], {
      cwd: dir,
    });
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    const answers = JSON.parse(client.stdout);
    expect(answers).toMatchObject({
      captured: { status: 200, leadId: expect.stringMatching(/^lead-[0-9a-f]{32}$/), stage: 'lead' },
      got: { status: 200, consent: 'granted' },
      looked: { status: 200 },
      listed: { status: 200, found: true },
      report: { status: 200, leads: 1, total: 1 },
      missing: { status: 404, error: true },
    });
    expect(answers.got.leadId).toBe(answers.captured.leadId);
    expect(answers.looked.leadId).toBe(answers.captured.leadId);
  });
});
