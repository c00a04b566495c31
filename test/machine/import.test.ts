/**
 * `lead.imported`: a contact from another tool keeps the stage, dates, score and owner its file
 * gives, replays no handoff, and is mailed on the import ramp, never at import.
 */
import { describe, expect, it } from 'vitest';
import {
  createLeadCycle,
  DAY_MS,
  HOUR_MS,
  type LeadEvent,
  rampSlotOf,
  viewOf,
} from '../../src/machines/index.js';

const cycle = createLeadCycle({});
const NOW = Date.UTC(2026, 11, 1);
const profile = { email: 'ada@acme.example', companySize: 500, sector: 'software', jobFunction: 'it' };

function imported(leadKey: string, event: Partial<Extract<LeadEvent, { type: 'lead.imported' }>> = {}) {
  let { snapshot } = cycle.start({ leadKey, at: NOW });
  const decision = cycle.apply(snapshot, {
    type: 'lead.imported',
    at: NOW,
    tool: 'hubspot',
    stage: 'lead',
    profile,
    ...event,
  });
  if (!decision.ok) throw new Error(decision.rejection.message);
  snapshot = decision.snapshot;
  const granted = cycle.apply(snapshot, { type: 'consent.subscribed', at: NOW, source: 'import' });
  if (!granted.ok) throw new Error(granted.rejection.message);
  return { snapshot: granted.snapshot, effects: [...decision.effects, ...granted.effects] };
}

const firstSendOf = (snapshot: ReturnType<typeof imported>['snapshot']) =>
  cycle.deadlines(cycle.stateOf(snapshot)).find((d) => d.event === 'tick.nurture')?.at ?? null;

describe('lead.imported', () => {
  it('sets the stage and its date as the file says, and hands nothing to sales again', () => {
    const { snapshot, effects } = imported('t:email:ada@acme.example', {
      stage: 'mql',
      createdAt: NOW - 300 * DAY_MS,
      stageEnteredAt: NOW - 30 * DAY_MS,
      owner: 'rep-7',
      score: 71,
    });
    const view = viewOf(cycle.stateOf(snapshot), cycle.config);
    expect(view).toMatchObject({ stage: 'mql', owner: 'rep-7', imported: { tool: 'hubspot', score: 71 } });
    expect(view.stageEnteredAt).toBe(new Date(NOW - 30 * DAY_MS).toISOString());
    expect(effects.map((e) => e.type)).toEqual(['stage.changed', 'consent.changed']);
    expect(effects[0]).toMatchObject({
      from: 'visitor',
      to: 'mql',
      at: NOW - 30 * DAY_MS,
      cause: 'lead.imported',
    });
    // No SLA runs for a handoff made in the other tool.
    expect(view.next.map((d) => d.event)).not.toContain('sla.expired');
  });

  it('is taken by a new lead only', () => {
    const { snapshot } = imported('t:email:ada@acme.example');
    const again = cycle.apply(snapshot, {
      type: 'lead.imported',
      at: NOW,
      tool: 'file',
      stage: 'customer',
      profile,
    });
    expect(again.ok).toBe(false);
  });

  it('sends nothing at import: the first sends are spread over the ramp', () => {
    const ramp = cycle.config.importRampDays * DAY_MS;
    const days = new Array(cycle.config.importRampDays).fill(0);
    for (let n = 0; n < 1_400; n++) {
      const { snapshot, effects } = imported(`t:email:contact-${n}@acme.example`);
      expect(effects.some((e) => e.type === 'content.send')).toBe(false);
      const first = firstSendOf(snapshot) as number;
      expect(first).toBe(rampSlotOf(`t:email:contact-${n}@acme.example`, NOW, cycle.config.importRampDays));
      expect(first - NOW).toBeGreaterThanOrEqual(HOUR_MS);
      expect(first - NOW).toBeLessThanOrEqual(ramp);
      days[Math.floor((first - NOW) / DAY_MS)]++;
      // Nothing before its slot: a nurture tick earlier is refused.
      const early = cycle.apply(snapshot, { type: 'tick.nurture', at: first - 1 });
      expect(early.ok && early.effects.some((e) => e.type === 'content.send')).toBe(false);
    }
    // About a hundred a day, every day of the ramp.
    for (const count of days) expect(count).toBeGreaterThan(60);
    for (const count of days) expect(count).toBeLessThan(140);
  });

  it('waits for the cadence after the last email the other tool sent', () => {
    const lastEmailAt = NOW - 2 * DAY_MS;
    const key = 't:email:recent@acme.example';
    const { snapshot } = imported(key, { lastEmailAt });
    const cadence = cycle.config.nurtureCadenceDays * DAY_MS;
    expect(firstSendOf(snapshot)).toBe(
      Math.max(lastEmailAt + cadence, rampSlotOf(key, NOW, cycle.config.importRampDays)),
    );
    expect(snapshot.context.nurture.sentAt).toEqual([lastEmailAt]);
  });
});
