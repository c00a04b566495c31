import { describe, expect, it } from 'vitest';
import { createLeadCycle, DAY_MS, LeadDriver } from '../../src/machines/index.js';
import { FIT, T0 } from '../support/lead.js';

/**
 * A config version reaching a running lead (docs/domain.md, "Nurture rules" and the MQL threshold):
 * the driver carries the same lead on under the new config, and the new config looks at it at once.
 */
const item = (i: number) => ({
  id: `guide-${i}`,
  title: `Guide ${i}`,
  url: `https://example.com/guide-${i}`,
});
const AT_40 = { points: { content_download: 40 }, nurtureCadenceDays: 1 };
const ONE_ITEM = {
  ...AT_40,
  content: { discovery: [item(1)], evaluation: [], decision: [], newsletter: [] },
};

function capturedUnder(config: object) {
  const driver = LeadDriver.start(
    createLeadCycle(config),
    { leadKey: 'test:ada@acme.example', at: T0 },
    { id: 'lead-1', atDeadlines: true, journal: true },
  );
  driver.offer({ type: 'form.submitted', form: 'content_download', consent: true, profile: FIT, at: T0 + 1 });
  return driver;
}

describe('config versions', () => {
  it('a lowered MQL threshold rolled out to a lead at 40 makes it an MQL at once, handed to sales', () => {
    const driver = capturedUnder(AT_40);
    expect([driver.state.value.lifecycle, driver.state.context.score]).toEqual(['lead', 40]);
    const journaled = driver.journal.length;
    const pending = driver.pending.length;

    const refused = driver.reconfigure(createLeadCycle({ ...AT_40, mqlThreshold: 30 }), 2, T0 + 2);
    expect(refused).toBeNull();
    expect(driver.state.value.lifecycle).toBe('mql');
    expect(driver.cycle.config.mqlThreshold).toBe(30);
    // The same lead carries on: its queue grows by the handoff, its journal is the journal it had.
    expect(driver.pending.slice(pending).map((p) => p.effect.type)).toContain('sales.handoff');
    expect(driver.journal.length).toBe(journaled);
  });

  it('a lead that used up its family gets the item a new config adds to the catalog', () => {
    const driver = capturedUnder(ONE_ITEM);
    driver.feedDue(T0 + 2 * DAY_MS);
    expect(driver.state.context.nurture.sentIds).toEqual(['guide-1']);
    expect(driver.nextDeadline()?.event).not.toBe('tick.nurture');

    const more = { ...ONE_ITEM, content: { ...ONE_ITEM.content, discovery: [item(1), item(2)] } };
    driver.reconfigure(createLeadCycle(more), 2, T0 + 3 * DAY_MS);
    // The cadence has passed: the new item is due now.
    expect(driver.nextDeadline()).toMatchObject({ event: 'tick.nurture' });
    driver.feedDue(T0 + 3 * DAY_MS);
    expect(driver.state.context.nurture.sentIds).toEqual(['guide-1', 'guide-2']);
  });
});
