import { describe, expect, it } from 'vitest';
import {
  createLeadCycle,
  DAY_MS,
  type DriverOptions,
  type Effect,
  LeadDriver,
  type LeadEvent,
} from '../../src/machines/index.js';
import { BANT_COMPLETE, FIT, T0 } from '../support/lead.js';

/**
 * The workflow's update validator asks `check`, then its handler `offer`s the same event: the
 * handler takes the validator's decision. Whether it does or decides afresh (on replay, validators
 * do not run), the lead ends the same: state, effects with their keys, journal, timers fed.
 */
const JOURNEY: Array<Omit<LeadEvent, 'at'> & { afterDays: number }> = [
  { afterDays: 0, type: 'form.submitted', form: 'content_download', consent: true, profile: FIT },
  { afterDays: 1, type: 'engagement', kind: 'email_open' },
  // Past nurture deadlines: the timers due before the event are fed first, inside the probe too.
  { afterDays: 9, type: 'engagement', kind: 'page_view' },
  { afterDays: 9.5, type: 'bant.updated', bant: BANT_COMPLETE },
  { afterDays: 12, type: 'engagement', kind: 'email_click' },
] as never;

function drive(withCheck: boolean) {
  const counted: Effect[] = [];
  const options: DriverOptions = {
    id: 'lead-1',
    journal: true,
    atDeadlines: true,
    onEffects: (effects) => counted.push(...effects),
  };
  const cycle = createLeadCycle();
  // Counts the machine's decisions: a checked offer takes its check's instead of deciding again.
  let applies = 0;
  const apply = cycle.apply;
  cycle.apply = (snapshot, event) => {
    applies++;
    return apply(snapshot, event);
  };
  const driver = LeadDriver.start(cycle, { leadKey: 'test:ada', at: T0 }, options);
  for (const { afterDays, ...command } of JOURNEY) {
    const event = { ...command, at: T0 + afterDays * DAY_MS } as LeadEvent;
    if (withCheck) expect(driver.check(structuredClone(event))).toBeNull();
    expect(driver.offer(event)).toBeNull();
  }
  return { carry: driver.carry(), timersFed: driver.timersFed, counted, stage: driver.state.value, applies };
}

describe('LeadDriver.check then offer', () => {
  it('ends where offers alone end', () => {
    const checked = drive(true);
    const offered = drive(false);
    expect(offered.timersFed).toBeGreaterThan(0);
    expect(offered.carry.journal?.length).toBe(JOURNEY.length);
    expect(checked).toEqual(offered);
  });

  it('decides afresh when the event or the snapshot is another', () => {
    const driver = LeadDriver.start(createLeadCycle(), { leadKey: 'test:ada', at: T0 }, { id: 'lead-2' });
    const capture = {
      type: 'form.submitted',
      form: 'content_download',
      consent: true,
      profile: FIT,
      at: T0,
    } as LeadEvent;
    const first = driver.state.value.lifecycle;
    expect(driver.check(capture)).toBeNull();
    // Another event than the one checked: decided on its own (a refused one changes nothing).
    const refused = driver.offer({ type: 'sales.accepted', at: T0 } as LeadEvent);
    expect(refused).not.toBeNull();
    expect(driver.state.value.lifecycle).toBe(first);
    // The check was spent: offering the checked event now still decides it.
    expect(driver.offer(capture)).toBeNull();
    expect(driver.state.value.lifecycle).not.toBe(first);
  });
});
