/**
 * The analytics routes' schemas for the OpenAPI document and the serializer: the backtest body and
 * the report types as JSON. The query parameters are the analytics' own (src/analytics/params.ts).
 */
import { z } from 'zod';
import {
  ATTRIBUTION_MODELS,
  BacktestConfigSchema,
  BacktestLabelSchema,
  BacktestUntilSchema,
  COHORT_INTERVALS,
  EMAIL_SKIP_REASONS,
  FLOW_INTERVALS,
  OPEN_STAGES,
} from '../analytics/index.js';
import { FUNNEL_STAGES, STAGES, TOUCH_DIMENSIONS } from '../machines/index.js';
import { IsoTimeSchema, named, StageSchema } from './schemas.js';

export const BacktestRequestSchema = named(
  'BacktestRequest',
  z
    .object({
      config: named('LeadcycleConfig', BacktestConfigSchema),
      label: BacktestLabelSchema.optional(),
      until: BacktestUntilSchema,
    })
    .strict()
    .describe(
      'Replays every journaled lead under the live config with the fields `config` names in place of its ' +
        'own (top-level fields replace whole) and sets the funnel beside the recorded one',
    ),
);

// Responses: the analytics' report types.

const IsoTime = IsoTimeSchema;
const Rate = z.number().nullable().describe('0 to 1; null when there is nothing to divide by');
const Days = z.number().nullable().describe('Days; null without any stay');
const FunnelStageSchema = StageSchema.extract(FUNNEL_STAGES);
/**
 * A count for each of `keys`, as an object with every key a property (an exhaustive `z.record` of
 * an enum says the same, but its JSON Schema names the keys in `propertyNames` only, which
 * generators and linters read as an open map).
 */
function countsOf<const K extends string>(keys: readonly K[]) {
  return z.object(Object.fromEntries(keys.map((key) => [key, z.number()])) as Record<K, z.ZodNumber>);
}
const StageCounts = countsOf(STAGES);

const PeriodSchema = named(
  'ReportPeriod',
  z.object({ from: IsoTime, to: IsoTime }).describe('A half-open interval [from, to)'),
);

export const StageCountsReportSchema = named(
  'StageCountsReport',
  z.object({ at: IsoTime, total: z.number(), stages: StageCounts.describe('Leads per stage at `at`') }),
);

const FunnelStepSchema = named(
  'FunnelStep',
  z.object({
    stage: FunnelStageSchema,
    leads: z.number(),
    stepRate: Rate.describe("Share of the previous step's leads; null for the first step"),
    cumulativeRate: z.number().describe('Share of the first step'),
  }),
);

export const ConversionReportSchema = named(
  'ConversionReport',
  z.object({
    period: PeriodSchema,
    asOf: IsoTime,
    funnel: z.array(FunnelStepSchema).describe('The leads created in the period, followed until asOf'),
    flow: z
      .array(
        z.object({
          from: FunnelStageSchema,
          to: FunnelStageSchema,
          entered: z.number(),
          converted: z.number(),
          rate: Rate,
        }),
      )
      .describe('Of the leads entering each stage in the period, how many reached the next by asOf'),
  }),
);

const DurationsSchema = named(
  'Durations',
  z.object({ count: z.number(), medianDays: Days, meanDays: Days, p90Days: Days }),
);

export const VelocityReportSchema = named(
  'VelocityReport',
  z.object({
    period: PeriodSchema.nullable().describe('Stays that ended in this period; null for all of them'),
    asOf: IsoTime,
    stages: z.array(
      z.object({
        stage: StageSchema,
        ...DurationsSchema.shape,
        open: z.number().describe('Stays still running at asOf (not in the figures)'),
        toNext: DurationsSchema.nullable().describe('Time to the next funnel stage; null off the funnel'),
      }),
    ),
  }),
);

const SLA_OUTCOMES = ['answered_late', 'recycled_by_sla', 'still_waiting'] as const;

const Hours = z.number().nullable().describe('Hours from the handoff (entry into mql); null without any');
const OWNER = "The sales owner (a sales rep's identifier); null for acceptances recorded before owners were";
const OwnerSlaSchema = z.object({
  accepted: z.number().describe('MQL stays accepted by sales (into sql)'),
  medianHours: Hours,
  p90Hours: Hours,
  withinSla: z
    .number()
    .describe('Accepted by the deadline (handoff + slaHours; an escalation does not restart it)'),
  late: z.number().describe('Accepted after the deadline'),
});

export const SlaReportSchema = named(
  'SlaReport',
  z.object({
    slaHours: z.number(),
    period: PeriodSchema.nullable().describe('MQL stays that started in this period; null for all of them'),
    asOf: IsoTime,
    mqlStays: z.number(),
    breaches: z.number(),
    rate: Rate,
    byOutcome: countsOf(SLA_OUTCOMES),
    worst: z
      .array(
        z.object({
          leadId: z.string().describe('The lead id (its workflow id): GET /v1/leads/{leadId}'),
          mqlAt: IsoTime,
          deadline: IsoTime,
          outcome: z.enum(SLA_OUTCOMES),
          overdueHours: z.number(),
        }),
      )
      .describe('The most overdue first'),
    owners: z
      .array(OwnerSlaSchema.extend({ owner: z.string().nullable().describe(OWNER) }))
      .describe('Per sales owner, the most acceptances first'),
    allOwners: OwnerSlaSchema.describe("Every owner's acceptances together"),
    unaccepted: z.number().describe('MQL stays nobody accepted in time: recycled by the SLA'),
    waiting: z
      .object({
        open: z.number().describe('MQL stays still waiting for sales at asOf'),
        pastSla: z.number().describe('Of them, those past their deadline at asOf'),
      })
      .describe('MQL stays sales has not answered yet'),
    other: z.number().describe('MQL stays that ended otherwise: rejected by sales, disqualified, merged'),
  }),
);

const AttributionCountsSchema = z.object({
  leads: z.number().describe('Leads that entered `lead` in the period'),
  mqls: z.number(),
  sqls: z.number(),
  opportunities: z.number(),
  customers: z.number(),
  wonAmount: z.number().describe("The amounts of those customers' deals"),
});

export const AttributionReportSchema = named(
  'AttributionReport',
  z.object({
    model: z.enum(ATTRIBUTION_MODELS),
    by: z.enum(TOUCH_DIMENSIONS),
    period: PeriodSchema.nullable().describe('Stage entries in this period; null for all of them'),
    rows: z
      .array(
        AttributionCountsSchema.extend({
          value: z.string().nullable().describe('The touch value; null for leads without one'),
        }),
      )
      .describe('The most leads first'),
    total: AttributionCountsSchema,
  }),
);

const EmailCountsSchema = z.object({
  sent: z.number().describe('Emails that left, each delivery once however often it was retried'),
  deferred: z
    .number()
    .describe(
      'Attempts the mail server refused for now (SMTP 4xx) or could not be reached; each was retried',
    ),
  suppressed: z.number().describe('Emails not sent (`suppressedBy` says why)'),
  suppressedBy: countsOf(EMAIL_SKIP_REASONS).describe(
    'Suppressed address (do_not_contact, hard_bounce, complaint, erased), the lead unsubscribed, or the email cap',
  ),
  uniqueOpens: z.number().describe('Leads that opened it in the period'),
  uniqueClicks: z.number().describe('Leads that clicked it in the period'),
  unsubscribes: z
    .number()
    .describe('Unsubscribes in the period, each credited to the last item sent to the lead before it'),
  openRate: Rate.describe('uniqueOpens over sent; null when nothing was sent'),
  clickRate: Rate.describe('uniqueClicks over sent; null when nothing was sent'),
});

export const EmailReportSchema = named(
  'EmailReport',
  z.object({
    period: PeriodSchema.nullable().describe('What happened in this period; null for everything recorded'),
    items: z
      .array(
        EmailCountsSchema.extend({
          itemId: z.string().describe("The content item's id"),
          title: z.string().nullable().describe('Its title, when known'),
        }),
      )
      .describe('Per content item, the most sent first'),
    total: EmailCountsSchema,
    unsubscribesWithoutEmail: z
      .number()
      .describe('Unsubscribes in the period of leads that had been sent no email before: in no item'),
  }),
);

export const CohortReportSchema = named(
  'CohortReport',
  z.object({
    asOf: IsoTime,
    cohorts: z.array(
      z.object({
        month: z.string().describe('Capture month, YYYY-MM (UTC)'),
        leads: z.number(),
        reached: z.object({
          mql: z.number(),
          sql: z.number(),
          opportunity: z.number(),
          customer: z.number(),
        }),
        customerRate: z.number(),
        daysToCustomer: DurationsSchema,
      }),
    ),
  }),
);

export const FlowReportSchema = named(
  'FlowReport',
  z.object({
    period: PeriodSchema,
    interval: z.enum(FLOW_INTERVALS),
    stages: z
      .array(FunnelStageSchema)
      .describe('The funnel stages shown: visitor only when some lead was a visitor before it was a lead'),
    buckets: z
      .array(
        z.object({
          from: IsoTime,
          to: IsoTime.describe('End of the bucket (exclusive); the first and last are cut to the period'),
          stages: z.array(
            z.object({
              stage: FunnelStageSchema,
              startBalance: z.number().describe('Leads in the stage just before the bucket starts'),
              entered: z.number().describe('Moves into the stage in the bucket'),
              forward: z.number().describe('Moves out of it to a later funnel stage'),
              out: z
                .number()
                .describe('Moves out of it to a side stage (recycled, disqualified, lost, merged)'),
              back: z.number().describe('Moves out of it to an earlier funnel stage'),
              endBalance: z.number().describe('startBalance + entered − forward − out − back'),
              conversion: Rate.describe('forward / (startBalance + entered); null when that is 0'),
              velocityDays: Days.describe(
                'Mean days in the stage of the stays that moved forward in the bucket; null when none did',
              ),
            }),
          ),
        }),
      )
      .describe('From the bucket of the first recorded change on, oldest first'),
  }),
);

export const CohortFunnelReportSchema = named(
  'CohortFunnelReport',
  z.object({
    period: PeriodSchema.describe('Leads created in this period'),
    interval: z.enum(COHORT_INTERVALS),
    asOf: IsoTime,
    cohorts: z
      .array(
        z.object({
          from: IsoTime,
          to: IsoTime.describe('End of the cohort (exclusive); the first and last are cut to the period'),
          leads: z.number().describe('Leads created (first stage change) in the bucket'),
          funnel: z
            .array(FunnelStepSchema)
            .describe('How many of the cohort reached each stage by asOf; visitor in every cohort or none'),
        }),
      )
      .describe('The cohorts with leads, oldest first'),
  }),
);

const OpenStageSchema = z.enum(OPEN_STAGES);

export const ForecastReportSchema = named(
  'ForecastReport',
  z.object({
    asOf: IsoTime,
    horizonDays: z.number(),
    stages: z.array(
      z.object({
        stage: OpenStageSchema,
        open: z.number(),
        history: z.number(),
        rate: Rate.describe(
          'Share of earlier entries that became customers within the horizon; null: too few',
        ),
        expectedCustomers: z.number(),
      }),
    ),
    expectedCustomers: z.number(),
    low: z.number().describe('80 % interval, low end'),
    high: z.number().describe('80 % interval, high end'),
    dealValue: z.number().nullable(),
    expectedRevenue: z.number().nullable(),
    notEnoughHistory: z.array(OpenStageSchema),
  }),
);

export const BacktestReportSchema = named(
  'BacktestReport',
  z.object({
    leads: z.number(),
    until: IsoTime,
    series: z
      .array(
        z.object({
          label: z.string(),
          funnel: z.array(FunnelStepSchema),
          stages: StageCounts.describe('Leads per stage at `until`'),
          refusedEvents: z.number().describe('Journaled events the replayed machine refused'),
        }),
      )
      .describe('"actual" (what was recorded), then the replayed config'),
  }),
);

export const BACKTEST_JOB_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;

export const BacktestJobSchema = named(
  'BacktestJob',
  z.object({
    id: z.string().describe('The job id: GET or DELETE /v1/backtests/{id}'),
    status: z
      .enum(BACKTEST_JOB_STATUSES)
      .describe('running until its thread has exited; then succeeded (see result), failed or cancelled'),
    label: z.string(),
    until: IsoTime,
    createdAt: IsoTime,
    finishedAt: IsoTime.nullable().describe('When its thread exited; null while running'),
    result: BacktestReportSchema.nullable().describe('The report, once succeeded'),
    error: z
      .object({ code: z.string(), message: z.string() })
      .nullable()
      .describe(
        'Why it failed or was cancelled: no_leads, timer_loop, backtest_timeout, backtest_cancelled, backtest_failed',
      ),
  }),
);

export const BacktestJobParamsSchema = z
  .object({ id: z.uuid().describe('The job id POST answered') })
  .strict();
