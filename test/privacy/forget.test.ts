import { WorkflowNotFoundError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { addressHash } from '../../src/analytics/index.js';
import { LeadClient } from '../../src/client/index.js';
import { exportPerson, forgetPerson, runsOf } from '../../src/privacy/index.js';
import { unique } from '../api/support.js';
import { devServerLeads, eventually } from '../support/workflow.js';
import { outboxText, privacyDeps, SMALL_RUNS, seedLead } from './support.js';

const t = devServerLeads(SMALL_RUNS);

describe('forgetting and exporting a person', () => {
  it('exports everything held on a lead, then forgets every run and record of it', async () => {
    const deps = privacyDeps(t.h);
    const ref = { tenant: unique(), email: 'grace@acme.example' };
    try {
      const { leadKey, workflowId } = await seedLead(t.h, ref);
      const exported = await exportPerson(deps, ref);
      expect(exported.leads).toHaveLength(1);
      const [lead] = exported.leads;
      expect(lead).toMatchObject({ leadId: workflowId, leadKey, state: { stage: 'mql' } });
      expect(lead?.state?.state.context.profile.email).toBe(ref.email);
      expect(lead?.stageChanges.map((c) => c.to)).toEqual(['visitor', 'lead', 'mql']);
      expect(lead?.consentChanges.map((c) => [c.consent, c.source])).toEqual([['granted', 'form']]);
      expect(lead?.journal.map((e) => e.type)).toContain('form.submitted');
      expect(lead?.outbox.map((r) => r.kind)).toEqual(expect.arrayContaining(['email', 'crm']));
      // The email the outbox holds, as the email report counts it: by lead id and item, no address.
      expect(lead?.emailOutcomes.map((o) => [o.leadId, o.outcome])).toEqual([[workflowId, 'sent']]);
      expect(exported.suppressions).toEqual([]);
      const runs = lead?.runs ?? [];
      expect(runs.filter((r) => r.status === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(1);

      const report = await forgetPerson(deps, ref);
      expect(report.addressesSuppressed).toBe(1);
      expect(report.leads).toEqual([
        {
          leadId: workflowId,
          terminated: true,
          runsDeleted: expect.any(Number),
          outboxRecordsRemoved: lead?.outbox.length,
          analyticsRowsRemoved: expect.any(Number),
        },
      ]);
      expect(report.leads[0]?.runsDeleted).toBeGreaterThanOrEqual(runs.length);

      // Temporal: no run is left, running or closed. Temporal deletes in the background: a closed
      // run goes once its close tasks are done (about half a minute on the dev server).
      const temporal = t.h.client.temporal;
      expect((await runsOf(temporal, workflowId)).filter((r) => r.status === 'RUNNING')).toEqual([]);
      await eventually(async () => expect(await runsOf(temporal, workflowId)).toEqual([]), 120_000);
      await expect(temporal.workflow.getHandle(workflowId).describe()).rejects.toThrow(WorkflowNotFoundError);

      // The analytics store and the outbox hold nothing of the lead; the address is suppressed.
      expect(await deps.store.stageChanges({ leadId: workflowId })).toEqual([]);
      expect(await deps.store.consentChanges(workflowId)).toEqual([]);
      expect(await deps.store.emailOutcomes({ leadId: workflowId })).toEqual([]);
      for await (const { lead: journaled } of deps.store.journal())
        expect(journaled.leadId).not.toBe(workflowId);
      expect(await readOutbox(t.h.dataDir, { leadKey })).toEqual([]);
      const text = await outboxText(t.h);
      expect(text).not.toContain(ref.email);
      expect(text).not.toContain(leadKey);
      expect(await deps.store.suppression(ref.tenant, addressHash(ref.tenant, ref.email))).toMatchObject({
        reason: 'erased',
      });

      // Twice is fine, and finds nothing; the export says only the suppression is left.
      expect(await forgetPerson(deps, ref)).toEqual({
        addressesSuppressed: 0,
        leads: [
          {
            leadId: workflowId,
            terminated: false,
            runsDeleted: expect.any(Number), // runs the dev server still keeps are deleted again
            outboxRecordsRemoved: 0,
            analyticsRowsRemoved: 0,
          },
        ],
      });
      const after = await exportPerson(deps, ref);
      expect(after.leads).toEqual([
        {
          leadId: workflowId,
          leadKey,
          state: null,
          runs: expect.any(Array),
          stageChanges: [],
          consentChanges: [],
          emailOutcomes: [],
          journal: [],
          outbox: [],
          deadLetters: [],
        },
      ]);
      expect(after.suppressions).toMatchObject([{ address: ref.email, reason: 'erased' }]);

      // The same address captured again, opted in: its first nurture email is suppressed, not sent.
      await t.h.client.capture(ref, {
        type: 'form.submitted',
        form: 'content_download',
        consent: true,
        profile: { email: ref.email, companySize: 250, sector: 'software', jobFunction: 'it' },
      });
      const records = await eventually(async () => {
        const again = await readOutbox(t.h.dataDir, { leadKey });
        expect(again.map((r) => r.kind)).toContain('email.skipped');
        return again;
      });
      expect(records.filter((r) => r.kind === 'email')).toEqual([]);
      expect(records.find((r) => r.kind === 'email.skipped')?.payload).toMatchObject({ reason: 'erased' });
    } finally {
      await deps.close();
    }
  }, 180_000);

  it('forgets a person leadcycle never saw: nothing to delete, the address suppressed', async () => {
    const deps = privacyDeps(t.h);
    const ref = { tenant: unique(), email: 'nobody@acme.example' };
    try {
      const report = await forgetPerson(deps, ref);
      expect(report).toEqual({
        addressesSuppressed: 1,
        leads: [
          {
            leadId: LeadClient.keyOf(ref).workflowId,
            terminated: false,
            runsDeleted: 0,
            outboxRecordsRemoved: 0,
            analyticsRowsRemoved: 0,
          },
        ],
      });
      // An external id names no address: nothing to suppress.
      expect(
        (await forgetPerson(deps, { tenant: ref.tenant, externalId: 'crm-0' })).addressesSuppressed,
      ).toBe(0);
    } finally {
      await deps.close();
    }
  });

  it('follows merges: forgetting the CRM record forgets the survivor too, and suppresses both addresses', async () => {
    const deps = privacyDeps(t.h);
    const tenant = unique();
    const byEmail = { tenant, email: 'hedy@acme.example' };
    const byCrm = { tenant, externalId: 'crm-4242' };
    try {
      await seedLead(t.h, byEmail);
      await t.h.run(async () => {
        await t.h.client.capture(byCrm, {
          type: 'profile.updated',
          profile: { email: 'hedy.work@acme.example' },
        });
        await t.h.client.merge(byEmail, byCrm);
      });
      const exported = await exportPerson(deps, byCrm);
      expect(exported.leads.map((l) => l.leadKey).sort()).toEqual(
        [LeadClient.keyOf(byEmail).leadKey, LeadClient.keyOf(byCrm).leadKey].sort(),
      );

      const report = await forgetPerson(deps, byCrm);
      expect(report.leads).toHaveLength(2);
      expect(report.addressesSuppressed).toBe(2);
      for (const address of ['hedy@acme.example', 'hedy.work@acme.example']) {
        expect(await deps.store.suppression(tenant, addressHash(tenant, address))).toMatchObject({
          reason: 'erased',
        });
      }
      const text = await outboxText(t.h);
      expect(text).not.toContain('hedy');
      for (const lead of report.leads) {
        expect(
          (await runsOf(t.h.client.temporal, lead.leadId)).filter((r) => r.status === 'RUNNING'),
        ).toEqual([]);
      }
    } finally {
      await deps.close();
    }
  });
});
