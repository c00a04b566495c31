/**
 * The dashboard's routes: `/` (overview), `/flow` (funnel over time), `/email` (email per content
 * item), `/whatif` (backtests), `/login` and `/logout`. HTML pages rendered here from the same
 * Analytics the /v1 reports answer from (internal calls, not HTTP), so a figure on a page is the
 * figure of the report for the same filters. Behind a session cookie (session.ts) that a login with
 * an API key opens; the tenant rules are those of the /v1 reports (src/api/auth.ts
 * requireTenantFilter): an admin key sees every tenant or the one it names, a scoped key only its own.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  type Analytics,
  AnalyticsStoreError,
  AttributionParamsSchema,
  BacktestConfigSchema,
  BacktestJobError,
  type BacktestJobs,
  ChartError,
  CohortFunnelParamsSchema,
  FlowParamsSchema,
  PeriodParamsSchema,
  parseParams,
  periodOf,
  ReportParamsError,
} from '../../analytics/index.js';
import { TenantSchema } from '../../client/index.js';
import { describeIssues, issuesOf } from '../../errors.js';
import { DAY_MS, LeadcycleConfigSchema } from '../../machines/index.js';
import type { ApiPrincipal } from '../auth.js';
import { emailPage } from './email-page.js';
import { flowPage } from './flow-page.js';
import { cookieOf, type DashboardSessions, SESSION_COOKIE, type Session, sessionCookie } from './session.js';
import { slaPage } from './sla-page.js';
import {
  DEFAULT_PRESET,
  type Filters,
  filtersQuery,
  loginPage,
  messagePage,
  overviewPage,
  PERIOD_PRESETS,
  type PeriodPreset,
  type ResolvedPeriod,
  whatIfPage,
} from './views.js';

export interface DashboardRoutesOptions {
  analytics: Analytics;
  sessions: DashboardSessions;
  /** The same jobs as /v1/backtests: one concurrency limit for both doors. */
  jobs: BacktestJobs;
}

/** A page the dashboard refuses, with the status it answers. */
class PageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** No scripts at all, styles inline, forms to this origin only, never framed. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const query = (request: FastifyRequest): Record<string, string | undefined> =>
  (request.query ?? {}) as Record<string, string | undefined>;
const form = (request: FastifyRequest): Record<string, string | undefined> =>
  (request.body && typeof request.body === 'object' ? request.body : {}) as Record<
    string,
    string | undefined
  >;

/** Where a login may send the browser back to: a path of this server, nothing else. */
const safeNext = (next: string | undefined): string =>
  next && /^\/(?![/\\])[^\s\\]*$/.test(next) ? next : '/';

/** The tenant a request's filters name, checked against the key's scope as the /v1 reports do. */
function tenantFor(who: ApiPrincipal, asked: string | undefined): string | null {
  const given = asked?.trim() ? asked.trim() : undefined;
  if (given !== undefined && !TenantSchema.safeParse(given).success) {
    throw new PageError(400, 'tenant: not a tenant name (letters, digits, "-", "_" and ".")');
  }
  if (who.tenants === null) return given ?? null;
  if (given !== undefined) {
    if (!who.tenants.has(given)) throw new PageError(403, 'this API key does not reach that tenant');
    return given;
  }
  return [...who.tenants][0] ?? null;
}

/** The filters of a query; the period resolved against `now` (a preset, or from/until dates). */
export function resolveFilters(
  who: ApiPrincipal,
  q: Record<string, string | undefined>,
  now: number,
): { filters: Filters; period: ResolvedPeriod } {
  const tenant = tenantFor(who, q.tenant);
  const from = q.from?.trim() ?? '';
  const to = q.to?.trim() ?? '';
  if (from || to) {
    // The reports' own parameter schema: the same values are accepted, the same fields named.
    const parsed = parseParams(PeriodParamsSchema, { ...(from ? { from } : {}), ...(to ? { to } : {}) });
    const period = periodOf(parsed, now, Number.parseInt(DEFAULT_PRESET, 10));
    if (period === null) throw new PageError(400, 'from, to: give a period');
    return { filters: { tenant, preset: null, from, to }, period: { ...period, all: false, asOf: now } };
  }
  const asked = q.period?.trim() || DEFAULT_PRESET;
  if (!(PERIOD_PRESETS as readonly string[]).includes(asked)) {
    throw new PageError(400, `period: one of ${PERIOD_PRESETS.join(', ')}`);
  }
  const preset = asked as PeriodPreset;
  const period =
    preset === 'all'
      ? { from: 0, to: now, all: true, asOf: now }
      : { from: now - Number.parseInt(preset, 10) * DAY_MS, to: now, all: false, asOf: now };
  return { filters: { tenant, preset, from: '', to: '' }, period };
}

/** The funnel over time's intervals: the reports' own, so a page refuses what the API refuses. */
const FlowIntervalsSchema = z
  .object({
    interval: FlowParamsSchema.shape.interval,
    cohorts: CohortFunnelParamsSchema.shape.interval,
  })
  .strict();

export const dashboardRoutes: FastifyPluginAsync<DashboardRoutesOptions> = async (app, options) => {
  const { analytics, sessions, jobs } = options;
  // Whose each job started from the dashboard is: another session's key finds no such job.
  const jobOwners = new Map<string, { principal: string; tenant: string | null }>();
  const liveThreshold = LeadcycleConfigSchema.parse(analytics.liveConfig).mqlThreshold;

  // HTML forms post url-encoded bodies; the rest of the API takes JSON only.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  // SameSite=Strict keeps the cookie off cross-site posts; an Origin of another site is refused too.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST') return;
    const origin = request.headers.origin;
    if (origin === undefined || origin === 'null') return;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      host = '';
    }
    if (host !== request.headers.host) {
      return reply.code(403).type('text/html; charset=utf-8').send(messagePage('Refused', 'cross-site form'));
    }
  });

  const secure = (request: FastifyRequest) => request.protocol === 'https';
  const sessionOf = (request: FastifyRequest): Session | null =>
    sessions.verify(cookieOf(request.headers.cookie, SESSION_COOKIE));
  const toLogin = (request: FastifyRequest, reply: FastifyReply) =>
    reply.redirect(`/login?${new URLSearchParams({ next: request.url }).toString()}`, 302);
  const send = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type('text/html; charset=utf-8').send(body);

  /** A page's figures, or the page saying why not (a refused filter, a store that does not answer). */
  async function rendering(
    reply: FastifyReply,
    build: () => Promise<string>,
    onError: (message: string, status: number) => string,
  ) {
    try {
      return send(reply, 200, await build());
    } catch (err) {
      if (err instanceof PageError) return send(reply, err.status, onError(err.message, err.status));
      if (err instanceof ReportParamsError) return send(reply, 400, onError(err.message, 400));
      if (err instanceof AnalyticsStoreError) {
        return send(reply, 503, onError('the analytics store does not answer now; retry later', 503));
      }
      throw err;
    }
  }

  /**
   * A page of figures under the tenant and period filters: its login first, then `build`'s page, or
   * `onError`'s saying why not (with the filters as asked, so the form keeps them).
   */
  function reportPage(
    path: string,
    page: {
      build: (who: ApiPrincipal, q: Record<string, string | undefined>) => Promise<string>;
      onError: (who: ApiPrincipal, fallback: Filters, error: string) => string;
    },
  ) {
    app.get(path, { schema: { hide: true } }, async (request, reply) => {
      const session = sessionOf(request);
      if (!session) return toLogin(request, reply);
      const who = session.principal;
      const q = query(request);
      const fallback: Filters = { tenant: null, preset: null, from: q.from ?? '', to: q.to ?? '' };
      return rendering(
        reply,
        () => page.build(who, q),
        (error) => page.onError(who, fallback, error),
      );
    });
  }

  app.get('/login', { schema: { hide: true } }, async (request, reply) => {
    const next = safeNext(query(request).next);
    if (sessionOf(request)) return reply.redirect(next, 303);
    return send(reply, 200, loginPage({ next }));
  });

  app.post('/login', { schema: { hide: true } }, async (request, reply) => {
    const { key = '', next } = form(request);
    const principal = key.trim() ? sessions.keys.principalOfKey(key) : null;
    if (!principal) {
      return send(
        reply,
        401,
        loginPage({ error: 'That is not an API key of this server.', next: safeNext(next) }),
      );
    }
    const { token } = sessions.issue(principal);
    reply.header('set-cookie', sessionCookie(token, sessions.ttlMs / 1000, secure(request)));
    return reply.redirect(safeNext(next), 303);
  });

  app.post('/logout', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    if (session) sessions.revoke(session);
    reply.header('set-cookie', sessionCookie('', 0, secure(request)));
    return reply.redirect('/login', 303);
  });

  reportPage('/', {
    build: async (who, q) => {
      const now = analytics.now();
      const { filters, period } = resolveFilters(who, q, now);
      // The attribution report's own `by`: the same dimensions, the same default and refusal.
      const { by } = parseParams(
        AttributionParamsSchema.pick({ by: true }),
        q.by?.trim() ? { by: q.by.trim() } : {},
      );
      const scoped = analytics.forTenant(filters.tenant);
      const inPeriod = period.all ? null : { from: period.from, to: period.to };
      const [stages, conversion, velocity, forecast, firstTouch, lastTouch] = await Promise.all([
        scoped.stages(now),
        scoped.conversion({ from: period.from, to: period.to }, now),
        scoped.velocity(inPeriod, now),
        scoped.forecast({ asOf: now }),
        scoped.attribution({ model: 'first', by, period: inPeriod }),
        scoped.attribution({ model: 'last', by, period: inPeriod }),
      ]);
      const [funnelSvg, velocitySvg] = await Promise.all([
        scoped.funnelSvgOf(conversion),
        scoped.velocitySvgOf(velocity).catch((err: unknown) => {
          if (err instanceof ChartError && err.code === 'no_data') return null;
          throw err;
        }),
      ]);
      return overviewPage({
        who,
        filters,
        period,
        stages,
        conversion,
        funnelSvg,
        velocity,
        velocitySvg,
        forecast,
        attribution: [firstTouch, lastTouch],
      });
    },
    onError: (who, fallback, error) => overviewPage({ who, filters: fallback, period: null, error }),
  });

  reportPage('/flow', {
    build: async (who, q) => {
      const now = analytics.now();
      const { filters, period } = resolveFilters(who, q, now);
      const { interval, cohorts: cohortInterval } = parseParams(FlowIntervalsSchema, {
        ...(q.interval?.trim() ? { interval: q.interval.trim() } : {}),
        ...(q.cohorts?.trim() ? { cohorts: q.cohorts.trim() } : {}),
      });
      const scoped = analytics.forTenant(filters.tenant);
      const span = { from: period.from, to: period.to };
      const [flow, cohorts] = await Promise.all([
        scoped.flow(span, interval),
        scoped.cohortFunnel(span, cohortInterval, now),
      ]);
      // No bucket (nothing recorded before the period's end): no chart, the page says so.
      const flowSvg = flow.buckets.length === 0 ? null : await scoped.flowSvgOf(flow);
      return flowPage({ who, filters, period, interval, cohortInterval, flow, flowSvg, cohorts });
    },
    onError: (who, fallback, error) =>
      flowPage({ who, filters: fallback, period: null, interval: 'week', cohortInterval: 'month', error }),
  });

  reportPage('/email', {
    build: async (who, q) => {
      const { filters, period } = resolveFilters(who, q, analytics.now());
      const report = await analytics
        .forTenant(filters.tenant)
        .emailPerformance(period.all ? null : { from: period.from, to: period.to });
      return emailPage({ who, filters, period, report });
    },
    onError: (who, fallback, error) => emailPage({ who, filters: fallback, period: null, error }),
  });

  reportPage('/sla', {
    build: async (who, q) => {
      const now = analytics.now();
      const { filters, period } = resolveFilters(who, q, now);
      const inPeriod = period.all ? null : { from: period.from, to: period.to };
      const sla = await analytics.forTenant(filters.tenant).sla({ period: inPeriod, asOf: now });
      return slaPage({ who, filters, period, sla });
    },
    onError: (who, fallback, error) => slaPage({ who, filters: fallback, period: null, error }),
  });

  app.get('/whatif', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    if (!session) return toLogin(request, reply);
    const who = session.principal;
    const q = query(request);
    const fallback: Filters = { tenant: null, preset: null, from: '', to: '' };
    return rendering(
      reply,
      async () => {
        const filters: Filters = { ...fallback, tenant: tenantFor(who, q.tenant) };
        const id = q.job?.trim();
        if (!id) return whatIfPage({ who, filters, liveThreshold });
        const owner = jobOwners.get(id);
        const job = owner && owner.principal === who.id ? jobs.get(id) : null;
        if (!job) throw new PageError(404, 'no such backtest (finished ones are kept for a while only)');
        const svg =
          job.status === 'succeeded' && job.result ? await analytics.backtestSvg(job.result) : undefined;
        return whatIfPage({
          who,
          filters: { ...filters, tenant: owner?.tenant ?? null },
          liveThreshold,
          job,
          ...(svg ? { svg } : {}),
        });
      },
      (error) => whatIfPage({ who, filters: fallback, liveThreshold, error }),
    );
  });

  app.post('/whatif', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    if (!session) return reply.redirect('/login', 303);
    const who = session.principal;
    const body = form(request);
    const fallback: Filters = { tenant: null, preset: null, from: '', to: '' };
    try {
      const tenant = tenantFor(who, body.tenant ?? query(request).tenant);
      const threshold = Number(body.mqlThreshold);
      const whatIf = { mqlThreshold: threshold };
      const config = analytics.whatIf(whatIf);
      const checked = BacktestConfigSchema.safeParse(config);
      if (!Number.isFinite(threshold) || body.mqlThreshold?.trim() === '' || !checked.success) {
        throw new PageError(
          400,
          checked.success ? 'mqlThreshold: expected a number' : describeIssues(issuesOf(checked.error)),
        );
      }
      const job = jobs.start(config, {
        label: `what-if: MQL threshold ${threshold}`,
        until: analytics.now(),
        tenant,
      });
      jobOwners.set(job.id, { principal: who.id, tenant });
      return reply.redirect(`/whatif${filtersQuery({ ...fallback, tenant }, { job: job.id })}`, 303);
    } catch (err) {
      const status =
        err instanceof PageError
          ? err.status
          : err instanceof BacktestJobError
            ? err.code === 'too_many_backtests'
              ? 429
              : 503
            : null;
      if (status === null) throw err;
      const message = (err as Error).message;
      return send(reply, status, whatIfPage({ who, filters: fallback, liveThreshold, error: message }));
    }
  });
};
