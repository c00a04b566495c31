/**
 * Typeform's webhooks. Typeform signs `Typeform-Signature = "sha256=" + base64(HMAC-SHA256(the
 * webhook's secret, raw body))` and puts no time in a header: the response's `submitted_at` bounds
 * the delivery's window, and its `event_id` names it (a retry of it is applied once).
 *
 * A `form_response` is a `form.submitted` of the URL's `?form=` kind (default `contact`) for the
 * lead `{ tenant, email }`, the email being the response's first email answer (none: skipped).
 * Answers whose field ref is a profile field name (firstName, lastName, company, jobTitle, country,
 * sector, jobFunction, companySize, annualRevenue) fill the profile. Consent comes only from the
 * yes/no or legal answer whose ref the URL names (`?consent=<ref>`): yes grants it, no unsubscribes
 * the lead, and without that answer consent stays as it was. Never assumed.
 */
import { z } from 'zod';
import type { FormKind, Profile } from '../../machines/index.js';
import { EmailSchema, ProfileSchema } from '../../machines/index.js';
import { validationError } from '../errors.js';
import {
  type Action,
  base64HmacMatches,
  checkWindow,
  type Delivery,
  header,
  type Ignored,
  invalidSignature,
  missingSignature,
  parseJson,
  type VendorAdapter,
} from './common.js';

export const TypeformAnswerSchema = z.looseObject({
  type: z.string().max(100),
  field: z.looseObject({ id: z.string().max(200).optional(), ref: z.string().max(200).optional() }),
  email: z.string().max(500).optional(),
  text: z.string().max(10_000).optional(),
  number: z.number().optional(),
  boolean: z.boolean().optional(),
});

export const TypeformBodySchema = z
  .looseObject({
    event_id: z.string().min(1).max(200),
    event_type: z.string().max(100),
    form_response: z.looseObject({
      form_id: z.string().max(200),
      token: z.string().max(200).optional(),
      submitted_at: z.string().max(100).describe('ISO 8601'),
      hidden: z.record(z.string(), z.unknown()).optional(),
      answers: z.array(TypeformAnswerSchema).max(1000).optional(),
    }),
  })
  .describe('A Typeform webhook delivery: one form response');

const TEXT_FIELDS = [
  'firstName',
  'lastName',
  'company',
  'jobTitle',
  'country',
  'sector',
  'jobFunction',
] as const;
const NUMBER_FIELDS = ['companySize', 'annualRevenue'] as const;

type Answer = z.output<typeof TypeformAnswerSchema>;

/** The answers whose ref is a profile field, each kept only if the profile's schema takes it. */
function profileOf(answers: Answer[]): Omit<Profile, 'email'> {
  const profile: Record<string, unknown> = {};
  for (const answer of answers) {
    const ref = answer.field.ref;
    const value = (TEXT_FIELDS as readonly string[]).includes(ref ?? '')
      ? answer.text
      : (NUMBER_FIELDS as readonly string[]).includes(ref ?? '')
        ? answer.number
        : undefined;
    if (ref === undefined || value === undefined) continue;
    if (ProfileSchema.shape[ref as keyof Profile].safeParse(value).success) profile[ref] = value;
  }
  return ProfileSchema.omit({ email: true }).parse(profile);
}

export const typeform: VendorAdapter<typeof TypeformBodySchema> = {
  body: TypeformBodySchema,

  verify(secret: string, delivery: Delivery, toleranceSeconds: number, now: number) {
    const signature = header(delivery, 'typeform-signature');
    if (signature === undefined) {
      throw missingSignature('Typeform-Signature', 'sha256=<base64 HMAC-SHA256 of the raw body>');
    }
    if (
      !signature.startsWith('sha256=') ||
      !base64HmacMatches(secret, [delivery.raw], signature.slice('sha256='.length))
    ) {
      throw invalidSignature('Typeform-Signature does not match the body and the webhook secret');
    }
    const body = parseJson(delivery.raw) as { form_response?: { submitted_at?: unknown } } | null;
    const at = Date.parse(body?.form_response?.submitted_at as string);
    if (!Number.isFinite(at)) {
      throw validationError(
        [
          {
            path: ['form_response', 'submitted_at'],
            message: 'expected an ISO 8601 time: a delivery must say when it happened',
          },
        ],
        'body',
      );
    }
    checkWindow(at, toleranceSeconds, now);
    return { timestamp: Math.floor(at / 1000), body };
  },

  map(body, routing) {
    const actions: Action[] = [];
    const ignored: Ignored[] = [];
    const event = body.event_type;
    if (event !== 'form_response') {
      ignored.push({ event, reason: 'not a form_response' });
      return { actions, ignored };
    }
    const answers = body.form_response.answers ?? [];
    const email = answers
      .filter((a) => a.type === 'email')
      .map((a) => EmailSchema.safeParse(a.email))
      .find((parsed) => parsed.success)?.data;
    if (email === undefined) {
      ignored.push({ event, reason: 'no valid email answer: not a lead' });
      return { actions, ignored };
    }
    const ref = { ...(routing.tenant ? { tenant: routing.tenant } : {}), email };
    // Only the answer named as consent, and only a yes/no one (yes_no and legal fields answer a boolean).
    const said =
      routing.consent === undefined
        ? undefined
        : answers.find((a) => a.field.ref === routing.consent && typeof a.boolean === 'boolean')?.boolean;
    const updateId = `typeform:${body.event_id}`;
    actions.push({
      event,
      ref,
      updateId,
      command: {
        type: 'form.submitted',
        form: (routing.form ?? 'contact') as FormKind,
        consent: said === true,
        profile: { ...profileOf(answers), email },
      },
    });
    if (said === false) {
      actions.push({
        event,
        ref,
        updateId: `${updateId}:no`,
        command: { type: 'consent.unsubscribed', doNotContact: false, source: 'form' },
      });
    }
    return { actions, ignored };
  },
};
