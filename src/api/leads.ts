/** `/v1/leads/*`: the LeadClient over HTTP, behind API keys, with idempotency keys on writes. */
import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  type LeadClient,
  type LeadRef,
  LeadValidationError,
  leadTimeline,
  type WriteOptions,
} from '../client/index.js';
import type { LeadView } from '../machines/index.js';
import { stateQuery } from '../workflows/messages.js';
import { type ApiKeys, leadTenantVia, requireApiKey } from './auth.js';
import { ApiError, validationError } from './errors.js';
import { fingerprintOf, type IdempotencyStore, updateIdOf } from './idempotency.js';
import {
  AcceptedSchema,
  CommandRequestSchema,
  ErrorSchema,
  FactRequestSchema,
  LeadListSchema,
  LeadParamsSchema,
  type LeadViewBody,
  LeadViewSchema,
  ListQuerySchema,
  LookupRequestSchema,
  TimelineSchema,
  WriteHeadersSchema,
} from './schemas.js';

/**
 * The client names the fields of the command (or fact) it was given; in the request body they sit
 * under `command` (or `fact`). The lead reference itself was checked by the body schema already.
 */
async function under<T>(field: 'command' | 'fact', call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof LeadValidationError)) throw err;
    throw new LeadValidationError(err.issues.map((i) => ({ ...i, path: [field, ...i.path] })));
  }
}

export interface LeadRoutesOptions {
  client: LeadClient;
  keys: ApiKeys;
  idempotency: IdempotencyStore;
  /** Runs a Temporal call under the API's deadline. */
  temporal: <T>(call: () => Promise<T>) => Promise<T>;
}

/** A documented JSON response for OpenAPI, with its description. */
export function json<S extends z.ZodType>(description: string, schema: S) {
  return { description, content: { 'application/json': { schema } } };
}

/** A documented error response: an RFC 9457 problem. */
export function problem(description: string) {
  return { description, content: { 'application/problem+json': { schema: ErrorSchema } } };
}

export const errors = {
  400: problem('The body, query or path does not match the schema; `issues` names each field'),
  401: problem('Missing or invalid API key'),
  404: problem('No such lead'),
  409: problem(
    'The machine refused the command in the lead’s current stage (`rejection` says why), or the same Idempotency-Key is still being processed',
  ),
  413: problem('The body is larger than the limit (64 KiB by default)'),
  415: problem('The body is not application/json'),
  422: problem('This Idempotency-Key was already used with a different request'),
  503: problem('Temporal did not answer in time; retry later'),
} as const;

/** The documented error answers of a route, by status. */
export function errorsFor<const C extends keyof typeof errors>(...codes: C[]): Pick<typeof errors, C> {
  return Object.fromEntries(codes.map((code) => [code, errors[code]])) as Pick<typeof errors, C>;
}

/** The HTTP view of a lead; `leadId` comes from the request (the view's key may not round-trip). */
export function viewBody(view: LeadView, leadId: string): LeadViewBody {
  return {
    leadId,
    ...view,
    state: {
      value: view.state.value,
      context: view.state.context as unknown as Record<string, unknown>,
    },
  };
}

/** A write's answer: the lead after it, and where to find it. */
function written(reply: FastifyReply, leadId: string, view: LeadView): LeadViewBody {
  const body = viewBody(view, leadId);
  reply.header('location', `/v1/leads/${body.leadId}`);
  return body;
}

interface Held {
  key: string;
  token: symbol;
}

/**
 * Route hooks that make a POST idempotent under the `Idempotency-Key` header, and `writeOptions`,
 * the Temporal update id its handler sends the command with (what makes it apply once).
 */
function idempotencyHooks(store: IdempotencyStore, keys: ApiKeys) {
  const fingerprints = new WeakMap<FastifyRequest, string>();
  const held = new WeakMap<FastifyRequest, Held>();
  const updateIds = new WeakMap<FastifyRequest, string>();
  const keyOf = (request: FastifyRequest): string | undefined => {
    const value = request.headers['idempotency-key'];
    return typeof value === 'string' ? value : undefined;
  };

  const onSend: onSendHookHandler = async (request, reply, payload) => {
    const hold = held.get(request);
    if (!hold) return payload;
    held.delete(request);
    // 5xx and 429 say "try again": the key is released so the retry asks Temporal again, under the
    // same update id, and gets the first outcome if the command went through after all.
    if (reply.statusCode < 500 && reply.statusCode !== 429 && typeof payload === 'string') {
      const location = reply.getHeader('location');
      // The content type too: a refusal replays as the problem it was, not as plain JSON.
      const type = reply.getHeader('content-type');
      store.complete(hold.key, hold.token, {
        status: reply.statusCode,
        payload,
        headers: {
          ...(typeof location === 'string' ? { location } : {}),
          ...(typeof type === 'string' ? { 'content-type': type } : {}),
        },
      });
    } else {
      store.release(hold.key, hold.token);
    }
    return payload;
  };

  const hooks = {
    // Before validation: the fingerprint is of the request as sent.
    preValidation: async (request: FastifyRequest) => {
      if (keyOf(request) !== undefined) {
        fingerprints.set(
          request,
          fingerprintOf(request.method, request.routeOptions.url ?? '', request.body),
        );
      }
    },
    // After validation: a request that fails validation never holds a key.
    preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
      const key = keyOf(request);
      const fingerprint = fingerprints.get(request);
      if (key === undefined || fingerprint === undefined) return;
      const principal = keys.authenticate(request.headers);
      const scoped = `${principal}\u0000${key}`;
      const begun = store.begin(scoped, fingerprint);
      switch (begun.kind) {
        case 'new':
          held.set(request, { key: scoped, token: begun.token });
          updateIds.set(request, updateIdOf(principal, key, fingerprint));
          return;
        case 'replay':
          return reply
            .code(begun.response.status)
            .type('application/json; charset=utf-8')
            .headers(begun.response.headers)
            .header('idempotent-replayed', 'true')
            .send(begun.response.payload);
        case 'in_progress':
          throw new ApiError(
            409,
            'idempotency_key_in_use',
            'a request with this Idempotency-Key is still being processed; retry shortly',
          );
        case 'mismatch':
          throw new ApiError(
            422,
            'idempotency_key_reused',
            'this Idempotency-Key was already used with a different request; use a new key for a new request',
          );
      }
    },
    onSend,
    onResponse: async (request: FastifyRequest) => {
      const hold = held.get(request);
      if (hold) store.release(hold.key, hold.token);
    },
  };

  /** The options a keyed request's write goes to Temporal with (none without a key). */
  const writeOptions = (request: FastifyRequest): WriteOptions => {
    const updateId = updateIds.get(request);
    return updateId === undefined ? {} : { updateId };
  };
  return { hooks, writeOptions };
}

export const leadRoutes: FastifyPluginAsyncZod<LeadRoutesOptions> = async (app, options) => {
  const { client, keys, temporal } = options;
  const { hooks: idempotent, writeOptions } = idempotencyHooks(options.idempotency, keys);
  // The id the lead runs under: with legacy ids, maybe the unkeyed one of before (a call to Temporal).
  const idOf = (ref: LeadRef): Promise<string> => temporal(async () => (await client.locate(ref)).workflowId);

  // The key, and its tenants: a scoped key reaches only its tenants' leads (src/api/auth.ts).
  requireApiKey(app, keys, leadTenantVia(client, temporal));

  app.post(
    '/capture',
    {
      ...idempotent,
      schema: {
        operationId: 'captureLead',
        tags: ['leads'],
        summary: 'Apply a command, creating the lead if it does not exist (update-with-start)',
        description:
          'The same lead (tenant + normalised email, or tenant + external id) is always the same workflow: ' +
          'the same form submitted twice, in another case, is one lead. Answers the lead after the command.',
        headers: WriteHeadersSchema,
        body: CommandRequestSchema,
        response: {
          200: json('The lead after the command', LeadViewSchema),
          ...errorsFor(400, 401, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const { lead, command } = request.body;
      const view = await temporal(() =>
        under('command', () => client.capture(lead, command, writeOptions(request))),
      );
      return written(reply, await idOf(lead), view);
    },
  );

  app.post(
    '/commands',
    {
      ...idempotent,
      schema: {
        operationId: 'sendCommand',
        tags: ['leads'],
        summary: 'Apply a command to an existing lead',
        description: '404 when the lead was never captured. 409 with the machine’s `rejection` when refused.',
        headers: WriteHeadersSchema,
        body: CommandRequestSchema,
        response: {
          200: json('The lead after the command', LeadViewSchema),
          ...errorsFor(400, 401, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const { lead, command } = request.body;
      const view = await temporal(() =>
        under('command', () => client.send(lead, command, writeOptions(request))),
      );
      return written(reply, await idOf(lead), view);
    },
  );

  app.post(
    '/facts',
    {
      ...idempotent,
      schema: {
        operationId: 'trackFact',
        tags: ['leads'],
        summary: 'Record a high-volume fact (visit, engagement, profile) as a signal',
        description:
          'Fire and forget: 202 once Temporal has the signal; the lead applies it shortly after. ' +
          '404 when the lead was never captured.',
        headers: WriteHeadersSchema,
        body: FactRequestSchema,
        response: {
          202: json('Accepted: the lead will apply the fact', AcceptedSchema),
          ...errorsFor(400, 401, 404, 409, 413, 415, 422, 503),
        },
      },
    },
    async (request, reply) => {
      // A keyed fact goes with its update id as the signal's request id: Temporal drops a repeat.
      const { updateId } = writeOptions(request);
      await temporal(() =>
        under('fact', () =>
          client.track(request.body.lead, request.body.fact, updateId ? { requestId: updateId } : {}),
        ),
      );
      reply.code(202);
      return { accepted: true as const, leadId: await idOf(request.body.lead) };
    },
  );

  app.post(
    '/lookup',
    {
      schema: {
        operationId: 'lookupLead',
        tags: ['leads'],
        summary: 'Get a lead by its tenant and email or external id',
        description:
          'A POST so that emails never appear in URLs or access logs. Safe and without side effects.',
        body: LookupRequestSchema,
        response: {
          200: json('The lead', LeadViewSchema),
          ...errorsFor(400, 401, 404, 413, 415, 503),
        },
      },
    },
    async (request) =>
      viewBody(await temporal(() => client.get(request.body.lead)), await idOf(request.body.lead)),
  );

  app.get(
    '/:leadId',
    {
      schema: {
        operationId: 'getLead',
        tags: ['leads'],
        summary: 'Get a lead by its id (the `leadId` of a view or a listing)',
        params: LeadParamsSchema,
        response: {
          200: json('The lead', LeadViewSchema),
          ...errorsFor(400, 401, 404, 503),
        },
      },
    },
    async (request) =>
      viewBody(
        await temporal(() => client.temporal.workflow.getHandle(request.params.leadId).query(stateQuery)),
        request.params.leadId,
      ),
  );

  app.get(
    '/:leadId/timeline',
    {
      schema: {
        operationId: 'getLeadTimeline',
        tags: ['leads'],
        summary:
          'What happened to a lead, in order: stage changes, emails, handoffs, consent, config versions',
        description:
          'Read from the lead’s workflow histories (every run of its continue-as-new chain). Scoped like ' +
          'GET /v1/leads/{leadId}; entries name no address (an email its content and outcome only).',
        params: LeadParamsSchema,
        response: {
          200: json('The timeline', TimelineSchema),
          ...errorsFor(400, 401, 404, 503),
        },
      },
    },
    async (request) => temporal(() => leadTimeline(client.temporal, request.params.leadId)),
  );

  app.get(
    '',
    {
      schema: {
        operationId: 'listLeads',
        tags: ['leads'],
        summary: 'Running leads by stage and temperature',
        description: 'From Temporal visibility: eventually consistent, a second or so behind the leads.',
        querystring: ListQuerySchema,
        response: {
          200: json('A page of the leads, at most `limit`, and the cursor of the next', LeadListSchema),
          ...errorsFor(400, 401, 503),
        },
      },
    },
    async (request) => {
      const page = await temporal(() => client.listPage(request.query)).catch((err: unknown) => {
        // The only input the client checks itself here is the cursor, which came in the query string.
        throw err instanceof LeadValidationError ? validationError(err.issues, 'querystring') : err;
      });
      return {
        leads: page.leads.map(({ workflowId, ...rest }) => ({
          leadId: workflowId,
          ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)),
        })),
        nextCursor: page.nextCursor,
      };
    },
  );
};
