/**
 * Local Temporal dev server in the foreground: `npm run dev-server -- [--port 7233] [--ui-port 8233]`.
 * State lives in <LEADCYCLE_DATA_DIR or .leadcycle>/temporal.sqlite, so leads survive restarts.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDevServer, TemporalServerError } from './temporal/server.js';

export async function runDevServer({ port, uiPort }: { port: number; uiPort: number }): Promise<void> {
  const server = await startDevServer({ port, uiPort, serverLogs: (line) => console.error(line) });
  console.log(`Temporal dev server: ${server.address}  (TEMPORAL_ADDRESS=${server.address})`);
  console.log(`Web UI:              ${server.uiUrl}`);
  console.log('Ctrl-C to stop.');

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    stopping = true;
    console.log(`${signal}: stopping the Temporal dev server…`);
    await server.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  await server.exited;
  if (!stopping) throw new Error('Temporal dev server exited unexpectedly.');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '7233' }, 'ui-port': { type: 'string', default: '8233' } },
  });
  runDevServer({ port: Number(values.port), uiPort: Number(values['ui-port']) }).catch((err) => {
    console.error(err instanceof TemporalServerError ? `${err.code}: ${err.message}` : err);
    process.exit(1);
  });
}
