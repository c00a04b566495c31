/**
 * Forecast of customers and revenue from today's pipeline (docs/domain.md: "Forecasting"): how many of
 * the leads open now become customers within the horizon, judged by what became of earlier leads in
 * the same stage. The method, in README ("Forecast"):
 *
 *   p(S) = of the leads that entered stage S at least `horizonDays` before `asOf` (so their outcome
 *          over a full horizon is known), the share that became a customer within `horizonDays`;
 *   expected customers = Σ over open stages S of n(S) · p(S), with n(S) the leads in S at `asOf`;
 *   an 80 % interval from the variance Σ n(S) · p(S) · (1 − p(S)) (each lead converts or not);
 *   revenue = expected customers × the mean amount of the deals won so far.
 *
 * It counts the leads in the pipeline today, not the ones still to be captured, and it assumes the
 * time a lead has already spent in its stage does not change its chances (exact when stage times are
 * memoryless; a stage whose old leads rarely convert makes it optimistic).
 */
import { DAY_MS, type Stage } from '../machines/index.js';
import type { StageChangeRow } from './records.js';
import { stageAt } from './reports.js';

/** Stages a lead can still become a customer from. */
export const OPEN_STAGES = ['visitor', 'lead', 'mql', 'sql', 'opportunity', 'recycled'] as const;
type OpenStage = (typeof OPEN_STAGES)[number];

/** Below this many finished histories a stage's rate is not trusted: it is left out, and said so. */
export const MIN_HISTORY = 20;

const Z_80 = 1.2816;

export interface ForecastStage {
  stage: OpenStage;
  /** Leads in the stage at `asOf`. */
  open: number;
  /** Entries into the stage whose full horizon lies before `asOf`. */
  history: number;
  /** Share of those that became a customer within the horizon; null when history < MIN_HISTORY. */
  rate: number | null;
  expectedCustomers: number;
}

export interface ForecastReport {
  asOf: number;
  horizonDays: number;
  stages: ForecastStage[];
  expectedCustomers: number;
  /** 80 % interval of the customer count. */
  low: number;
  high: number;
  /** Mean amount of the won deals on record (null without any), or the value given. */
  dealValue: number | null;
  expectedRevenue: number | null;
  /** Stages left out for lack of history. */
  notEnoughHistory: OpenStage[];
}

/** What the forecast is computed from: counted over every stage change, in memory or in SQL. */
export interface ForecastInput {
  /** Leads per stage at `asOf`. */
  open: ReadonlyMap<Stage, number>;
  /** Entries into each stage whose full horizon lies before `asOf`. */
  entries: ReadonlyMap<Stage, number>;
  /** Of those, the ones that became a customer within the horizon. */
  converted: ReadonlyMap<Stage, number>;
  /** Mean amount of the deals won by `asOf` (summed in lead, then seq order), or null without any. */
  wonMean: number | null;
}

export function forecast(
  leads: Map<string, StageChangeRow[]>,
  options: { asOf: number; horizonDays: number; dealValue?: number | null },
): ForecastReport {
  const { asOf, horizonDays } = options;
  const horizon = horizonDays * DAY_MS;
  const open = new Map<Stage, number>();
  const entries = new Map<Stage, number>();
  const converted = new Map<Stage, number>();
  const wonAmounts: number[] = [];

  for (const changes of leads.values()) {
    const now = stageAt(changes, asOf);
    if (now !== null) open.set(now, (open.get(now) ?? 0) + 1);
    changes.forEach((change, i) => {
      if (change.at > asOf) return;
      if (change.to === 'customer' && change.amount !== null) wonAmounts.push(change.amount);
      // Only entries whose whole horizon is already observed teach the rate.
      if (change.at + horizon > asOf) return;
      entries.set(change.to, (entries.get(change.to) ?? 0) + 1);
      const becameCustomer = changes
        .slice(i + 1)
        .some((later) => later.to === 'customer' && later.at <= change.at + horizon);
      if (becameCustomer) converted.set(change.to, (converted.get(change.to) ?? 0) + 1);
    });
  }
  const wonMean = wonAmounts.length > 0 ? wonAmounts.reduce((a, b) => a + b, 0) / wonAmounts.length : null;
  return forecastFrom({ open, entries, converted, wonMean }, options);
}

/** The forecast from its counts (see `ForecastInput`). */
export function forecastFrom(
  { open, entries, converted, wonMean }: ForecastInput,
  options: { asOf: number; horizonDays: number; dealValue?: number | null },
): ForecastReport {
  const { asOf, horizonDays } = options;
  let variance = 0;
  const stages = OPEN_STAGES.map((stage): ForecastStage => {
    const history = entries.get(stage) ?? 0;
    const rate = history >= MIN_HISTORY ? (converted.get(stage) ?? 0) / history : null;
    const n = open.get(stage) ?? 0;
    if (rate !== null) variance += n * rate * (1 - rate);
    return { stage, open: n, history, rate, expectedCustomers: rate === null ? 0 : n * rate };
  });
  const expectedCustomers = stages.reduce((sum, s) => sum + s.expectedCustomers, 0);
  const spread = Z_80 * Math.sqrt(variance);
  const dealValue = options.dealValue ?? wonMean;
  return {
    asOf,
    horizonDays,
    stages,
    expectedCustomers,
    low: Math.max(0, expectedCustomers - spread),
    high: expectedCustomers + spread,
    dealValue,
    expectedRevenue: dealValue === null ? null : expectedCustomers * dealValue,
    notEnoughHistory: stages.filter((s) => s.rate === null && s.open > 0).map((s) => s.stage),
  };
}
