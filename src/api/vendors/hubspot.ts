/**
 * HubSpot's webhooks (app webhooks, signature v3). HubSpot signs
 * `X-HubSpot-Signature-v3 = base64(HMAC-SHA256(app client secret, method + URI + raw body + timestamp))`
 * with `X-HubSpot-Request-Timestamp` in epoch milliseconds, and the URI is the full URL it called, with
 * some URL-encoded characters decoded first; a timestamp more than 5 minutes old is to be refused.
 *
 * A HubSpot event names a contact by its id (`objectId`), never by its email: each contact is the
 * lead `{ tenant, externalId: "hubspot:<portalId>:<objectId>" }`. A creation starts the lead (a
 * visitor: leadcycle knows nothing of it yet); a change of a profile property updates its profile;
 * `hs_email_optout` turned on unsubscribes it. Nothing HubSpot sends grants consent, and HubSpot's
 * own lifecycle stage is not copied: leadcycle's guards decide the stage.
 */
import { z } from 'zod';
import type { Profile } from '../../machines/index.js';
import { ProfileSchema } from '../../machines/index.js';
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
  type VendorAdapter,
} from './common.js';

/**
 * The characters HubSpot decodes in the URI before signing (its "Validate the v3 request signature"
 * table); any other escape is signed as sent.
 */
const DECODED: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

/** The URI as HubSpot signs it: the public base URL, the path and query as received, those escapes decoded. */
export function hubspotSignedUri(publicUrl: string, url: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${url}`.replace(
    /%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi,
    (encoded) => DECODED[encoded.toUpperCase()] as string,
  );
}

const Id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]);

export const HubSpotEventSchema = z.looseObject({
  eventId: Id,
  subscriptionType: z.string().max(100).describe('contact.creation, contact.propertyChange, …'),
  portalId: Id,
  objectId: Id,
  occurredAt: z.number().int().nonnegative().optional(),
  propertyName: z.string().max(200).optional(),
  propertyValue: z.string().max(10_000).optional(),
});

export const HubSpotBodySchema = z
  .array(HubSpotEventSchema)
  .min(1)
  .max(100)
  .describe('A batch of HubSpot webhook events (at most 100)');

type Converter = (value: string) => Partial<Profile>;
const text =
  (field: keyof Profile): Converter =>
  (value) => ({ [field]: value });
const count =
  (field: 'companySize' | 'annualRevenue'): Converter =>
  (value) => ({ [field]: Number(value.replaceAll(',', '')) });

/** HubSpot's contact properties that leadcycle's profile holds. */
const PROFILE_PROPERTIES: Record<string, Converter> = {
  email: text('email'),
  firstname: text('firstName'),
  lastname: text('lastName'),
  company: text('company'),
  jobtitle: text('jobTitle'),
  country: text('country'),
  industry: text('sector'),
  numberofemployees: count('companySize'),
  annualrevenue: count('annualRevenue'),
};

export const hubspot: VendorAdapter<typeof HubSpotBodySchema> = {
  body: HubSpotBodySchema,

  verify(secret: string, delivery: Delivery, toleranceSeconds: number, now: number) {
    const signature = header(delivery, 'x-hubspot-signature-v3');
    const timestamp = header(delivery, 'x-hubspot-request-timestamp');
    if (signature === undefined || timestamp === undefined) {
      throw missingSignature(
        'X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp',
        'base64 HMAC-SHA256 of method + URI + body + timestamp (epoch ms)',
      );
    }
    if (!/^\d{1,15}$/.test(timestamp)) {
      throw invalidSignature('X-HubSpot-Request-Timestamp must be epoch milliseconds');
    }
    const uri = hubspotSignedUri(delivery.publicUrl, delivery.url);
    if (!base64HmacMatches(secret, [delivery.method, uri, delivery.raw, timestamp], signature)) {
      throw invalidSignature(
        `X-HubSpot-Signature-v3 does not match the body, the client secret and the URI ${uri} (set LEADCYCLE_PUBLIC_URL to the URL HubSpot calls)`,
      );
    }
    checkWindow(Number(timestamp), toleranceSeconds, now);
    return { timestamp: Math.floor(Number(timestamp) / 1000), body: parseJson(delivery.raw) };
  },

  map(events, routing) {
    const actions: Action[] = [];
    const ignored: Ignored[] = [];
    for (const e of events) {
      const ref = {
        ...(routing.tenant ? { tenant: routing.tenant } : {}),
        externalId: `hubspot:${e.portalId}:${e.objectId}`,
      };
      // HubSpot does not promise a unique eventId, and a retry changes attemptNumber: the id is the event's content.
      const updateId = `hubspot:${e.portalId}:${e.eventId}:${digestOf([e.subscriptionType, e.objectId, e.propertyName, e.propertyValue, e.occurredAt])}`;
      const event = e.propertyName ? `${e.subscriptionType}:${e.propertyName}` : e.subscriptionType;
      if (e.subscriptionType === 'contact.creation') {
        actions.push({ event, ref, updateId, command: { type: 'profile.updated', profile: {} } });
        continue;
      }
      if (e.subscriptionType !== 'contact.propertyChange' || e.propertyName === undefined) {
        ignored.push({ event, reason: 'not a contact creation or property change' });
        continue;
      }
      const value = e.propertyValue?.trim() ?? '';
      if (e.propertyName === 'hs_email_optout') {
        // Opted out is a no; opted back in is not a yes we could prove (only a subscribe command is).
        if (value === 'true') {
          actions.push({
            event,
            ref,
            updateId,
            command: { type: 'consent.unsubscribed', doNotContact: false, source: 'crm' },
          });
        } else {
          ignored.push({ event, reason: 'an opt-out turned off grants no consent' });
        }
        continue;
      }
      const convert = PROFILE_PROPERTIES[e.propertyName];
      if (convert === undefined) {
        ignored.push({ event, reason: 'not a property of the lead profile' });
        continue;
      }
      // A cleared property clears nothing here: leadcycle's profile only ever learns values.
      const profile = value === '' ? undefined : ProfileSchema.safeParse(convert(value));
      if (!profile?.success) {
        ignored.push({ event, reason: `propertyValue is not a valid ${e.propertyName}` });
        continue;
      }
      actions.push({ event, ref, updateId, command: { type: 'profile.updated', profile: profile.data } });
    }
    return { actions, ignored };
  },
};
