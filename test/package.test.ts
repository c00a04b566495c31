/**
 * The package as an app gets it: `npm pack`, installed into a scratch app outside the repo, and
 * README's embedding example compiled with that app's tsc and run with plain node (no tsx there):
 * a worker in the app's process, a lead captured through the codec, read back.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadClient } from '../src/client/lead-client.js';
import { LeadIds } from '../src/client/lead-key.js';
import { payloadText } from './support/payloads.js';
import { devServer } from './support/temporal.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

/** README's embedding example: the ts block that imports from 'leadcycle', so README cannot drift. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((m) => m[1] ?? '')
    .find((code) => code.includes("from 'leadcycle'"));
  if (!block) throw new Error("README.md has no ts block importing from 'leadcycle'");
  return block;
}

describe('the package in an app', () => {
  let dir: string;
  let app: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leadcycle-package-'));
    app = join(dir, 'app');
    await mkdir(app);
    // `npm pack` runs `prepare` (the build): the tarball holds what a fresh build gives.
    await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack made no tarball');
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'scratch-app',
        private: true,
        type: 'module',
      }),
    );
    await run(
      'npm',
      [
        'install',
        join(dir, tarball),
        `typescript@${manifest.devDependencies.typescript}`,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        // better-sqlite3's install script compiles its addon from source here (no prebuilds reachable):
        // 80 s that prove nothing about our package. The repo's own install compiled the same version
        // for this same Node, so the app gets that binary instead.
        '--ignore-scripts',
      ],
      { cwd: app },
    );
    const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    await mkdir(dirname(join(app, addon)), { recursive: true });
    await copyFile(join(ROOT, addon), join(app, addon));
  }, 600_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ships compiled JavaScript, declarations and the workflow bundle; no sources, no tsx', async () => {
    const pkg = join(app, 'node_modules/leadcycle');
    expect((await readdir(pkg)).sort()).toEqual(['LICENSE', 'README.md', 'bin', 'dist', 'package.json']);
    for (const file of [
      'dist/worker.js',
      'dist/worker.d.ts',
      'dist/workflow-bundle.js',
      'dist/codec/failure-converter.cjs',
    ])
      expect(existsSync(join(pkg, file)), file).toBe(true);
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
    const { stdout } = await run(join(app, 'node_modules/.bin/leadcycle'), ['--help'], { cwd: app });
    expect(stdout).toContain('Usage: leadcycle');
  });

  it("runs README's embedding example with plain node: a worker in the app, a lead captured with the codec", async () => {
    await writeFile(join(app, 'embed.ts'), await readmeExample());
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['embed.ts'],
      }),
    );
    // The app's own tsc resolves leadcycle's `types` conditions; a type error fails here.
    await run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: app,
    });

    const { address, namespace } = devServer();
    const secret = randomBytes(32).toString('hex');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      // Its own queue: no other test's worker (other keys) picks these workflows up.
      LEADCYCLE_TASK_QUEUE: `package-${Date.now()}`,
      LEADCYCLE_CODEC_KEYS: `app:${randomBytes(32).toString('base64')}`,
      LEADCYCLE_LEAD_ID_SECRET: secret,
    };
    const { stdout } = await run(process.execPath, ['embed.js'], { cwd: app, env, timeout: 60_000 });
    // A persona-fit demo request: a hand-raiser, an MQL at once. (The SDK's log lines may surround it.)
    expect(stdout.split('\n').map((line) => line.trim())).toContain('mql');

    // The data dir is the app's working directory, not a folder inside node_modules.
    expect(existsSync(join(app, '.leadcycle'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/leadcycle/.leadcycle'))).toBe(false);

    // Without the codec (what Temporal stores): no plaintext address anywhere in the history.
    const { workflowId } = LeadClient.keyOf(
      { tenant: 'acme', email: 'ada@example.com' },
      new LeadIds(secret),
    );
    const connection = await Connection.connect({ address });
    try {
      const history = await new Client({ connection, namespace }).workflow
        .getHandle(workflowId)
        .fetchHistory();
      expect(history.events?.length).toBeGreaterThan(0);
      const raw = payloadText(history);
      expect(raw).not.toContain('ada@example.com');
      expect(raw).toContain('binary/encrypted');
    } finally {
      await connection.close();
    }
  });
});
