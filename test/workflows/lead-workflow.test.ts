import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { openAnalyticsStore, readStageChanges } from '../../src/analytics/index.js';
import {
  LeadClient,
  LeadCommandRejectedError,
  LeadNotFoundError,
  LeadValidationError,
} from '../../src/client/index.js';
import { commandUpdate, FAILURE, factSignal, stateQuery } from '../../src/workflows/messages.js';
import { recordHistories } from '../support/histories.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { devServerLeads, eventually, leadHarness } from '../support/workflow.js';

/** Lead workflows on the real dev server, with real activities: no mocks of Temporal. */
const t = devServerLeads();

const unique = () => `t${Date.now()}${Math.floor(Math.random() * 1e6)}`;
const form = (email: string, kind: 'demo_request' | 'content_download' = 'demo_request') =>
  ({ type: 'form.submitted', form: kind, consent: true, profile: { ...FIT, email } }) as const;

describe('lead workflow on the dev server', () => {
  it('the same form submitted twice, with the email in another case, yields one lead', async () => {
    const tenant = unique();
    await t.h.run(async () => {
      const first = await t.h.client.capture(
        { tenant, email: 'Ada@Acme.example' },
        form('Ada@Acme.example', 'content_download'),
      );
      const second = await t.h.client.capture(
        { tenant, email: '  ada@acme.EXAMPLE ' },
        form('ada@acme.example', 'content_download'),
      );
      expect(first.leadKey).toBe(second.leadKey);
      expect(second.state.context.profile.email).toBe('ada@acme.example');
      expect(second.stage).toBe('lead');
      const { workflowId } = LeadClient.keyOf({ tenant, email: 'ada@acme.example' });
      const runs = await t.env.client.workflow.count(`WorkflowId = '${workflowId}'`);
      expect(runs.count).toBe(1);
    });
  });

  it('drives a lead to customer and carries out every effect once', async () => {
    const ref = { tenant: unique(), email: 'grace@acme.example' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, form(ref.email));
      await t.h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      const mql = await t.h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      expect(mql.stage).toBe('mql');
      await t.h.client.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
      const sql = await t.h.client.send(ref, { type: 'sales.accepted', owner: 'rep-9' });
      expect(sql).toMatchObject({ stage: 'sql', owner: 'rep-9', temperature: 'hot' });
      await t.h.client.send(ref, { type: 'proposal.sent', amount: 10_000 });
      const customer = await t.h.client.send(ref, { type: 'deal.won', amount: 10_000 });
      expect(customer.stage).toBe('customer');

      const { leadKey, workflowId } = LeadClient.keyOf(ref);
      const changes = await eventually(async () => {
        const list = (await readStageChanges(t.h.dataDir)).filter((c) => c.leadId === workflowId);
        expect(list.map((c) => c.to)).toEqual(['visitor', 'lead', 'mql', 'sql', 'opportunity', 'customer']);
        return list;
      });
      expect(new Set(changes.map((c) => c.key)).size).toBe(changes.length);
      expect(changes.at(-1)).toMatchObject({ to: 'customer', cause: 'deal.won', amount: 10_000 });
      // The owner sales accepted it with, on every change since (the SLA per owner reads the SQL's).
      expect(changes.map((c) => c.owner ?? null)).toEqual([null, null, null, 'rep-9', 'rep-9', 'rep-9']);
      expect(changes[3]).toMatchObject({ from: 'mql', to: 'sql', cause: 'sales.accepted', owner: 'rep-9' });

      // The journal (what backtests replay): every accepted command, in order, without personal data.
      const journal = await eventually(async () => {
        const found = (await readJournal(t.h.dataDir)).find((j) => j.lead.leadId === workflowId);
        expect(found?.events.at(-1)?.type).toBe('deal.won');
        return found;
      });
      expect(journal?.events.map((e) => e.type)).toEqual([
        'form.submitted',
        'engagement',
        'engagement',
        'bant.updated',
        'sales.accepted',
        'proposal.sent',
        'deal.won',
      ]);
      expect(JSON.stringify(journal)).not.toContain('grace@acme.example');
      expect(journal?.lead.createdAt).toBe(changes[0]?.at);
      const handoffs = (await readOutbox(t.h.dataDir, { kind: 'crm', leadKey })).filter(
        (r) => r.leadKey === leadKey,
      );
      expect(handoffs).toHaveLength(1);
      const emails = await readOutbox(t.h.dataDir, { kind: 'email', leadKey });
      expect(emails.length).toBeGreaterThanOrEqual(1); // the first nurture goes out on capture
      await recordHistories(t.env.client, LeadClient.keyOf(ref).workflowId, 'lead-to-customer');
    });
  });

  it('an illegal command is refused with the machine reason and leaves no trace in history', async () => {
    const ref = { tenant: unique(), email: 'linus@acme.example' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, form(ref.email, 'content_download'));
      const { workflowId } = LeadClient.keyOf(ref);
      const error = await t.h.client.send(ref, { type: 'deal.won' }).catch((e) => e);
      expect(error).toBeInstanceOf(LeadCommandRejectedError);
      expect(error.rejection).toMatchObject({
        code: 'not_allowed_in_stage',
        stage: 'lead',
        event: 'deal.won',
        message: expect.stringMatching(/^deal\.won is not allowed in stage lead \(engagement score /),
      });
      const history = await t.env.client.workflow.getHandle(workflowId).fetchHistory();
      const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
      expect(updates).toHaveLength(1); // only the capture: the refused update never reached history
      await recordHistories(t.env.client, workflowId, 'refused-command');
    });
  });

  it("passes the lead's email cap to the email activity, to be checked again on real send times", async () => {
    const ref = { tenant: unique(), email: 'cap@acme.example' };
    const capped = new LeadClient(t.env.client, {
      taskQueue: t.h.taskQueue,
      config: { emailCap: { max: 2, windowDays: 10 } },
    });
    await t.h.run(async () => {
      await capped.capture(ref, form(ref.email));
      const { workflowId } = LeadClient.keyOf(ref);
      const scheduled = await eventually(async () => {
        const history = await t.env.client.workflow.getHandle(workflowId).fetchHistory();
        const found = (history.events ?? [])
          .map((e) => e.activityTaskScheduledEventAttributes)
          .find((a) => a?.activityType?.name === 'sendContent');
        expect(found).toBeDefined();
        return found;
      });
      const [input] = (scheduled?.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p));
      expect(input).toMatchObject({ to: { email: ref.email }, emailCap: { max: 2, windowDays: 10 } });
    });
  });

  it('a BANT-incomplete acceptance names the missing criteria', async () => {
    const ref = { tenant: unique(), email: 'barbara@acme.example' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, form(ref.email));
      await t.h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      await t.h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      await t.h.client.send(ref, { type: 'bant.updated', bant: { need: true, authority: true } });
      const error = await t.h.client.send(ref, { type: 'sales.accepted', owner: 'rep-1' }).catch((e) => e);
      expect(error).toBeInstanceOf(LeadCommandRejectedError);
      expect(error.message).toBe('sql needs BANT complete: budget and timeline missing');
      expect((await t.h.client.get(ref)).stage).toBe('mql');
    });
  });

  it('bad input is refused with the field path, before Temporal and inside the workflow', async () => {
    const ref = { tenant: unique(), email: 'ken@acme.example' };
    await t.h.run(async () => {
      const clientSide = await t.h.client
        .capture(ref, { type: 'form.submitted', form: 'demo_request', profile: { email: 'not-an-email' } })
        .catch((e) => e);
      expect(clientSide).toBeInstanceOf(LeadValidationError);
      expect(clientSide.issues[0].path).toEqual(['profile', 'email']);

      await t.h.client.capture(ref, form(ref.email, 'content_download'));
      // Bypassing the typed client: the workflow's validator checks the same schema.
      const { workflowId } = LeadClient.keyOf(ref);
      const raw = await t.env.client.workflow
        .getHandle(workflowId)
        .executeUpdate(commandUpdate, { args: [{ type: 'engagement', kind: 'telepathy' } as never] })
        .catch((e) => e);
      expect(raw.cause.type).toBe(FAILURE.invalidCommand);
      expect(raw.cause.message).toMatch(/^kind: /);
      expect((await t.h.client.get(ref)).stage).toBe('lead');
    });
  });

  it('an unknown lead is a typed not-found error', async () => {
    await t.h.run(async () => {
      const error = await t.h.client.get({ tenant: unique(), email: 'nobody@acme.example' }).catch((e) => e);
      expect(error).toBeInstanceOf(LeadNotFoundError);
    });
  });

  it('facts arrive as signals and search attributes let operators find leads by stage', async () => {
    const ref = { tenant: unique(), email: 'margaret@acme.example' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, form(ref.email));
      await t.h.client.track(ref, { type: 'engagement', kind: 'webinar_attended' });
      await t.h.client.track(ref, { type: 'engagement', kind: 'pricing_page' });
      const view = await eventually(async () => {
        const v = await t.h.client.get(ref);
        expect(v.stage).toBe('mql');
        return v;
      });
      expect(view.next.map((d) => d.event)).toContain('sla.expired');
      const { workflowId } = LeadClient.keyOf(ref);
      await eventually(async () => {
        const found = await t.h.client.list({ stage: 'mql', temperature: 'cold' });
        expect(found.map((l) => l.workflowId)).toContain(workflowId);
      });
      const description = await t.env.client.workflow.getHandle(workflowId).describe();
      // Plain in the UI (the codec leaves operator texts readable): the command, never the person.
      expect(await description.staticSummary()).toBe('Lead · started by form.submitted (demo_request)');
      // Workflow ids and search attributes are not encrypted: no email in them.
      expect(workflowId).not.toContain('margaret');
      expect(JSON.stringify(description.raw.workflowExecutionInfo?.searchAttributes)).not.toContain(
        'margaret',
      );
      await recordHistories(t.env.client, workflowId, 'signals-and-search-attributes');
    });
  });

  it('a fact takes campaign labels as marketers write them, any script and punctuation; an address still refused', async () => {
    const ref = { tenant: unique(), email: 'ines@acme.example' };
    const campaign = 'Café Launch (EMEA) – Q3';
    await t.h.run(async () => {
      await t.h.client.capture(ref, form(ref.email));
      const { workflowId } = LeadClient.keyOf(ref);
      const handle = t.env.client.workflow.getHandle(workflowId);
      // Sent as a raw signal, as an app on Temporal's own client would: the workflow parses it.
      await handle.signal(factSignal, {
        type: 'visit',
        channel: 'web',
        page: '/pricing',
        touch: { campaign: 'Cafe\u0301 Launch (EMEA) – Q3', source: 'Partners & Resellers' },
      });
      await handle.signal(factSignal, {
        type: 'visit',
        channel: 'web',
        touch: { campaign: 'ines@acme.example' },
      });
      const view = await eventually(async () => {
        const v = await t.h.client.get(ref);
        expect(v.touches?.last).toEqual({ channel: 'web', campaign, source: 'Partners & Resellers' });
        return v;
      });
      // The capture had no touch, so the visit's is the first too; the address was no label.
      expect(view.touches?.first).toEqual(view.touches?.last);
      await expect(
        t.h.client.track(ref, { type: 'visit', channel: 'web', touch: { campaign: '=HYPERLINK("x")' } }),
      ).rejects.toThrow(/touch\.campaign/);
      await t.h.client.track(ref, { type: 'visit', channel: 'web', touch: { campaign: '日本 展示会 2026' } });
      await eventually(async () => {
        expect((await t.h.client.get(ref)).touches?.last.campaign).toBe('日本 展示会 2026');
      });
      await recordHistories(t.env.client, workflowId, 'wide-label-fact');
    });
  });

  it('LeadOwner names an owner by id only: a name or an address given as the owner is published as sales', async () => {
    const owners = ['rep-7', 'Sam Example', 'sam@acme.example'];
    const refs = owners.map((_, i) => ({ tenant: unique(), email: `owner-${i}@acme.example` }));
    await t.h.run(async () => {
      for (const [i, ref] of refs.entries()) {
        await t.h.client.capture(ref, form(ref.email));
        await t.h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
        await t.h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
        await t.h.client.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
        const sql = await t.h.client.send(ref, { type: 'sales.accepted', owner: owners[i] as string });
        // The lead's own (encrypted) state keeps the owner as sales gave it.
        expect(sql).toMatchObject({ stage: 'sql', owner: owners[i] });
      }
      const ids = refs.map((ref) => LeadClient.keyOf(ref).workflowId);
      const listed = await eventually(async () => {
        const found = (await t.h.client.list({ stage: 'sql', limit: 1000 })).filter((l) =>
          ids.includes(l.workflowId),
        );
        expect(found).toHaveLength(3);
        return found;
      });
      const ownerOf = (id: string) => listed.find((l) => l.workflowId === id)?.owner;
      expect(ids.map(ownerOf)).toEqual(['rep-7', 'sales', 'sales']);
      for (const id of ids) {
        const info = (await t.env.client.workflow.getHandle(id).describe()).raw.workflowExecutionInfo;
        expect(JSON.stringify(info?.searchAttributes)).not.toMatch(/Sam|sam@/);
      }
    });
  });

  it('continues as new well before the history limits, carrying the lead and its effects', async () => {
    const small = await leadHarness(t.env, { continueAsNewAt: { historyLength: 40, updates: 5 } });
    const ref = { tenant: unique(), email: 'frances@acme.example' };
    try {
      await small.run(async () => {
        await small.client.capture(ref, form(ref.email, 'content_download'));
        for (let i = 0; i < 12; i++) await small.client.send(ref, { type: 'engagement', kind: 'email_open' });
        for (let i = 0; i < 30; i++) await small.client.track(ref, { type: 'visit', channel: 'web' });
        const view = await eventually(async () => {
          const v = await small.client.get(ref);
          expect(v.score).toBe(5 + 12 + 30);
          return v;
        });
        expect(view.stage).toBe('lead');

        const { workflowId } = LeadClient.keyOf(ref);
        const runs = [];
        for await (const run of t.env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
          runs.push(run);
        // Visibility lags: the newest run may not be listed yet.
        expect(runs.filter((r) => r.status.name === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(2);
        expect(runs.every((r) => ['CONTINUED_AS_NEW', 'RUNNING'].includes(r.status.name))).toBe(true);
        // A run passes its 40 by what one workflow task adds (a burst of signals, the markers of its patches).
        for (const run of runs) expect(run.historyLength).toBeLessThan(100);
        // The rules the lead was started under ride along: no run asks a patch (no marker, no upsert).
        for (const run of runs) {
          const { events } = await t.env.client.workflow.getHandle(workflowId, run.runId).fetchHistory();
          expect((events ?? []).map((e) => e.markerRecordedEventAttributes?.markerName)).not.toContain(
            'core_patch',
          );
        }

        const changes = (await readStageChanges(small.dataDir)).filter((c) => c.leadId === workflowId);
        expect(changes.map((c) => c.to)).toEqual(['visitor', 'lead']);
        await recordHistories(t.env.client, workflowId, 'continue-as-new');
      });
    } finally {
      await small.close();
    }
  });

  it('merges two records of one person: facts of both kept, the other closed, safe to retry', async () => {
    const tenant = unique();
    const byEmail = { tenant, email: 'hedy@acme.example' };
    const byCrm = { tenant, externalId: 'crm-4242' };
    await t.h.run(async () => {
      await t.h.client.capture(byEmail, form(byEmail.email, 'content_download'));
      await t.h.client.capture(byCrm, {
        type: 'profile.updated',
        profile: { jobTitle: 'Head of IT', annualRevenue: 5e7 },
      });
      await t.h.client.send(byCrm, { type: 'engagement', kind: 'webinar_attended' });
      await t.h.client.send(byCrm, { type: 'consent.unsubscribed', doNotContact: false });

      const merged = await t.h.client.merge(byEmail, byCrm);
      expect(merged.state.context.profile).toMatchObject({
        email: 'hedy@acme.example',
        jobTitle: 'Head of IT',
      });
      expect(merged.consent).toBe('withdrawn'); // the CRM record's unsubscribe carries over
      const score = merged.score;
      expect(score).toBe(5 + 15); // content download on one record, webinar on the other

      const again = await t.h.client.merge(byEmail, byCrm);
      expect(again.score).toBe(score);
      expect((await t.h.client.get(byCrm)).stage).toBe('merged');
      expect((await t.h.client.get(byCrm)).state.context.mergedInto).toBe(LeadClient.keyOf(byEmail).leadKey);
    });
  });

  it('the state query answers without a worker-side change', async () => {
    const ref = { tenant: unique(), email: 'edsger@acme.example' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, form(ref.email, 'content_download'));
      const { workflowId } = LeadClient.keyOf(ref);
      const view = await t.env.client.workflow.getHandle(workflowId).query(stateQuery);
      expect(view).toMatchObject({ stage: 'lead', consent: 'granted', persona: 'it-decision-maker' });
    });
  });
});

async function readJournal(dataDir: string) {
  const store = openAnalyticsStore(dataDir);
  try {
    const leads = [];
    for await (const lead of store.journal()) leads.push(lead);
    return leads;
  } finally {
    await store.close();
  }
}
