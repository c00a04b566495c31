/**
 * The HTTP API: the LeadClient over JSON, on Fastify, validated by the machine's own zod schemas,
 * documented at /openapi.json. See README.md, "HTTP API".
 */

import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { type Analytics, BacktestJobs, type BacktestLimits, type StoreHealth } from '../analytics/index.js';
import type { LeadClient } from '../client/index.js';
import type { ConfigVersions } from '../config-versions.js';
import { ImportJobs, type ImportJobsOptions } from '../import/jobs.js';
import { STAGES } from '../machines/index.js';
import { LEAD_WORKFLOW_TYPE } from '../workflows/messages.js';
import { ApiKeys, requireMetricsKey } from './auth.js';
import { configRoutes } from './config.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { DashboardSessions } from './dashboard/session.js';
import { ApiError, errorHandler, notFoundHandler } from './errors.js';
// For its side effect: the examples join the schemas' OpenAPI metadata before the document is built.
import './examples.js';
import { type IdempotencyOptions, IdempotencyStore } from './idempotency.js';
import { importRoutes } from './imports.js';
import { errors, errorsFor, json, leadRoutes } from './leads.js';
import { type PrivacyApiDeps, privacyRoutes } from './privacy.js';
import { isProblemCode, PROBLEM_TITLES, problemTypeOf, problemTypes } from './problems.js';
import { reportRoutes } from './reports.js';
import {
  apiSchemas,
  HealthSchema,
  ProblemCodeParamsSchema,
  ProblemTypeListSchema,
  ProblemTypeSchema,
  ReadySchema,
} from './schemas.js';
import { type SimulationRoutesOptions, simulationRoutes } from './simulations.js';
import { unsubscribeRoutes } from './unsubscribe.js';
import { type VendorSecrets, vendorWebhookRoutes } from './vendor-webhooks.js';
import { type WebhookSecrets, webhookRoutes } from './webhooks.js';

export const DEFAULT_BODY_LIMIT = 64 * 1024;
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;
export const DEFAULT_TEMPORAL_TIMEOUT_MS = 20_000;
export const DEFAULT_METRICS_CACHE_SECONDS = 15;

export interface BuildApiOptions {
  client: LeadClient;
  /**
   * Reports, charts and backtests over the analytics store; without it /v1/reports/*, /v1/charts/*
   * and /v1/backtests do not exist. The caller owns its store.
   */
  analytics?: Analytics;
  /**
   * Probes the analytics store (opening it if it is not): /readyz and /metrics report it. A degraded
   * store leaves the API ready: only the analytics need it.
   */
  analyticsHealth?: () => Promise<StoreHealth>;
  /**
   * Where /v1/backtests run (src/analytics/backtest-jobs.ts): given jobs, or threads over the analytics
   * store with these limits (default: 60 s, 1 at once). The API stops them when it closes.
   */
  backtests?: BacktestJobs | BacktestLimits;
  /** POST /v1/simulations (src/api/simulations.ts), one at a time; absent: the route does not exist. */
  simulations?: Omit<SimulationRoutesOptions, 'keys'>;
  /**
   * The config store the client's configSource reads: with it, /v1/config, /v1/config/versions and
   * /v1/config/rollback exist (src/api/config.ts; admin keys only). Pass the same instance.
   */
  configVersions?: ConfigVersions;
  /**
   * POST /v1/imports and GET /v1/imports/{id} (src/api/imports.ts): imports run in the API, their
   * resume state in `dataDir`; absent, the routes do not exist. `bodyLimit`: the largest import body.
   */
  imports?: Omit<ImportJobsOptions, 'client'> & { bodyLimit?: number };
  /** The worker's store and outbox: with them, /v1/leads/forget and /v1/leads/export exist. */
  privacy?: PrivacyApiDeps;
  /**
   * Accepted API keys (at least one): `<key>` (an admin key: every tenant) or
   * `<tenant>[|<tenant>…]:<key>` (that key reaches those tenants' leads only).
   */
  apiKeys: string[];
  /**
   * The signed webhooks' secrets, one per route: `forms` for /v1/webhooks/forms, `crm` for
   * /v1/webhooks/crm; a route without its secret does not exist.
   */
  webhookSecrets?: WebhookSecrets;
  /** Where webhook deliveries already seen are kept, so a replay after a restart is refused. */
  webhookReplayFile?: string;
  /**
   * The vendors' own webhooks (src/api/vendor-webhooks.ts), one secret each: `hubspot` (the app's client
   * secret), `mautic`, `typeform`; a route without its secret does not exist.
   */
  vendorSecrets?: VendorSecrets;
  /** The public base URL the vendors call (HubSpot signs the full URL); unset: the request's own. */
  publicUrl?: string;
  /** Where the vendors' deliveries already seen are kept (a file of its own, not webhookReplayFile). */
  vendorReplayFile?: string;
  /** A key for GET /metrics alone (besides admin API keys). */
  metricsKey?: string;
  /** GET /metrics asks Temporal at most once per this many seconds. Default 15. */
  metricsCacheSeconds?: number;
  /**
   * The secret the worker signs unsubscribe links with (LEADCYCLE_UNSUBSCRIBE_SECRET); without it
   * /v1/unsubscribe/* do not exist.
   */
  unsubscribeSecret?: string;
  /** Largest request body in bytes; larger is a 413. Default 64 KiB. */
  bodyLimit?: number;
  /** Fastify's logger: false (default), true, or pino options. */
  logger?: FastifyServerOptions['logger'];
  /** How far a webhook's signed timestamp may be from now, either way. Default 300 s. */
  webhookToleranceSeconds?: number;
  /** Bounds of the in-memory Idempotency-Key store. */
  idempotency?: IdempotencyOptions;
  /** Deadline of each Temporal call made for a request; past it the answer is a 503. Default 20 s. */
  temporalTimeoutMs?: number;
  /**
   * The dashboard at `/` (src/api/dashboard/), with the analytics only: the secret its session cookies
   * are signed with (default: a random one per process, so a restart logs everyone out) and how long
   * a session lasts (default 8 hours).
   */
  dashboard?: { sessionSecret?: string; sessionTtlMs?: number };
}

export async function buildApi(options: BuildApiOptions): Promise<FastifyInstance> {
  const { client } = options;
  const keys = new ApiKeys(options.apiKeys);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const timeoutMs = options.temporalTimeoutMs ?? DEFAULT_TEMPORAL_TIMEOUT_MS;
  const temporal = <T>(call: () => Promise<T>): Promise<T> =>
    client.temporal.withDeadline(Date.now() + timeoutMs, call);

  const app = Fastify({
    bodyLimit,
    logger: options.logger ?? false,
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // JSON only: anything else (text/plain included, which Fastify would otherwise accept) is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );

  app.setErrorHandler(errorHandler(bodyLimit));
  app.setNotFoundHandler(notFoundHandler);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'leadcycle HTTP API',
        version: '1',
        description:
          'Drive B2B leads (visitor → lead → MQL → SQL → opportunity → customer) from apps, form tools and CRMs. ' +
          'Every error is an RFC 9457 problem (`application/problem+json`): ' +
          '`{ type, title, status, detail, instance, code, issues?, rejection? }`, its `type` `/problems/<code>` ' +
          '(GET it for the type’s title). 400 for a request that does not ' +
          'parse or match its schema (issues name the fields), 409 when the lead’s machine refuses the command ' +
          '(rejection says why) or when the analytics hold nothing to report yet, 422 for an Idempotency-Key ' +
          'reused with another request or a what-if config whose timers never advance.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      // Where `npm start` serves it; a deployment serves the same paths at its own address.
      servers: [{ url: 'http://127.0.0.1:3000', description: 'The local stack (npm start)' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
      tags: [
        { name: 'leads', description: 'Apps drive leads (API key)' },
        { name: 'webhooks', description: 'Form tools and CRMs (signed)' },
        {
          name: 'unsubscribe',
          description: 'The link in every marketing email (signed by its token, no API key)',
        },
        { name: 'analytics', description: 'Reports, charts and what-if backtests (API key)' },
        { name: 'config', description: 'Config versions rolled out to the running leads (admin API key)' },
        { name: 'operations', description: 'Health and the API description (no auth)' },
      ],
    },
    transform: createJsonSchemaTransform({ schemaRegistry: apiSchemas }),
    transformObject: (document) =>
      withInputExamples(
        withoutUnusedSchemas(createJsonSchemaTransformObject({ schemaRegistry: apiSchemas })(document)),
      ),
  });

  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/healthz',
    {
      schema: {
        operationId: 'healthz',
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        security: [],
        response: { 200: json('Alive', HealthSchema) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  typed.get(
    '/readyz',
    {
      schema: {
        operationId: 'readyz',
        tags: ['operations'],
        summary: 'Readiness: Temporal answers (and how the analytics store is)',
        security: [],
        response: { 200: json('Ready', ReadySchema), 503: errors[503] },
      },
    },
    async () => {
      try {
        await client.temporal.withDeadline(Date.now() + 2_000, () =>
          client.temporal.workflowService.getSystemInfo({}),
        );
      } catch {
        throw new ApiError(503, 'temporal_unavailable', 'Temporal is not reachable', {
          headers: { 'retry-after': '5' },
        });
      }
      return {
        status: 'ready' as const,
        temporal: 'reachable' as const,
        ...(options.analyticsHealth ? { analytics: analyticsView(await options.analyticsHealth()) } : {}),
      };
    },
  );

  // The problem types: an error's `type` (/problems/<code>) resolves here.
  typed.get(
    '/problems',
    {
      schema: {
        operationId: 'listProblemTypes',
        tags: ['operations'],
        summary: 'The problem types of the API’s errors (RFC 9457), one per `code`',
        security: [],
        response: { 200: json('Every problem type', ProblemTypeListSchema) },
      },
    },
    async () => ({ problems: problemTypes() }),
  );
  typed.get(
    '/problems/:code',
    {
      schema: {
        operationId: 'getProblemType',
        tags: ['operations'],
        summary: 'One problem type: what an error of this `code` means',
        security: [],
        params: ProblemCodeParamsSchema,
        response: { 200: json('The problem type', ProblemTypeSchema), ...errorsFor(400, 404) },
      },
    },
    async (request) => {
      const { code } = request.params;
      if (!isProblemCode(code)) throw new ApiError(404, 'not_found', `no problem type ${code}`);
      return { type: problemTypeOf(code), code, title: PROBLEM_TITLES[code] };
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Prometheus: leads per stage, counted by Temporal visibility (a second or so behind). The
  // workflows' own counters (stage changes, emails, SLA breaches, refusals) are on the worker's endpoint.
  // Behind a key, and from a cache: each scrape would otherwise fan out to Temporal once per stage.
  const cacheMs = (options.metricsCacheSeconds ?? DEFAULT_METRICS_CACHE_SECONDS) * 1000;
  let metrics: { at: number; text: Promise<string> } | undefined;
  const countLeads = async (at: number): Promise<string> => {
    const counts = await Promise.all(
      STAGES.map(async (stage) => {
        const query = `WorkflowType = '${LEAD_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND LeadStage = '${stage}'`;
        const { count } = await client.temporal.withDeadline(Date.now() + 5_000, () =>
          client.temporal.workflow.count(query),
        );
        return `leadcycle_leads{stage="${stage}"} ${count}`;
      }),
    );
    return [
      '# HELP leadcycle_leads Open leads per lifecycle stage.',
      '# TYPE leadcycle_leads gauge',
      ...counts,
      '# HELP leadcycle_leads_counted_at_seconds When Temporal was asked for leadcycle_leads (unix seconds).',
      '# TYPE leadcycle_leads_counted_at_seconds gauge',
      `leadcycle_leads_counted_at_seconds ${at / 1000}`,
      '',
    ].join('\n');
  };
  // The store's gauge is local and cheap: read on every scrape, not cached with Temporal's counts.
  const storeGauge = async (): Promise<string> => {
    if (!options.analyticsHealth) return '';
    const store = await options.analyticsHealth();
    return [
      '# HELP leadcycle_analytics_store_up 1 when the analytics store answers, 0 when degraded (see /readyz).',
      '# TYPE leadcycle_analytics_store_up gauge',
      `leadcycle_analytics_store_up ${store.status === 'up' ? 1 : 0}`,
      '',
    ].join('\n');
  };
  await app.register(async (scope) => {
    requireMetricsKey(scope, keys, options.metricsKey);
    scope.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const now = Date.now();
      // Concurrent scrapes share one count; a failed count is not kept.
      if (metrics === undefined || now - metrics.at >= cacheMs) {
        const current = { at: now, text: countLeads(now) };
        metrics = current;
        current.text.catch(() => {
          if (metrics === current) metrics = undefined;
        });
      }
      reply.type('text/plain; version=0.0.4');
      const [leads, store] = await Promise.all([metrics.text, storeGauge()]);
      return leads + store;
    });
  });

  await app.register(leadRoutes, {
    prefix: '/v1/leads',
    client,
    keys,
    idempotency: new IdempotencyStore(options.idempotency),
    temporal,
  });
  if (options.imports) {
    const { bodyLimit: importBodyLimit, ...jobs } = options.imports;
    await app.register(importRoutes, {
      prefix: '/v1',
      keys,
      jobs: new ImportJobs({ client, ...jobs }),
      ...(importBodyLimit ? { bodyLimit: importBodyLimit } : {}),
    });
  }
  if (options.privacy) {
    const { store, outbox } = options.privacy;
    await app.register(privacyRoutes, { prefix: '/v1/leads', client, keys, temporal, store, outbox });
  }
  if (options.analytics) {
    const { analytics } = options;
    // One set of backtest jobs for /v1/backtests and the dashboard: one concurrency limit for both.
    const backtests =
      options.backtests instanceof BacktestJobs
        ? options.backtests
        : BacktestJobs.over(analytics.store, {
            ...options.backtests,
            onBug: (err, id) => app.log.error({ err, backtest: id }, 'backtest thread failed'),
          });
    await app.register(reportRoutes, { prefix: '/v1', analytics, keys, backtests });
    await app.register(dashboardRoutes, {
      analytics,
      jobs: backtests,
      sessions: new DashboardSessions(
        keys,
        options.dashboard?.sessionSecret,
        options.dashboard?.sessionTtlMs,
      ),
    });
  }
  if (options.configVersions)
    await app.register(configRoutes, {
      prefix: '/v1',
      client,
      keys,
      versions: options.configVersions,
      temporal,
    });
  if (options.simulations)
    await app.register(simulationRoutes, { prefix: '/v1', keys, ...options.simulations });
  const secrets = options.webhookSecrets ?? {};
  if (secrets.forms !== undefined || secrets.crm !== undefined) {
    await app.register(webhookRoutes, {
      prefix: '/v1/webhooks',
      client,
      secrets,
      toleranceSeconds: options.webhookToleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
      temporal,
      ...(options.webhookReplayFile ? { replayFile: options.webhookReplayFile } : {}),
    });
  }
  const vendors = options.vendorSecrets ?? {};
  if (vendors.hubspot !== undefined || vendors.mautic !== undefined || vendors.typeform !== undefined) {
    await app.register(vendorWebhookRoutes, {
      prefix: '/v1/webhooks',
      client,
      secrets: vendors,
      toleranceSeconds: options.webhookToleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
      temporal,
      ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
      ...(options.vendorReplayFile ? { replayFile: options.vendorReplayFile } : {}),
    });
  }
  if (options.unsubscribeSecret) {
    // No API key hook in there: the signed token is the authority (src/api/unsubscribe.ts).
    await app.register(unsubscribeRoutes, {
      prefix: '/v1/unsubscribe',
      client,
      secret: options.unsubscribeSecret,
      temporal,
    });
  }
  return app;
}

function analyticsView(health: StoreHealth) {
  return health.status === 'up'
    ? { status: 'up' as const }
    : { status: 'degraded' as const, code: health.code, message: health.message };
}

/**
 * zod leaves the examples out of a request schema with a transform anywhere inside (an example of
 * the output could be no valid input): the bodies holding a config lose theirs. Ours are typed as
 * inputs (src/api/examples.ts), so they go back on the `…Input` components.
 */
function withInputExamples<T>(document: T): T {
  const schemas = (document as { components?: { schemas?: Record<string, Record<string, unknown>> } })
    .components?.schemas;
  if (!schemas) return document;
  for (const [id, schema] of apiSchemas._idmap) {
    const component = schemas[`${id}Input`];
    const examples = apiSchemas.get(schema)?.examples;
    if (component && examples !== undefined && !('examples' in component)) component.examples = examples;
  }
  return document;
}

/**
 * Each registered schema comes out twice, as a request (`…Input`) and as a response schema; keep only
 * the components some path actually refers to, directly or through another component.
 */
function withoutUnusedSchemas<T>(document: T): T {
  const doc = document as { paths?: unknown; components?: { schemas?: Record<string, unknown> } };
  const schemas = doc.components?.schemas;
  if (!schemas) return document;
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === '$ref' && typeof child === 'string' && child.startsWith('#/components/schemas/')) {
          const name = child.slice('#/components/schemas/'.length);
          if (!used.has(name)) {
            used.add(name);
            visit(schemas[name]);
          }
        } else {
          visit(child);
        }
      }
    }
  };
  visit(doc.paths);
  doc.components = {
    ...doc.components,
    schemas: Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name))),
  };
  return document;
}

export interface StartApiOptions extends BuildApiOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningApi {
  app: FastifyInstance;
  /** http://host:port */
  url: string;
  port: number;
  /**
   * Stops accepting requests and waits for those in flight. Idempotent. Does not close the client
   * nor the analytics store.
   */
  close(): Promise<void>;
}

/**
 * Builds the API and listens. The caller owns the LeadClient and its Temporal connection, and the
 * analytics store.
 */
export async function startApi(options: StartApiOptions): Promise<RunningApi> {
  const app = await buildApi(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 3000, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 3000);
  let closing: Promise<void> | undefined;
  return {
    app,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => {
      closing ??= app.close();
      return closing;
    },
  };
}
