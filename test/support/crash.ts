/**
 * The crash tests' shared lead burst and checks (test/reliability/worker-crash.test.ts,
 * test/cluster/cluster.test.ts): every lead equals the pure machine, and no effect happened twice.
 */
import { expect } from 'vitest';
import type { OutboxRecord } from '../../src/activities/index.js';
import type { StageChangeRow } from '../../src/analytics/index.js';
import type { LeadClient } from '../../src/client/index.js';
import { workflowIdOf } from '../../src/client/lead-key.js';
import { createLeadCycle, type LeadCommandInput, type LeadEvent } from '../../src/machines/index.js';
import { BANT_COMPLETE, FIT } from './lead.js';

// Three commands a lead: to MQL (a CRM handoff and a nurture email on the way), then BANT.
export const burst = (email: string): LeadCommandInput[] => [
  { type: 'form.submitted', form: 'demo_request', consent: true, profile: { ...FIT, email } },
  { type: 'engagement', kind: 'quote_request' },
  { type: 'bant.updated', bant: BANT_COMPLETE },
];

export type LeadView = Awaited<ReturnType<LeadClient['get']>>;

/** Every view equals what the pure machine gives for the burst. */
export function expectPureMachine(views: LeadView[]): void {
  const cycle = createLeadCycle();
  let pure = cycle.start({ leadKey: 'expected', at: 0 }).snapshot;
  for (const command of burst(FIT.email)) {
    const d = cycle.apply(pure, { ...command, at: 1 } as LeadEvent);
    if (!d.ok) throw new Error(d.rejection.message);
    pure = d.snapshot;
  }
  for (const view of views) {
    expect({
      stage: view.stage,
      consent: view.consent,
      owner: view.owner,
      temperature: view.temperature,
    }).toEqual({
      stage: pure.value.lifecycle,
      consent: pure.value.consent,
      owner: pure.context.sales.owner,
      temperature: pure.context.temperature,
    });
  }
}

/** Effects: each stage change recorded once, each handoff and each nurture item delivered once. */
export function expectEffectsOnce(
  views: LeadView[],
  changes: StageChangeRow[],
  outbox: OutboxRecord[],
): void {
  for (const view of views) {
    const mine = changes.filter((c) => c.leadId === workflowIdOf(view.leadKey)).map((c) => c.to);
    expect(mine).toEqual(['visitor', 'lead', 'mql']);
    const handoffs = outbox.filter((r) => r.leadKey === view.leadKey && r.kind === 'crm');
    expect(handoffs).toHaveLength(1);
    const items = outbox
      .filter((r) => r.leadKey === view.leadKey && r.kind === 'email')
      .map((r) => (r.payload as { content: { item: { id: string } } }).content.item.id);
    expect(new Set(items).size).toBe(items.length);
  }
  expect(new Set(outbox.map((r) => r.key)).size).toBe(outbox.length);
  expect(new Set(changes.map((c) => c.key)).size).toBe(changes.length);
}
