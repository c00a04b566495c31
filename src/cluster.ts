/**
 * A Temporal cluster on PostgreSQL in the foreground: `npm run cluster -- [--port 7233] [--postgres-port 5433]`.
 * Server and PostgreSQL live in <LEADCYCLE_DATA_DIR or .leadcycle>/cluster; the first run builds the
 * server. The same PostgreSQL holds an `analytics` database for the workers' and APIs' shared store.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster } from './temporal/cluster.js';
import { TemporalServerError } from './temporal/errors.js';

/** The database of the PostgreSQL analytics store, beside Temporal's two. */
export const ANALYTICS_DATABASE = 'analytics';

export async function runCluster({
  port,
  postgresPort,
}: {
  port: number;
  postgresPort: number;
}): Promise<void> {
  const cluster = await startCluster({
    port,
    postgresPort,
    durable: true,
    serverLogs: (line) => console.error(line),
  });
  await cluster.postgres.createDatabase(ANALYTICS_DATABASE);
  console.log(`Temporal cluster: ${cluster.address}  (TEMPORAL_ADDRESS=${cluster.address})`);
  console.log(
    `PostgreSQL:       ${cluster.postgres.url}  (LEADCYCLE_DATABASE_URL=${cluster.postgres.urlOf(ANALYTICS_DATABASE)})`,
  );
  console.log('Ctrl-C to stop.');

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    stopping = true;
    console.log(`${signal}: stopping the Temporal cluster…`);
    await cluster.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  await cluster.exited;
  if (!stopping) {
    await cluster.stop();
    throw new Error('Temporal cluster server exited unexpectedly.');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '7233' },
      'postgres-port': { type: 'string', default: '5433' },
    },
  });
  runCluster({ port: Number(values.port), postgresPort: Number(values['postgres-port']) }).catch((err) => {
    console.error(err instanceof TemporalServerError ? `${err.code}: ${err.message}` : err);
    process.exit(1);
  });
}
