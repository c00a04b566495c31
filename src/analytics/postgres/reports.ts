/**
 * The reports of reports.ts and forecast.ts aggregated in PostgreSQL: the same answers (same shapes,
 * numbers, order and floating-point rounding) without loading every stage change. How each matches:
 *
 * - A lead's rows are taken in seq order (window functions over `PARTITION BY lead_id ORDER BY seq`).
 * - "Stage at t" is the last row of the prefix before the first row after t (as `stageAt` breaks):
 *   the rows whose running maximum of `at` is at most t.
 * - A first entry is the first row into that stage by seq (`array_agg(at ORDER BY seq)[1]`).
 * - Durations: `percentile_cont` interpolates as `durations` does, over the same float8 days, and
 *   `avg(d ORDER BY d)` sums in sorted order as `durations` does, so the mean is bit for bit the same.
 * - Ratios, deadlines and hours are computed here from SQL's integer counts and instants, as there.
 * - Forecast: its counts (stages now, entries, conversions within the horizon, the won deals' mean)
 *   are SQL's; the arithmetic after them is `forecastFrom`, shared with the in-memory one.
 */
import { DAY_MS, FUNNEL_STAGES, HOUR_MS, STAGES, type Stage } from '../../machines/index.js';
import { type ForecastReport, forecastFrom } from '../forecast.js';
import type { ReportQueries, ReportScope } from '../report-queries.js';
import {
  type CohortReport,
  type ConversionReport,
  type Durations,
  type FunnelStage,
  funnelFromCounts,
  type Period,
  type SlaBreach,
  type SlaReport,
  type StageCountsReport,
  type StageFlow,
  type VelocityReport,
  velocityRows,
} from '../reports.js';

type Query = (sql: string, params: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

/** The lead's rows in scope, $1 the tenant or null. */
const SCOPED = `SELECT * FROM stage_changes WHERE ($1::text IS NULL OR tenant = $1)`;

/** Every row with its successor and the running maximum of `at` (for "stage at t"). */
const CHANGES = `c AS (
  SELECT lead_id, seq, to_stage, at, cause, amount,
    lead(at) OVER w AS next_at, lead(cause) OVER w AS next_cause, max(at) OVER w AS run_max
  FROM (${SCOPED}) s
  WINDOW w AS (PARTITION BY lead_id ORDER BY seq))`;

const col = (stage: Stage) => `f_${stage}`;

/** Per lead: its first row's instant and its first entry into each funnel stage. */
const FIRSTS = `f AS (
  SELECT lead_id, (array_agg(at ORDER BY seq))[1] AS created,
    ${FUNNEL_STAGES.map((s) => `(array_agg(at ORDER BY seq) FILTER (WHERE to_stage = '${s}'))[1] AS ${col(s)}`).join(',\n    ')}
  FROM (${SCOPED}) s GROUP BY lead_id)`;

/** count, median, mean and p90 (in days) of the non-null `expr` (ms), as `durations` computes them. */
const DURATIONS = (expr: string) => {
  const d = `((${expr})::float8 / ${DAY_MS}::float8)`;
  return `count(${d}) AS n,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY ${d}) AS median,
    avg(${d} ORDER BY ${d}) AS mean,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY ${d}) AS p90`;
};

const durationsOf = (row: Record<string, unknown> | undefined): Durations => {
  const n = Number(row?.n ?? 0);
  if (!row || n === 0) return { count: 0, medianDays: null, meanDays: null, p90Days: null };
  return {
    count: n,
    medianDays: row.median as number,
    meanDays: row.mean as number,
    p90Days: row.p90 as number,
  };
};

/** `t` in the period, or true without one: $from and $to are float8 parameters, null for none. */
const within = (t: string, from: string, to: string) =>
  `(${from}::float8 IS NULL OR (${t} >= ${from}::float8 AND ${t} < ${to}::float8))`;

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

const tenantOf = (scope: ReportScope) => scope.tenant ?? null;

const emptyCounts = (): Record<Stage, number> =>
  Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;

export class PostgresReports implements ReportQueries {
  constructor(readonly query: Query) {}

  async stageCounts(at: number, scope: ReportScope): Promise<StageCountsReport> {
    const stages = emptyCounts();
    let total = 0;
    for (const [stage, n] of await this.#stagesAt(at, scope)) {
      stages[stage] = n;
      total += n;
    }
    return { at, total, stages };
  }

  async #stagesAt(at: number, scope: ReportScope): Promise<Map<Stage, number>> {
    const { rows } = await this.query(
      `WITH ${CHANGES}
       SELECT to_stage, count(*) AS n FROM (
         SELECT DISTINCT ON (lead_id) lead_id, to_stage FROM c WHERE run_max <= $2::float8
         ORDER BY lead_id, seq DESC) s
       GROUP BY to_stage`,
      [tenantOf(scope), at],
    );
    return new Map(rows.map((r) => [r.to_stage as Stage, Number(r.n)]));
  }

  async conversion(period: Period, asOf: number, scope: ReportScope): Promise<ConversionReport> {
    const pairs = FUNNEL_STAGES.slice(0, -1).map(
      (from, i) => [from, FUNNEL_STAGES[i + 1] as FunnelStage] as const,
    );
    const inPeriod = (t: string) => `${t} >= $2::float8 AND ${t} < $3::float8`;
    const { rows } = await this.query(
      `WITH ${FIRSTS}
       SELECT
         ${FUNNEL_STAGES.map((s) => `count(*) FILTER (WHERE ${inPeriod('created')} AND ${col(s)} <= $4::float8) AS reached_${s}`).join(',\n')},
         count(*) FILTER (WHERE ${inPeriod('created')} AND ${col('visitor')} <= $4::float8
           AND (${col('lead')} IS NULL OR ${col('lead')} > $4::float8 OR ${col('lead')} > ${col('visitor')})) AS visitors_first,
         ${pairs
           .map(
             ([from, to]) =>
               `count(*) FILTER (WHERE ${inPeriod(col(from))}) AS entered_${from},
                count(*) FILTER (WHERE ${inPeriod(col(from))} AND ${col(to)} <= $4::float8) AS converted_${from}`,
           )
           .join(',\n')}
       FROM f`,
      [tenantOf(scope), period.from, period.to, asOf],
    );
    const row = rows[0] ?? {};
    const reached = new Map<FunnelStage, number>();
    for (const s of FUNNEL_STAGES) {
      const n = Number(row[`reached_${s}`] ?? 0);
      // funnelOf only sets the stages some lead reached: an absent one counts as 0 either way.
      if (n > 0) reached.set(s, n);
    }
    const flow: StageFlow[] = pairs.map(([from, to]) => {
      const entered = Number(row[`entered_${from}`] ?? 0);
      const converted = Number(row[`converted_${from}`] ?? 0);
      return { from, to, entered, converted, rate: ratio(converted, entered) };
    });
    return { period, asOf, funnel: funnelFromCounts(reached, Number(row.visitors_first ?? 0)), flow };
  }

  async velocity(asOf: number, period: Period | null, scope: ReportScope): Promise<VelocityReport> {
    const params = [tenantOf(scope), asOf, period?.from ?? null, period?.to ?? null];
    const done = 'next_at IS NOT NULL AND next_at <= $2::float8';
    const stays = await this.query(
      `WITH ${CHANGES}
       SELECT to_stage, count(*) FILTER (WHERE NOT (${done})) AS open,
         ${DURATIONS(`CASE WHEN ${done} AND ${within('next_at', '$3', '$4')} THEN next_at - at END`)}
       FROM c WHERE run_max <= $2::float8 GROUP BY to_stage`,
      params,
    );
    const pairs = FUNNEL_STAGES.slice(0, -1).map(
      (from, i) => [from, FUNNEL_STAGES[i + 1] as FunnelStage] as const,
    );
    const toNext = await this.query(
      `WITH ${FIRSTS}
       SELECT p.stage, ${DURATIONS('p.reached - p.entered')}
       FROM f CROSS JOIN LATERAL (VALUES
         ${pairs.map(([from, to]) => `('${from}', ${col(from)}, ${col(to)})`).join(', ')}
       ) AS p(stage, entered, reached)
       WHERE p.entered IS NOT NULL AND p.reached IS NOT NULL AND p.reached <= $2::float8
         AND ${within('p.entered', '$3', '$4')}
       GROUP BY p.stage`,
      params,
    );
    const stayOf = new Map(stays.rows.map((r) => [r.to_stage as string, r]));
    const nextOf = new Map(toNext.rows.map((r) => [r.stage as string, r]));
    return {
      period,
      asOf,
      stages: velocityRows(
        STAGES.filter((s) => s !== 'merged').map((stage) => ({
          stage,
          ...durationsOf(stayOf.get(stage)),
          open: Number(stayOf.get(stage)?.open ?? 0),
          toNext:
            (FUNNEL_STAGES as readonly Stage[]).includes(stage) && stage !== 'customer'
              ? durationsOf(nextOf.get(stage))
              : null,
        })),
      ),
    };
  }

  async slaBreaches(
    options: { slaHours: number; asOf: number; period?: Period | null; worst?: number },
    scope: ReportScope,
  ): Promise<SlaReport> {
    const { slaHours, asOf, period = null } = options;
    const slaMs = slaHours * HOUR_MS;
    const stays = `stays AS (
      SELECT lead_id, seq, at, next_at IS NOT NULL AND next_at <= $2::float8 AS ended,
        CASE WHEN next_at IS NOT NULL AND next_at <= $2::float8 THEN next_at ELSE $2::float8 END AS ended_at,
        next_cause
      FROM c WHERE to_stage = 'mql' AND at <= $2::float8 AND ${within('at', '$3', '$4')}),
      breaches AS (
        SELECT *, CASE WHEN NOT ended THEN 'still_waiting'
                       WHEN next_cause = 'sla.expired' THEN 'recycled_by_sla'
                       ELSE 'answered_late' END AS outcome
        FROM stays WHERE ended_at > at::float8 + $5::float8)`;
    const params = [tenantOf(scope), asOf, period?.from ?? null, period?.to ?? null, slaMs];
    const [totals, worst] = await Promise.all([
      this.query(
        `WITH ${CHANGES}, ${stays}
         SELECT (SELECT count(*) FROM stays) AS mql_stays, count(*) AS breaches,
           count(*) FILTER (WHERE outcome = 'answered_late') AS answered_late,
           count(*) FILTER (WHERE outcome = 'recycled_by_sla') AS recycled_by_sla,
           count(*) FILTER (WHERE outcome = 'still_waiting') AS still_waiting
         FROM breaches`,
        params,
      ),
      // Most overdue first; ties in lead then seq order, as the in-memory (stable) sort leaves them.
      this.query(
        `WITH ${CHANGES}, ${stays}
         SELECT lead_id, at, ended_at, outcome FROM breaches
         ORDER BY ended_at - at DESC, lead_id, seq LIMIT $6`,
        [...params, options.worst ?? 10],
      ),
    ]);
    const t = totals.rows[0] ?? {};
    const mqlStays = Number(t.mql_stays ?? 0);
    const breaches = Number(t.breaches ?? 0);
    return {
      slaHours,
      period,
      asOf,
      mqlStays,
      breaches,
      rate: ratio(breaches, mqlStays),
      byOutcome: {
        answered_late: Number(t.answered_late ?? 0),
        recycled_by_sla: Number(t.recycled_by_sla ?? 0),
        still_waiting: Number(t.still_waiting ?? 0),
      },
      worst: worst.rows.map((r): SlaBreach => {
        const mqlAt = Number(r.at);
        const deadline = mqlAt + slaHours * HOUR_MS;
        return {
          leadId: r.lead_id as string,
          mqlAt,
          deadline,
          outcome: r.outcome as SlaBreach['outcome'],
          overdueHours: (Number(r.ended_at) - deadline) / HOUR_MS,
        };
      }),
    };
  }

  async cohorts(asOf: number, scope: ReportScope): Promise<CohortReport> {
    const reached = ['mql', 'sql', 'opportunity', 'customer'] as const;
    const { rows } = await this.query(
      `WITH ${FIRSTS}
       SELECT to_char(timestamp 'epoch' + ${col('lead')} * interval '1 millisecond', 'YYYY-MM') COLLATE "C" AS month,
         count(*) AS leads,
         ${reached.map((s) => `count(*) FILTER (WHERE ${col(s)} <= $2::float8) AS reached_${s}`).join(', ')},
         ${DURATIONS(`CASE WHEN ${col('customer')} <= $2::float8 THEN ${col('customer')} - ${col('lead')} END`)}
       FROM f WHERE ${col('lead')} <= $2::float8
       GROUP BY 1 ORDER BY 1`,
      [tenantOf(scope), asOf],
    );
    return {
      asOf,
      cohorts: rows.map((r) => {
        const leads = Number(r.leads);
        const counts = {
          mql: Number(r.reached_mql),
          sql: Number(r.reached_sql),
          opportunity: Number(r.reached_opportunity),
          customer: Number(r.reached_customer),
        };
        return {
          month: r.month as string,
          leads,
          reached: counts,
          customerRate: counts.customer / leads,
          daysToCustomer: durationsOf(r),
        };
      }),
    };
  }

  async forecast(
    options: { asOf: number; horizonDays: number; dealValue?: number | null },
    scope: ReportScope,
  ): Promise<ForecastReport> {
    const horizon = options.horizonDays * DAY_MS;
    const params = [tenantOf(scope), options.asOf, horizon];
    const [open, history, won] = await Promise.all([
      this.#stagesAt(options.asOf, scope),
      this.query(
        // The earliest later entry into customer (by seq), against the entry's horizon: one pass.
        `SELECT to_stage, count(*) AS entries,
           count(*) FILTER (WHERE customer_at <= at::float8 + $3::float8) AS converted
         FROM (SELECT to_stage, at,
                 min(at) FILTER (WHERE to_stage = 'customer') OVER (
                   PARTITION BY lead_id ORDER BY seq ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
                 ) AS customer_at
               FROM (${SCOPED}) s) e
         WHERE at <= $2::float8 AND at::float8 + $3::float8 <= $2::float8
         GROUP BY to_stage`,
        params,
      ),
      this.query(
        `SELECT avg(amount ORDER BY lead_id, seq) AS mean FROM (${SCOPED}) s
         WHERE to_stage = 'customer' AND amount IS NOT NULL AND at <= $2::float8`,
        [tenantOf(scope), options.asOf],
      ),
    ]);
    const entries = new Map(history.rows.map((r) => [r.to_stage as Stage, Number(r.entries)]));
    const converted = new Map(history.rows.map((r) => [r.to_stage as Stage, Number(r.converted)]));
    const mean = won.rows[0]?.mean;
    return forecastFrom(
      { open, entries, converted, wonMean: mean === null || mean === undefined ? null : Number(mean) },
      options,
    );
  }
}
