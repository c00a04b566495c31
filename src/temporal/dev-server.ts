/**
 * The two local servers: `temporal server start-dev` backed by a sqlite file so leads survive
 * restarts, and the Java SDK's time-skipping test server for tests.
 */
import { dirname, join } from 'node:path';
import { TypedSearchAttributes } from '@temporalio/common';
import { resolveDataDir } from '../paths.js';
import { ensurePrivateDir, tightenFileSync } from '../private-fs.js';
import { findTemporalBinary } from './install.js';
import { assertPortFree, getFreePort, HOST } from './ports.js';
import { type ProcessOptions, type RunningServer, spawnServer } from './process.js';
import { DEFAULT_NAMESPACE, registerSearchAttributes } from './register.js';
import { ALL_LEAD_SEARCH_ATTRIBUTES } from './search-attributes.js';

export interface RunningDevServer extends RunningServer {
  /** Undefined when started headless. */
  uiUrl: string | undefined;
}

export interface DevServerOptions extends ProcessOptions {
  dataDir?: string;
  /** Default `<dataDir>/temporal.sqlite`. Leads survive restarts because this file persists. */
  dbFile?: string;
  /** gRPC frontend port. Default 7233. */
  port?: number;
  /** Web UI port, or null for headless. Default 8233. */
  uiPort?: number | null;
  /** A codec server the UI calls to decode encrypted payloads (src/codec/server.ts). */
  uiCodecEndpoint?: string;
  namespace?: string;
}

/** Starts `temporal server start-dev` and resolves once its frontend answers and the search attributes exist. */
export async function startDevServer(options: DevServerOptions = {}): Promise<RunningDevServer> {
  const log = options.log ?? console.log;
  const dataDir = options.dataDir ?? resolveDataDir();
  const port = options.port ?? 7233;
  const uiPort = options.uiPort === undefined ? 8233 : options.uiPort;
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const dbFile = options.dbFile ?? join(dataDir, 'temporal.sqlite');
  const binary = options.binary ?? (await findTemporalBinary('temporal', { dataDir }));

  await assertPortFree(port);
  if (uiPort !== null) await assertPortFree(uiPort);
  // Temporal's database holds every lead's history: its folder is the owner's only.
  await ensurePrivateDir(dirname(dbFile));

  const args = [
    'server',
    'start-dev',
    '--ip',
    HOST,
    '--port',
    String(port),
    '--db-filename',
    dbFile,
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...(uiPort === null ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(uiPort !== null && options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
    // The UI would fetch a newsfeed from the internet at every page load: nothing to fetch here.
    ...(uiPort !== null ? ['--ui-disable-news-fetch'] : []),
    // Only applied when the sqlite file is new; registerSearchAttributes covers existing files.
    ...ALL_LEAD_SEARCH_ATTRIBUTES.flatMap((k) => [
      '--search-attribute',
      `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`,
    ]),
  ];
  const server = spawnServer(binary, args, `${HOST}:${port}`, namespace, options);
  await server.untilReady(async (connection) => {
    // The namespace is created after the frontend starts answering.
    await connection.workflowService.describeNamespace({ namespace });
    await registerSearchAttributes(connection, namespace);
  });
  // The server makes its files with its own mode; the folder guards them, and they are tightened too.
  for (const file of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) tightenFileSync(file);
  log(`leadcycle: Temporal dev server ${server.handle.address} (pid ${server.handle.pid}, db ${dbFile})`);
  return { ...server.handle, uiUrl: uiPort === null ? undefined : `http://${HOST}:${uiPort}` };
}

export interface TimeSkippingServerOptions extends ProcessOptions {
  /** Default: a free random port. */
  port?: number;
  dataDir?: string;
}

/**
 * Starts the Java SDK's time-skipping test server. Like the SDK's own launcher, it starts with time
 * skipping locked; a TimeSkippingWorkflowClient unlocks it while awaiting results.
 */
export async function startTimeSkippingServer(
  options: TimeSkippingServerOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? console.log;
  const port = options.port ?? (await getFreePort());
  const binary =
    options.binary ??
    (await findTemporalBinary('temporal-test-server', { dataDir: options.dataDir ?? resolveDataDir() }));

  await assertPortFree(port);
  const server = spawnServer(binary, [String(port)], `${HOST}:${port}`, DEFAULT_NAMESPACE, options);
  await server.untilReady(async () => {});
  log(`leadcycle: Temporal time-skipping test server ${server.handle.address} (pid ${server.handle.pid})`);
  return server.handle;
}
