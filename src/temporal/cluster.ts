/**
 * A Temporal cluster from the project's own files: the Temporal server (built once with `go install`,
 * pinned) on a local PostgreSQL (postgres.ts) with SQL visibility. What `npm run cluster` runs and
 * what the cluster tests start.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { type TimedStepOptions, withTimedStep } from '../cli/progress.js';
import { resolveDataDir } from '../paths.js';
import { ensurePrivateDir } from '../private-fs.js';
import { TemporalServerError } from './errors.js';
import { assertPortFree, getFreePort, HOST } from './ports.js';
import { POSTGRES_USER, type RunningPostgres, startPostgres } from './postgres.js';
import { type ProcessOptions, type RunningServer, spawnServer } from './process.js';
import { DEFAULT_NAMESPACE, registerSearchAttributes } from './register.js';

const run = promisify(execFile);

/** The one Temporal server version leadcycle runs: here and in docker-compose.yml (test/deploy.test.ts checks). */
export const TEMPORAL_SERVER_VERSION = '1.29.1';

const MODULE = 'go.temporal.io/server';
const GRPC_ALREADY_EXISTS = 6;
/** Membership ports are stored as a PostgreSQL smallint: they must stay below 32768. */
const MAX_MEMBERSHIP_PORT = 32767;

export interface ClusterOptions extends ProcessOptions {
  /** Default: LEADCYCLE_DATA_DIR or .leadcycle; the cluster lives in `<dataDir>/cluster`. */
  dataDir?: string;
  /** Where the built server lives. Default `<dataDir>/tools`: tests share the project's, so it is built once. */
  toolsDir?: string;
  /** gRPC frontend port. Default: a free one. */
  port?: number;
  /** PostgreSQL's port. Default: a free one. */
  postgresPort?: number;
  namespace?: string;
  /** See PostgresOptions.durable: false for throwaway test clusters only. Default true. */
  durable?: boolean;
}

export interface RunningCluster extends RunningServer {
  /** The cluster's PostgreSQL, for fault tests (kill, start). */
  postgres: RunningPostgres;
}

export interface ClusterBinaries {
  server: string;
  sql: string;
  /** The server module's source, for its schema files. */
  moduleDir: string;
}

/**
 * Installs the pinned Temporal server and SQL tool into `<dataDir>/tools/temporal-server-<version>/`
 * unless both are there. A lock dir keeps two processes from installing over each other. The build
 * reports its progress (default stderr): `go install` says nothing for minutes.
 */
export async function installClusterBinaries(
  toolsDir: string,
  progress?: TimedStepOptions,
): Promise<ClusterBinaries> {
  const dir = join(toolsDir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const server = join(dir, 'server');
  const sql = join(dir, 'sql');
  const go = async (args: string[], env: NodeJS.ProcessEnv = process.env) => {
    try {
      return (await run('go', args, { env, maxBuffer: 16 * 1024 * 1024 })).stdout.trim();
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') {
        throw new TemporalServerError(
          'binary_not_found',
          'the Temporal cluster is built with Go, and `go` is not on PATH: install Go 1.24 or newer (https://go.dev/dl/)',
          { cause: err },
        );
      }
      throw new TemporalServerError(
        'install_failed',
        `go ${args.join(' ')} failed: ${e.stderr ?? e.message}`,
        {
          cause: err,
        },
      );
    }
  };
  if (!(existsSync(server) && existsSync(sql))) {
    await mkdir(dir, { recursive: true });
    const lock = join(toolsDir, `temporal-server-${TEMPORAL_SERVER_VERSION}.lock`);
    // Another process's build (the test suite's, begun in the background) is waited for: say so.
    const waiting = () =>
      (progress?.stream ?? process.stderr).write(
        `leadcycle: waiting for another process installing the Temporal server into ${dir} (lock ${lock})…\n`,
      );
    await withLock(lock, waiting, async () => {
      if (existsSync(server) && existsSync(sql)) return;
      const env = { ...process.env, GOBIN: dir };
      for (const pkg of ['cmd/server', 'cmd/tools/sql']) {
        await withTimedStep(
          `${MODULE}/${pkg}@v${TEMPORAL_SERVER_VERSION} with go install into ${dir}` +
            (pkg === 'cmd/server' ? ' (first time ~8 minutes on 2 cores)' : ''),
          () => go(['install', `${MODULE}/${pkg}@v${TEMPORAL_SERVER_VERSION}`], env),
          progress,
        );
      }
    });
  }
  const modCache = await go(['env', 'GOMODCACHE']);
  return { server, sql, moduleDir: join(modCache, `${MODULE}@v${TEMPORAL_SERVER_VERSION}`) };
}

/** mkdir is atomic: whoever creates the lock dir installs; the others wait for it to go. */
async function withLock(lockDir: string, onWait: () => void, body: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  for (let waited = false; ; waited = true) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!waited) onWait();
      if (Date.now() > deadline) {
        throw new TemporalServerError(
          'install_failed',
          `lock ${lockDir} held for 30 minutes: remove it if no install runs`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    await body();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/**
 * As root, PostgreSQL runs as the postgres user (postgres.ts), which must pass through our 0700
 * folders to reach its data dir: group postgres may traverse them (0710), nobody else may.
 * Files stay 0600. A process that tightens the data dir back to 0700 breaks the next PostgreSQL start.
 */
async function letServerUserTraverse(dirs: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { stdout } = await run('id', ['-g', 'postgres']);
  for (const dir of dirs) {
    await chown(dir, 0, Number(stdout.trim()));
    await chmod(dir, 0o710);
  }
}

/** Creates both databases and brings their schemas to this version; safe to re-run. */
async function setupSchemas(binaries: ClusterBinaries, postgres: RunningPostgres): Promise<void> {
  for (const [database, schema] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    await postgres.createDatabase(database);
    const base = [
      '--plugin',
      'postgres12',
      '--endpoint',
      HOST,
      '--port',
      String(postgres.port),
      '--user',
      POSTGRES_USER,
      '--database',
      database,
    ];
    const sql = async (args: string[]) => {
      try {
        await run(binaries.sql, [...base, ...args]);
      } catch (err) {
        const e = err as Error & { stderr?: string; stdout?: string };
        throw new TemporalServerError(
          'install_failed',
          `sql ${args[0]} on ${database} failed: ${e.stderr ?? ''}${e.stdout ?? e.message}`,
          { cause: err },
        );
      }
    };
    // setup-schema -v 0.0 only creates the version table (and skips it when it exists); update-schema applies what is missing.
    await sql(['setup-schema', '-v', '0.0']);
    await sql([
      'update-schema',
      '-d',
      join(binaries.moduleDir, 'schema', 'postgresql', 'v12', schema, 'versioned'),
    ]);
  }
}

/** A free port below 32768 whose next few are free too (history, matching, worker follow the frontend). */
async function membershipBase(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20000 + Math.floor(Math.random() * (MAX_MEMBERSHIP_PORT - 20000 - 10));
    try {
      for (let p = base; p < base + 4; p++) await assertPortFree(p);
      return base;
    } catch {}
  }
  throw new TemporalServerError('port_in_use', 'no free membership ports below 32768');
}

function serverConfig(o: { frontend: number; rpcBase: number; memberBase: number; pgPort: number }): string {
  const store = (database: string, conns: number) => `
      sql:
        pluginName: "postgres12"
        databaseName: "${database}"
        connectAddr: "${HOST}:${o.pgPort}"
        connectProtocol: "tcp"
        user: "${POSTGRES_USER}"
        password: ""
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: "1h"`;
  const service = (name: string, grpc: number, member: number, extra = '') => `
  ${name}:
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${member}
      bindOnIP: "${HOST}"${extra}`;
  return `# Written by leadcycle (src/temporal/cluster.ts), adapted from the server's config/development-postgres12.yaml.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:${store('temporal', 20)}
    postgres-visibility:${store('temporal_visibility', 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "${HOST}"
services:${service('frontend', o.frontend, o.memberBase, `\n      httpPort: ${o.rpcBase + 3}`)}${service('history', o.rpcBase, o.memberBase + 1)}${service('matching', o.rpcBase + 1, o.memberBase + 2)}${service('worker', o.rpcBase + 2, o.memberBase + 3)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "${HOST}:${o.frontend}"
dcRedirectionPolicy:
  policy: "noop"
`;
}

/** A free run of `n` ports (the OS may hand the same port twice; we check each). */
async function freePortRun(n: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = await getFreePort();
    if (base + n > 65535) continue;
    try {
      for (let p = base; p < base + n; p++) await assertPortFree(p);
      return base;
    } catch {}
  }
  throw new TemporalServerError('port_in_use', `no ${n} consecutive free ports`);
}

/** Starts PostgreSQL, sets up the schemas, starts the server, registers the namespace and search attributes. */
export async function startCluster(options: ClusterOptions = {}): Promise<RunningCluster> {
  const log = options.log ?? console.log;
  const dataDir = options.dataDir ?? resolveDataDir();
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const clusterDir = join(dataDir, 'cluster');
  const toolsDir = options.toolsDir ?? join(dataDir, 'tools');
  await ensurePrivateDir(clusterDir);
  const binaries = options.binary
    ? await installClusterBinaries(toolsDir).then((b) => ({ ...b, server: options.binary as string }))
    : await installClusterBinaries(toolsDir);

  await letServerUserTraverse([dataDir, clusterDir]);
  const postgres = await startPostgres({
    dataDir: join(clusterDir, 'postgres'),
    ...(options.postgresPort === undefined ? {} : { port: options.postgresPort }),
    durable: options.durable ?? true,
    log,
  });
  let server: ReturnType<typeof spawnServer> | undefined;
  try {
    await setupSchemas(binaries, postgres);
    const frontend = options.port ?? (await getFreePort());
    await assertPortFree(frontend);
    const rpcBase = await freePortRun(4);
    const memberBase = await membershipBase();
    const configDir = join(clusterDir, 'config');
    await mkdir(configDir, { recursive: true });
    await writeFile(
      join(configDir, 'development.yaml'),
      serverConfig({ frontend, rpcBase, memberBase, pgPort: postgres.port }),
      {
        mode: 0o600,
      },
    );
    server = spawnServer(
      binaries.server,
      ['--root', clusterDir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'],
      `${HOST}:${frontend}`,
      namespace,
      options,
    );
    await server.untilReady(async (connection) => {
      try {
        await connection.workflowService.registerNamespace({
          namespace,
          // Retention beyond a day: closed leads stay listable for reports and debugging.
          workflowExecutionRetentionPeriod: msToTs('3 days'),
        });
      } catch (err) {
        if (!(isGrpcServiceError(err) && err.code === GRPC_ALREADY_EXISTS)) throw err;
      }
      await registerSearchAttributes(connection, namespace);
    });
  } catch (err) {
    await server?.handle.stop();
    await postgres.stop();
    throw err;
  }
  const handle = server.handle;
  let stopping: Promise<void> | undefined;
  log(
    `leadcycle: Temporal cluster ${handle.address} (pid ${handle.pid}) on PostgreSQL ${HOST}:${postgres.port}`,
  );
  return {
    ...handle,
    postgres,
    stop: () => {
      stopping ??= (async () => {
        await handle.stop();
        await postgres.stop();
      })();
      return stopping;
    },
  };
}
