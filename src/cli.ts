/**
 * `leadcycle`: the CLI for people and scripts. Human-readable tables by default, `--json` for scripts.
 * Exit codes: 0 ok, 1 unexpected error, 2 invalid input, 3 refused by the machine, 4 lead not found.
 */

import { fileURLToPath } from 'node:url';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { OUTBOX_KINDS, readOutbox } from './activities/index.js';
import { runApi } from './api/main.js';
import {
  connectTemporal,
  LeadClient,
  LeadCommandRejectedError,
  LeadError,
  LeadNotFoundError,
  type LeadRef,
  LeadValidationError,
} from './client/index.js';
import { loadConfigFile } from './config-file.js';
import { runDevServer } from './dev-server.js';
import {
  BUYING_STAGES,
  ENGAGEMENT_KINDS,
  FORM_KINDS,
  type LeadCommandInput,
  type LeadView,
  STAGES,
} from './machines/index.js';
import { runStack, timestamped } from './start.js';
import { resolveDataDir } from './temporal/server.js';
import { runWorker } from './worker.js';

// ---- output -------------------------------------------------------------------------------------

let json = false;

function print(value: unknown, human: () => string) {
  console.log(json ? JSON.stringify(value, null, 2) : human());
}

/** A plain text table: columns as wide as their widest cell. */
export function table(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return '(none)';
  const columns = Object.keys(rows[0] ?? {});
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => cell(r[c])))),
  ].join('\n');
}

function describeLead(view: LeadView): string {
  const fields = {
    lead: view.leadKey,
    stage: view.stage,
    consent: view.consent,
    score: view.score,
    fit: `${view.fitScore}%${view.persona ? ` (${view.persona})` : ''}`,
    temperature: view.temperature,
    'buying stage': view.buyingStage,
    owner: view.owner ?? 'marketing',
    'in stage since': view.stageEnteredAt,
  };
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  const lines = Object.entries(fields).map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  const next = view.next.map(
    (d) => `  ${d.event.padEnd(14)} ${d.at}${d.deferredByCap ? '  (deferred by the email cap)' : ''}`,
  );
  return [...lines, next.length ? `waiting for\n${next.join('\n')}` : 'waiting for   commands only'].join(
    '\n',
  );
}

// ---- inputs -------------------------------------------------------------------------------------

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};

/** A lead on the command line: an email, or any other string as an external id (a CRM id, a cookie). */
function leadRef(lead: string, options: { tenant: string }): LeadRef {
  return lead.includes('@')
    ? { tenant: options.tenant, email: lead }
    : { tenant: options.tenant, externalId: lead };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not JSON: ${(err as Error).message}`);
  }
}

async function withClient<T>(fn: (client: LeadClient) => Promise<T>): Promise<T> {
  const temporal = await connectTemporal().catch((err: Error) => {
    throw new Error(`${err.message} (start it with \`leadcycle start\`)`);
  });
  try {
    const config = await loadConfigFile();
    const taskQueue = process.env.LEADCYCLE_TASK_QUEUE;
    return await fn(new LeadClient(temporal.client, { config, ...(taskQueue ? { taskQueue } : {}) }));
  } finally {
    await temporal.close();
  }
}

// ---- commands -----------------------------------------------------------------------------------

export function createProgram(): Command {
  const program = new Command('leadcycle')
    .description('The B2B lead cycle as durable Temporal workflows.')
    .exitOverride() // parse errors become CommanderErrors, mapped to exit code 2 below
    .option('--json', 'print JSON instead of tables (for scripts)')
    .hook('preAction', (cmd) => {
      json = Boolean(cmd.opts().json);
    })
    .addHelpText(
      'after',
      `
Environment:
  TEMPORAL_ADDRESS      Temporal frontend (default 127.0.0.1:7233)
  TEMPORAL_NAMESPACE    namespace (default "default")
  LEADCYCLE_TASK_QUEUE  task queue of the lead workers (default "leadcycle")
  LEADCYCLE_CONFIG      JSON config file for new leads (default: built-in defaults)
  LEADCYCLE_DATA_DIR    data directory: SQLite, outbox, stage changes (default ./.leadcycle)

Exit codes: 0 ok, 1 error, 2 invalid input, 3 refused by the lead's stage, 4 lead not found.`,
    );

  const tenant = () => new Option('--tenant <tenant>', 'tenant the lead belongs to').default('default');

  program
    .command('start')
    .description(
      'run the local stack: Temporal dev server on SQLite (UI :8233), worker, API (:3000), demo leads',
    )
    .option('--no-demo', 'do not start the fast-clock demo leads')
    .action((opts: { demo: boolean }) => runStack({ demo: opts.demo, log: timestamped }));

  program
    .command('dev-server')
    .description('run only the Temporal dev server (SQLite in the data directory)')
    .option('--port <port>', 'frontend port', integer, 7233)
    .option('--ui-port <port>', 'web UI port', integer, 8233)
    .action((opts: { port: number; uiPort: number }) => runDevServer(opts));

  program
    .command('worker')
    .description('run a worker for lead workflows and their activities (TEMPORAL_ADDRESS)')
    .action(() => runWorker());

  program
    .command('api')
    .description('run only the HTTP API (LEADCYCLE_API_KEYS, LEADCYCLE_API_PORT; see README: HTTP API)')
    .action(() => runApi());

  program
    .command('capture')
    .description('capture a lead from a form (starts its workflow if new)')
    .argument('<email>', "the lead's email")
    .addOption(tenant())
    .addOption(new Option('--form <kind>', 'form kind').choices(FORM_KINDS).default('contact'))
    .option('--consent', 'the form carried an explicit marketing opt-in', false)
    .option(
      '--profile <json>',
      'more profile fields as JSON, e.g. \'{"companySize":200,"jobFunction":"it"}\'',
    )
    .action(
      async (email: string, opts: { tenant: string; form: string; consent: boolean; profile?: string }) => {
        const profile = { ...(opts.profile ? (parseJson(opts.profile, '--profile') as object) : {}), email };
        const command = {
          type: 'form.submitted',
          form: opts.form,
          consent: opts.consent,
          profile,
        } as LeadCommandInput;
        const view = await withClient((c) => c.capture(leadRef(email, opts), command));
        print(view, () => describeLead(view));
      },
    );

  program
    .command('send')
    .description('apply a command to a lead, e.g. \'{"type":"sales.accepted","owner":"rep-1"}\'')
    .argument('<lead>', 'email or external id')
    .argument('<command>', 'the command as JSON (see README: Events)')
    .addOption(tenant())
    .option('--start', 'start the lead if it does not exist yet')
    .action(async (lead: string, commandJson: string, opts: { tenant: string; start?: boolean }) => {
      const command = parseJson(commandJson, '<command>') as LeadCommandInput;
      const ref = leadRef(lead, opts);
      const view = await withClient((c) => (opts.start ? c.capture(ref, command) : c.send(ref, command)));
      print(view, () => describeLead(view));
    });

  program
    .command('track')
    .description('record an engagement (a signal: no answer, no update budget spent)')
    .argument('<lead>', 'email or external id')
    .addArgument(new Argument('<kind>', 'engagement kind').choices(ENGAGEMENT_KINDS))
    .addOption(tenant())
    .addOption(new Option('--content-stage <stage>', 'buying stage of the content').choices(BUYING_STAGES))
    .action(async (lead: string, kind: string, opts: { tenant: string; contentStage?: string }) => {
      const fact = {
        type: 'engagement',
        kind,
        ...(opts.contentStage ? { contentStage: opts.contentStage } : {}),
      };
      await withClient((c) => c.track(leadRef(lead, opts), fact as never));
      print({ tracked: fact }, () => `tracked ${kind} for ${lead}`);
    });

  program
    .command('show')
    .description("show a lead's stage, scores and what it waits for")
    .argument('<lead>', 'email or external id')
    .addOption(tenant())
    .action(async (lead: string, opts: { tenant: string }) => {
      const view = await withClient((c) => c.get(leadRef(lead, opts)));
      print(view, () => describeLead(view));
    });

  program
    .command('merge')
    .description('merge two records of one person: the survivor keeps both facts, the other closes as merged')
    .argument('<survivor>', 'email or external id of the lead that carries on')
    .argument('<absorbed>', 'email or external id of the lead merged into it')
    .addOption(tenant())
    .action(async (survivor: string, absorbed: string, opts: { tenant: string }) => {
      const view = await withClient((c) => c.merge(leadRef(survivor, opts), leadRef(absorbed, opts)));
      print(view, () => describeLead(view));
    });

  program
    .command('list')
    .description('list leads by stage and temperature (Temporal visibility)')
    .addOption(new Option('--stage <stage>', 'only this stage').choices(STAGES))
    .addOption(new Option('--temperature <temperature>').choices(['hot', 'cold']))
    .option('--limit <n>', 'at most this many', integer, 100)
    .action(async (opts: { stage?: never; temperature?: 'hot' | 'cold'; limit: number }) => {
      if (!json) process.stderr.write('listing leads…\r');
      const leads = await withClient((c) => c.list(opts));
      if (!json) process.stderr.write('              \r');
      print(leads, () => table(leads as unknown as Array<Record<string, unknown>>));
    });

  program
    .command('outbox')
    .description('show what the default sender and CRM handoff delivered to the local outbox')
    .addOption(new Option('--kind <kind>').choices(OUTBOX_KINDS))
    .option('--lead <leadKey>', 'only this lead key (tenant:email:address or tenant:ext:id)')
    .option('--limit <n>', 'the latest n records', integer, 20)
    .action(async (opts: { kind?: (typeof OUTBOX_KINDS)[number]; lead?: string; limit: number }) => {
      const records = await readOutbox(resolveDataDir(), {
        kind: opts.kind,
        leadKey: opts.lead,
        limit: opts.limit,
      });
      print(records, () =>
        table(
          records.map((r) => {
            const p = r.payload as { content?: { item?: { id: string } }; handoff?: { escalation: boolean } };
            return {
              at: r.at,
              kind: r.kind,
              lead: r.leadKey,
              what:
                p.content?.item?.id ??
                (p.handoff ? (p.handoff.escalation ? 'SLA escalation' : 'handoff') : ''),
            };
          }),
        ),
      );
    });

  return program;
}

function exitCodeOf(err: unknown): number {
  if (err instanceof LeadValidationError || err instanceof InvalidArgumentError) return 2;
  if (err instanceof LeadCommandRejectedError) return 3;
  if (err instanceof LeadNotFoundError) return 4;
  return 1;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the help or the usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    const error = err as Error;
    if (json) {
      const body: Record<string, unknown> = {
        error: { code: err instanceof LeadError ? err.code : 'error', message: error.message },
      };
      if (err instanceof LeadValidationError) Object.assign(body.error as object, { issues: err.issues });
      if (err instanceof LeadCommandRejectedError)
        Object.assign(body.error as object, { rejection: err.rejection });
      console.error(JSON.stringify(body, null, 2));
    } else {
      console.error(`error: ${error.message}`);
    }
    return exitCodeOf(err);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
