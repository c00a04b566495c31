/**
 * `/v1/reports/*`, `/v1/charts/*` and `/v1/backtests`: the analytics over HTTP, behind API keys.
 * Times in queries and bodies are ISO 8601; times in the reports are epoch milliseconds, as the
 * analytics compute them. The parameter schemas are shared with the CLI (`leadcycle report …`), so
 * both accept the same values and name the same fields when they refuse one.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Analytics,
  AnalyticsStoreError,
  BacktestError,
  ChartError,
  DEFAULT_PERIOD_DAYS,
  OPEN_STAGES,
  type Period,
} from '../analytics/index.js';
import {
  DAY_MS,
  FUNNEL_STAGES,
  type LeadcycleConfigInput,
  LeadcycleConfigSchema,
} from '../machines/index.js';
import type { ApiKeys } from './auth.js';
import { ApiError, validationError } from './errors.js';
import { json } from './leads.js';
import { apiSchemas, ErrorSchema, StageSchema } from './schemas.js';

function named<S extends z.ZodType>(id: string, schema: S): S {
  apiSchemas.add(schema, { id });
  return schema;
}

// ---------------------------------------------------------------------------
// Parameters (API queries and bodies, CLI options)
// ---------------------------------------------------------------------------

const INSTANT_MESSAGE =
  'expected an ISO 8601 date (2025-03-01, midnight UTC) or date-time with offset (2025-03-01T12:00:00Z)';

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
    return t;
  });

/** Upper bounds keep every figure finite (a response with Infinity would not serialize). */
const MAX_HOURS = 10 * 365 * 24;
const MAX_DAYS = 10 * 365;

/** A number from a query string or an option; only the type error is reworded, the bounds keep zod's. */
const number = (what: string) =>
  z.coerce.number({ error: (issue) => (issue.code === 'invalid_type' ? `expected ${what}` : undefined) });

const from = InstantSchema.optional().describe('Start of the period (inclusive)');
const to = InstantSchema.optional().describe('End of the period (exclusive); default now');

export const StagesParamsSchema = z
  .object({ at: InstantSchema.optional().describe('Count the stages at this instant; default now') })
  .strict();

export const ConversionParamsSchema = z
  .object({
    from: from.describe(
      `Start of the period of lead creation; default ${DEFAULT_PERIOD_DAYS} days before \`to\``,
    ),
    to: to.describe('End of the period of lead creation (exclusive); default `asOf`'),
    asOf: InstantSchema.optional().describe('Follow the leads until this instant; default now'),
  })
  .strict();

/** Stays (velocity) or MQL entries (SLA) in a period; without one, all of them. */
export const PeriodParamsSchema = z
  .object({
    from: from.describe('Start of the period; default the beginning of the records'),
    to,
  })
  .strict();

export const SlaParamsSchema = PeriodParamsSchema.extend({
  slaHours: number('a number of hours')
    .positive()
    .max(MAX_HOURS)
    .optional()
    .describe("Hours sales have to accept an MQL; default the live config's salesSlaHours (48 built in)"),
}).strict();

export const CohortsParamsSchema = z.object({}).strict();

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
  })
  .strict();

const RECORDED_LABEL = 'actual';

/** Shared by the API's body and the CLI's options. */
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

export const BacktestRequestSchema = named(
  'BacktestRequest',
  z
    .object({
      config: named('LeadcycleConfig', LeadcycleConfigSchema),
      label: BacktestLabelSchema.optional(),
      until: BacktestUntilSchema,
    })
    .strict()
    .describe(
      'Replays every journaled lead under the live config with the fields `config` names in place of its ' +
        'own (top-level fields replace whole) and sets the funnel beside the recorded one',
    ),
);

/** A parameter that is well-formed on its own but not with the others (e.g. a period that ends first). */
export class ReportParamsError extends Error {
  readonly code = 'invalid_params';
  constructor(readonly issues: Array<{ path: string; message: string }>) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    this.name = 'ReportParamsError';
  }
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
      { path: 'from', message: `must be before the end of the period, ${iso(to)}` },
    ]);
  }
  return { from, to };
}

// ---------------------------------------------------------------------------
// Responses: the analytics' report types, for the OpenAPI document and the serializer
// ---------------------------------------------------------------------------

const EpochMs = z.number().describe('Epoch milliseconds');
const Rate = z.number().nullable().describe('0 to 1; null when there is nothing to divide by');
const Days = z.number().nullable().describe('Days; null without any stay');
const FunnelStageSchema = z.enum(FUNNEL_STAGES);
const StageCounts = z.record(StageSchema, z.number());

const PeriodSchema = named(
  'ReportPeriod',
  z.object({ from: EpochMs, to: EpochMs }).describe('A half-open interval [from, to)'),
);

export const StageCountsReportSchema = named(
  'StageCountsReport',
  z.object({ at: EpochMs, total: z.number(), stages: StageCounts.describe('Leads per stage at `at`') }),
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
    asOf: EpochMs,
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
    asOf: EpochMs,
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

export const SlaReportSchema = named(
  'SlaReport',
  z.object({
    slaHours: z.number(),
    period: PeriodSchema.nullable().describe('MQL stays that started in this period; null for all of them'),
    asOf: EpochMs,
    mqlStays: z.number(),
    breaches: z.number(),
    rate: Rate,
    byOutcome: z.record(z.enum(SLA_OUTCOMES), z.number()),
    worst: z
      .array(
        z.object({
          leadId: z.string().describe('The lead id (its workflow id): GET /v1/leads/{leadId}'),
          mqlAt: EpochMs,
          deadline: EpochMs,
          outcome: z.enum(SLA_OUTCOMES),
          overdueHours: z.number(),
        }),
      )
      .describe('The most overdue first'),
  }),
);

export const CohortReportSchema = named(
  'CohortReport',
  z.object({
    asOf: EpochMs,
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

const OpenStageSchema = z.enum(OPEN_STAGES);

export const ForecastReportSchema = named(
  'ForecastReport',
  z.object({
    asOf: EpochMs,
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
    until: EpochMs,
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

const svg = (description: string) => ({ description, content: { 'image/svg+xml': { schema: z.string() } } });

const failures = {
  400: json('A parameter does not match its schema; `issues` names each one', ErrorSchema),
  401: json('Missing or invalid API key', ErrorSchema),
  409: json(
    'The analytics store holds nothing to compute this from yet (`no_leads`, `no_data`)',
    ErrorSchema,
  ),
  413: json('The body is larger than the limit (64 KiB by default)', ErrorSchema),
  415: json('The body is not application/json', ErrorSchema),
  422: json('The config makes the replay loop on its timers (`timer_loop`)', ErrorSchema),
  503: json('The analytics store is closed (the API is stopping); retry later', ErrorSchema),
} as const;

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

export interface ReportRoutesOptions {
  analytics: Analytics;
  keys: ApiKeys;
}

/** The analytics' typed errors as answers; anything else is left to the API's error handler. */
async function answering<T>(compute: () => Promise<T>): Promise<T> {
  try {
    return await compute();
  } catch (err) {
    if (err instanceof ReportParamsError) {
      throw validationError(err.issues.map((i) => ({ in: 'querystring' as const, ...i })));
    }
    if (err instanceof BacktestError) {
      if (err.code === 'NO_LEADS') throw new ApiError(409, 'no_leads', err.message);
      throw new ApiError(422, 'timer_loop', err.message);
    }
    // Only an empty chart is expected; any other refusal to draw is a bug, a 500.
    if (err instanceof ChartError && err.code === 'no-data') throw new ApiError(409, 'no_data', err.message);
    if (err instanceof AnalyticsStoreError && err.code === 'CLOSED') {
      throw new ApiError(503, 'analytics_unavailable', 'the analytics store is closed; retry later', {
        headers: { 'retry-after': '5' },
      });
    }
    throw err;
  }
}

export const reportRoutes: FastifyPluginAsyncZod<ReportRoutesOptions> = async (app, options) => {
  const { analytics, keys } = options;

  app.addHook('onRequest', async (request) => {
    keys.authenticate(request.headers);
  });

  const tags = ['analytics'];
  const read = { 400: failures[400], 401: failures[401], 503: failures[503] } as const;

  app.get(
    '/reports/stages',
    {
      schema: {
        operationId: 'reportStages',
        tags,
        summary: 'Leads per stage, now or at a past instant',
        querystring: StagesParamsSchema,
        response: { 200: json('Leads per stage', StageCountsReportSchema), ...read },
      },
    },
    (request) => answering(() => analytics.stages(request.query.at)),
  );

  app.get(
    '/reports/conversion',
    {
      schema: {
        operationId: 'reportConversion',
        tags,
        summary: `Funnel of the leads created in a period (default: the ${DEFAULT_PERIOD_DAYS} days before asOf)`,
        querystring: ConversionParamsSchema,
        response: { 200: json('Cohort funnel and stage flow', ConversionReportSchema), ...read },
      },
    },
    (request) =>
      answering(() => {
        const { asOf = analytics.now(), ...period } = request.query;
        return analytics.conversion(periodOf(period, asOf, DEFAULT_PERIOD_DAYS) ?? undefined, asOf);
      }),
  );

  app.get(
    '/reports/velocity',
    {
      schema: {
        operationId: 'reportVelocity',
        tags,
        summary: 'Time in each stage (median, mean, p90 days) and to the next funnel stage',
        querystring: PeriodParamsSchema,
        response: { 200: json('Time in stage', VelocityReportSchema), ...read },
      },
    },
    (request) => answering(() => analytics.velocity(periodOf(request.query, analytics.now(), null))),
  );

  app.get(
    '/reports/sla',
    {
      schema: {
        operationId: 'reportSla',
        tags,
        summary: 'MQLs that sales did not accept within the SLA',
        querystring: SlaParamsSchema,
        response: { 200: json('SLA breaches', SlaReportSchema), ...read },
      },
    },
    (request) =>
      answering(() => {
        const { slaHours, ...period } = request.query;
        return analytics.sla({
          period: periodOf(period, analytics.now(), null),
          ...(slaHours === undefined ? {} : { slaHours }),
        });
      }),
  );

  app.get(
    '/reports/cohorts',
    {
      schema: {
        operationId: 'reportCohorts',
        tags,
        summary: 'Leads by capture month and how far each month has come',
        querystring: CohortsParamsSchema,
        response: { 200: json('Monthly cohorts', CohortReportSchema), ...read },
      },
    },
    () => answering(() => analytics.cohorts()),
  );

  app.get(
    '/reports/forecast',
    {
      schema: {
        operationId: 'reportForecast',
        tags,
        summary: "Customers and revenue expected from today's pipeline within a horizon",
        querystring: ForecastParamsSchema,
        response: { 200: json('Forecast', ForecastReportSchema), ...read },
      },
    },
    (request) =>
      answering(() =>
        analytics.forecast({
          horizonDays: request.query.horizonDays,
          ...(request.query.dealValue === undefined ? {} : { dealValue: request.query.dealValue }),
        }),
      ),
  );

  app.get(
    '/charts/funnel.svg',
    {
      schema: {
        operationId: 'chartFunnel',
        tags,
        summary: 'The conversion funnel as an SVG chart',
        querystring: PeriodParamsSchema,
        response: { 200: svg('The funnel chart'), ...read },
      },
    },
    async (request, reply) => {
      const now = analytics.now();
      const body = await answering(async () =>
        analytics.funnelSvg(periodOf(request.query, now, DEFAULT_PERIOD_DAYS) ?? undefined, now),
      );
      return reply.type('image/svg+xml; charset=utf-8').send(body);
    },
  );

  app.get(
    '/charts/velocity.svg',
    {
      schema: {
        operationId: 'chartVelocity',
        tags,
        summary: 'Time in stage as an SVG chart',
        querystring: PeriodParamsSchema,
        response: { 200: svg('The velocity chart'), 409: failures[409], ...read },
      },
    },
    async (request, reply) => {
      const body = await answering(async () =>
        analytics.velocitySvg(periodOf(request.query, analytics.now(), null)),
      );
      return reply.type('image/svg+xml; charset=utf-8').send(body);
    },
  );

  // The what-if as sent, before validation fills in every default: it replaces only the fields it
  // names in the live config (Analytics.backtest).
  const sentConfig = new WeakMap<object, LeadcycleConfigInput>();
  app.post(
    '/backtests',
    {
      preValidation: async (request) => {
        const body = request.body as { config?: unknown } | null | undefined;
        if (body && typeof body === 'object' && body.config && typeof body.config === 'object') {
          sentConfig.set(request, structuredClone(body.config) as LeadcycleConfigInput);
        }
      },
      schema: {
        operationId: 'backtest',
        tags,
        summary: 'Replay the journaled leads under another config and compare the funnels',
        description:
          'Nothing is stored or changed: the journal is replayed in memory. `config` lists what changes: its ' +
          'top-level fields replace those of the config the leads run with (LEADCYCLE_CONFIG). 409 `no_leads` ' +
          'while the journal is empty.',
        body: BacktestRequestSchema,
        response: {
          200: json('The recorded funnel, then the replayed one', BacktestReportSchema),
          ...read,
          409: failures[409],
          413: failures[413],
          415: failures[415],
          422: failures[422],
        },
      },
    },
    (request) =>
      answering(() => {
        const { config, label, until } = request.body;
        return analytics.backtest(sentConfig.get(request) ?? config, {
          ...(label === undefined ? {} : { label }),
          ...(until === undefined ? {} : { until }),
        });
      }),
  );
};
