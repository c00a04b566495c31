/**
 * `POST /v1/leads/forget` and `POST /v1/leads/export`: erasure and access (GDPR) over
 * src/privacy/; `GET /v1/leads/{leadId}/consent`: the proof of consent. POSTs with the lead in the body, so emails never appear in URLs or access logs.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Outbox } from '../activities/outbox.js';
import { type AnalyticsStore, ConsentChangeRowSchema } from '../analytics/records.js';
import type { LeadClient } from '../client/lead-client.js';
import { LeadRefSchema } from '../client/lead-key.js';
import { exportPerson, forgetPerson } from '../privacy/index.js';
import { type ApiKeys, leadTenantVia, requireApiKey } from './auth.js';
import { errorsFor, json } from './leads.js';
import { IsoTimeSchema, isoOf, LeadParamsSchema, named } from './schemas.js';

/** What the privacy routes erase and read besides Temporal: the worker's data dir. */
export interface PrivacyApiDeps {
  store: AnalyticsStore;
  outbox: Outbox;
}

export interface PrivacyRoutesOptions extends PrivacyApiDeps {
  client: LeadClient;
  keys: ApiKeys;
  /** Runs Temporal calls under the API's deadline. */
  temporal<T>(call: () => Promise<T>): Promise<T>;
}

export const PersonRequestSchema = named(
  'PersonRequest',
  z.object({ lead: LeadRefSchema }).strict().describe('The lead of the person, by email or external id'),
);

export const ForgetReportSchema = named(
  'ForgetReport',
  z.object({
    leads: z.array(
      z.object({
        leadId: z.string(),
        terminated: z.boolean(),
        runsDeleted: z.number().int(),
        outboxRecordsRemoved: z.number().int(),
        analyticsRowsRemoved: z.number().int(),
      }),
    ),
    addressesSuppressed: z.number().int(),
  }),
);

export const PersonExportSchema = named(
  'PersonExport',
  z.object({
    exportedAt: IsoTimeSchema,
    leads: z.array(
      z.object({
        leadId: z.string(),
        leadKey: z.string(),
        state: z.unknown().describe('The lead as its workflow holds it, or null once forgotten'),
        runs: z.array(z.unknown()),
        stageChanges: z.array(z.unknown()),
        consentChanges: z.array(z.unknown()),
        emailOutcomes: z.array(z.unknown()).describe('What became of each marketing email to the lead'),
        journal: z.array(z.unknown()),
        outbox: z.array(z.unknown()),
      }),
    ),
    suppressions: z.array(
      z.object({
        address: z.string(),
        tenant: z.string(),
        addressHash: z.string(),
        reason: z.string(),
        at: IsoTimeSchema,
      }),
    ),
  }),
);

export const ConsentHistorySchema = named(
  'ConsentHistory',
  z.object({
    leadId: z.string(),
    changes: z.array(ConsentChangeRowSchema.extend({ at: IsoTimeSchema })),
  }),
);

export const privacyRoutes: FastifyPluginAsyncZod<PrivacyRoutesOptions> = async (app, options) => {
  const { client, keys, temporal, store, outbox } = options;
  const deps = { temporal: client.temporal, store, outbox, leadIds: client.ids };

  requireApiKey(app, keys, leadTenantVia(client, temporal));

  app.post(
    '/forget',
    {
      schema: {
        operationId: 'forgetLead',
        tags: ['leads'],
        summary: 'Erase a person: every run, outbox record and analytics row; the address suppressed',
        description:
          'Follows merges. Idempotent: a second call, or a person never seen, succeeds with zero counts.',
        body: PersonRequestSchema,
        response: { 200: json('What was erased', ForgetReportSchema), ...errorsFor(400, 401, 413, 415, 503) },
      },
    },
    async (request) => temporal(() => forgetPerson(deps, request.body.lead)),
  );

  app.post(
    '/export',
    {
      schema: {
        operationId: 'exportLead',
        tags: ['leads'],
        summary: 'Everything leadcycle holds on a person, as JSON',
        body: PersonRequestSchema,
        response: {
          200: json('The person’s data', PersonExportSchema),
          ...errorsFor(400, 401, 413, 415, 503),
        },
      },
    },
    async (request) => {
      const data = await temporal(() => exportPerson(deps, request.body.lead));
      return { ...data, suppressions: data.suppressions.map((s) => ({ ...s, at: isoOf(s.at) })) };
    },
  );

  app.get(
    '/:leadId/consent',
    {
      schema: {
        operationId: 'consentHistory',
        tags: ['leads'],
        summary: 'The proof of consent: every consent change of a lead, with its source and time',
        description: 'Oldest first; empty for a lead with no change recorded (or one forgotten).',
        params: LeadParamsSchema,
        response: { 200: json('The consent changes', ConsentHistorySchema), ...errorsFor(400, 401) },
      },
    },
    async (request) => ({
      leadId: request.params.leadId,
      changes: (await store.consentChanges(request.params.leadId)).map((c) => ({ ...c, at: isoOf(c.at) })),
    }),
  );
};
