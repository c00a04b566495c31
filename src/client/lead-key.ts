import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import { LeadcycleError } from '../errors.js';
import { readSettings } from '../settings.js';

/**
 * A tenant's name: a letter or digit, then letters, digits, `.`, `_` or `-`, at most 100 in all. No
 * `:`, so a lead key (`<tenant>:email:…`, `<tenant>:ext:…`) splits one way only: tenant `a` with
 * external id `x:email:b@c.example` and tenant `a:ext:x` with email `b@c.example` would otherwise be
 * one lead. Every tenant of that alphabet keeps the key (and so the workflow id) it had before.
 */
export const TenantSchema = z
  .string()
  .trim()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
    'a tenant is 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit (no ":")',
  );

/**
 * A lead is identified by its tenant plus either its normalised email or an external id (a CRM
 * id), so the same person submitting a form twice, in another case, is one lead. The workflow id
 * is a keyed hash of that key (LeadIds): workflow ids are visible in the Temporal UI and never
 * encrypted, and an unkeyed hash would give the address away to anyone hashing a list of guesses.
 */
export const LeadRefSchema = z.union([
  z
    .object({
      tenant: TenantSchema.default('default'),
      email: z.string().trim().toLowerCase().pipe(z.email()),
    })
    .strict(),
  z
    .object({
      tenant: TenantSchema.default('default'),
      externalId: z.string().trim().min(1).max(200),
    })
    .strict(),
]);
export type LeadRef = z.input<typeof LeadRefSchema>;

export function leadKeyOf(ref: LeadRef): string {
  const parsed = LeadRefSchema.parse(ref);
  return 'email' in parsed
    ? `${parsed.tenant}:email:${parsed.email}`
    : `${parsed.tenant}:ext:${parsed.externalId}`;
}

export type LeadIdsErrorCode = 'lead_id_secret_missing' | 'lead_id_secret_invalid' | 'lead_ids_undecided';

export class LeadIdsError extends LeadcycleError<LeadIdsErrorCode> {}

/** Shorter than this, a secret could be guessed, and every id with it. */
export const MIN_LEAD_ID_SECRET_LENGTH = 32;

/**
 * How one deployment names its leads: HMAC-SHA256 under its own secret, so an id (in the Temporal
 * UI, the analytics store, a log) says nothing about the address to someone without the secret, and
 * two deployments give the same person different ids. Deterministic for a secret: a form submitted
 * twice reaches the same workflow. `legacy`: leads started before keyed ids (under the unkeyed
 * `legacyWorkflowIdOf`) are still found; new leads always get keyed ids.
 */
export class LeadIds {
  readonly #secret: Buffer;

  constructor(
    secret: string,
    readonly legacy = false,
  ) {
    if (secret.length < MIN_LEAD_ID_SECRET_LENGTH) {
      throw new LeadIdsError(
        'lead_id_secret_invalid',
        `the lead id secret must be at least ${MIN_LEAD_ID_SECRET_LENGTH} characters`,
      );
    }
    this.#secret = Buffer.from(secret, 'utf8');
  }

  /** The same secret, with or without the fallback to legacy ids. */
  withLegacy(legacy: boolean): LeadIds {
    return new LeadIds(this.#secret.toString('utf8'), legacy);
  }

  workflowIdOf(leadKey: string): string {
    // A label per use: the id and the address hash never coincide although they share the secret.
    return `lead-${this.#mac(`lead-id\n${leadKey}`).slice(0, 32)}`;
  }

  /** The ids the lead may run under, the keyed one first. */
  candidatesOf(leadKey: string): string[] {
    return this.legacy
      ? [this.workflowIdOf(leadKey), legacyWorkflowIdOf(leadKey)]
      : [this.workflowIdOf(leadKey)];
  }

  /** The suppression list's name for an address in a tenant (64 hex digits). */
  addressHash(tenant: string, address: string): string {
    return this.#mac(`suppression\n${tenant}\n${address.trim().toLowerCase()}`);
  }

  #mac(text: string): string {
    return createHmac('sha256', this.#secret).update(text).digest('hex');
  }
}

/** The unkeyed workflow id of before keyed ids: found again only with `LeadIds.legacy`. */
export function legacyWorkflowIdOf(leadKey: string): string {
  return `lead-${createHash('sha256').update(leadKey).digest('hex').slice(0, 32)}`;
}

let current: LeadIds | null = null;

/**
 * Makes `ids` this process's: every entry point loads them once at start-up (loadLeadIds in
 * src/client/lead-ids.ts) and installs them here, before anything names a lead.
 */
export function useLeadIds(ids: LeadIds): LeadIds {
  current = ids;
  return ids;
}

/**
 * This process's LeadIds: the installed ones, else from LEADCYCLE_LEAD_ID_SECRET and
 * LEADCYCLE_LEAD_IDS. Throws LeadIdsError when there is no secret: an unkeyed fallback would
 * quietly give addresses away again.
 */
export function leadIds(): LeadIds {
  if (current) return current;
  const settings = readSettings();
  if (!settings.LEADCYCLE_LEAD_ID_SECRET) {
    throw new LeadIdsError(
      'lead_id_secret_missing',
      'no lead id secret: set LEADCYCLE_LEAD_ID_SECRET, or load one at start-up with loadLeadIds()',
    );
  }
  current = new LeadIds(settings.LEADCYCLE_LEAD_ID_SECRET, settings.LEADCYCLE_LEAD_IDS === 'legacy');
  return current;
}

/** The lead's keyed workflow id, under this process's LeadIds unless others are given. */
export function workflowIdOf(leadKey: string, ids: LeadIds = leadIds()): string {
  return ids.workflowIdOf(leadKey);
}
