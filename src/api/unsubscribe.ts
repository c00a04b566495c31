/**
 * `/v1/unsubscribe/{leadId}?token=`: the link in every marketing email (src/activities/unsubscribe-link.ts).
 * No API key: the token, an HMAC of the lead id under the unsubscribe secret, is the authority, so
 * only the email's recipient holds it. A GET only shows a page with a button (mail scanners follow
 * links, and must not unsubscribe anyone); the POST unsubscribes: the button's form, or a mail
 * client's RFC 8058 one-click (`List-Unsubscribe=One-Click`, form-encoded).
 */
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { verifyUnsubscribeToken } from '../activities/unsubscribe-link.js';
import type { LeadClient } from '../client/index.js';
import { ApiError } from './errors.js';
import { errorsFor, problem } from './leads.js';
import { LeadIdSchema } from './schemas.js';

export interface UnsubscribeRoutesOptions {
  client: LeadClient;
  /** LEADCYCLE_UNSUBSCRIBE_SECRET: the one the worker signs the links with. */
  secret: string;
  temporal: <T>(call: () => Promise<T>) => Promise<T>;
}

const ParamsSchema = z.object({ leadId: LeadIdSchema }).strict();
// Not strict: link scanners and trackers append parameters of their own to links.
const QuerySchema = z.object({
  token: z.string().max(200).describe('The signature of the lead id, from the email’s link'),
});

const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });

const responses = {
  ...errorsFor(400, 404, 409, 503),
  403: problem('The token is not this lead’s (forged, altered or for another secret): nothing changed'),
};

const page = (title: string, body: string) =>
  [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title></head>`,
    `<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">${body}</body></html>`,
    '',
  ].join('\n');

const escapeAttr = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** The token in the URL is a credential: keep it out of caches and out of Referer headers. */
function sendPage(reply: FastifyReply, body: string) {
  return reply
    .headers({
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; form-action 'self'; style-src 'unsafe-inline'",
    })
    .type('text/html; charset=utf-8')
    .send(body);
}

export const unsubscribeRoutes: FastifyPluginAsyncZod<UnsubscribeRoutesOptions> = async (app, options) => {
  const { client, secret, temporal } = options;

  const check = (leadId: string, token: string): void => {
    if (!verifyUnsubscribeToken(secret, leadId, token)) {
      throw new ApiError(
        403,
        'invalid_token',
        'this unsubscribe link is not valid: use the link of the email',
      );
    }
  };

  // Forms, not JSON: the body only says "one click" (RFC 8058), the signed URL says who and is checked.
  app.removeAllContentTypeParsers();
  for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_request, body, done) => done(null, body));
  }

  app.get(
    '/:leadId',
    {
      schema: {
        operationId: 'unsubscribePage',
        tags: ['unsubscribe'],
        summary: 'The unsubscribe page of an email’s link: a button that POSTs (no API key; changes nothing)',
        security: [],
        params: ParamsSchema,
        querystring: QuerySchema,
        response: { 200: html('A page with the unsubscribe button'), ...responses },
      },
    },
    async (request, reply) => {
      const { leadId } = request.params;
      const { token } = request.query;
      check(leadId, token);
      // Relative, so the form posts back through whatever prefix the public URL has.
      const action = `${encodeURIComponent(leadId)}?token=${encodeURIComponent(token)}`;
      return sendPage(
        reply,
        page(
          'Unsubscribe',
          [
            '<h1>Unsubscribe</h1>',
            '<p>Stop receiving our marketing emails?</p>',
            `<form method="post" action="${escapeAttr(action)}">`,
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">',
            '<button type="submit">Unsubscribe</button>',
            '</form>',
          ].join('\n'),
        ),
      );
    },
  );

  app.post(
    '/:leadId',
    {
      schema: {
        operationId: 'unsubscribe',
        tags: ['unsubscribe'],
        summary: 'Unsubscribes the lead of an email’s link: RFC 8058 one-click, or the page’s button',
        description:
          'No API key: the token is checked in constant time. Sends `consent.unsubscribed` to the lead; ' +
          'an already unsubscribed lead answers 200 again. The body, if any, is form-encoded ' +
          '(`List-Unsubscribe=One-Click`).',
        security: [],
        params: ParamsSchema,
        querystring: QuerySchema,
        response: {
          200: html('Unsubscribed (also when it already was)'),
          ...responses,
          415: problem('The body is not a form (application/x-www-form-urlencoded or multipart/form-data)'),
        },
      },
    },
    async (request, reply) => {
      const { leadId } = request.params;
      check(leadId, request.query.token);
      const unsubscribe = { type: 'consent.unsubscribed', doNotContact: false, source: 'link' } as const;
      const view = await temporal(() => client.sendById(leadId, unsubscribe));
      // A link from before a merge reaches the closed record: the survivor carries the person on.
      const survivor = view.state.context.mergedInto;
      if (survivor)
        await temporal(async () => client.sendById(await client.workflowIdFor(survivor), unsubscribe));
      return sendPage(
        reply,
        page(
          'Unsubscribed',
          '<h1>You are unsubscribed</h1>\n<p>You will get no more marketing emails from us.</p>',
        ),
      );
    },
  );
};
