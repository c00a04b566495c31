/** `report …`, `chart` and `backtest`: the analytics over the data dir's store. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Argument, type Command, Option } from 'commander';
import { z } from 'zod';
import {
  Analytics,
  AttributionParamsSchema,
  BacktestLabelSchema,
  BacktestUntilSchema,
  backtestTimerIssues,
  CohortFunnelParamsSchema,
  CohortsParamsSchema,
  ConversionParamsSchema,
  DEFAULT_PERIOD_DAYS,
  FlowParamsSchema,
  ForecastParamsSchema,
  openStore,
  PeriodParamsSchema,
  POOLED_FROM_LEADS,
  parseParams,
  periodOf,
  ReportParamsError,
  SlaParamsSchema,
  StagesParamsSchema,
  TenantFilterSchema,
} from '../analytics/index.js';
import { ConfigFileError, loadConfigFile, readConfigOverrides } from '../config-file.js';
import { LeadcycleConfigSchema } from '../machines/index.js';
import { resolveDataDir } from '../paths.js';
import { readSettings } from '../settings.js';
import type { Output } from './output.js';
import { drawEvery, progressBar } from './progress.js';
import {
  describeAttribution,
  describeBacktest,
  describeCohortFunnel,
  describeCohorts,
  describeConversion,
  describeEmail,
  describeFlow,
  describeForecast,
  describeSla,
  describeStages,
  describeVelocity,
} from './report-text.js';

/** Every report command reads the store of `--data-dir`, else of LEADCYCLE_DATA_DIR or ./.leadcycle. */
const DataDirSchema = z.object({ dataDir: z.string().min(1).optional() });

const dataDirOption = () =>
  new Option(
    '--data-dir <dir>',
    'data directory holding leadcycle.db (default: LEADCYCLE_DATA_DIR or ./.leadcycle)',
  );

const dateHelp = 'ISO date (midnight UTC) or date-time';

/** `--tenant`: only that tenant's leads (default: every tenant). */
const tenantFilterOption = () =>
  new Option('--tenant <tenant>', "only this tenant's leads (default: every tenant)");

async function withAnalytics<T>(
  dataDir: string | undefined,
  fn: (analytics: Analytics) => Promise<T>,
  tenant?: string,
): Promise<T> {
  const dir = dataDir === undefined ? resolveDataDir() : resolve(dataDir);
  // Opening creates the database: a mistyped directory would only show an empty report.
  if (!existsSync(dir)) {
    const hint = dataDir === undefined ? ' (set --data-dir or LEADCYCLE_DATA_DIR)' : '';
    throw new ReportParamsError([{ path: ['dataDir'], message: `no such directory: ${dir}${hint}` }]);
  }
  const store = openStore(dir, readSettings());
  try {
    return await fn(new Analytics(store, Date.now, await loadConfigFile(), tenant ?? null));
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

const StagesOptionsSchema = StagesParamsSchema.extend(DataDirSchema.shape);
const ConversionOptionsSchema = ConversionParamsSchema.extend(DataDirSchema.shape);
const VelocityOptionsSchema = PeriodParamsSchema.extend(DataDirSchema.shape);
const SlaOptionsSchema = SlaParamsSchema.extend(DataDirSchema.shape);
const AttributionOptionsSchema = AttributionParamsSchema.extend(DataDirSchema.shape);
const CohortsOptionsSchema = CohortsParamsSchema.extend(DataDirSchema.shape);
const FlowOptionsSchema = FlowParamsSchema.extend(DataDirSchema.shape);
const CohortFunnelOptionsSchema = CohortFunnelParamsSchema.extend(DataDirSchema.shape);
const ForecastOptionsSchema = ForecastParamsSchema.extend(DataDirSchema.shape);
const CHARTS = ['funnel', 'velocity'] as const;
const ChartSchema = z.enum(CHARTS);
const ChartOptionsSchema = PeriodParamsSchema.extend({ ...DataDirSchema.shape, out: z.string().min(1) });
const BacktestOptionsSchema = DataDirSchema.extend({
  tenant: TenantFilterSchema,
  config: z.string().min(1),
  label: BacktestLabelSchema.optional(),
  until: BacktestUntilSchema,
  chart: z.string().min(1).optional(),
  threads: z.coerce.number().int().min(0).max(256).optional(),
}).strict();

/** `report …`, `chart` and `backtest`: the analytics over the data dir's store. */
export function addAnalyticsCommands(program: Command, out: Output): void {
  const report = program
    .command('report')
    .description(
      'funnel, velocity, SLA, attribution, email, cohort and forecast reports from the analytics store',
    );

  report
    .command('stages')
    .description('leads per stage, now or at a past instant')
    .option('--at <date>', `count at this instant (${dateHelp}; default now)`)
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, at, tenant } = parseParams(StagesOptionsSchema, options);
      const r = await withAnalytics(dataDir, (a) => a.stages(at), tenant);
      out.print(r, () => describeStages(r));
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
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, asOf = Date.now(), tenant, ...given } = parseParams(ConversionOptionsSchema, options);
      const period = periodOf(given, asOf, DEFAULT_PERIOD_DAYS) ?? undefined;
      const r = await withAnalytics(dataDir, (a) => a.conversion(period, asOf), tenant);
      out.print(r, () => describeConversion(r));
    });

  report
    .command('velocity')
    .description('days in each stage (completed stays) and to the next funnel stage')
    .option('--from <date>', `only stays that ended from then (${dateHelp})`)
    .option('--to <date>', 'only stays that ended before then (default now)')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, tenant, ...given } = parseParams(VelocityOptionsSchema, options);
      const period = periodOf(given, Date.now(), null);
      const r = await withAnalytics(dataDir, (a) => a.velocity(period), tenant);
      out.print(r, () => describeVelocity(r));
    });

  report
    .command('sla')
    .description('MQLs that sales did not accept within the SLA, and time to accept per sales owner')
    .option(
      '--sla-hours <n>',
      'hours sales have to accept an MQL (default: salesSlaHours of LEADCYCLE_CONFIG, 48 built in)',
    )
    .option('--from <date>', `only MQL stays that started from then (${dateHelp})`)
    .option('--to <date>', 'only MQL stays that started before then (default now)')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, slaHours, tenant, ...given } = parseParams(SlaOptionsSchema, options);
      const period = periodOf(given, Date.now(), null);
      const r = await withAnalytics(
        dataDir,
        (a) => a.sla({ period, ...(slaHours === undefined ? {} : { slaHours }) }),
        tenant,
      );
      out.print(r, () => describeSla(r));
    });

  report
    .command('attribution')
    .description(
      'leads, MQLs, SQLs, opportunities, customers and won amount per source, channel, campaign or form',
    )
    .option(
      '--model <model>',
      "first: credit the lead's first touch; last: its last touch before each stage (default first)",
    )
    .option('--by <dimension>', 'source, channel, campaign or form (default source)')
    .option('--from <date>', `only stage entries from then (${dateHelp})`)
    .option('--to <date>', 'only stage entries before then (default now)')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, tenant, model, by, ...given } = parseParams(AttributionOptionsSchema, options);
      const period = periodOf(given, Date.now(), null);
      const r = await withAnalytics(dataDir, (a) => a.attribution({ model, by, period }), tenant);
      out.print(r, () => describeAttribution(r));
    });

  report
    .command('email')
    .description(
      'per content item: emails sent, deferred and suppressed, unique opens and clicks, unsubscribes',
    )
    .option('--from <date>', `only what happened from then (${dateHelp}; default everything)`)
    .option('--to <date>', 'only what happened before then (default now)')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, tenant, ...given } = parseParams(VelocityOptionsSchema, options);
      const period = periodOf(given, Date.now(), null);
      const r = await withAnalytics(dataDir, (a) => a.emailPerformance(period), tenant);
      out.print(r, () => describeEmail(r));
    });

  report
    .command('cohorts')
    .description('leads by capture month, and how far each month has come')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, tenant } = parseParams(CohortsOptionsSchema, options);
      const r = await withAnalytics(dataDir, (a) => a.cohorts(), tenant);
      out.print(r, () => describeCohorts(r));
    });

  report
    .command('flow')
    .description(
      'funnel over time: per day, week or month and funnel stage, balances, entries, moves forward and out, conversion, velocity',
    )
    .option(
      '--from <date>',
      `start of the period (${dateHelp}; default ${DEFAULT_PERIOD_DAYS} days before --to)`,
    )
    .option('--to <date>', 'end of the period, excluded (default now)')
    .option('--interval <interval>', 'day, week (from Monday, UTC) or month (default week)')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, tenant, interval, ...given } = parseParams(FlowOptionsSchema, options);
      const period = periodOf(given, Date.now(), DEFAULT_PERIOD_DAYS) ?? undefined;
      const r = await withAnalytics(dataDir, (a) => a.flow(period, interval), tenant);
      out.print(r, () => describeFlow(r));
    });

  report
    .command('cohort-funnel')
    .description(
      'leads by the week or month they were created in, and how many of each reached every funnel stage',
    )
    .option(
      '--from <date>',
      `start of the period of creation (${dateHelp}; default ${DEFAULT_PERIOD_DAYS} days before --to)`,
    )
    .option('--to <date>', 'end of the period of creation, excluded (default: --as-of)')
    .option('--interval <interval>', 'week (from Monday, UTC) or month (default month)')
    .option('--as-of <date>', 'follow the leads until this instant (default now)')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const {
        dataDir,
        tenant,
        interval,
        asOf = Date.now(),
        ...given
      } = parseParams(CohortFunnelOptionsSchema, options);
      const period = periodOf(given, asOf, DEFAULT_PERIOD_DAYS) ?? undefined;
      const r = await withAnalytics(dataDir, (a) => a.cohortFunnel(period, interval, asOf), tenant);
      out.print(r, () => describeCohortFunnel(r));
    });

  report
    .command('forecast')
    .description("customers and revenue expected from today's pipeline")
    .option('--horizon-days <n>', `within this many days (default ${DEFAULT_PERIOD_DAYS})`)
    .option('--deal-value <n>', 'value of one won deal (default: the mean of the deals won so far)')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const { dataDir, horizonDays, dealValue, tenant } = parseParams(ForecastOptionsSchema, options);
      const r = await withAnalytics(
        dataDir,
        (a) => a.forecast({ horizonDays, ...(dealValue === undefined ? {} : { dealValue }) }),
        tenant,
      );
      out.print(r, () => describeForecast(r));
    });

  program
    .command('chart')
    .description('draw the funnel or the time in stage as an SVG file')
    .addArgument(new Argument('<chart>', 'which chart').choices(CHARTS))
    .requiredOption('--out <file.svg>', 'where to write the SVG')
    .option(
      '--from <date>',
      `start of the period (${dateHelp}; funnel default: ${DEFAULT_PERIOD_DAYS} days before --to)`,
    )
    .option('--to <date>', 'end of the period, exclusive (default now)')
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (chartArgument: string, options: unknown) => {
      const chart = parseParams(ChartSchema, chartArgument);
      const { dataDir, out: path, tenant, ...given } = parseParams(ChartOptionsSchema, options);
      const now = Date.now();
      const svg = await withAnalytics(
        dataDir,
        (a) =>
          chart === 'funnel'
            ? a.funnelSvg(periodOf(given, now, DEFAULT_PERIOD_DAYS) ?? undefined, now)
            : a.velocitySvg(periodOf(given, now, null), now),
        tenant,
      );
      const file = await writeSvg(path, svg, 'out');
      out.print(
        { chart, out: file, bytes: Buffer.byteLength(svg) },
        () => `wrote the ${chart} chart to ${file}`,
      );
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
    .option(
      '--threads <n>',
      `replay threads (default one per core from ${POOLED_FROM_LEADS} leads on, else 0: in the main thread)`,
    )
    .addOption(dataDirOption())
    .addOption(tenantFilterOption())
    .action(async (options: unknown) => {
      const {
        dataDir,
        config: file,
        chart,
        label,
        until,
        tenant,
        threads,
      } = parseParams(BacktestOptionsSchema, options);
      const config = await readConfigOverrides(file);
      // A backtest replays every timer of every lead: the file's own timers meet the API's floors too.
      const tooFast = backtestTimerIssues(LeadcycleConfigSchema.parse(config));
      if (tooFast.length > 0) throw new ConfigFileError(file, tooFast);
      // A long replay shows its progress on a terminal (never into --json's stdout).
      const bar =
        process.stderr.isTTY && !out.json
          ? progressBar('backtest |{bar}| {value}/{total} leads | ETA {eta_formatted}')
          : null;
      const r = await withAnalytics(
        dataDir,
        async (a) => {
          const onProgress = bar && drawEvery(bar, 100);
          const result = await a
            .backtest(config, {
              ...(label === undefined ? {} : { label }),
              ...(until === undefined ? {} : { until }),
              ...(threads === undefined ? {} : { threads }),
              ...(onProgress ? { onProgress } : {}),
            })
            .finally(() => bar?.stop());
          return { result, svg: chart ? await a.backtestSvg(result) : null };
        },
        tenant,
      );
      const written = chart && r.svg !== null ? await writeSvg(chart, r.svg, 'chart') : null;
      out.print(r.result, () =>
        [describeBacktest(r.result), ...(written ? [`wrote the chart to ${written}`] : [])].join('\n'),
      );
    });
}
