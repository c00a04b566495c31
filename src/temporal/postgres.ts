/**
 * A local PostgreSQL in a data dir of our own, on a port of our own: the database of the Temporal
 * cluster (cluster.ts) and of the PostgreSQL analytics store in tests. Debian's server binaries
 * (`apt-get install postgresql`); PostgreSQL refuses to run as root, so as root it runs as the
 * `postgres` user, which then owns the data dir.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Log, TemporalServerError } from './errors.js';
import { assertPortFree, getFreePort, HOST } from './ports.js';

const run = promisify(execFile);

/** Debian's PostgreSQL majors, newest first; LEADCYCLE_POSTGRES_BIN_DIR names another. */
const DEBIAN_MAJORS = [17, 16, 15, 14];

/** The superuser initdb creates: connections from 127.0.0.1 are trusted (the server listens there only). */
export const POSTGRES_USER = 'leadcycle';

export interface PostgresOptions {
  /** The cluster's data dir; created and initialised when empty. */
  dataDir: string;
  /** Default: a free port. */
  port?: number;
  /**
   * false turns off fsync (and full-page writes): for throwaway test databases only. A commit is
   * still in the WAL before it is acknowledged, so a killed server loses nothing; a power cut could.
   * Default true.
   */
  durable?: boolean;
  binDir?: string;
  log?: Log;
  startTimeoutMs?: number;
}

export interface RunningPostgres {
  /** `postgres://leadcycle@127.0.0.1:<port>/postgres`: the maintenance database. */
  url: string;
  port: number;
  dataDir: string;
  /** The URL of another database on this server. */
  urlOf(database: string): string;
  /** Creates a database unless it exists. */
  createDatabase(name: string): Promise<void>;
  /** A fast shutdown (clients disconnected, nothing lost). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the postmaster, as a crash would: it recovers from its WAL on the next start. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir after stop() or kill(). */
  start(): Promise<void>;
}

export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.LEADCYCLE_POSTGRES_BIN_DIR;
  const candidates = explicit ? [explicit] : DEBIAN_MAJORS.map((m) => `/usr/lib/postgresql/${m}/bin`);
  const found = candidates.find(
    (dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')),
  );
  if (found === undefined) {
    throw new TemporalServerError(
      'binary_not_found',
      `no PostgreSQL server binaries in ${candidates.join(', ')}: install them ` +
        '(apt-get install postgresql) or set LEADCYCLE_POSTGRES_BIN_DIR to the folder holding postgres and initdb',
    );
  }
  return found;
}

const asRoot = () => process.getuid?.() === 0;

/** `command args` as the postgres user when we are root (setpriv execs, so a signal reaches postgres itself). */
function asServerUser(command: string, args: string[]): [string, string[]] {
  return asRoot()
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]]
    : [command, args];
}

async function ownedByServerUser(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (asRoot()) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
}

/**
 * Processes attached to the shared memory of the server in `dataDir` (0 when none, or where Linux's
 * /proc/sysvipc/shm is not there): postmaster.pid names the segment on its 7th line (key and id; the
 * file outlives a SIGKILL), /proc/sysvipc/shm counts who holds it (its 7th column, nattch).
 */
export async function sharedMemoryAttached(dataDir: string): Promise<number> {
  const pidFile = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const shmid = pidFile.split('\n')[6]?.trim().split(/\s+/)[1];
  if (shmid === undefined) return 0;
  const table = await readFile('/proc/sysvipc/shm', 'utf8').catch(() => '');
  const row = table
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((cols) => cols[1] === shmid);
  return Number(row?.[6] ?? 0);
}

/** Initialises `dataDir` when it holds no cluster yet, starts the server and waits until it accepts connections. */
export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const log = options.log ?? (() => {});
  const binDir = options.binDir ?? findPostgresBinDir();
  const port = options.port ?? (await getFreePort());
  const { dataDir } = options;
  /** How the client tools (pg_isready, psql) reach this server. */
  const client = ['-h', HOST, '-p', String(port), '-U', POSTGRES_USER];

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log(`initialising PostgreSQL in ${dataDir}`);
    await ownedByServerUser(dataDir);
    const [cmd, args] = asServerUser(join(binDir, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      POSTGRES_USER,
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
    ]);
    await run(cmd, args).catch((err: Error & { stderr?: string }) => {
      throw new TemporalServerError(
        'install_failed',
        `initdb ${dataDir} failed: ${err.stderr ?? err.message}`,
        {
          cause: err,
        },
      );
    });
  }

  const settings = [
    `listen_addresses=${HOST}`,
    `unix_socket_directories=${dataDir}`,
    'max_connections=200',
    ...(options.durable === false ? ['fsync=off', 'full_page_writes=off'] : []),
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const tail: string[] = [];

  const start = async () => {
    await assertPortFree(port);
    const [cmd, args] = asServerUser(join(binDir, 'postgres'), [
      '-D',
      dataDir,
      '-p',
      String(port),
      ...settings.flatMap((s) => ['-c', s]),
    ]);
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        tail.push(...chunk.split('\n').filter((l) => l.trim() !== ''));
        tail.splice(0, Math.max(0, tail.length - 30));
      });
    }
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new TemporalServerError(
          'server_exited',
          `PostgreSQL on port ${port} exited during start-up:\n${tail.join('\n')}`,
        );
      }
      const ready = await run(join(binDir, 'pg_isready'), client).then(
        () => true,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new TemporalServerError(
          'start_timeout',
          `PostgreSQL on port ${port} did not accept connections in time:\n${tail.join('\n')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    log(`PostgreSQL ready on ${HOST}:${port} (data in ${dataDir})`);
  };

  const signal = async (sig: NodeJS.Signals) => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(sig);
    await exited;
  };
  /**
   * After a SIGKILL the postmaster's backends exit on their own, a moment later; a new postmaster
   * refuses to start while one still holds the old shared memory ("pre-existing shared memory block
   * is still in use").
   */
  const backendsGone = async () => {
    const deadline = Date.now() + 30_000;
    while ((await sharedMemoryAttached(dataDir)) > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // Don't leave a server behind when our process exits without stopping it.
  const killOnExit = () => child?.kill('SIGINT');
  process.on('exit', killOnExit);

  await start();
  const urlOf = (database: string) => `postgres://${POSTGRES_USER}@${HOST}:${port}/${database}`;
  return {
    url: urlOf('postgres'),
    port,
    dataDir,
    urlOf,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const psql = (sql: string) => run(join(binDir, 'psql'), [...client, '-d', 'postgres', '-tAc', sql]);
      const { stdout } = await psql(`SELECT 1 FROM pg_database WHERE datname = '${name}'`);
      if (stdout.trim() !== '1') await psql(`CREATE DATABASE ${name}`);
    },
    // SIGINT is PostgreSQL's fast shutdown: active transactions roll back, the checkpoint is written.
    stop: async () => {
      await signal('SIGINT');
      process.off('exit', killOnExit);
    },
    kill: async () => {
      await signal('SIGKILL');
      await backendsGone();
    },
    start: async () => {
      await signal('SIGINT');
      // After a SIGKILL the old postmaster's children may hold the port a moment longer.
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await start();
          return;
        } catch (err) {
          if (!(err instanceof TemporalServerError) || err.code !== 'port_in_use' || Date.now() > deadline)
            throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
  };
}
