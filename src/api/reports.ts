/**
 * `/v1/reports/*`, `/v1/charts/*` and `/v1/backtests`: the analytics over HTTP, behind API keys.
 * Times are ISO 8601, in queries and bodies as in the answers (./report-views.ts converts the
 * analytics' epoch milliseconds). The parameter schemas are the analytics' own, shared with the CLI
 * (`leadcycle report …`), so both accept the same values and name the same fields when they refuse one.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Analytics,
  AnalyticsStoreError,
  AttributionParamsSchema,
  BacktestJobError,
  BacktestJobs,
  type BacktestJobView,
  type BacktestLimits,
  ChartError,
  CohortFunnelParamsSchema,
  CohortsParamsSchema,
  ConversionParamsSchema,
  DEFAULT_PERIOD_DAYS,
  FlowParamsSchema,
  ForecastParamsSchema,
  PeriodParamsSchema,
  periodOf,
  ReportParamsError,
  SlaParamsSchema,
  StagesParamsSchema,
  TenantFilterSchema,
} from '../analytics/index.js';
import type { LeadcycleConfigInput } from '../machines/index.js';
import { type ApiKeys, requireTenantFilter } from './auth.js';
import { ApiError, validationError } from './errors.js';
import { json, problem } from './leads.js';
import {
  AttributionReportSchema,
  BacktestJobParamsSchema,
  BacktestJobSchema,
  BacktestReportSchema,
  BacktestRequestSchema,
  CohortFunnelReportSchema,
  CohortReportSchema,
  ConversionReportSchema,
  EmailReportSchema,
  FlowReportSchema,
  ForecastReportSchema,
  SlaReportSchema,
  StageCountsReportSchema,
  VelocityReportSchema,
} from './report-schemas.js';
import {
  attributionView,
  backtestJobView,
  backtestView,
  cohortFunnelView,
  cohortsView,
  conversionView,
  emailView,
  flowView,
  forecastView,
  slaView,
  stagesView,
  velocityView,
} from './report-views.js';

const svg = (description: string) => ({ description, content: { 'image/svg+xml': { schema: z.string() } } });

const failures = {
  400: problem('A parameter does not match its schema; `issues` names each one'),
  401: problem('Missing or invalid API key'),
  409: problem('The analytics store holds nothing to compute this from yet (`no_leads`, `no_data`)'),
  413: problem('The body is larger than the limit (64 KiB by default)'),
  415: problem('The body is not application/json'),
  422: problem('The config makes the replay loop on its timers (`timer_loop`)'),
  503: problem(
    'The analytics store is closed (the API is stopping), or degraded (`analytics_store_corrupt`, `analytics_store_busy`, `analytics_store_unavailable`, `analytics_store_schema_too_new`); retry later',
  ),
} as const;

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

export interface ReportRoutesOptions {
  analytics: Analytics;
  keys: ApiKeys;
  /** Where backtests run: given, or threads over the analytics store with these limits. */
  backtests?: BacktestJobs | BacktestLimits;
}

/** The analytics' typed errors as answers; anything else is left to the API's error handler. */
async function answering<T>(compute: () => Promise<T>): Promise<T> {
  try {
    return await compute();
  } catch (err) {
    if (err instanceof ReportParamsError) {
      throw validationError(err.issues, 'querystring');
    }
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
  const { keys } = options;

  // Every tenant's figures for an admin key (or the one of `?tenant=`); a scoped key, its own only.
  const tenants = requireTenantFilter(app, keys);
  const scoped = (request: Parameters<typeof tenants.of>[0]) =>
    options.analytics.forTenant(tenants.of(request));
  const analytics = options.analytics;

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
    (request) => answering(async () => stagesView(await scoped(request).stages(request.query.at))),
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
      answering(async () => {
        const { asOf = analytics.now(), tenant: _tenant, ...period } = request.query;
        return conversionView(
          await scoped(request).conversion(periodOf(period, asOf, DEFAULT_PERIOD_DAYS) ?? undefined, asOf),
        );
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
    (request) =>
      answering(async () =>
        velocityView(await scoped(request).velocity(periodOf(request.query, analytics.now(), null))),
      ),
  );

  app.get(
    '/reports/sla',
    {
      schema: {
        operationId: 'reportSla',
        tags,
        summary: 'MQLs that sales did not accept within the SLA, and time to accept per sales owner',
        querystring: SlaParamsSchema,
        response: { 200: json('SLA breaches and time to accept per owner', SlaReportSchema), ...read },
      },
    },
    (request) =>
      answering(async () => {
        const { slaHours, tenant: _tenant, ...period } = request.query;
        return slaView(
          await scoped(request).sla({
            period: periodOf(period, analytics.now(), null),
            ...(slaHours === undefined ? {} : { slaHours }),
          }),
        );
      }),
  );

  app.get(
    '/reports/attribution',
    {
      schema: {
        operationId: 'reportAttribution',
        tags,
        summary:
          'Leads, MQLs, SQLs, opportunities, customers and won amount per source, channel, campaign or form',
        querystring: AttributionParamsSchema,
        response: { 200: json('Attribution by first or last touch', AttributionReportSchema), ...read },
      },
    },
    (request) =>
      answering(() => {
        const { model, by, tenant: _tenant, ...period } = request.query;
        return scoped(request)
          .attribution({ model, by, period: periodOf(period, analytics.now(), null) })
          .then(attributionView);
      }),
  );

  app.get(
    '/reports/email',
    {
      schema: {
        operationId: 'reportEmail',
        tags,
        summary:
          'Per content item: emails sent, deferred and suppressed, unique opens and clicks, unsubscribes',
        querystring: PeriodParamsSchema,
        response: { 200: json('Email performance per content item', EmailReportSchema), ...read },
      },
    },
    (request) =>
      answering(async () =>
        emailView(await scoped(request).emailPerformance(periodOf(request.query, analytics.now(), null))),
      ),
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
    (request) => answering(async () => cohortsView(await scoped(request).cohorts())),
  );

  app.get(
    '/reports/flow',
    {
      schema: {
        operationId: 'reportFlow',
        tags,
        summary: `Funnel over time: per day, week or month of a period (default: the ${DEFAULT_PERIOD_DAYS} days before to) and funnel stage, balances, entries, moves forward and out, conversion and velocity`,
        querystring: FlowParamsSchema,
        response: { 200: json('Funnel over time', FlowReportSchema), ...read },
      },
    },
    (request) =>
      answering(async () => {
        const { interval, tenant: _tenant, ...period } = request.query;
        return flowView(
          await scoped(request).flow(
            periodOf(period, analytics.now(), DEFAULT_PERIOD_DAYS) ?? undefined,
            interval,
          ),
        );
      }),
  );

  app.get(
    '/reports/cohort-funnel',
    {
      schema: {
        operationId: 'reportCohortFunnel',
        tags,
        summary: `Leads by the week or month they were created in (default: the ${DEFAULT_PERIOD_DAYS} days before to), and how many of each reached every funnel stage`,
        querystring: CohortFunnelParamsSchema,
        response: { 200: json('Cohort funnel', CohortFunnelReportSchema), ...read },
      },
    },
    (request) =>
      answering(async () => {
        const { interval, asOf = analytics.now(), tenant: _tenant, ...period } = request.query;
        return cohortFunnelView(
          await scoped(request).cohortFunnel(
            periodOf(period, asOf, DEFAULT_PERIOD_DAYS) ?? undefined,
            interval,
            asOf,
          ),
        );
      }),
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
      answering(async () =>
        forecastView(
          await scoped(request).forecast({
            horizonDays: request.query.horizonDays,
            ...(request.query.dealValue === undefined ? {} : { dealValue: request.query.dealValue }),
          }),
        ),
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
        scoped(request).funnelSvg(periodOf(request.query, now, DEFAULT_PERIOD_DAYS) ?? undefined, now),
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
        scoped(request).velocitySvg(periodOf(request.query, analytics.now(), null)),
      );
      return reply.type('image/svg+xml; charset=utf-8').send(body);
    },
  );

  // Each backtest runs in a thread of its own (src/analytics/backtest-jobs.ts): a replay is
  // synchronous CPU work that would otherwise stall every other request.
  const jobs =
    options.backtests instanceof BacktestJobs
      ? options.backtests
      : BacktestJobs.over(analytics.store, {
          ...options.backtests,
          onBug: (err, id) => app.log.error({ err, backtest: id }, 'backtest thread failed'),
        });
  app.addHook('onClose', async () => jobs.close());
  const jobFailures = {
    409: problem('The journal is empty (`no_leads`), or the job was cancelled meanwhile'),
    422: problem(
      'The config makes the replay loop on its timers (`timer_loop`), or the replay ran past the time box (`backtest_timeout`)',
    ),
    429: problem(
      'As many backtests as the API runs at once are running (`too_many_backtests`); retry after Retry-After seconds',
    ),
  } as const;

  // The what-if as sent, before validation fills in every default: it replaces only the fields it
  // names in the live config (Analytics.whatIf).
  const sentConfig = new WeakMap<object, LeadcycleConfigInput>();
  // Whose figures each job replays: another tenant's key finds no such job.
  const jobTenants = new Map<string, string | null>();
  const jobOf = (request: Parameters<typeof tenants.of>[0], id: string): string => {
    if (!tenants.reaches(request, jobTenants.get(id) ?? null)) notFound(id);
    return id;
  };
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
          'Nothing is stored or changed: the journal is replayed in memory, in a thread of its own. `config` ' +
          'lists what changes: its top-level fields replace those of the config the leads run with ' +
          '(LEADCYCLE_CONFIG); no timer under 1 hour (decayTickDays: 1 day). By default the answer waits for ' +
          'the report (200) and the backtest stops if the client leaves; with `Prefer: respond-async` it is a ' +
          '202 job at once (Location: /v1/backtests/{id}). Each backtest has a time box ' +
          '(LEADCYCLE_BACKTEST_TIMEOUT_MS, 60 s by default) and at most LEADCYCLE_BACKTEST_CONCURRENCY (1) ' +
          'run at once: beyond, 429 with Retry-After.',
        // Loose: the other headers (the API key's among them) stay as they are.
        headers: z.looseObject({
          prefer: z
            .string()
            .optional()
            .describe('`respond-async`: answer 202 with the job at once, not the report when done'),
        }),
        querystring: z.object({ tenant: TenantFilterSchema }).strict(),
        body: BacktestRequestSchema,
        response: {
          200: json('The recorded funnel, then the replayed one', BacktestReportSchema),
          202: json('The job, running: poll its Location', BacktestJobSchema),
          ...read,
          409: jobFailures[409],
          413: failures[413],
          415: failures[415],
          422: jobFailures[422],
          429: jobFailures[429],
        },
      },
    },
    async (request, reply) => {
      const { config, label = 'what-if', until = analytics.now() } = request.body;
      const tenant = tenants.of(request);
      const job = starting(() =>
        jobs.start(analytics.whatIf(sentConfig.get(request) ?? config), { label, until, tenant }),
      );
      jobTenants.set(job.id, tenant);
      if (respondAsync(request.headers.prefer)) {
        return reply
          .code(202)
          .headers({
            location: `${request.url.split('?')[0]}/${job.id}`,
            'preference-applied': 'respond-async',
          })
          .send(backtestJobView(apiView(job)));
      }
      // Waiting for the report: a client that leaves takes its backtest with it.
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) void jobs.cancel(job.id, 'the client left before the report');
      });
      const done = apiView((await jobs.wait(job.id)) ?? job);
      if (done.status === 'succeeded' && done.result) return backtestView(done.result);
      throw jobError(done);
    },
  );

  const jobRoute = (summary: string, operationId: string) => ({
    schema: {
      operationId,
      tags,
      summary,
      params: BacktestJobParamsSchema,
      response: {
        200: json('The job', BacktestJobSchema),
        400: failures[400],
        401: failures[401],
        404: problem('No such job (or it finished more than the TTL ago)'),
      },
    },
  });

  app.get(
    '/backtests/:id',
    jobRoute('A backtest job: running, or its report or error', 'getBacktest'),
    async (request) =>
      backtestJobView(apiView(jobs.get(jobOf(request, request.params.id)) ?? notFound(request.params.id))),
  );

  app.delete(
    '/backtests/:id',
    jobRoute(
      'Cancel a backtest: answers once its thread has stopped (a finished job stays as it is)',
      'cancelBacktest',
    ),
    async (request) =>
      backtestJobView(
        apiView((await jobs.cancel(jobOf(request, request.params.id))) ?? notFound(request.params.id)),
      ),
  );
};

/** RFC 7240: `Prefer: respond-async` (among other preferences, with or without parameters). */
function respondAsync(prefer: string | undefined): boolean {
  return (prefer ?? '').split(',').some((p) => p.split(';')[0]?.trim().toLowerCase() === 'respond-async');
}

function starting<T>(start: () => T): T {
  try {
    return start();
  } catch (err) {
    if (err instanceof BacktestJobError && err.code === 'too_many_backtests') {
      throw new ApiError(429, err.code, err.message, {
        headers: { 'retry-after': String(err.retryAfterSeconds ?? 5) },
      });
    }
    if (err instanceof BacktestJobError) throw new ApiError(503, err.code, err.message);
    throw err;
  }
}

function notFound(id: string): never {
  throw new ApiError(
    404,
    'backtest_not_found',
    `no backtest ${id} (finished ones are kept for a while only)`,
  );
}

/** The thread's error codes as the API names them (a timer loop was `timer_loop` before jobs). */
function apiView(view: BacktestJobView): BacktestJobView {
  if (view.error?.code !== 'deadlines_do_not_advance') return view;
  return { ...view, error: { ...view.error, code: 'timer_loop' } };
}

const STATUS_OF_ERROR: Record<string, number> = {
  no_leads: 409,
  backtest_cancelled: 409,
  timer_loop: 422,
  backtest_timeout: 422,
};

/** A finished job that has no report, as the answer a waiting client gets. */
function jobError(view: BacktestJobView): ApiError {
  const error = view.error ?? { code: 'backtest_failed', message: 'the backtest ended without a report' };
  return new ApiError(STATUS_OF_ERROR[error.code] ?? 500, error.code, error.message);
}
