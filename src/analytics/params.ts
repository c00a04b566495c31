/**
 * The reports' parameters as the doors take them (the HTTP API's queries and bodies, the CLI's
 * options), and their parsing: both doors accept the same values and name the same fields when they
 * refuse one. Times come in as ISO 8601 and leave as epoch milliseconds, as the analytics compute them.
 */
import { z } from 'zod';
import { TenantSchema } from '../client/lead-key.js';
import { describeIssues, type FieldIssue, issuesOf, LeadcycleError } from '../errors.js';
import {
  DAY_MS,
  HOUR_MS,
  type LeadcycleConfig,
  LeadcycleConfigSchema,
  TOUCH_DIMENSIONS,
} from '../machines/index.js';
import { ATTRIBUTION_MODELS } from './attribution.js';
import type { Period } from './reports.js';

/** The default report period: the 90 days before `asOf`. */
export const DEFAULT_PERIOD_DAYS = 90;

export const defaultPeriod = (asOf: number): Period => ({
  from: asOf - DEFAULT_PERIOD_DAYS * DAY_MS,
  to: asOf,
});

const INSTANT_MESSAGE =
  'expected an ISO 8601 date (2025-03-01, midnight UTC) or date-time with offset (2025-03-01T12:00:00Z)';

const FIRST_INSTANT = 0;
const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An instant as a date or a date-time, to epoch ms. One message for every branch, so it is reported once. */
export const InstantSchema = z
  .union([z.iso.date({ error: INSTANT_MESSAGE }), z.iso.datetime({ offset: true, error: INSTANT_MESSAGE })], {
    error: INSTANT_MESSAGE,
  })
  .transform((text, ctx) => {
    const t = Date.parse(text);
    if (Number.isNaN(t)) {
      ctx.addIssue({ code: 'custom', message: INSTANT_MESSAGE });
      return z.NEVER;
    }
    // The API answers instants in ISO 8601's four-digit years; no lead is older than 1970.
    if (t < FIRST_INSTANT || t > LAST_INSTANT) {
      ctx.addIssue({ code: 'custom', message: 'expected an instant from 1970-01-01 to 9999-12-31' });
      return z.NEVER;
    }
    return t;
  });

/** Upper bounds keep every figure finite (a response with Infinity would not serialize). */
const MAX_HOURS = 10 * 365 * 24;
const MAX_DAYS = 10 * 365;

/** A number from a query string or an option; only the type error is reworded, the bounds keep zod's. */
const number = (what: string) =>
  z.coerce.number({ error: (issue) => (issue.code === 'invalid_type' ? `expected ${what}` : undefined) });

/** Every report, chart and backtest takes one: only that tenant's leads (default: every tenant). */
export const TenantFilterSchema = TenantSchema.optional().describe(
  "Only this tenant's leads; default every tenant (a tenant-scoped key: its own tenant)",
);
const tenant = TenantFilterSchema;

const from = InstantSchema.optional().describe('Start of the period (inclusive)');
const to = InstantSchema.optional().describe('End of the period (exclusive); default now');

export const StagesParamsSchema = z
  .object({ at: InstantSchema.optional().describe('Count the stages at this instant; default now'), tenant })
  .strict();

export const ConversionParamsSchema = z
  .object({
    from: from.describe(
      `Start of the period of lead creation; default ${DEFAULT_PERIOD_DAYS} days before \`to\``,
    ),
    to: to.describe('End of the period of lead creation (exclusive); default `asOf`'),
    asOf: InstantSchema.optional().describe('Follow the leads until this instant; default now'),
    tenant,
  })
  .strict();

/** Stays (velocity) or MQL entries (SLA) in a period; without one, all of them. */
export const PeriodParamsSchema = z
  .object({
    from: from.describe('Start of the period; default the beginning of the records'),
    to,
    tenant,
  })
  .strict();

export const SlaParamsSchema = PeriodParamsSchema.extend({
  slaHours: number('a number of hours')
    .positive()
    .max(MAX_HOURS)
    .optional()
    .describe("Hours sales have to accept an MQL; default the live config's salesSlaHours (48 built in)"),
}).strict();

/** Attribution: stage entries in a period (default all), by a touch's dimension, under a model. */
export const AttributionParamsSchema = PeriodParamsSchema.extend({
  model: z
    .enum(ATTRIBUTION_MODELS)
    .default('first')
    .describe(
      "Credit each stage to the lead's first touch, or to its last touch before the stage; default first",
    ),
  by: z
    .enum(TOUCH_DIMENSIONS)
    .default('source')
    .describe(
      "Group by the touch's source (else utm_source), channel, campaign (else utm_campaign) or form; default source",
    ),
}).strict();

export const CohortsParamsSchema = z.object({ tenant }).strict();

/** Bucket lengths of the funnel over time and of the cohort funnel (src/analytics/flow.ts). */
export const FLOW_INTERVALS = ['day', 'week', 'month'] as const;
export type FlowInterval = (typeof FLOW_INTERVALS)[number];
export const COHORT_INTERVALS = ['week', 'month'] as const;
export type CohortInterval = (typeof COHORT_INTERVALS)[number];

/** A period in buckets: the funnel over time (`/v1/reports/flow`). */
export const FlowParamsSchema = z
  .object({
    from: from.describe(`Start of the period; default ${DEFAULT_PERIOD_DAYS} days before \`to\``),
    to,
    interval: z
      .enum(FLOW_INTERVALS)
      .default('week')
      .describe('Bucket length (UTC; weeks start on Monday); default week'),
    tenant,
  })
  .strict();

/** Leads by the bucket they were created in (`/v1/reports/cohort-funnel`). */
export const CohortFunnelParamsSchema = z
  .object({
    from: from.describe(
      `Start of the period of lead creation; default ${DEFAULT_PERIOD_DAYS} days before \`to\``,
    ),
    to: to.describe('End of the period of lead creation (exclusive); default `asOf`'),
    interval: z
      .enum(COHORT_INTERVALS)
      .default('month')
      .describe('Cohort length (UTC; weeks start on Monday); default month'),
    asOf: InstantSchema.optional().describe('Follow the leads until this instant; default now'),
    tenant,
  })
  .strict();

export const ForecastParamsSchema = z
  .object({
    horizonDays: number('a number of days')
      .positive()
      .max(MAX_DAYS)
      .default(DEFAULT_PERIOD_DAYS)
      .describe(`Forecast the customers won within this many days; default ${DEFAULT_PERIOD_DAYS}`),
    dealValue: number('an amount')
      .nonnegative()
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .describe('Value of one won deal; default the mean amount of the deals won so far'),
    tenant,
  })
  .strict();

const RECORDED_LABEL = 'actual';

export const BacktestLabelSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .refine(
    (label) => label !== RECORDED_LABEL,
    `"${RECORDED_LABEL}" names the recorded series: choose another label`,
  )
  .describe('Name of the replayed series; default "what-if"');

export const BacktestUntilSchema = InstantSchema.optional().describe(
  'Replay the journal until this instant; default now',
);

/**
 * The shortest timers a backtest replays, stricter than a live config's one second: a backtest
 * feeds every timer of every lead over months of history, so each floor bounds its timer count
 * (leads × span ÷ floor). The decay tick only refreshes the displayed score, never a stage, so a
 * finer one would cost without changing the funnel.
 */
export const BACKTEST_TIMER_FLOORS_MS = {
  decayTickDays: DAY_MS,
  nurtureCadenceDays: HOUR_MS,
  newsletterCadenceDays: HOUR_MS,
  'emailCap.windowDays': HOUR_MS,
  salesSlaHours: HOUR_MS,
  renurtureCooldownDays: HOUR_MS,
} as const;

/** The timer settings of a config below a backtest's floors, each named with its minimum. */
export function backtestTimerIssues(config: LeadcycleConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [field, floor] of Object.entries(BACKTEST_TIMER_FLOORS_MS)) {
    const unit = field.endsWith('Hours') ? HOUR_MS : DAY_MS;
    const value =
      field === 'emailCap.windowDays' ? config.emailCap.windowDays : config[field as 'decayTickDays'];
    if (value * unit < floor) {
      const min = floor / unit;
      const inWords = floor === DAY_MS ? '1 day' : '1 hour';
      // In the field's own unit too, unless that is the same words: "1 hour (0.0417 days)".
      const inUnit =
        min === 1 ? '' : ` (${Number(min.toPrecision(3))} ${unit === DAY_MS ? 'days' : 'hours'})`;
      issues.push({
        path: field.split('.'),
        message: `must be at least ${inWords}${inUnit} in a backtest, which replays every lead's timers over its history`,
      });
    }
  }
  return issues;
}

/** A what-if config: a config, with timers no shorter than a backtest's floors. */
export const BacktestConfigSchema = LeadcycleConfigSchema.superRefine((config, ctx) => {
  for (const issue of backtestTimerIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
});

/** A parameter that does not match its schema, or is well-formed on its own but not with the others. */
export class ReportParamsError extends LeadcycleError<'invalid_params'> {
  constructor(readonly issues: FieldIssue[]) {
    super('invalid_params', describeIssues(issues));
  }
}

/** Parameters through their schema; a refusal names each field at fault. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ReportParamsError(issuesOf(parsed.error));
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * The period asked for. Without either end: `defaultDays` before `end`, or null (everything) when
 * there is no default. With one end: the other is the default's, or the start of the records.
 */
export function periodOf(
  given: { from?: number | undefined; to?: number | undefined },
  end: number,
  defaultDays: number | null,
): Period | null {
  if (given.from === undefined && given.to === undefined) {
    return defaultDays === null ? null : { from: end - defaultDays * DAY_MS, to: end };
  }
  const to = given.to ?? end;
  const from = given.from ?? (defaultDays === null ? 0 : to - defaultDays * DAY_MS);
  if (from >= to) {
    throw new ReportParamsError([
      { path: ['from'], message: `must be before the end of the period, ${iso(to)}` },
    ]);
  }
  return { from, to };
}
