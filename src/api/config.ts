/**
 * Config versions over HTTP: `leadcycle config apply|status|rollback` (src/cli/config.ts) as
 * `POST /v1/config/versions`, `GET /v1/config` and `POST /v1/config/rollback`, over the same store
 * (src/config-versions.ts) and rollout (src/client/config-rollout.ts). Config is deployment-wide:
 * admin keys only (a tenant-scoped key is a 403, requireApiKey fails closed on routes naming no lead).
 *
 * No `backtest` here: the CLI's replays the whole journal in-process, which would hold the API's
 * event loop for as long; `POST /v1/backtests` runs the same comparison as a job in a thread.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  countLeadsPerVersion,
  DEFAULT_ROLLOUT_CONCURRENCY,
  type LeadClient,
  type RolloutReport,
  rollOut,
} from '../client/index.js';
import {
  type ConfigVersion,
  ConfigVersionError,
  type ConfigVersions,
  liveConfig,
} from '../config-versions.js';
import { LeadcycleConfigSchema } from '../machines/index.js';
import { type ApiKeys, requireApiKey } from './auth.js';
import { ApiError, validationError } from './errors.js';
import { json, problem } from './leads.js';
import { named } from './schemas.js';

const NoteSchema = z.string().min(1).max(500);

export const ConfigApplySchema = named(
  'ConfigApply',
  z
    .object({
      /** Fields over the current version's (a whole config is checked: errors name `config.<field>`). */
      config: LeadcycleConfigSchema,
      note: NoteSchema.optional(),
    })
    .strict(),
);

export const ConfigRollbackSchema = z.object({ note: NoteSchema.optional() }).strict();

export const RolloutResultSchema = z.object({
  version: z.number().int(),
  createdAt: z.string(),
  note: z.string().nullable(),
  /** The whole config stored (defaults filled in). */
  config: z.record(z.string(), z.unknown()),
  /** Running leads now on the version (including those already on it). */
  applied: z.number().int(),
  /** Leads that refused it or could not be reached: a second POST of the same config reaches them. */
  failed: z.array(z.object({ workflowId: z.string(), code: z.string(), message: z.string() })),
});

export const ConfigStatusSchema = z.object({
  current: z
    .object({ version: z.number().int(), createdAt: z.string(), note: z.string().nullable() })
    .nullable(),
  /** Running leads per version; `version: null`: started from LEADCYCLE_CONFIG, never got a version. */
  leadsPerVersion: z.array(z.object({ version: z.number().int().nullable(), leads: z.number().int() })),
  running: z.number().int(),
});

const auth = {
  401: problem('Missing or invalid API key'),
  403: problem('A tenant-scoped key: config is deployment-wide, admin keys only'),
  503: problem('Temporal did not answer in time; retry later'),
} as const;

export interface ConfigRoutesOptions {
  client: LeadClient;
  keys: ApiKeys;
  /** The store the client's configSource reads (new leads start with its newest version). */
  versions: ConfigVersions;
  temporal: <T>(call: () => Promise<T>) => Promise<T>;
  /** Leads updated at once by a rollout. Default DEFAULT_ROLLOUT_CONCURRENCY. */
  concurrency?: number;
}

export const configRoutes: FastifyPluginAsyncZod<ConfigRoutesOptions> = async (app, options) => {
  const { client, versions, temporal } = options;
  const concurrency = options.concurrency ?? DEFAULT_ROLLOUT_CONCURRENCY;
  requireApiKey(app, options.keys);

  const answer = (version: ConfigVersion, report: RolloutReport) => ({
    version: version.id,
    createdAt: version.createdAt,
    note: version.note,
    config: version.config as unknown as Record<string, unknown>,
    applied: report.applied,
    failed: report.failed,
  });
  // Each lead's update is its own call (no single deadline over a rollout of thousands of leads).
  const rollout = (version: ConfigVersion) => rollOut(client, version, { concurrency });

  // The body's config as sent: validation fills in the defaults, but only the fields it names
  // replace the current version's.
  const sent = new WeakMap<FastifyRequest, Record<string, unknown>>();

  app.post(
    '/config/versions',
    {
      schema: {
        operationId: 'applyConfig',
        tags: ['config'],
        summary:
          "Store a config as the next version (fields it names replace the current version's) and send it to every running lead",
        body: ConfigApplySchema,
        response: {
          201: json('Stored and rolled out', RolloutResultSchema),
          400: problem('The body does not match the schema; `issues` names each field'),
          ...auth,
        },
      },
      preValidation: async (request) => {
        const config = (request.body as { config?: unknown } | undefined)?.config;
        if (config !== null && typeof config === 'object' && !Array.isArray(config))
          sent.set(request, structuredClone(config) as Record<string, unknown>);
      },
    },
    async (request, reply) => {
      const overrides = sent.get(request) ?? {};
      const live = await liveConfig(versions);
      let version: ConfigVersion;
      try {
        version = await versions.add({ ...live.config, ...overrides }, request.body.note);
      } catch (err) {
        if (err instanceof ConfigVersionError && err.code === 'invalid_config')
          throw validationError(
            err.issues.map((i) => ({ ...i, path: ['config', ...i.path] })),
            'body',
          );
        throw err;
      }
      reply.code(201);
      return answer(version, await rollout(version));
    },
  );

  app.get(
    '/config',
    {
      schema: {
        operationId: 'configStatus',
        tags: ['config'],
        summary: 'The current config version and how many running leads run each version',
        response: { 200: json('The current version and the leads per version', ConfigStatusSchema), ...auth },
      },
    },
    async () => {
      const current = await versions.current();
      const counts = await temporal(() => countLeadsPerVersion(client));
      return {
        current: current ? { version: current.id, createdAt: current.createdAt, note: current.note } : null,
        leadsPerVersion: Object.entries(counts.leadsPerVersion)
          .map(([version, leads]) => ({ version: version === 'none' ? null : Number(version), leads }))
          .sort((a, b) => (a.version ?? 0) - (b.version ?? 0)),
        running: counts.running,
      };
    },
  );

  app.post(
    '/config/rollback',
    {
      schema: {
        operationId: 'rollbackConfig',
        tags: ['config'],
        summary:
          'Store the version before the current one again, as a new version, and send it to every running lead',
        body: ConfigRollbackSchema.optional(),
        response: {
          201: json('Stored and rolled out', RolloutResultSchema),
          400: problem('The body does not match the schema; `issues` names each field'),
          409: problem('No version before the current one (`no_previous_version`)'),
          ...auth,
        },
      },
    },
    async (request, reply) => {
      let version: ConfigVersion;
      try {
        version = await versions.rollback(request.body?.note);
      } catch (err) {
        if (err instanceof ConfigVersionError && err.code === 'no_previous_version')
          throw new ApiError(409, 'no_previous_version', err.message);
        throw err;
      }
      reply.code(201);
      return answer(version, await rollout(version));
    },
  );
};
