import { describe, expect, it } from 'vitest';
import { createLeadCycle, DAY_MS, LATEST_RULES, MONTH_MS } from '../../src/machines/index.js';
import { mqlLead, opportunityLead, sqlLead } from '../support/lead.js';

/** Time ages BANT and temperature (docs/domain.md: "Temperature"): one test per rule, named after it. */

const staleReminders = (lead: ReturnType<typeof sqlLead>) =>
  lead.effects.filter((e) => e.type === 'sales.stale_reminder');

describe('time ages BANT and temperature', () => {
  it('a BANT timeline counts from when it was given: once passed, it no longer validates BANT', () => {
    const lead = mqlLead();
    lead.send({
      type: 'bant.updated',
      bant: { budget: true, authority: true, need: true, timelineMonths: 2 },
    });
    expect(lead.context.aging?.timelineGivenAt).toBe(lead.now);
    expect(lead.context.temperature).toBe('hot');
    lead.advance(3 * MONTH_MS + DAY_MS);
    const rejection = lead.send({ type: 'sales.accepted', owner: 'rep-7' });
    expect(rejection?.guard).toBe('bantComplete');
    expect(rejection?.message).toMatch(/timeline missing \(the 2-month timeline passed on /);
  });

  it('a timeline further out than the maximum becomes short-term as it comes closer', () => {
    const lead = mqlLead({ coolAfterSilentDays: 3650, salesSlaHours: 24 * 3650 });
    lead.send({
      type: 'bant.updated',
      bant: { budget: true, authority: true, need: true, timelineMonths: 9 },
    });
    expect(lead.context.temperature).toBe('cold');
    lead.runTimersUntil(lead.now + 3 * MONTH_MS + DAY_MS);
    expect(lead.context.temperature).toBe('hot');
  });

  it('temperature turns cold when the timeline has passed, at that moment (tick.cool)', () => {
    const lead = sqlLead({ coolAfterSilentDays: 3650, staleAfterDays: 3650 });
    expect(lead.context.temperature).toBe('hot');
    const given = lead.context.aging?.timelineGivenAt ?? 0;
    const next = lead.cycle.deadlines(lead.cycle.stateOf(lead.snapshot)).find((d) => d.event === 'tick.cool');
    expect(next?.at).toBe(given + 4 * MONTH_MS); // a 3-month timeline passes when its 4th month begins
    lead.runTimersUntil(given + 4 * MONTH_MS - 1);
    expect(lead.context.temperature).toBe('hot');
    lead.runTimersUntil(given + 4 * MONTH_MS);
    expect(lead.context.temperature).toBe('cold');
  });

  it('temperature turns cold after coolAfterSilentDays without engagement or sales activity', () => {
    const lead = sqlLead({ coolAfterSilentDays: 20, staleAfterDays: 3650 });
    lead.runTimersUntil(lead.now + 19 * DAY_MS);
    expect(lead.context.temperature).toBe('hot');
    lead.runTimersUntil(lead.now + 2 * DAY_MS);
    expect(lead.context.temperature).toBe('cold');
    // A new engagement warms it again: the silence is over.
    lead.send({ type: 'engagement', kind: 'pricing_page' });
    expect(lead.context.temperature).toBe('hot');
  });

  it('a recycled or lost lead is cold', () => {
    const recycled = sqlLead();
    recycled.send({ type: 'sales.rejected', reason: 'bad_timing' });
    expect(recycled.stage).toBe('recycled');
    expect(recycled.context.temperature).toBe('cold');
    const lost = opportunityLead();
    lost.send({ type: 'deal.lost', reason: 'competitor' });
    expect(lost.stage).toBe('lost');
    expect(lost.context.temperature).toBe('cold');
  });

  it('an SQL with no sales activity for staleAfterDays reminds its owner once and is flagged stale', () => {
    const lead = sqlLead({ staleAfterDays: 14 });
    expect(lead.context.stale).toBe(false);
    lead.runTimersUntil(lead.now + 13 * DAY_MS);
    expect(staleReminders(lead)).toEqual([]);
    lead.runTimersUntil(lead.now + 60 * DAY_MS);
    expect(staleReminders(lead)).toMatchObject([{ owner: 'rep-7', stage: 'sql', quietDays: 14 }]);
    expect(lead.context.stale).toBe(true);
    expect(lead.cycle.view(lead.cycle.stateOf(lead.snapshot)).stale).toBe(true);
    expect(lead.send({ type: 'tick.stale' })?.message).toContain('already stale');
  });

  it('new sales activity clears the stale flag, and the staleness clock starts again', () => {
    const lead = opportunityLead({ staleAfterDays: 14 });
    lead.runTimersUntil(lead.now + 15 * DAY_MS);
    expect(lead.context.stale).toBe(true);
    lead.send({ type: 'bant.updated', bant: { timelineMonths: 1 } });
    expect(lead.context.stale).toBe(false);
    lead.runTimersUntil(lead.now + 15 * DAY_MS);
    expect(staleReminders(lead)).toHaveLength(2);
  });

  it('a stale-timer that fires early is refused, naming the last sales activity', () => {
    const lead = sqlLead();
    expect(lead.send({ type: 'tick.stale' })?.message).toMatch(/needs 14 days without sales activity/);
  });

  it('no stale reminder for a person who asked not to be contacted', () => {
    const lead = sqlLead();
    lead.send({ type: 'consent.unsubscribed', doNotContact: true });
    lead.runTimersUntil(lead.now + 30 * DAY_MS);
    expect(staleReminders(lead)).toEqual([]);
  });

  it('leads recorded before time aged keep their rules: no ageing, no stale flag', () => {
    const cycle = createLeadCycle({}, { ...LATEST_RULES, timeAges: false });
    const { snapshot } = cycle.start({ leadKey: 'test:x@y.example', at: 0 });
    expect(snapshot.context.aging).toBeUndefined();
    expect(cycle.view(cycle.stateOf(snapshot)).stale).toBeUndefined();
  });
});
