/**
 * Access (GDPR art. 15): everything leadcycle holds on a person, as JSON. The lead's state (from its
 * workflow), its Temporal runs, its stage changes, consent changes, email outcomes and journal
 * (analytics store), its outbox records (emails and CRM handoffs, with their addresses), its dead
 * letters, and the suppression of its addresses.
 */
import { type DeadLetter, readDeadLetters } from '../activities/dead-letters.js';
import type { OutboxRecord } from '../activities/outbox.js';
import { readOutbox } from '../activities/outbox.js';
import type {
  ConsentChangeRow,
  EmailOutcomeRow,
  JournalEntry,
  StageChangeRow,
  Suppression,
} from '../analytics/records.js';
import { suppressionOf } from '../analytics/suppression.js';
import { type LeadRef, leadIds } from '../client/lead-key.js';
import type { LeadView } from '../machines/index.js';
import { type PrivacyDeps, personOf } from './person.js';
import { type RunInfo, runsOf } from './runs.js';

export interface ExportedLead {
  leadId: string;
  leadKey: string;
  /** null when Temporal holds no execution of the lead (never captured, or forgotten). */
  state: LeadView | null;
  runs: RunInfo[];
  stageChanges: StageChangeRow[];
  consentChanges: ConsentChangeRow[];
  /** What became of each marketing email sent (or not) to the lead, for the email report. */
  emailOutcomes: EmailOutcomeRow[];
  /** The events the lead accepted, as journaled (without the personal data the journal drops). */
  journal: JournalEntry['event'][];
  outbox: OutboxRecord[];
  /** Deliveries that failed for good and wait for a retry (they hold what the outbox would have). */
  deadLetters: DeadLetter[];
}

export interface PersonExport {
  exportedAt: string;
  leads: ExportedLead[];
  suppressions: Array<Suppression & { address: string }>;
}

/** Exports the person of `ref` and every record merged into or from it. */
export async function exportPerson(deps: PrivacyDeps, ref: LeadRef): Promise<PersonExport> {
  const { temporal, store, outbox } = deps;
  const now = deps.now ?? Date.now;
  const ids = deps.leadIds ?? leadIds();
  const person = await personOf(temporal, [ref], ids);
  const journals = await journalsOf(deps, new Set(person.map((l) => l.leadId)));

  const leads: ExportedLead[] = [];
  const suppressions: PersonExport['suppressions'] = [];
  for (const lead of person) {
    leads.push({
      leadId: lead.leadId,
      leadKey: lead.leadKey,
      state: lead.view,
      runs: await runsOf(temporal, lead.leadId),
      stageChanges: await store.stageChanges({ leadId: lead.leadId }),
      consentChanges: await store.consentChanges(lead.leadId),
      emailOutcomes: await store.emailOutcomes({ leadId: lead.leadId }),
      journal: journals.get(lead.leadId) ?? [],
      outbox: await readOutbox(outbox.dataDir, { leadKey: lead.leadKey }),
      deadLetters: await readDeadLetters(outbox.dataDir, { leadKey: lead.leadKey }),
    });
    for (const address of lead.addresses) {
      const entry = await suppressionOf(store, lead.tenant, address, ids);
      if (entry) suppressions.push({ ...entry, address });
    }
  }
  return { exportedAt: new Date(now()).toISOString(), leads, suppressions };
}

/**
 * The journals of these leads. The store lists journals only all at once, one lead at a time: this
 * reads through all of them (a per-lead read in AnalyticsStore would make an export O(1)).
 */
async function journalsOf(
  { store }: PrivacyDeps,
  leadIds: Set<string>,
): Promise<Map<string, JournalEntry['event'][]>> {
  const found = new Map<string, JournalEntry['event'][]>();
  for await (const { lead, events } of store.journal()) {
    if (leadIds.has(lead.leadId)) found.set(lead.leadId, events);
  }
  return found;
}
