/**
 * A person as leadcycle holds them: the leads of the refs given, and the leads merged into or from
 * them (a form by email and a CRM contact by external id are one person once merged), each with its
 * state while its workflow still answers, and the addresses it knows.
 */
import type { Client } from '@temporalio/client';
import type { Outbox } from '../activities/outbox.js';
import type { AnalyticsStore } from '../analytics/records.js';
import { tenantOfLeadKey } from '../analytics/suppression.js';
import { LeadClient } from '../client/lead-client.js';
import { type LeadIds, type LeadRef, leadIds } from '../client/lead-key.js';
import type { LeadView } from '../machines/index.js';
import { keyAddressOf } from '../machines/index.js';
import { stateQuery } from '../workflows/messages.js';
import { isNotFound } from './runs.js';

/** What forgetting and exporting a person touch: Temporal, the analytics store, the data dir's outbox. */
export interface PrivacyDeps {
  /** A client with the payload codec: the lead's state is read through it. */
  temporal: Client;
  store: AnalyticsStore;
  outbox: Outbox;
  /** Time of the suppression entries (epoch ms). */
  now?: () => number;
  /** The lead ids and address hashes to find the person under; default: the process's (leadIds()). */
  leadIds?: LeadIds;
}

export interface PersonLead {
  leadKey: string;
  leadId: string;
  tenant: string;
  /** The lead's state from its workflow; null when Temporal holds no execution of it. */
  view: LeadView | null;
  /** Addresses of the lead: its key's email, its profile's. */
  addresses: string[];
}

/** Beyond this many linked records something is wrong (a merge loop would be one): stop there. */
const MAX_LINKED_LEADS = 100;

/**
 * The person's leads, following merge links both ways. Throws the client's LeadValidationError for
 * a malformed ref, and Temporal's errors when a lead's state cannot be read (its worker is down):
 * better to refuse than to erase without knowing which address to suppress.
 */
export async function personOf(
  temporal: Client,
  refs: LeadRef[],
  ids: LeadIds = leadIds(),
): Promise<PersonLead[]> {
  const queue = refs.map((ref) => LeadClient.keyOf(ref, ids).leadKey);
  const seen = new Set<string>();
  const leads: PersonLead[] = [];
  while (queue.length > 0 && leads.length < MAX_LINKED_LEADS) {
    const leadKey = queue.shift() as string;
    if (seen.has(leadKey)) continue;
    seen.add(leadKey);
    for (const lead of await leadsOf(temporal, leadKey, ids)) {
      leads.push(lead);
      const context = lead.view?.state.context;
      if (context) queue.push(...context.absorbed, ...(context.mergedInto ? [context.mergedInto] : []));
    }
  }
  return leads;
}

/**
 * The lead of this key under each id it may run under: with legacy ids a person may have both a
 * lead from before keyed ids and a new one, and forgetting them must erase both. One entry (the
 * keyed id, no state) when Temporal holds neither.
 */
async function leadsOf(temporal: Client, leadKey: string, ids: LeadIds): Promise<PersonLead[]> {
  const found: PersonLead[] = [];
  const [keyed, ...legacy] = ids.candidatesOf(leadKey) as [string, ...string[]];
  for (const leadId of [keyed, ...legacy]) {
    const lead = await leadOf(temporal, leadKey, leadId);
    if (lead.view !== null) found.push(lead);
  }
  return found.length > 0 ? found : [await leadOf(temporal, leadKey, keyed)];
}

async function leadOf(temporal: Client, leadKey: string, leadId: string): Promise<PersonLead> {
  let view: LeadView | null = null;
  try {
    view = await temporal.workflow.getHandle(leadId).query(stateQuery);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const addresses = new Set<string>();
  const keyAddress = keyAddressOf(leadKey);
  if (keyAddress) addresses.add(keyAddress);
  const profileEmail = view?.state.context.profile.email;
  if (profileEmail) addresses.add(profileEmail.trim().toLowerCase());
  return { leadKey, leadId, tenant: tenantOfLeadKey(leadKey), view, addresses: [...addresses] };
}
