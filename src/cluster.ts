/**
 * A Temporal cluster on PostgreSQL in the foreground: `npm run cluster -- [--port 7233]`.
 * Server and PostgreSQL live in <LEADCYCLE_DATA_DIR or .leadcycle>/cluster; the first run builds the server.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCluster } from './temporal/cluster.js';
import { TemporalServerError } from './temporal/errors.js';

export async function runCluster({ port }: { port: number }): Promise<void> {
  const cluster = await startCluster({ port, durable: true, serverLogs: (line) => console.error(line) });
  console.log(`Temporal cluster: ${cluster.address}  (TEMPORAL_ADDRESS=${cluster.address})`);
  console.log(`PostgreSQL:       ${cluster.postgres.url}`);
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
  const { values } = parseArgs({ options: { port: { type: 'string', default: '7233' } } });
  runCluster({ port: Number(values.port) }).catch((err) => {
    console.error(err instanceof TemporalServerError ? `${err.code}: ${err.message}` : err);
    process.exit(1);
  });
}
