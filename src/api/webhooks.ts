/**
 * `/v1/webhooks/*`: inbound webhooks from form tools and CRMs. No API key: each delivery carries a
 * `Leadcycle-Signature` (the scheme of src/activities/signature.ts), checked against the raw body
 * before the JSON is even parsed, with a timestamp tolerance and a cache of deliveries already seen
 * (kept in a file when one is given, so a restart does not reopen the window). Each route has its
 * own secret: the form tools' one captures leads and cannot sign a CRM command such as deal.won.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { verifySignature } from '../activities/signature.js';
import type { LeadClient, LeadRef } from '../client/index.js';
import { LeadcycleError } from '../errors.js';
import type { LeadView } from '../machines/index.js';
import { ApiError } from './errors.js';
import { errors, json, problem } from './leads.js';
import { ReplayCache } from './replay-cache.js';
import { CrmWebhookSchema, FormWebhookSchema, SignatureHeadersSchema, WebhookAckSchema } from './schemas.js';

export interface WebhookSecrets {
  /** Signs /v1/webhooks/forms (captures); without it the route does not exist. */
  forms?: string;
  /** Signs /v1/webhooks/crm (sales commands); without it the route does not exist. */
  crm?: string;
}

/** One secret for both routes would let a form tool sign deal.won. */
export class WebhookSecretsSharedError extends LeadcycleError<'webhook_secrets_shared'> {
  constructor() {
    super('webhook_secrets_shared', 'webhookSecrets: forms and crm must be two different secrets');
  }
}

export interface WebhookRoutesOptions {
  client: LeadClient;
  secrets: WebhookSecrets;
  toleranceSeconds: number;
  temporal: <T>(call: () => Promise<T>) => Promise<T>;
  /** Where the deliveries already seen are kept across restarts; unset: in memory only. */
  replayFile?: string;
}

const signatureErrors = {
  401: problem('Missing, malformed, wrong or stale Leadcycle-Signature (timestamp outside the tolerance)'),
  409: problem('A delivery already received (same timestamp and body), or the machine refused the command'),
};

const ack = (view: LeadView, leadId: string) => ({ leadId, stage: view.stage, consent: view.consent });

export const webhookRoutes: FastifyPluginAsyncZod<WebhookRoutesOptions> = async (app, options) => {
  const { client, secrets, toleranceSeconds, temporal } = options;
  if (secrets.forms !== undefined && secrets.forms === secrets.crm) {
    throw new WebhookSecretsSharedError();
  }
  // The id the lead runs under: with legacy ids, maybe the unkeyed one of before (a call to Temporal).
  const idOf = (ref: LeadRef): Promise<string> => temporal(async () => (await client.locate(ref)).workflowId);
  const replays = new ReplayCache(toleranceSeconds, undefined, undefined, options.replayFile);
  app.addHook('onClose', async () => replays.close());
  const verified = new WeakMap<FastifyRequest, string>();
  // The route decides the secret: only /crm takes the CRM's, only /forms the form tools'.
  const secretOf = (request: FastifyRequest): string | undefined =>
    request.routeOptions.url?.endsWith('/crm') ? secrets.crm : secrets.forms;

  const check = (request: FastifyRequest, raw: Buffer): void => {
    const secret = secretOf(request);
    if (secret === undefined) throw new ApiError(404, 'route_not_found', 'no such webhook');
    const header = request.headers['leadcycle-signature'];
    if (typeof header !== 'string' || header.trim() === '') {
      throw new ApiError(
        401,
        'missing_signature',
        'missing Leadcycle-Signature header: t=<unix seconds>,v1=<hex hmac>',
      );
    }
    const result = verifySignature(secret, header, raw, { toleranceSeconds });
    if (!result.ok) {
      throw new ApiError(
        401,
        result.code === 'stale' ? 'stale_signature' : 'invalid_signature',
        result.message,
      );
    }
    const seen = replays.remember(result.timestamp, raw);
    if (seen.result === 'replayed') {
      throw new ApiError(
        409,
        'webhook_replayed',
        'this delivery (same timestamp and body) was already received',
      );
    }
    if (seen.result === 'full') {
      throw new ApiError(
        503,
        'replay_cache_full',
        'too many webhook deliveries in the tolerance window; retry later',
        {
          headers: { 'retry-after': '5' },
        },
      );
    }
    verified.set(request, seen.id);
  };

  // The signature covers the bytes as sent: keep them, check them, and only then parse the JSON.
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      check(request, body as Buffer);
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    parseJson(request, (body as Buffer).toString('utf8'), done);
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

  if (secrets.forms !== undefined) {
    app.post(
      '/forms',
      {
        schema: {
          operationId: 'formWebhook',
          tags: ['webhooks'],
          summary: 'A form submission from a form tool: captures the lead (signed, no API key)',
          description:
            'Maps `{ tenant?, email, form, consent, profile?, contentStage?, touch? }` to a `form.submitted` capture of ' +
            'the lead (tenant, email). The same form submitted twice is one lead.',
          security: [],
          headers: SignatureHeadersSchema,
          body: FormWebhookSchema,
          response: {
            200: json('The lead was captured', WebhookAckSchema),
            400: errors[400],
            401: signatureErrors[401],
            409: signatureErrors[409],
            413: errors[413],
            415: errors[415],
            503: errors[503],
          },
        },
      },
      async (request) => {
        const { tenant, email, form, consent, profile, contentStage, touch } = request.body;
        const ref = { ...(tenant ? { tenant } : {}), email };
        const view = await temporal(() =>
          client.capture(ref, {
            type: 'form.submitted',
            form,
            consent,
            profile: { ...profile, email },
            ...(contentStage ? { contentStage } : {}),
            ...(touch ? { touch } : {}),
          }),
        );
        return ack(view, await idOf(ref));
      },
    );
  }

  if (secrets.crm !== undefined) {
    app.post(
      '/crm',
      {
        schema: {
          operationId: 'crmWebhook',
          tags: ['webhooks'],
          summary: 'A sales decision from the CRM: applies it to an existing lead (signed, no API key)',
          description:
            '`{ lead, command }` where command is one of bant.updated, sales.accepted, sales.rejected, ' +
            'proposal.sent, deal.won, deal.lost, disqualify. The lead must use the same reference it was ' +
            'captured with (tenant + email, or tenant + external id).',
          security: [],
          headers: SignatureHeadersSchema,
          body: CrmWebhookSchema,
          response: {
            200: json('The command was applied', WebhookAckSchema),
            400: errors[400],
            401: signatureErrors[401],
            404: errors[404],
            409: signatureErrors[409],
            413: errors[413],
            415: errors[415],
            503: errors[503],
          },
        },
      },
      async (request) => {
        const view = await temporal(() => client.send(request.body.lead, request.body.command));
        return ack(view, await idOf(request.body.lead));
      },
    );
  }
};
