/**
 * Mautic's webhooks. Mautic signs `Webhook-Signature = base64(HMAC-SHA256(the webhook's secret, raw
 * body))` and puts no time in a header: each event in the body carries its own ISO 8601 `timestamp`,
 * and the newest one bounds the delivery's window. A body is `{ "<event type>": [ event, … ], … }`
 * (the queued mode groups several event types and events in one delivery).
 *
 * Mautic contacts carry their email, so a contact is the lead `{ tenant, email }`, the same lead as
 * a form posted to /v1/webhooks/forms with that address; an anonymous contact (no email) is skipped.
 * A new or updated contact updates the lead's profile; a Do Not Contact on the email channel, or a
 * channel subscription changed to unsubscribed or manual, unsubscribes it; a form submission is a
 * `form.submitted`, of the URL's `?form=` kind. Consent comes only from the form field the URL names
 * (`?consent=<field alias>`), never from the contact: an explicit no there unsubscribes the lead.
 */
import { z } from 'zod';
import type { FormKind, LeadCommandInput, Profile } from '../../machines/index.js';
import { EmailSchema, ProfileSchema } from '../../machines/index.js';
import { validationError } from '../errors.js';
import {
  type Action,
  base64HmacMatches,
  checkWindow,
  type Delivery,
  digestOf,
  header,
  type Ignored,
  invalidSignature,
  missingSignature,
  parseJson,
  type Routing,
  type VendorAdapter,
} from './common.js';

const Fields = z.union([
  z.record(z.string(), z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())])),
  z.array(z.unknown()),
]);

export const MauticContactSchema = z.looseObject({
  id: z.union([z.number().int(), z.string()]).optional(),
  /** Grouped as core, social, personal, professional; each field `{ alias, value, … }`. */
  fields: Fields.optional(),
  doNotContact: z.array(z.looseObject({ channel: z.string().optional() })).optional(),
});

export const MauticEventSchema = z.looseObject({
  timestamp: z.string().max(100).describe('When the event happened, ISO 8601'),
  contact: MauticContactSchema.optional(),
  /** The contact under its older name. */
  lead: MauticContactSchema.optional(),
  channel: z.string().max(100).optional(),
  new_status: z.string().max(100).optional(),
  submission: z
    .looseObject({
      id: z.union([z.number().int(), z.string()]).optional(),
      form: z.looseObject({ id: z.union([z.number().int(), z.string()]).optional() }).optional(),
      lead: MauticContactSchema.optional(),
      contact: MauticContactSchema.optional(),
      /** The submitted values by field alias. */
      results: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
    })
    .optional(),
});

export const MauticBodySchema = z
  .record(z.string().max(200), z.array(MauticEventSchema).max(200))
  .describe('Mautic webhook events by type: { "mautic.lead_post_save_new": [ … ], … }');

type Contact = z.output<typeof MauticContactSchema>;

/** The contact's field values by alias, across the field groups. */
function valuesOf(contact: Contact | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!contact?.fields || Array.isArray(contact.fields)) return out;
  for (const group of Object.values(contact.fields)) {
    if (Array.isArray(group)) continue;
    for (const [alias, field] of Object.entries(group)) {
      const value =
        field !== null && typeof field === 'object' && 'value' in field
          ? (field as { value: unknown }).value
          : field;
      if (value !== null && value !== undefined && value !== '') out[alias] = value;
    }
  }
  return out;
}

/** Mautic's default contact fields that leadcycle's profile holds. */
const PROFILE_FIELDS: Record<string, keyof Profile> = {
  firstname: 'firstName',
  lastname: 'lastName',
  company: 'company',
  position: 'jobTitle',
  country: 'country',
};

/** The profile fields among `values` that pass the profile's schema; the others are left out. */
function profileOf(values: Record<string, unknown>): Omit<Profile, 'email'> {
  const profile: Record<string, unknown> = {};
  for (const [alias, field] of Object.entries(PROFILE_FIELDS)) {
    const value = values[alias];
    if (typeof value !== 'string') continue;
    if (ProfileSchema.shape[field].safeParse(value).success) profile[field] = value;
  }
  return ProfileSchema.omit({ email: true }).parse(profile);
}

function emailOf(...candidates: unknown[]): string | undefined {
  for (const candidate of candidates) {
    const email = EmailSchema.safeParse(candidate);
    if (email.success) return email.data;
  }
  return undefined;
}

const YES = new Set(['1', 'true', 'yes', 'on', 'y']);
const NO = new Set(['0', 'false', 'no', 'off', 'n']);

/** An explicit answer only: true, false, or undefined when the field is absent or says neither. */
export function explicitBoolean(value: unknown): boolean | undefined {
  const one = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof one === 'boolean') return one;
  if (typeof one === 'number') return one === 1 ? true : one === 0 ? false : undefined;
  if (typeof one !== 'string') return undefined;
  const word = one.trim().toLowerCase();
  return YES.has(word) ? true : NO.has(word) ? false : undefined;
}

const unsubscribe = (source: 'crm' | 'form'): LeadCommandInput => ({
  type: 'consent.unsubscribed',
  doNotContact: false,
  source,
});

export const mautic: VendorAdapter<typeof MauticBodySchema> = {
  body: MauticBodySchema,

  verify(secret: string, delivery: Delivery, toleranceSeconds: number, now: number) {
    const signature = header(delivery, 'webhook-signature');
    if (signature === undefined) {
      throw missingSignature('Webhook-Signature', 'base64 HMAC-SHA256 of the raw body');
    }
    if (!base64HmacMatches(secret, [delivery.raw], signature)) {
      throw invalidSignature('Webhook-Signature does not match the body and the webhook secret');
    }
    const body = parseJson(delivery.raw);
    // The newest event bounds the delivery: no event, no time, no window.
    let newest: number | undefined;
    if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
      for (const events of Object.values(body)) {
        if (!Array.isArray(events)) continue;
        for (const event of events) {
          const at = Date.parse((event as { timestamp?: unknown })?.timestamp as string);
          if (Number.isFinite(at)) newest = Math.max(newest ?? at, at);
        }
      }
    }
    if (newest === undefined) {
      throw validationError(
        [{ path: [], message: 'no event with an ISO 8601 timestamp: a delivery must say when it happened' }],
        'body',
      );
    }
    checkWindow(newest, toleranceSeconds, now);
    return { timestamp: Math.floor(newest / 1000), body };
  },

  map(body, routing: Routing) {
    const actions: Action[] = [];
    const ignored: Ignored[] = [];
    const tenant = routing.tenant ? { tenant: routing.tenant } : {};
    for (const [type, events] of Object.entries(body)) {
      events.forEach((e) => {
        const contact = e.contact ?? e.lead ?? e.submission?.contact ?? e.submission?.lead;
        const values = valuesOf(contact);
        const results =
          e.submission?.results && !Array.isArray(e.submission.results) ? e.submission.results : {};
        const email = emailOf(results.email, values.email);
        // Mautic events carry no id, and two saves of a contact may share a second: the event's content names it.
        const updateId = `mautic:${digestOf([type, e])}`;
        if (email === undefined) {
          ignored.push({ event: type, reason: 'no valid email: an anonymous contact is not a lead yet' });
          return;
        }
        const ref = { ...tenant, email };
        const profile = profileOf({ ...values, ...results });
        const dnc = contact?.doNotContact?.some((entry) => entry.channel === 'email') === true;
        if (type === 'mautic.lead_post_save_new' || type === 'mautic.lead_post_save_update') {
          actions.push({
            event: type,
            ref,
            updateId,
            command: { type: 'profile.updated', profile: { ...profile, email } },
          });
          if (dnc)
            actions.push({ event: type, ref, updateId: `${updateId}:dnc`, command: unsubscribe('crm') });
        } else if (type === 'mautic.lead_channel_subscription_changed') {
          if (e.channel === 'email' && (e.new_status === 'unsubscribed' || e.new_status === 'manual')) {
            actions.push({ event: type, ref, updateId, command: unsubscribe('crm') });
          } else {
            ignored.push({ event: type, reason: 'not an unsubscribe from email: grants no consent' });
          }
        } else if (type === 'mautic.form_on_submit') {
          const said = routing.consent === undefined ? undefined : explicitBoolean(results[routing.consent]);
          actions.push({
            event: type,
            ref,
            updateId,
            command: {
              type: 'form.submitted',
              form: (routing.form ?? 'contact') as FormKind,
              consent: said === true,
              profile: { ...profile, email },
            },
          });
          if (said === false || dnc) {
            actions.push({
              event: type,
              ref,
              updateId: `${updateId}:no`,
              command: unsubscribe(dnc ? 'crm' : 'form'),
            });
          }
        } else {
          ignored.push({ event: type, reason: 'not a contact, subscription or form submission event' });
        }
      });
    }
    return { actions, ignored };
  },
};
