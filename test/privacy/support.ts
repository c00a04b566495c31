/** A lead with something in every store: outbox records, stage changes, a journal, several runs. */
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { Outbox, readOutbox } from '../../src/activities/index.js';
import { openAnalyticsStore } from '../../src/analytics/index.js';
import { LeadClient, type LeadRef } from '../../src/client/index.js';
import type { PrivacyDeps } from '../../src/privacy/index.js';
import { runsOf } from '../../src/privacy/index.js';
import { FIT } from '../support/lead.js';
import { eventually, type LeadHarness } from '../support/workflow.js';

/** Continue-as-new every few updates, so a short journey makes several runs. */
export const SMALL_RUNS = { continueAsNewAt: { historyLength: 40, updates: 3 } } as const;

export function privacyDeps(h: LeadHarness): PrivacyDeps & { close(): Promise<void> } {
  const store = openAnalyticsStore(h.dataDir);
  // Another outbox than the worker's, as the API's or the CLI's would be.
  const outbox = new Outbox(h.dataDir);
  return {
    temporal: h.client.temporal,
    store,
    outbox,
    close: async () => {
      await outbox.close();
      await store.close();
    },
  };
}

/** Captures `email`'s lead and drives it to MQL; resolves once every effect is recorded. */
export async function seedLead(h: LeadHarness, ref: LeadRef & { email: string }) {
  const { leadKey, workflowId } = LeadClient.keyOf(ref);
  await h.run(async () => {
    await h.client.capture(ref, {
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { ...FIT, email: ref.email },
    });
    for (let i = 0; i < 4; i++) await h.client.send(ref, { type: 'engagement', kind: 'email_open' });
    await h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
    const view = await h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
    expect(view.stage).toBe('mql');
  });
  const store = openAnalyticsStore(h.dataDir);
  try {
    await eventually(async () => {
      const kinds = (await readOutbox(h.dataDir, { leadKey })).map((r) => r.kind);
      expect(kinds).toContain('email');
      expect(kinds).toContain('crm');
      expect((await store.stageChanges({ leadId: workflowId })).map((c) => c.to)).toEqual([
        'visitor',
        'lead',
        'mql',
      ]);
      expect((await runsOf(h.client.temporal, workflowId)).length).toBeGreaterThanOrEqual(2);
    });
  } finally {
    await store.close();
  }
  return { leadKey, workflowId };
}

/** What the data dir's outbox file says, raw: an erased person's address or key must not be in it. */
export const outboxText = (h: LeadHarness) => readFile(new Outbox(h.dataDir).file, 'utf8');
