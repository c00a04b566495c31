/**
 * Launcher for scripts/fuzz-api.sh: starts a whole stack on free ports (a Temporal dev server on a
 * temp dir, or the configured server (TEMPORAL_ADDRESS or a profile) when set; a worker on its own task queue; the HTTP API with a random
 * API key and webhook secret), runs schemathesis against its /openapi.json, stops everything, and
 * exits with schemathesis's status (non-zero on any 5xx or crash).
 *
 *   tsx scripts/fuzz-api.ts --schemathesis <path to the schemathesis CLI> [-- extra schemathesis args]
 *
 * FUZZ_MAX_EXAMPLES (default 30 per operation), FUZZ_SEED (default 20260105), FUZZ_TIMEOUT_SECONDS
 * (default 150, the whole schemathesis run), LEADCYCLE_WORKFLOW_BUNDLE (a prebuilt workflow bundle;
 * without it the worker bundles the workflows itself, which takes a while).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { activitiesFromEnv } from '../src/activities/index.js';
import { Analytics, openAnalyticsStore } from '../src/analytics/index.js';
import { buildApi } from '../src/api/server.js';
import { LeadClient } from '../src/client/index.js';
import { loadDataConverter } from '../src/codec/keys.js';
import { readSettings } from '../src/settings.js';
import {
  clientConnectionOptions,
  connectOrStart,
  findTemporalBinary,
  getFreePort,
  nativeConnectionOptions,
  readTemporalConnectionSettings,
} from '../src/temporal/server.js';
import { createLeadWorker } from '../src/worker.js';

const log = (line: string) => console.log(`[fuzz-api] ${line}`);

const { values, positionals } = parseArgs({
  options: { schemathesis: { type: 'string' } },
  allowPositionals: true,
});
if (!values.schemathesis) {
  console.error('usage: tsx scripts/fuzz-api.ts --schemathesis <path> [-- extra schemathesis args]');
  process.exit(2);
}

// Lead ids are keyed per deployment: a fresh secret per run, inherited by the workers it spawns.
if (readSettings().LEADCYCLE_LEAD_ID_SECRET === undefined) {
  process.env.LEADCYCLE_LEAD_ID_SECRET = randomBytes(32).toString('hex');
}

const cleanups: Array<() => Promise<unknown>> = [];
async function cleanup(): Promise<void> {
  for (const step of cleanups.reverse()) {
    await step().catch((err: Error) => log(`cleanup: ${err.message}`));
  }
  cleanups.length = 0;
}

async function main(): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = await mkdtemp(join(tmpdir(), 'leadcycle-fuzz-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  const server = await connectOrStart({
    // The binary from the usual place (.leadcycle/tools), not from this run's temp dir.
    ...(readTemporalConnectionSettings().address ? {} : { binary: await findTemporalBinary('temporal') }),
    port: await getFreePort(),
    uiPort: null,
    dataDir: dir,
    dbFile: join(dir, 'temporal.sqlite'),
    log,
  });
  cleanups.push(() => server.stop());
  log(
    `temporal: ${server.address} (${server.startedByUs ? 'started for this run' : server.connection.source})`,
  );

  const nativeConnection = await NativeConnection.connect(nativeConnectionOptions(server.connection));
  cleanups.push(() => nativeConnection.close());
  const taskQueue = `fuzz-${process.pid}-${Date.now()}`;
  const runEnv = { LEADCYCLE_DATA_DIR: join(dir, 'data') };
  const effects = activitiesFromEnv(runEnv);
  // The payload codec, as every entry point, with a key generated for this run.
  const { dataConverter } = await loadDataConverter(runEnv);
  const bundle = readSettings().LEADCYCLE_WORKFLOW_BUNDLE;
  const worker = await createLeadWorker({
    connection: nativeConnection,
    namespace: server.namespace,
    taskQueue,
    dataConverter,
    activities: effects.activities,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : {}),
  });
  const running = worker.run();
  cleanups.push(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await effects.close();
  });

  const connection = await Connection.connect(clientConnectionOptions(server.connection));
  cleanups.push(() => connection.close());
  const client = new LeadClient(new Client({ connection, namespace: server.namespace, dataConverter }), {
    taskQueue,
  });

  const apiKey = randomBytes(24).toString('hex');
  const webhookSecrets = { forms: randomBytes(24).toString('hex'), crm: randomBytes(24).toString('hex') };
  const unsubscribeSecret = randomBytes(24).toString('hex');
  const vendorSecrets = {
    hubspot: randomBytes(24).toString('hex'),
    mautic: randomBytes(24).toString('hex'),
    typeform: randomBytes(24).toString('hex'),
  };
  // The analytics over the worker's own store: the fuzzer's leads are what the reports read.
  const store = openAnalyticsStore(runEnv.LEADCYCLE_DATA_DIR);
  cleanups.push(() => store.close());
  const app = await buildApi({
    client,
    analytics: new Analytics(store),
    apiKeys: [apiKey],
    webhookSecrets,
    vendorSecrets,
    unsubscribeSecret,
    // Forget and export over the worker's own store and outbox.
    privacy: { store, outbox: effects.outbox },
    // A 5xx shows its cause (on stderr, never in the answer).
    logger: { level: 'error' },
    // A slow box must not turn into 503s, which would (rightly) fail the run.
    temporalTimeoutMs: 20_000,
  });
  // Which answers the fuzzer got, per route: shows it reaches the leads, not only the validation.
  const statuses = new Map<string, Map<number, number>>();
  app.addHook('onResponse', async (request, reply) => {
    const route = `${request.method} ${request.routeOptions.url ?? '(no route)'}`;
    const counts = statuses.get(route) ?? new Map<number, number>();
    counts.set(reply.statusCode, (counts.get(reply.statusCode) ?? 0) + 1);
    statuses.set(route, counts);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  log(`api: ${url}, worker on task queue ${taskQueue}`);

  const args = [
    'run',
    `${url}/openapi.json`,
    '--checks',
    'not_a_server_error',
    '--max-examples',
    process.env.FUZZ_MAX_EXAMPLES ?? '30',
    '--seed',
    process.env.FUZZ_SEED ?? '20260105',
    '--generation-database',
    'none',
    '--request-timeout',
    '30',
    '--no-color',
    '-H',
    `Authorization: Bearer ${apiKey}`,
    ...positionals,
  ];
  log(`schemathesis ${args.join(' ').replace(apiKey, '<key>')}`);
  const child = spawn(values.schemathesis as string, args, {
    stdio: 'inherit',
    cwd: dir, // schemathesis keeps a cache in its working directory
    env: {
      ...process.env,
      SCHEMATHESIS_HOOKS: join(dirname(fileURLToPath(import.meta.url)), 'fuzz-api-hooks.py'),
      LEADCYCLE_FUZZ_FORMS_SECRET: webhookSecrets.forms,
      LEADCYCLE_FUZZ_CRM_SECRET: webhookSecrets.crm,
      LEADCYCLE_FUZZ_UNSUBSCRIBE_SECRET: unsubscribeSecret,
      LEADCYCLE_FUZZ_MAUTIC_SECRET: vendorSecrets.mautic,
      LEADCYCLE_FUZZ_TYPEFORM_SECRET: vendorSecrets.typeform,
    },
  });
  const timeoutMs = Number(process.env.FUZZ_TIMEOUT_SECONDS ?? '150') * 1000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    log(`schemathesis still running after ${timeoutMs / 1000}s: stopping it`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  }, timeoutMs);
  const code = await new Promise<number>((resolve) => {
    child.once('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
    child.once('error', (err) => {
      log(`could not run schemathesis: ${err.message}`);
      resolve(127);
    });
  });
  clearTimeout(timer);
  log('answers per route:');
  for (const [route, counts] of [...statuses].sort()) {
    const line = [...counts].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`);
    log(`  ${route.padEnd(28)} ${line.join(' ')}`);
  }
  return timedOut ? 124 : code;
}

let exitCode = 1;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
try {
  exitCode = await main();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await cleanup();
}
log(exitCode === 0 ? 'no server error found' : `failed (exit ${exitCode})`);
process.exit(exitCode);
