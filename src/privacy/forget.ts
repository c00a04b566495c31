/**
 * Erasure (GDPR art. 17): a person's leads leave Temporal, the outbox and the analytics store, and
 * their addresses go on their tenant's suppression list (by hash, reason `erased`), so a later capture
 * or import of the same address is never mailed. Idempotent: a second call, or a person leadcycle
 * never saw, finds nothing and succeeds.
 *
 * The order matters. States are read first (an external-id lead's address is only in its profile),
 * then the addresses suppressed (a retry after a failure further on still knows them), then the
 * executions deleted, the running one first (its deletion terminates it: no new activity starts),
 * then the records. An activity attempt already
 * running when its workflow is terminated can still write its record after the deletion; forgetting
 * again removes it.
 */
import { type LeadRef, leadIds } from '../client/lead-key.js';
import { type PrivacyDeps, personOf } from './person.js';
import { deleteRuns, runsOf } from './runs.js';

export interface ForgottenLead {
  /** The lead's id (its workflow id): not personal. */
  leadId: string;
  /** Whether a running workflow was terminated. */
  terminated: boolean;
  /** Executions deleted from Temporal (every run, continued-as-new ones included). */
  runsDeleted: number;
  outboxRecordsRemoved: number;
  /** Stage changes, journal entries and consent changes removed from the analytics store. */
  analyticsRowsRemoved: number;
}

export interface ForgetReport {
  leads: ForgottenLead[];
  /** Addresses put on a suppression list now (one already there counts 0). */
  addressesSuppressed: number;
}

/** Forgets the person of `ref`, with `others` (more refs of the same person) and every merged record. */
export async function forgetPerson(
  deps: PrivacyDeps,
  ref: LeadRef,
  others: LeadRef[] = [],
): Promise<ForgetReport> {
  const { temporal, store, outbox } = deps;
  const now = deps.now ?? Date.now;
  const ids = deps.leadIds ?? leadIds();
  const person = await personOf(temporal, [ref, ...others], ids);

  let addressesSuppressed = 0;
  for (const lead of person) {
    for (const address of lead.addresses) {
      const { recorded } = await store.suppress({
        tenant: lead.tenant,
        addressHash: ids.addressHash(lead.tenant, address),
        reason: 'erased',
        at: now(),
      });
      if (recorded) addressesSuppressed += 1;
    }
  }

  const leads: ForgottenLead[] = [];
  for (const { leadId, leadKey } of person) {
    const { terminated, runsDeleted } = await deleteExecutions(deps, leadId);
    const { removed: outboxRecordsRemoved } = await outbox.forget(leadKey);
    const { removed: analyticsRowsRemoved } = await store.forgetLead(leadId);
    leads.push({ leadId, terminated, runsDeleted, outboxRecordsRemoved, analyticsRowsRemoved });
  }
  return { leads, addressesSuppressed };
}

/**
 * Deletes every run of the lead, the running one first (its deletion terminates it). A second pass
 * catches a run that started meanwhile (a continue-as-new just before the deletion).
 */
async function deleteExecutions(
  { temporal }: PrivacyDeps,
  leadId: string,
): Promise<{ terminated: boolean; runsDeleted: number }> {
  const deleted = new Set<string>();
  let terminated = false;
  for (let pass = 0; pass < 2; pass++) {
    const runs = (await runsOf(temporal, leadId)).filter((r) => !deleted.has(r.runId));
    if (runs.length === 0) break;
    const running = runs.filter((r) => r.status === 'RUNNING');
    terminated ||= running.length > 0;
    const ordered = [...running, ...runs.filter((r) => r.status !== 'RUNNING')];
    for (const runId of await deleteRuns(
      temporal,
      leadId,
      ordered.map((r) => r.runId),
    ))
      deleted.add(runId);
  }
  return { terminated, runsDeleted: deleted.size };
}
