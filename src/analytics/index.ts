/**
 * Funnel, velocity, forecast and what-if backtesting over what the lead workflows record. The CLI
 * (`leadcycle report …`) and the HTTP API (`/v1/reports/…`) are thin doors onto `Analytics`.
 */
import { type LeadcycleConfigInput, LeadcycleConfigSchema, type TouchDimension } from '../machines/index.js';
import { readSettings, type Settings } from '../settings.js';
import { type AttributionModel, type AttributionReport, attribution } from './attribution.js';
import { type BacktestReport, backtest } from './backtest.js';
import { balanceChartSvg, funnelChartSvg, velocityChartSvg } from './charts.js';
import { type EmailReport, emailPerformance } from './email.js';
import { type CohortFunnelReport, cohortFunnel, type FlowReport, funnelOverTime } from './flow.js';
import { type ForecastReport, forecast } from './forecast.js';
import { openStore } from './open.js';
import { type CohortInterval, DEFAULT_PERIOD_DAYS, defaultPeriod, type FlowInterval } from './params.js';
import type { AnalyticsStore, StageChangeQuery, StageChangeRow } from './records.js';
import { defaultReplayThreads, POOLED_FROM_LEADS, replayPool } from './replay-pool.js';
import { type ReportQueries, type ReportScope, reportQueriesOf } from './report-queries.js';
import {
  byLead,
  type CohortReport,
  type ConversionReport,
  cohorts,
  conversion,
  type Period,
  type StageCountsReport,
  stageCounts,
  type VelocityReport,
  velocity,
} from './reports.js';
import { type SalesSlaReport, salesSla, slaByOwner } from './sla.js';

export * from './attribution.js';
export * from './backtest.js';
export * from './backtest-jobs.js';
export * from './charts.js';
export * from './email.js';
export * from './flow.js';
export * from './forecast.js';
export * from './open.js';
export * from './params.js';
export * from './postgres/index.js';
export * from './records.js';
export * from './redact.js';
export * from './replay-pool.js';
export * from './report-queries.js';
export * from './reports.js';
export * from './sla.js';
export * from './sqlite/index.js';
export * from './suppression.js';

export class Analytics {
  /** The live config's sales SLA: the SLA report's default. */
  readonly #slaHours: number;

  constructor(
    readonly store: AnalyticsStore,
    /** The clock reports call "now". */
    readonly now: () => number = Date.now,
    /** The config the leads run with (LEADCYCLE_CONFIG): a what-if changes only what it names. */
    readonly liveConfig: LeadcycleConfigInput = {},
    /** Only this tenant's leads in every report, chart and backtest; null: every tenant. */
    readonly tenant: string | null = null,
  ) {
    this.#slaHours = LeadcycleConfigSchema.parse(liveConfig).salesSlaHours;
  }

  /** The same analytics over one tenant's leads only (null: every tenant). */
  forTenant(tenant: string | null): Analytics {
    return tenant === this.tenant ? this : new Analytics(this.store, this.now, this.liveConfig, tenant);
  }

  #scope(): ReportScope {
    return this.tenant === null ? {} : { tenant: this.tenant };
  }

  /** The store's own report queries (PostgreSQL aggregates in SQL), or null: computed here, in memory. */
  get #sql(): ReportQueries | null {
    return reportQueriesOf(this.store);
  }

  async #leads() {
    return byLead(await this.store.stageChanges(this.#scope()));
  }

  async stages(at = this.now()): Promise<StageCountsReport> {
    const sql = this.#sql;
    if (sql) return sql.stageCounts(at, this.#scope());
    return stageCounts(await this.#leads(), at);
  }

  async conversion(period?: Period, asOf = this.now()): Promise<ConversionReport> {
    const sql = this.#sql;
    if (sql) return sql.conversion(period ?? defaultPeriod(asOf), asOf, this.#scope());
    return conversion(await this.#leads(), period ?? defaultPeriod(asOf), asOf);
  }

  async velocity(period: Period | null = null, asOf = this.now()): Promise<VelocityReport> {
    const sql = this.#sql;
    if (sql) return sql.velocity(asOf, period, this.#scope());
    return velocity(await this.#leads(), asOf, period);
  }

  /**
   * The breaches of the sales SLA, and per owner how fast sales accepted (slaByOwner): the per-owner
   * part is computed here for every store, the PostgreSQL store has no SQL for it yet.
   */
  async sla(
    options: { slaHours?: number; period?: Period | null; asOf?: number } = {},
  ): Promise<SalesSlaReport> {
    const query = {
      slaHours: options.slaHours ?? this.#slaHours,
      period: options.period ?? null,
      asOf: options.asOf ?? this.now(),
    };
    const sql = this.#sql;
    const leads = await this.#leads();
    if (!sql) return salesSla(leads, query);
    return { ...(await sql.slaBreaches(query, this.#scope())), ...slaByOwner(leads, query) };
  }

  /**
   * Leads, MQLs, SQLs, opportunities, customers and won amount per source, channel, campaign or form.
   * Computed here for every store: the PostgreSQL store has no SQL for it yet.
   */
  async attribution(
    options: { model?: AttributionModel; by?: TouchDimension; period?: Period | null } = {},
  ): Promise<AttributionReport> {
    return attribution(await this.#leads(), {
      model: options.model ?? 'first',
      by: options.by ?? 'source',
      period: options.period ?? null,
    });
  }

  /**
   * The funnel over time: per bucket of the period and funnel stage, balances, entries, moves
   * forward and out, conversion and velocity. Computed here for every store (no SQL for it yet).
   */
  async flow(period?: Period, interval: FlowInterval = 'week'): Promise<FlowReport> {
    return funnelOverTime(await this.#leads(), period ?? defaultPeriod(this.now()), interval);
  }

  /** Leads by the week or month they were created in, each cohort's funnel until `asOf`. */
  async cohortFunnel(
    period?: Period,
    interval: CohortInterval = 'month',
    asOf = this.now(),
  ): Promise<CohortFunnelReport> {
    return cohortFunnel(await this.#leads(), period ?? defaultPeriod(asOf), interval, asOf);
  }

  /**
   * Per content item: emails sent, deferred and suppressed, unique opens and clicks, unsubscribes
   * (each credited to the last item sent to the lead before it), in the period (null: everything).
   * Computed here for every store from the email outcomes and the journal.
   */
  async emailPerformance(period: Period | null = null): Promise<EmailReport> {
    const scope = this.#scope();
    const outcomes = await this.store.emailOutcomes({
      ...scope,
      ...(period ? { until: period.to } : {}),
    });
    const { content } = LeadcycleConfigSchema.parse(this.liveConfig);
    return emailPerformance(outcomes, this.store.journal(scope), {
      period,
      library: Object.values(content).flat(),
    });
  }

  async cohorts(asOf = this.now()): Promise<CohortReport> {
    const sql = this.#sql;
    if (sql) return sql.cohorts(asOf, this.#scope());
    return cohorts(await this.#leads(), asOf);
  }

  async forecast(
    options: { horizonDays?: number; dealValue?: number | null; asOf?: number } = {},
  ): Promise<ForecastReport> {
    const query = {
      asOf: options.asOf ?? this.now(),
      horizonDays: options.horizonDays ?? DEFAULT_PERIOD_DAYS,
      dealValue: options.dealValue ?? null,
    };
    const sql = this.#sql;
    if (sql) return sql.forecast(query, this.#scope());
    return forecast(await this.#leads(), query);
  }

  /**
   * Replays every journaled lead under the live config with `whatIf`'s fields in place of its own
   * (top-level fields replace whole: `{ mqlThreshold: 60 }` changes only the threshold), and sets it
   * beside what happened.
   */
  async backtest(
    whatIf: LeadcycleConfigInput,
    options: {
      label?: string;
      until?: number;
      /** Leads replayed so far, of about `total` (the leads with recorded stage changes). */
      onProgress?: (done: number, total: number) => void;
      /**
       * Replay threads; default one per core once the journal holds POOLED_FROM_LEADS leads or more
       * (starting a thread costs up to a second), else none: the replay runs in this thread. 0: none.
       */
      threads?: number;
    } = {},
  ): Promise<BacktestReport> {
    const recorded = await this.#leads();
    const { onProgress } = options;
    const threads = options.threads ?? (recorded.size >= POOLED_FROM_LEADS ? defaultReplayThreads() : 0);
    return backtest(
      this.store.journal(this.#scope()),
      [{ label: options.label ?? 'what-if', config: this.whatIf(whatIf) }],
      {
        until: options.until ?? this.now(),
        recorded,
        ...(threads > 0 ? { replayer: replayPool(threads) } : {}),
        ...(onProgress
          ? { onProgress: (done: number) => onProgress(done, Math.max(done, recorded.size)) }
          : {}),
      },
    );
  }

  /** The config a backtest of `whatIf` replays: the live config with the what-if's top-level fields. */
  whatIf(whatIf: LeadcycleConfigInput): LeadcycleConfigInput {
    return { ...this.liveConfig, ...whatIf };
  }

  async funnelSvg(period?: Period, asOf = this.now()): Promise<string> {
    return this.funnelSvgOf(await this.conversion(period, asOf));
  }

  /** The funnel chart of a conversion report already at hand (the dashboard shows its figures too). */
  async funnelSvgOf(report: ConversionReport): Promise<string> {
    return funnelChartSvg([{ label: 'leads', steps: report.funnel }], {
      title: 'Lead funnel',
      subtitle: `leads created ${day(report.period.from)} – ${day(report.period.to)}, as of ${day(report.asOf)}`,
    });
  }

  async velocitySvg(period: Period | null = null, asOf = this.now()): Promise<string> {
    return this.velocitySvgOf(await this.velocity(period, asOf));
  }

  /** The velocity chart of a report already at hand. */
  async velocitySvgOf(report: VelocityReport): Promise<string> {
    const { period, asOf } = report;
    return velocityChartSvg(
      report.stages.map((s) => ({
        stage: s.stage,
        medianDays: s.medianDays,
        meanDays: s.meanDays,
        stays: s.count,
        open: s.open,
      })),
      {
        title: 'Time in stage',
        subtitle: `${
          period ? `stays ended ${day(period.from)} – ${day(period.to)}` : `all stays, as of ${day(asOf)}`
        }; stays still open are censored: counted, not in the times`,
      },
    );
  }

  /** The funnel over time's balances, a line per stage, of a report already at hand. */
  async flowSvgOf(report: FlowReport): Promise<string> {
    return balanceChartSvg(
      report.buckets.flatMap((b) =>
        b.stages.map((s) => ({ stage: s.stage, at: new Date(b.to).toISOString(), leads: s.endBalance })),
      ),
      {
        title: 'Leads per stage over time',
        subtitle: `at the end of each ${report.interval}, ${day(report.buckets[0]?.from ?? report.period.from)} – ${day(report.period.to)}`,
      },
    );
  }

  async backtestSvg(report: BacktestReport): Promise<string> {
    return funnelChartSvg(
      report.series.map((s) => ({ label: s.label, steps: s.funnel })),
      {
        title: 'Backtest: funnel as recorded and as replayed',
        subtitle: `${report.leads} leads, until ${day(report.until)}`,
      },
    );
  }
}

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * The recorded stage changes in a data directory, or in LEADCYCLE_DATABASE_URL's database when set
 * (opens and closes the store): for tools and tests.
 */
export async function readStageChanges(
  dataDir: string,
  query: StageChangeQuery = {},
  settings: Pick<Settings, 'LEADCYCLE_DATABASE_URL'> = readSettings(),
): Promise<StageChangeRow[]> {
  const store = openStore(dataDir, settings);
  try {
    return await store.stageChanges(query);
  } finally {
    await store.close();
  }
}
