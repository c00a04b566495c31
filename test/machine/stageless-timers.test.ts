import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { replayLead } from '../../src/analytics/index.js';
import type { StageChangeRow } from '../../src/analytics/records.js';
import {
  createLeadCycle,
  DAY_MS,
  HOUR_MS,
  type LeadcycleConfigInput,
  type LeadEvent,
  stagelessTimers,
} from '../../src/machines/index.js';
import { BANT_COMPLETE, FIT, T0 } from '../support/lead.js';
import { journalPopulation } from '../support/population.js';

/**
 * `stagelessTimers` are the timers a backtest leaves out (src/analytics/backtest.ts): it must count
 * the very stages, at the very times, for the very causes that feeding them gives.
 */
const item = (family: string, n: number) => ({
  id: `${family}-${n}`,
  title: `${family} ${n}`,
  url: `https://example.com/${n}`,
});
const CONFIGS: LeadcycleConfigInput[] = [
  {},
  { mqlThreshold: 60 },
  { mqlThreshold: 30, decayTickDays: 1, decayHalfLifeDays: 5 },
  // At 0 a negative score decaying to 0 reaches the bar, on any timer's re-derived score: all are fed then.
  { mqlThreshold: 0, decayTickDays: 1, decayHalfLifeDays: 2 },
  {
    nurtureCadenceDays: 2,
    salesSlaHours: 30,
    renurtureCooldownDays: 20,
    content: {
      discovery: Array.from({ length: 6 }, (_, i) => item('discovery', i)),
      evaluation: Array.from({ length: 6 }, (_, i) => item('evaluation', i)),
      decision: Array.from({ length: 6 }, (_, i) => item('decision', i)),
      newsletter: Array.from({ length: 6 }, (_, i) => item('newsletter', i)),
    },
  },
];

/** A stage change as the backtest counts it: not its effect number, which the left-out emails shift. */
const counted = (changes: StageChangeRow[]) => changes.map(({ key: _, seq: __, ...change }) => change);

function statesOf(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(statesOf)];
}

describe('timers that never change a stage', () => {
  it('target no state anywhere in the machine', () => {
    for (const config of CONFIGS) {
      const { machine, config: parsed } = createLeadCycle(config);
      for (const node of statesOf(machine.root)) {
        for (const type of stagelessTimers(parsed)) {
          for (const transition of node.transitions.get(type) ?? [])
            expect(transition.target).toBeUndefined();
        }
      }
    }
  });

  // Each at 0: the journey gives it its time.
  const messageArb = fc.constantFrom<LeadEvent>(
    { at: 0, type: 'engagement', kind: 'pricing_page' },
    { at: 0, type: 'engagement', kind: 'demo_request' },
    { at: 0, type: 'engagement', kind: 'webinar_attended' },
    { at: 0, type: 'engagement', kind: 'email_click' },
    { at: 0, type: 'engagement', kind: 'careers_page' },
    { at: 0, type: 'visit', page: '/careers/open', channel: 'web' },
    { at: 0, type: 'engagement', kind: 'content_download', contentStage: 'decision' },
    { at: 0, type: 'visit', page: '/blog', channel: 'web' },
    { at: 0, type: 'form.submitted', form: 'demo_request', consent: true, profile: FIT },
    { at: 0, type: 'form.submitted', form: 'newsletter', consent: true, profile: FIT },
    { at: 0, type: 'bant.updated', bant: BANT_COMPLETE },
    { at: 0, type: 'bant.updated', bant: { need: true, timelineMonths: 2 } },
    { at: 0, type: 'sales.accepted', owner: 'sam' },
    { at: 0, type: 'sales.rejected', reason: 'not_ready' },
    { at: 0, type: 'proposal.sent', amount: 12_000 },
    { at: 0, type: 'deal.won', amount: 12_000 },
    { at: 0, type: 'deal.lost', reason: 'timing' },
    { at: 0, type: 'deal.lost', reason: 'budget' },
    { at: 0, type: 'consent.unsubscribed', doNotContact: false },
    { at: 0, type: 'consent.subscribed' },
    { at: 0, type: 'disqualify', reason: 'competitor' },
  );
  const journeyArb = fc.array(
    fc.record({
      afterHours: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 7, max: 24 * 60 })),
      message: messageArb,
    }),
    { maxLength: 30 },
  );

  type Journey = Array<{ afterHours: number; message: LeadEvent }>;
  const expectSameAsFed = (c: number, journey: Journey) => {
    const cycle = createLeadCycle(CONFIGS[c]);
    let at = T0;
    const events: LeadEvent[] = [
      { type: 'form.submitted', at, form: 'content_download', consent: true, profile: FIT },
    ];
    for (const { afterHours, message } of journey) {
      at += afterHours * HOUR_MS;
      events.push({ ...message, at });
    }
    const until = at + 120 * DAY_MS;
    const lead = { leadId: 'lead-1', createdAt: T0 };
    const fed = replayLead(cycle, lead, events, until);
    const left = replayLead(cycle, lead, events, until, true);
    expect(counted(left.changes)).toEqual(counted(fed.changes));
    expect(left.refused).toBe(fed.refused);
    expect(left.stage).toBe(fed.stage);
  };

  it('left out, random journeys give the same stage changes and refusals as fed', () => {
    fc.assert(fc.property(fc.constantFrom(...CONFIGS.keys()), journeyArb, expectSameAsFed), { numRuns: 400 });
  });

  it('at threshold 0 a nurture tick qualifies a lead whose negative score decayed to 0: it is fed', () => {
    // Found by the property above (rarely: once in a 400-run suite, once at run 11,302 of 20,000): the
    // nurture tick and the decay tick fell due at the same instant, and the nurture tick, first, made
    // the MQL.
    const pricing = {
      afterHours: 0,
      message: { at: 0, type: 'engagement', kind: 'pricing_page' } as LeadEvent,
    };
    const hours = [1377, 172, 5, 2, 4];
    expectSameAsFed(3, [
      ...hours.map((afterHours) => ({ ...pricing, afterHours })),
      { afterHours: 537, message: { at: 0, type: 'visit', page: '/careers/open', channel: 'web' } },
    ]);
  });

  it('left out, a generated population under several configs gives the same stage changes', () => {
    const population = journalPopulation({ seed: 21, leads: 600, from: T0, to: T0 + 180 * DAY_MS });
    const until = T0 + 540 * DAY_MS;
    for (const config of CONFIGS) {
      const cycle = createLeadCycle(config);
      for (const { lead, events } of population) {
        const fed = replayLead(cycle, lead, events, until);
        const left = replayLead(cycle, lead, events, until, true);
        expect(counted(left.changes)).toEqual(counted(fed.changes));
        expect(left.refused).toBe(fed.refused);
      }
    }
  });
});
