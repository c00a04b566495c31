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
import { type LeadRef, workflowIdOf } from '../client/lead-key.js';
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
export async function personOf(temporal: Client, refs: LeadRef[]): Promise<PersonLead[]> {
  const queue = refs.map((ref) => LeadClient.keyOf(ref).leadKey);
  const leads = new Map<string, PersonLead>();
  while (queue.length > 0 && leads.size < MAX_LINKED_LEADS) {
    const leadKey = queue.shift() as string;
    if (leads.has(leadKey)) continue;
    const lead = await leadOf(temporal, leadKey);
    leads.set(leadKey, lead);
    const context = lead.view?.state.context;
    if (context) queue.push(...context.absorbed, ...(context.mergedInto ? [context.mergedInto] : []));
  }
  return [...leads.values()];
}

async function leadOf(temporal: Client, leadKey: string): Promise<PersonLead> {
  const leadId = workflowIdOf(leadKey);
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
