import { createHash } from 'node:crypto';
import { type LeadIds, leadIds } from '../client/lead-key.js';
import type { AnalyticsStore, Suppression } from './records.js';

/**
 * The suppression list knows an address only by this hash, per tenant: a send to the same person
 * through any record is recognised, and an erased person's address is not kept. Keyed with the
 * deployment's lead id secret, so the list cannot be matched against a list of guessed addresses.
 */
export function addressHash(tenant: string, address: string, ids: LeadIds = leadIds()): string {
  return ids.addressHash(tenant, address);
}

/** The unkeyed hash entries were written under before keyed hashes: still honoured on read. */
export function legacyAddressHash(tenant: string, address: string): string {
  return createHash('sha256').update(`${tenant}\n${address.trim().toLowerCase()}`).digest('hex');
}

/**
 * The address's suppression entry, under its keyed hash or the unkeyed one of before: an address
 * suppressed before the upgrade stays suppressed (whatever LEADCYCLE_LEAD_IDS says; that old entry
 * is pseudonymous only, and stays so until the person is forgotten again or the row is removed).
 */
export async function suppressionOf(
  store: Pick<AnalyticsStore, 'suppression'>,
  tenant: string,
  address: string,
  ids: LeadIds = leadIds(),
): Promise<Suppression | null> {
  return (
    (await store.suppression(tenant, ids.addressHash(tenant, address))) ??
    (await store.suppression(tenant, legacyAddressHash(tenant, address)))
  );
}

/** The tenant part of a lead key (`<tenant>:email:<address>` or `<tenant>:ext:<id>`). */
export const tenantOfLeadKey = (leadKey: string): string => leadKey.slice(0, leadKey.indexOf(':'));
