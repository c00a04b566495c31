/**
 * `start`, `dev-server`, `worker`, `api`: running leadcycle's processes, together or one by one.
 * Each is loaded only when its command runs: the other commands start without a worker's or a web
 * server's dependencies, and the CLI depends on the API only through its entry point.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { integer, parseOptions } from './options.js';

const StartOptionsSchema = z.object({ demo: z.boolean() }).strict();
const DevServerOptionsSchema = z.object({ port: z.number(), uiPort: z.number() }).strict();

export function addStackCommands(program: Command): void {
  program
    .command('start')
    .description(
      'run the local stack: Temporal dev server on SQLite (UI :8233), worker, API (:3000), demo leads',
    )
    .option('--no-demo', 'do not start the fast-clock demo leads')
    .action(async (options: unknown) => {
      const { demo } = parseOptions(StartOptionsSchema, options);
      const { runStack, timestamped } = await import('../start.js');
      await runStack({ demo, log: timestamped });
    });

  program
    .command('dev-server')
    .description('run only the Temporal dev server (SQLite in the data directory)')
    .option('--port <port>', 'frontend port', integer, 7233)
    .option('--ui-port <port>', 'web UI port', integer, 8233)
    .action(async (options: unknown) => {
      const ports = parseOptions(DevServerOptionsSchema, options);
      const { runDevServer } = await import('../dev-server.js');
      await runDevServer(ports);
    });

  program
    .command('worker')
    .description(
      'run a worker for lead workflows and their activities (TEMPORAL_ADDRESS or TEMPORAL_PROFILE)',
    )
    .action(async () => (await import('../worker.js')).runWorker());

  program
    .command('api')
    .description('run only the HTTP API (LEADCYCLE_API_KEYS, LEADCYCLE_API_PORT; see README: HTTP API)')
    .action(async () => (await import('../api/main.js')).runApi());
}
