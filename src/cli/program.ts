/** The `leadcycle` program: the global options and help, and every command group wired to one output. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { addAnalyticsCommands } from './analytics.js';
import { addConfigCommands } from './config.js';
import { addDeliveryCommands } from './deliveries.js';
import { addImportCommand } from './import.js';
import { addLeadCommands } from './leads.js';
import { addOutboxCommand } from './outbox.js';
import type { Output } from './output.js';
import { addPrivacyCommands } from './privacy.js';
import { addSimulateCommand } from './simulate.js';
import { addStackCommands } from './stack.js';

/** The package's version: package.json sits two folders up from src/cli/ and from dist/cli/ alike. */
export const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

export function createProgram(out: Output): Command {
  const program = new Command('leadcycle')
    .description('The B2B lead cycle as durable Temporal workflows.')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride() // parse errors become CommanderErrors, mapped to exit code 2 by main()
    // Under --json a usage error is answered as JSON by main(), not as Commander's text.
    .configureOutput({ outputError: (text, write) => (out.json ? undefined : write(text)) })
    .option('--json', 'print JSON instead of tables (for scripts)')
    .hook('preAction', (cmd) => {
      out.json = Boolean(cmd.opts().json);
    })
    .addHelpText(
      'after',
      `
Environment:
  TEMPORAL_ADDRESS      Temporal frontend (default: the profile's, else 127.0.0.1:7233)
  TEMPORAL_NAMESPACE    namespace (default: the profile's, else "default")
  TEMPORAL_PROFILE      profile of TEMPORAL_CONFIG_FILE (default ~/.config/temporalio/temporal.toml)
  TEMPORAL_API_KEY      API key (Temporal Cloud; turns TLS on), TEMPORAL_TLS* for TLS and mTLS
  LEADCYCLE_TASK_QUEUE  task queue of the lead workers (default "leadcycle")
  LEADCYCLE_CONFIG      JSON config file for new leads until a config version is applied (default: built-in defaults)
  LEADCYCLE_DATA_DIR    data directory: SQLite, outbox, dead letters, stage changes (default ./.leadcycle)

Exit codes: 0 ok, 1 error, 2 invalid input, 3 refused by the lead's stage, 4 lead not found.`,
    );

  addStackCommands(program);
  addLeadCommands(program, out);
  addImportCommand(program, out);
  addOutboxCommand(program, out);
  addDeliveryCommands(program, out);
  addPrivacyCommands(program, out);
  addAnalyticsCommands(program, out);
  addSimulateCommand(program, out);
  addConfigCommands(program, out);
  return program;
}
