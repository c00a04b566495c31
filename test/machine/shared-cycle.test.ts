import { describe, expect, it } from 'vitest';
import { createLeadCycle, LATEST_RULES, LeadDriver, sharedLeadCycle } from '../../src/machines/index.js';
import { FIT, T0 } from '../support/lead.js';

/** Workflows share one cycle per config and rules (src/machines/cycle.ts): it must hold no lead. */
function twoLeadsOn(cycleOf: () => ReturnType<typeof createLeadCycle>) {
  return ['ada', 'bob'].map((name, i) => {
    const driver = LeadDriver.start(
      cycleOf(),
      { leadKey: `test:${name}@acme.example`, at: T0 },
      { id: `lead-${i}`, atDeadlines: true, journal: true },
    );
    driver.offer({ type: 'form.submitted', form: 'demo_request', consent: true, profile: FIT, at: T0 + 1 });
    driver.feedDue(T0 + 30 * 86_400_000);
    return { state: driver.state, effects: driver.pending.map((p) => p.effect) };
  });
}

describe('shared lead cycles', () => {
  it('one cycle per config and rules, another for another config or other rules', () => {
    const config = { mqlThreshold: 70 };
    const cycle = sharedLeadCycle(config, LATEST_RULES);
    expect(sharedLeadCycle({ mqlThreshold: 70 }, LATEST_RULES)).toBe(cycle);
    expect(sharedLeadCycle({ mqlThreshold: 60 }, LATEST_RULES)).not.toBe(cycle);
    expect(sharedLeadCycle(config, { ...LATEST_RULES, timeAges: false })).not.toBe(cycle);
    expect(cycle.config.mqlThreshold).toBe(70);
  });

  it('leads on a shared cycle end as leads on cycles of their own', () => {
    const config = { mqlThreshold: 40 };
    expect(twoLeadsOn(() => sharedLeadCycle(config))).toEqual(twoLeadsOn(() => createLeadCycle(config)));
  });

  it('a config it refuses is refused every time, and not kept', () => {
    expect(() => sharedLeadCycle({ mqlThreshold: 'high' as never })).toThrow(/mqlThreshold/);
    expect(() => sharedLeadCycle({ mqlThreshold: 'high' as never })).toThrow(/mqlThreshold/);
  });
});
