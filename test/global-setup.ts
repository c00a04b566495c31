/**
 * vitest globalSetup: one dev server (or TEMPORAL_ADDRESS) and the workflow bundle for the whole run, handed to tests through provide/inject (keys typed in test/support/temporal.ts).
 * On a fresh clone the first run pip-installs the binaries into .leadcycle/tools.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { FAILURE_CONVERTER_PATH } from '../src/codec/keys.js';
import { resolveDataDir } from '../src/paths.js';
import { installClusterBinaries } from '../src/temporal/cluster.js';
import {
  connectOrStart,
  findTemporalBinary,
  getFreePort,
  readTemporalConnectionSettings,
} from '../src/temporal/server.js';
import type {} from './support/temporal.js'; // ProvidedContext typings only: keep native modules out of this process

const WORKFLOWS_PATH = fileURLToPath(new URL('../src/workflows/index.ts', import.meta.url));
/** As src/worker.ts's PRELOAD_MODULES (not imported: it would load the activities' native modules here). */
const PRELOAD_MODULES = [fileURLToPath(new URL('../src/machines/shared-modules.ts', import.meta.url))];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Install (first run only) up front. Time-skipping tests start their own test servers
  // (test/support/temporal.ts: startTimeSkippingEnv), since that server's clock is global.
  if (!readTemporalConnectionSettings().address) await findTemporalBinary('temporal');
  await findTemporalBinary('temporal-test-server');
  // The cluster suite's Temporal server is built with Go (minutes on a cold Go cache): begun now, it
  // builds while the other files run, and the suite waits for it (the install holds a lock). A
  // failure here is the suite's to report, when it installs again. Its progress comes as lines, not
  // redrawn in place: vitest draws on the same terminal meanwhile.
  const clusterBuild = installClusterBinaries(join(resolveDataDir(), 'tools'), {
    stream: { write: (text) => process.stderr.write(text) },
  }).catch(() => {});

  const dbDir = await mkdtemp(join(tmpdir(), 'leadcycle-test-'));
  const started = await Promise.allSettled([
    // The workflow bundle is built once per run; every test worker loads it from this file.
    bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      // As the worker bundles it: the workflow's own failures have their messages encoded too.
      failureConverterPath: FAILURE_CONVERTER_PATH,
      preloadModules: PRELOAD_MODULES,
      logger: quietLogger,
    }).then(async ({ code }) => {
      const path = join(dbDir, 'workflow-bundle.js');
      await writeFile(path, code);
      return { path, stop: async () => {} };
    }),
    getFreePort().then((port) =>
      connectOrStart({ port, uiPort: null, dbFile: join(dbDir, 'temporal.sqlite') }),
    ),
  ]);
  const teardown = async () => {
    await clusterBuild;
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    await rm(dbDir, { recursive: true, force: true });
  };

  try {
    const bundle = unwrap(started[0]);
    const dev = unwrap(started[1]);
    project.provide('workflowBundlePath', bundle.path);
    project.provide('temporalAddress', dev.address);
    project.provide('temporalNamespace', dev.namespace);
    project.provide('temporalServerIsOurs', dev.startedByUs);
    return teardown;
  } catch (err) {
    await teardown(); // the other server may have started fine
    throw err;
  }
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

function unwrap<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
