/**
 * `leadcycle`: the CLI for people and scripts. Human-readable tables by default, `--json` for scripts.
 * Exit codes: 0 ok, 1 unexpected error, 2 invalid input, 3 refused by the machine, 4 lead not found.
 */

import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { OUTBOX_KINDS, readOutbox } from './activities/index.js';
import {
  Analytics,
  AnalyticsStoreError,
  BacktestError,
  type BacktestReport,
  ChartError,
  type CohortReport,
  type ConversionReport,
  DEFAULT_PERIOD_DAYS,
  type ForecastReport,
  MIN_HISTORY,
  openAnalyticsStore,
  type Period,
  type SlaReport,
  type StageCountsReport,
  type VelocityReport,
} from './analytics/index.js';
import {
  BacktestLabelSchema,
  BacktestUntilSchema,
  CohortsParamsSchema,
  ConversionParamsSchema,
  ForecastParamsSchema,
  PeriodParamsSchema,
  parseParams,
  periodOf,
  ReportParamsError,
  SlaParamsSchema,
  StagesParamsSchema,
} from './analytics/params.js';
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
import { ConfigFileError, loadConfigFile, readConfigOverrides } from './config-file.js';
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

// ---- analytics ----------------------------------------------------------------------------------

/** `horizonDays` → `--horizon-days`: how a report parameter is spelled on the command line. */
const flag = (path: string) =>
  path ? `--${path.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : '(options)';

/** Commander's options through the command's schema; a refusal names each option at fault. */
function parseOptions<S extends z.ZodType>(schema: S, options: unknown): z.output<S> {
  return parseParams(schema, options);
}

/** Every report command reads the store of `--data-dir`, else of LEADCYCLE_DATA_DIR or ./.leadcycle. */
const DataDirSchema = z.object({ dataDir: z.string().min(1).optional() });

const dataDirOption = () =>
  new Option(
    '--data-dir <dir>',
    'data directory holding leadcycle.db (default: LEADCYCLE_DATA_DIR or ./.leadcycle)',
  );

const dateHelp = 'ISO date (midnight UTC) or date-time';

async function withAnalytics<T>(
  dataDir: string | undefined,
  fn: (analytics: Analytics) => Promise<T>,
): Promise<T> {
  const dir = dataDir === undefined ? resolveDataDir() : resolve(dataDir);
  // Opening creates the database: a mistyped directory would only show an empty report.
  if (!existsSync(dir)) {
    const hint = dataDir === undefined ? ' (set --data-dir or LEADCYCLE_DATA_DIR)' : '';
    throw new ReportParamsError([{ path: ['dataDir'], message: `no such directory: ${dir}${hint}` }]);
  }
  const store = openAnalyticsStore(dir);
  try {
    return await fn(new Analytics(store, Date.now, await loadConfigFile()));
  } finally {
    await store.close();
  }
}

async function writeSvg(path: string, svg: string, option: string): Promise<string> {
  const file = resolve(path);
  try {
    await writeFile(file, svg);
  } catch (err) {
    throw new ReportParamsError([{ path: [option], message: (err as Error).message }]);
  }
  return file;
}

const pct = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(1)}%`);
const oneDecimal = (value: number | null) => (value === null ? '-' : value.toFixed(1));
const money = (value: number | null) => (value === null ? '-' : Math.round(value).toLocaleString('en-US'));
const when = (t: number) => `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const span = (period: Period) => `${when(period.from)} – ${when(period.to)}`;

function describeStages(r: StageCountsReport): string {
  const rows = Object.entries(r.stages).map(([stage, leads]) => ({ stage, leads }));
  return [`${r.total} leads at ${when(r.at)}`, table(rows)].join('\n');
}

function describeConversion(r: ConversionReport): string {
  const funnel = r.funnel.map((s) => ({
    stage: s.stage,
    leads: s.leads,
    'step rate': pct(s.stepRate),
    cumulative: pct(s.cumulativeRate),
  }));
  const flow = r.flow.map((f) => ({
    from: f.from,
    to: f.to,
    entered: f.entered,
    converted: f.converted,
    rate: pct(f.rate),
  }));
  return [
    `leads created ${span(r.period)}, followed until ${when(r.asOf)}`,
    table(funnel),
    '',
    `stage flow: leads entering a stage in the period, and how many moved on by ${when(r.asOf)}`,
    table(flow),
  ].join('\n');
}

function describeVelocity(r: VelocityReport): string {
  const rows = r.stages.map((s) => ({
    stage: s.stage,
    stays: s.count,
    'median days': oneDecimal(s.medianDays),
    'mean days': oneDecimal(s.meanDays),
    'p90 days': oneDecimal(s.p90Days),
    open: s.open,
    'median days to next': s.toNext ? oneDecimal(s.toNext.medianDays) : '',
  }));
  const which = r.period ? `completed stays that ended ${span(r.period)}` : 'all completed stays';
  return [`${which}, as of ${when(r.asOf)}`, table(rows)].join('\n');
}

function describeSla(r: SlaReport): string {
  const which = r.period ? `MQL stays that started ${span(r.period)}` : 'all MQL stays';
  const worst = r.worst.map((b) => ({
    lead: b.leadId,
    'MQL at': when(b.mqlAt),
    deadline: when(b.deadline),
    outcome: b.outcome.replaceAll('_', ' '),
    'hours overdue': oneDecimal(b.overdueHours),
  }));
  return [
    `sales SLA ${r.slaHours} h; ${which}, as of ${when(r.asOf)}`,
    `${r.mqlStays} MQL stays, ${r.breaches} breaches (${pct(r.rate)}): ${r.byOutcome.answered_late} answered late, ` +
      `${r.byOutcome.recycled_by_sla} recycled by the SLA, ${r.byOutcome.still_waiting} still waiting`,
    ...(worst.length ? ['', 'most overdue', table(worst)] : []),
  ].join('\n');
}

function describeCohorts(r: CohortReport): string {
  const rows = r.cohorts.map((c) => ({
    month: c.month,
    leads: c.leads,
    mql: c.reached.mql,
    sql: c.reached.sql,
    opportunity: c.reached.opportunity,
    customer: c.reached.customer,
    'customer rate': pct(c.customerRate),
    'median days to customer': oneDecimal(c.daysToCustomer.medianDays),
  }));
  return [`leads by capture month, as of ${when(r.asOf)}`, table(rows)].join('\n');
}

function describeForecast(r: ForecastReport): string {
  const rows = r.stages.map((s) => ({
    stage: s.stage,
    open: s.open,
    history: s.history,
    'rate to customer': pct(s.rate),
    'expected customers': oneDecimal(s.expectedCustomers),
  }));
  return [
    `customers expected within ${r.horizonDays} days of ${when(r.asOf)}: ${oneDecimal(r.expectedCustomers)} ` +
      `(80% interval ${oneDecimal(r.low)} – ${oneDecimal(r.high)})`,
    r.dealValue === null
      ? 'expected revenue unknown: no won deal with an amount on record (give --deal-value)'
      : `expected revenue ${money(r.expectedRevenue)} (deal value ${money(r.dealValue)})`,
    table(rows),
    ...(r.notEnoughHistory.length
      ? [`left out, fewer than ${MIN_HISTORY} finished histories: ${r.notEnoughHistory.join(', ')}`]
      : []),
  ].join('\n');
}

function describeBacktest(r: BacktestReport): string {
  const rows = (r.series[0]?.funnel ?? []).map((step, i) =>
    Object.fromEntries([
      ['stage', step.stage],
      ...r.series.flatMap((s) => [
        [`${s.label} leads`, s.funnel[i]?.leads],
        [`${s.label} step rate`, pct(s.funnel[i]?.stepRate ?? null)],
      ]),
    ]),
  );
  const refused = r.series.filter((s) => s.label !== 'actual').map((s) => `${s.label} ${s.refusedEvents}`);
  return [
    `${r.leads} journaled leads replayed until ${when(r.until)}`,
    table(rows),
    `journaled events the replay refused: ${refused.join(', ')}`,
  ].join('\n');
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

  addAnalyticsCommands(program);
  return program;
}

const StagesOptionsSchema = StagesParamsSchema.extend(DataDirSchema.shape);
const ConversionOptionsSchema = ConversionParamsSchema.extend(DataDirSchema.shape);
const VelocityOptionsSchema = PeriodParamsSchema.extend(DataDirSchema.shape);
const SlaOptionsSchema = SlaParamsSchema.extend(DataDirSchema.shape);
const CohortsOptionsSchema = CohortsParamsSchema.extend(DataDirSchema.shape);
const ForecastOptionsSchema = ForecastParamsSchema.extend(DataDirSchema.shape);
const ChartOptionsSchema = PeriodParamsSchema.extend({ ...DataDirSchema.shape, out: z.string().min(1) });
const BacktestOptionsSchema = DataDirSchema.extend({
  config: z.string().min(1),
  label: BacktestLabelSchema.optional(),
  until: BacktestUntilSchema,
  chart: z.string().min(1).optional(),
}).strict();

/** `report …`, `chart` and `backtest`: the analytics over the data dir's store. */
function addAnalyticsCommands(program: Command): void {
  const report = program
    .command('report')
    .description('funnel, velocity, SLA, cohort and forecast reports from the analytics store');

  report
    .command('stages')
    .description('leads per stage, now or at a past instant')
    .option('--at <date>', `count at this instant (${dateHelp}; default now)`)
    .addOption(dataDirOption())
    .action(async (options: unknown) => {
      const { dataDir, at } = parseOptions(StagesOptionsSchema, options);
      const r = await withAnalytics(dataDir, (a) => a.stages(at));
      print(r, () => describeStages(r));
    });

  report
    .command('conversion')
    .description(
      `funnel of the leads created in a period (default: the ${DEFAULT_PERIOD_DAYS} days before now)`,
    )
    .option('--from <date>', `start of the period (${dateHelp})`)
    .option('--to <date>', 'end of the period, exclusive (default: --as-of)')
    .option('--as-of <date>', 'follow the leads until this instant (default now)')
    .addOption(dataDirOption())
    .action(async (options: unknown) => {
      const { dataDir, asOf = Date.now(), ...given } = parseOptions(ConversionOptionsSchema, options);
      const period = periodOf(given, asOf, DEFAULT_PERIOD_DAYS) ?? undefined;
      const r = await withAnalytics(dataDir, (a) => a.conversion(period, asOf));
      print(r, () => describeConversion(r));
    });

  report
    .command('velocity')
    .description('days in each stage (completed stays) and to the next funnel stage')
    .option('--from <date>', `only stays that ended from then (${dateHelp})`)
    .option('--to <date>', 'only stays that ended before then (default now)')
    .addOption(dataDirOption())
    .action(async (options: unknown) => {
      const { dataDir, ...given } = parseOptions(VelocityOptionsSchema, options);
      const period = periodOf(given, Date.now(), null);
      const r = await withAnalytics(dataDir, (a) => a.velocity(period));
      print(r, () => describeVelocity(r));
    });

  report
    .command('sla')
    .description('MQLs that sales did not accept within the SLA')
    .option(
      '--sla-hours <n>',
      'hours sales have to accept an MQL (default: salesSlaHours of LEADCYCLE_CONFIG, 48 built in)',
    )
    .option('--from <date>', `only MQL stays that started from then (${dateHelp})`)
    .option('--to <date>', 'only MQL stays that started before then (default now)')
    .addOption(dataDirOption())
    .action(async (options: unknown) => {
      const { dataDir, slaHours, ...given } = parseOptions(SlaOptionsSchema, options);
      const period = periodOf(given, Date.now(), null);
      const r = await withAnalytics(dataDir, (a) =>
        a.sla({ period, ...(slaHours === undefined ? {} : { slaHours }) }),
      );
      print(r, () => describeSla(r));
    });

  report
    .command('cohorts')
    .description('leads by capture month, and how far each month has come')
    .addOption(dataDirOption())
    .action(async (options: unknown) => {
      const { dataDir } = parseOptions(CohortsOptionsSchema, options);
      const r = await withAnalytics(dataDir, (a) => a.cohorts());
      print(r, () => describeCohorts(r));
    });

  report
    .command('forecast')
    .description("customers and revenue expected from today's pipeline")
    .option('--horizon-days <n>', `within this many days (default ${DEFAULT_PERIOD_DAYS})`)
    .option('--deal-value <n>', 'value of one won deal (default: the mean of the deals won so far)')
    .addOption(dataDirOption())
    .action(async (options: unknown) => {
      const { dataDir, horizonDays, dealValue } = parseOptions(ForecastOptionsSchema, options);
      const r = await withAnalytics(dataDir, (a) =>
        a.forecast({ horizonDays, ...(dealValue === undefined ? {} : { dealValue }) }),
      );
      print(r, () => describeForecast(r));
    });

  program
    .command('chart')
    .description('draw the funnel or the time in stage as an SVG file')
    .addArgument(new Argument('<chart>', 'which chart').choices(['funnel', 'velocity']))
    .requiredOption('--out <file.svg>', 'where to write the SVG')
    .option(
      '--from <date>',
      `start of the period (${dateHelp}; funnel default: ${DEFAULT_PERIOD_DAYS} days before --to)`,
    )
    .option('--to <date>', 'end of the period, exclusive (default now)')
    .addOption(dataDirOption())
    .action(async (chart: 'funnel' | 'velocity', options: unknown) => {
      const { dataDir, out, ...given } = parseOptions(ChartOptionsSchema, options);
      const now = Date.now();
      const svg = await withAnalytics(dataDir, (a) =>
        chart === 'funnel'
          ? a.funnelSvg(periodOf(given, now, DEFAULT_PERIOD_DAYS) ?? undefined, now)
          : a.velocitySvg(periodOf(given, now, null), now),
      );
      const file = await writeSvg(out, svg, 'out');
      print({ chart, out: file, bytes: Buffer.byteLength(svg) }, () => `wrote the ${chart} chart to ${file}`);
    });

  program
    .command('backtest')
    .description('replay the journaled leads under a what-if config and compare the funnels')
    .requiredOption(
      '--config <file>',
      'the what-if (JSON, fields of a LEADCYCLE_CONFIG file): replaces only the fields it names',
    )
    .option('--label <text>', 'name of the replayed series (default "what-if")')
    .option('--until <date>', `replay until this instant (${dateHelp}; default now)`)
    .option('--chart <file.svg>', 'also draw both funnels to this SVG file')
    .addOption(dataDirOption())
    .action(async (options: unknown) => {
      const { dataDir, config: file, chart, label, until } = parseOptions(BacktestOptionsSchema, options);
      const config = await readConfigOverrides(file);
      const r = await withAnalytics(dataDir, async (a) => {
        const result = await a.backtest(config, {
          ...(label === undefined ? {} : { label }),
          ...(until === undefined ? {} : { until }),
        });
        return { result, svg: chart ? await a.backtestSvg(result) : null };
      });
      const written = chart && r.svg !== null ? await writeSvg(chart, r.svg, 'chart') : null;
      print(r.result, () =>
        [describeBacktest(r.result), ...(written ? [`wrote the chart to ${written}`] : [])].join('\n'),
      );
    });
}

/** Errors that carry a stable code for scripts (`--json`). */
const TYPED_ERRORS = [
  LeadError,
  ReportParamsError,
  ConfigFileError,
  BacktestError,
  ChartError,
  AnalyticsStoreError,
];

function messageOf(err: Error): string {
  // Report parameters are named as the options that carry them.
  if (err instanceof ReportParamsError)
    return err.issues.map((i) => `${flag(i.path.join('.'))}: ${i.message}`).join('; ');
  return err.message;
}

function exitCodeOf(err: unknown): number {
  if (
    err instanceof LeadValidationError ||
    err instanceof InvalidArgumentError ||
    err instanceof ReportParamsError ||
    err instanceof ConfigFileError
  )
    return 2;
  if (err instanceof LeadCommandRejectedError) return 3;
  if (err instanceof LeadNotFoundError) return 4;
  return 1;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander prints its own usage errors; an InvalidArgumentError that reaches here was thrown
    // inside an action (bad JSON in an argument) and has not been shown yet.
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) {
      // Commander already printed the help or the usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    const error = err as Error;
    if (json) {
      const typed = TYPED_ERRORS.some((type) => err instanceof type);
      const body: Record<string, unknown> = {
        error: { code: typed ? (err as { code: string }).code : 'error', message: messageOf(error) },
      };
      if (err instanceof LeadValidationError) Object.assign(body.error as object, { issues: err.issues });
      if (err instanceof ConfigFileError)
        Object.assign(body.error as object, {
          issues: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      if (err instanceof ReportParamsError)
        Object.assign(body.error as object, {
          issues: err.issues.map((i) => ({ option: flag(i.path.join('.')), message: i.message })),
        });
      if (err instanceof LeadCommandRejectedError)
        Object.assign(body.error as object, { rejection: err.rejection });
      console.error(JSON.stringify(body, null, 2));
    } else {
      console.error(`error: ${messageOf(error)}`);
    }
    return exitCodeOf(err);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
