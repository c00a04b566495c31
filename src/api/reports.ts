/**
 * `/v1/reports/*`, `/v1/charts/*` and `/v1/backtests`: the analytics over HTTP, behind API keys.
 * Times in queries and bodies are ISO 8601; times in the reports are epoch milliseconds, as the
 * analytics compute them. The parameter schemas are the analytics' own, shared with the CLI
 * (`leadcycle report …`), so both accept the same values and name the same fields when they refuse one.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Analytics,
  AnalyticsStoreError,
  BacktestError,
  ChartError,
  CohortsParamsSchema,
  ConversionParamsSchema,
  DEFAULT_PERIOD_DAYS,
  ForecastParamsSchema,
  PeriodParamsSchema,
  periodOf,
  ReportParamsError,
  SlaParamsSchema,
  StagesParamsSchema,
} from '../analytics/index.js';
import { DriverError, type LeadcycleConfigInput } from '../machines/index.js';
import { type ApiKeys, requireApiKey } from './auth.js';
import { ApiError, validationError } from './errors.js';
import { json } from './leads.js';
import {
  BacktestReportSchema,
  BacktestRequestSchema,
  CohortReportSchema,
  ConversionReportSchema,
  ForecastReportSchema,
  SlaReportSchema,
  StageCountsReportSchema,
  VelocityReportSchema,
} from './report-schemas.js';
import { ErrorSchema } from './schemas.js';

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
  503: json(
    'The analytics store is closed (the API is stopping), or degraded (`analytics_store_corrupt`, `analytics_store_busy`, `analytics_store_unavailable`, `analytics_store_schema_too_new`); retry later',
    ErrorSchema,
  ),
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
      throw validationError(err.issues, 'querystring');
    }
    if (err instanceof BacktestError) throw new ApiError(409, 'no_leads', err.message);
    if (err instanceof DriverError) throw new ApiError(422, 'timer_loop', err.message);
    // Only an empty chart is expected; any other refusal to draw is a bug, a 500.
    if (err instanceof ChartError && err.code === 'no_data') throw new ApiError(409, 'no_data', err.message);
    if (err instanceof AnalyticsStoreError && err.code === 'closed') {
      throw new ApiError(503, 'analytics_unavailable', 'the analytics store is closed; retry later', {
        headers: { 'retry-after': '5' },
      });
    }
    throw err;
  }
}

export const reportRoutes: FastifyPluginAsyncZod<ReportRoutesOptions> = async (app, options) => {
  const { analytics, keys } = options;

  // Reports span tenants: admin keys only.
  requireApiKey(app, keys);

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
