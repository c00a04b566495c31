/**
 * `POST /v1/imports`, `GET /v1/imports/{id}`: the bulk import (src/import/) as jobs. The body is
 * JSON carrying the file's text (`content`, CSV or NDJSON) and its preset or mapping, up to its own
 * body limit (16 MiB by default; a larger file is a 413: import it with `leadcycle import`). A key
 * scoped to tenants imports into those only (403 otherwise) and sees only their jobs (404).
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TenantSchema } from '../client/lead-key.js';
import {
  IMPORT_FORMATS,
  ImportError,
  ImportJobError,
  type ImportJobs,
  type ImportJobView,
  ImportMappingSchema,
  PRESET_NAMES,
  PRESETS,
} from '../import/index.js';
import type { ApiKeys, ApiPrincipal } from './auth.js';
import { ApiError, errorHandler, validationError } from './errors.js';
import { errorsFor, json, problem } from './leads.js';
import { IsoTimeSchema, isoOf, named } from './schemas.js';

export const DEFAULT_IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

export const ImportRequestSchema = named(
  'ImportRequest',
  z
    .object({
      format: z.enum(IMPORT_FORMATS).default('csv'),
      content: z.string().min(1).describe('The file’s text: CSV with its header line, or NDJSON'),
      preset: z.enum(PRESET_NAMES).optional().describe('The column names of this tool’s contact export'),
      mapping: ImportMappingSchema.optional().describe('The columns, for any other export (as `--mapping`)'),
      tenant: TenantSchema.default('default'),
    })
    .strict()
    .refine((b) => (b.preset === undefined) !== (b.mapping === undefined), {
      path: ['preset'],
      message: 'give either preset or mapping',
    }),
);

const Count = z.number().int().nonnegative();
export const ImportJobSchema = named(
  'ImportJob',
  z.object({
    id: z.string(),
    status: z.enum(['running', 'succeeded', 'failed']),
    tenant: z.string(),
    format: z.enum(IMPORT_FORMATS),
    createdAt: IsoTimeSchema,
    finishedAt: IsoTimeSchema.nullable(),
    progress: z.object({
      id: z.string(),
      total: Count,
      done: Count,
      imported: Count,
      rejected: Count,
      skipped: Count,
      consentGranted: Count,
      consentWithdrawn: Count,
      optInRefused: Count,
    }),
    leadsPerSecond: z.number().nullable(),
    rejections: z.array(
      z.object({
        line: Count,
        field: z.string(),
        reason: z.string(),
        row: z.union([z.record(z.string(), z.string()), z.string()]),
      }),
    ),
    rejectionsTruncated: z.boolean(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  }),
);

/** A job as the API answers it: its times in ISO 8601. */
const jobView = (view: ImportJobView): z.output<typeof ImportJobSchema> => ({
  ...view,
  createdAt: isoOf(view.createdAt),
  finishedAt: view.finishedAt === null ? null : isoOf(view.finishedAt),
});

export interface ImportRoutesOptions {
  keys: ApiKeys;
  jobs: ImportJobs;
  bodyLimit?: number;
}

export const importRoutes: FastifyPluginAsyncZod<ImportRoutesOptions> = async (app, options) => {
  const bodyLimit = options.bodyLimit ?? DEFAULT_IMPORT_BODY_LIMIT;
  const principals = new WeakMap<FastifyRequest, ApiPrincipal>();
  app.addHook('onRequest', async (request) => {
    principals.set(request, options.keys.principal(request.headers));
  });
  const reaches = (request: FastifyRequest, tenant: string) => {
    const tenants = principals.get(request)?.tenants;
    return tenants === null || tenants === undefined || tenants.has(tenant);
  };
  // This scope's 413 names its own limit.
  app.setErrorHandler(errorHandler(bodyLimit));
  app.addHook('onClose', () => options.jobs.close());

  app.post(
    '/imports',
    {
      bodyLimit,
      schema: {
        operationId: 'startImport',
        tags: ['leads'],
        summary:
          'Import contacts (a HubSpot or Mautic export, or any CSV/NDJSON with a mapping) as a job; the same file again resumes it',
        body: ImportRequestSchema,
        response: {
          202: json('The import job (poll GET /v1/imports/{id})', ImportJobSchema),
          ...errorsFor(400, 401, 415),
          403: problem('This API key does not reach that tenant'),
          413: problem(`The body is larger than the import limit (${bodyLimit} bytes)`),
          429: problem('An import is running; retry after Retry-After seconds'),
        },
      },
    },
    async (request, reply) => {
      const { format, content, preset, mapping, tenant } = request.body;
      if (!reaches(request, tenant))
        throw new ApiError(403, 'tenant_scope', 'this API key does not reach that tenant');
      try {
        const view = await options.jobs.start({
          content,
          format,
          mapping: mapping ?? PRESETS[preset as keyof typeof PRESETS],
          tenant,
        });
        return reply.code(202).header('location', `/v1/imports/${view.id}`).send(jobView(view));
      } catch (err) {
        if (err instanceof ImportError) {
          const issues = err.issues.length ? err.issues : [{ path: [], message: err.message }];
          const rendered = validationError(
            issues.map((i) => ({ path: ['content', ...i.path], message: i.message })),
            'body',
          );
          throw new ApiError(400, err.code, err.message, rendered.extra);
        }
        if (err instanceof ImportJobError && err.code === 'too_many_imports')
          throw new ApiError(429, err.code, err.message, { headers: { 'retry-after': '10' } });
        throw err;
      }
    },
  );

  app.get(
    '/imports/:id',
    {
      schema: {
        operationId: 'getImport',
        tags: ['leads'],
        summary: 'An import job: its progress, and its rejected rows with their line, field and reason',
        params: z.object({ id: z.string().min(1).max(100) }).strict(),
        response: {
          200: json('The import job', ImportJobSchema),
          ...errorsFor(400, 401),
          404: problem('No such import (or not of this key’s tenants, or forgotten after an hour)'),
        },
      },
    },
    async (request) => {
      const view = options.jobs.get(request.params.id);
      if (!view || !reaches(request, view.tenant)) throw new ApiError(404, 'not_found', 'no such import');
      return jobView(view);
    },
  );
};
