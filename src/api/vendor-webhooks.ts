/**
 * `/v1/webhooks/hubspot`, `/mautic`, `/typeform`: the vendors' own webhooks, received as they send
 * them, so no relay has to re-sign them as Leadcycle-Signature. Each route checks its vendor's
 * signature (src/api/vendors/*.ts) on the raw bytes before the JSON is parsed, refuses a delivery
 * outside the time window, and remembers every delivery until it is stale, as /v1/webhooks/forms
 * does: a replay is a 409 `webhook_replayed`. Each has its own secret; without it the route does not
 * exist (404). A delivery maps to capture commands (update-with-start) on its leads, each with the
 * vendor's event id as its Temporal update id, so a vendor's retry of a half-applied batch applies
 * each event once; what an adapter does not act on is answered as `ignored`, not refused.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LeadCommandRejectedError, LeadValidationError } from '../client/errors.js';
import type { LeadClient } from '../client/index.js';
import { TenantSchema } from '../client/lead-key.js';
import { FormKindSchema } from '../machines/index.js';
import { ApiError } from './errors.js';
import { errors, json, problem } from './leads.js';
import { ReplayCache } from './replay-cache.js';
import { VendorWebhookAckSchema } from './schemas.js';
import type { Action, Ignored, Routing, VendorAdapter } from './vendors/common.js';
import { hubspot } from './vendors/hubspot.js';
import { mautic } from './vendors/mautic.js';
import { typeform } from './vendors/typeform.js';

export interface VendorSecrets {
  /** The HubSpot app's client secret: enables /v1/webhooks/hubspot. */
  hubspot?: string;
  /** The Mautic webhook's secret: enables /v1/webhooks/mautic. */
  mautic?: string;
  /** The Typeform webhook's secret: enables /v1/webhooks/typeform. */
  typeform?: string;
}

export interface VendorWebhookRoutesOptions {
  client: LeadClient;
  secrets: VendorSecrets;
  /** The public base URL the vendors call (HubSpot signs the full URL); unset: the request's own. */
  publicUrl?: string;
  toleranceSeconds: number;
  temporal: <T>(call: () => Promise<T>) => Promise<T>;
  /** Where the deliveries already seen are kept across restarts; unset: in memory only. */
  replayFile?: string;
  /** The clock, for tests. */
  now?: () => number;
}

/** The name of the file the API keeps the vendors' deliveries in (its own: one ReplayCache per file). */
export const VENDOR_REPLAY_CACHE_FILE = 'vendor-webhook-replays.log';

// Not named components: a querystring must stay inline for @fastify/swagger to list its parameters.
const TenantQuery = TenantSchema.optional().describe("The leads' tenant (default: default)");
/** HubSpot signs the URL, so its tenant is signed too. */
export const HubSpotQuerySchema = z.object({ tenant: TenantQuery });
export const FormToolQuerySchema = z.object({
  tenant: TenantSchema.optional().describe("The leads' tenant (default: default)"),
  form: FormKindSchema.optional().describe('The form kind a form submission counts as (default: contact)'),
  consent: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'The form field (Mautic alias, Typeform ref) whose explicit yes grants consent and no withdraws it; unset: no consent from forms',
    ),
});

const refusals = {
  401: problem('Missing, wrong or stale vendor signature (outside the time window)'),
  409: problem('A delivery already received (same time and body)'),
};

interface Route {
  path: 'hubspot' | 'mautic' | 'typeform';
  // biome-ignore lint/suspicious/noExplicitAny: each route pairs one adapter with its own schema
  adapter: VendorAdapter<any>;
  summary: string;
  description: string;
  headers: z.ZodType;
  query: z.ZodObject;
}

const ROUTES: Route[] = [
  {
    path: 'hubspot',
    adapter: hubspot,
    summary: 'HubSpot contact events (signature v3, no API key)',
    description:
      'A batch of HubSpot webhook events, signed with `X-HubSpot-Signature-v3` and `X-HubSpot-Request-Timestamp` ' +
      '(the URL signed is LEADCYCLE_PUBLIC_URL + path and query). Each contact is the lead ' +
      '`{ tenant, externalId: "hubspot:<portalId>:<objectId>" }`: `contact.creation` starts it, a ' +
      '`contact.propertyChange` of email, firstname, lastname, company, jobtitle, country, industry, ' +
      'numberofemployees or annualrevenue updates its profile, `hs_email_optout` = true unsubscribes it. ' +
      'Other events are answered as ignored.',
    headers: z.looseObject({
      'x-hubspot-signature-v3': z.string().describe('base64 HMAC-SHA256 of method + URI + body + timestamp'),
      'x-hubspot-request-timestamp': z.string().describe('epoch milliseconds'),
    }),
    query: HubSpotQuerySchema,
  },
  {
    path: 'mautic',
    adapter: mautic,
    summary: 'Mautic contact, subscription and form events (signed, no API key)',
    description:
      'Mautic webhook events by type, signed with `Webhook-Signature`; the newest event `timestamp` bounds ' +
      'the delivery. Contacts are leads by email: `mautic.lead_post_save_new`/`_update` update the profile, ' +
      'a Do Not Contact on email or `mautic.lead_channel_subscription_changed` to unsubscribed/manual ' +
      'unsubscribes, `mautic.form_on_submit` is a form.submitted of the `form` kind, consent only from the ' +
      'field named by `consent`.',
    headers: z.looseObject({
      'webhook-signature': z.string().describe('base64 HMAC-SHA256 of the raw body'),
    }),
    query: FormToolQuerySchema,
  },
  {
    path: 'typeform',
    adapter: typeform,
    summary: 'A Typeform response: a form submission (signed, no API key)',
    description:
      'A Typeform `form_response`, signed with `Typeform-Signature`; `submitted_at` bounds the delivery. The ' +
      'first email answer is the lead; answers whose ref is a profile field fill the profile; consent only ' +
      'from the yes/no or legal answer whose ref is `consent` (no: unsubscribed).',
    headers: z.looseObject({
      'typeform-signature': z.string().describe('sha256=<base64 HMAC-SHA256 of the raw body>'),
    }),
    query: FormToolQuerySchema,
  },
];

export const vendorWebhookRoutes: FastifyPluginAsyncZod<VendorWebhookRoutesOptions> = async (
  app,
  options,
) => {
  const { client, secrets, toleranceSeconds, temporal } = options;
  const now = options.now ?? Date.now;
  const replays = new ReplayCache(toleranceSeconds, undefined, now, options.replayFile);
  app.addHook('onClose', async () => replays.close());
  const verified = new WeakMap<FastifyRequest, string>();
  const routeOf = (request: FastifyRequest): Route | undefined =>
    ROUTES.find((route) => request.routeOptions.url?.endsWith(`/${route.path}`));

  const check = (request: FastifyRequest, raw: Buffer): unknown => {
    const route = routeOf(request);
    const secret = route ? secrets[route.path] : undefined;
    if (route === undefined || secret === undefined) {
      throw new ApiError(404, 'route_not_found', 'no such webhook');
    }
    const publicUrl = options.publicUrl ?? `${request.protocol}://${request.host}`;
    const { timestamp, body } = route.adapter.verify(
      secret,
      { method: request.method, url: request.url, headers: request.headers, raw, publicUrl },
      toleranceSeconds,
      now(),
    );
    // The vendor's name is part of what is remembered: one cache serves the three routes.
    const seen = replays.remember(timestamp, Buffer.concat([Buffer.from(`${route.path}\n`), raw]));
    if (seen.result === 'replayed') {
      throw new ApiError(409, 'webhook_replayed', 'this delivery (same time and body) was already received');
    }
    if (seen.result === 'full') {
      throw new ApiError(503, 'replay_cache_full', 'too many webhook deliveries in the window; retry later', {
        headers: { 'retry-after': '5' },
      });
    }
    verified.set(request, seen.id);
    return body;
  };

  // The signature covers the bytes as sent: keep them, check them, and only then use the JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, check(request, body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // A delivery without a body never reaches the parser: check its signature here.
  app.addHook('preValidation', async (request) => {
    if (!verified.has(request)) check(request, Buffer.alloc(0));
  });
  // Our failure is not the sender's: let an identical retry through.
  app.addHook('onResponse', async (request, reply) => {
    const id = verified.get(request);
    if (id !== undefined && reply.statusCode >= 500) replays.forget(id);
  });

  const apply = async (action: Action) => {
    const view = await temporal(() =>
      client.capture(action.ref, action.command, { updateId: action.updateId }),
    );
    const leadId = await temporal(async () => (await client.locate(action.ref)).workflowId);
    return { event: action.event, leadId, stage: view.stage, consent: view.consent };
  };

  for (const route of ROUTES) {
    if (secrets[route.path] === undefined) continue;
    app.post(
      `/${route.path}`,
      {
        schema: {
          operationId: `${route.path}Webhook`,
          tags: ['webhooks'],
          summary: route.summary,
          description: route.description,
          security: [],
          headers: route.headers,
          querystring: route.query,
          body: route.adapter.body,
          response: {
            200: json(
              'Applied what maps to leadcycle; the rest is listed as ignored',
              VendorWebhookAckSchema,
            ),
            400: errors[400],
            401: refusals[401],
            409: refusals[409],
            413: errors[413],
            415: errors[415],
            503: errors[503],
          },
        },
      },
      async (request) => {
        const routing = request.query as Routing;
        const { actions, ignored } = route.adapter.map(request.body, routing);
        const applied = [];
        const skipped: Ignored[] = [...ignored];
        // In order: a batch's later events (an opt-out after a creation) come after its earlier ones.
        for (const action of actions) {
          try {
            applied.push(await apply(action));
          } catch (err) {
            // The machine's refusal or a value it rejects is an answer for this event, not a reason to retry all.
            if (err instanceof LeadCommandRejectedError) {
              skipped.push({ event: action.event, reason: `refused: ${err.rejection.message}` });
            } else if (err instanceof LeadValidationError) {
              skipped.push({ event: action.event, reason: `invalid: ${err.message}` });
            } else {
              throw err;
            }
          }
        }
        return { applied, ignored: skipped };
      },
    );
  }
};
