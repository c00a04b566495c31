import { createHash } from 'node:crypto';

/**
 * The suppression list knows an address only by this hash, per tenant: a send to the same person
 * through any record is recognised, and an erased person's address is not kept.
 */
export function addressHash(tenant: string, address: string): string {
  return createHash('sha256').update(`${tenant}\n${address.trim().toLowerCase()}`).digest('hex');
}

/** The tenant part of a lead key (`<tenant>:email:<address>` or `<tenant>:ext:<id>`). */
export const tenantOfLeadKey = (leadKey: string): string => leadKey.slice(0, leadKey.indexOf(':'));
