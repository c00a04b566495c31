import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { transition } from 'xstate';
import {
  BUYING_STAGES,
  bantGaps,
  bestPersona,
  createLeadCycle,
  DAY_MS,
  DEAL_LOSS_REASONS,
  DEFAULT_CONFIG,
  decayedPoints,
  ENGAGEMENT_KINDS,
  FORM_KINDS,
  type LeadEvent,
  type LeadSnapshot,
  personaScore,
  SALES_REJECTION_REASONS,
  temperatureOf,
} from '../../src/machines/index.js';
import type { Command } from '../support/lead.js';
import { T0 } from '../support/lead.js';

const cycle = createLeadCycle({ nurtureCadenceDays: 1 });

const profile = fc.record(
  {
    email: fc.constantFrom('a@acme.example', 'b@other.example'),
    companySize: fc.integer({ min: 0, max: 20_000 }),
    annualRevenue: fc.integer({ min: 0, max: 1e9 }),
    sector: fc.constantFrom('software', 'finance', 'education', 'retail'),
    jobFunction: fc.constantFrom('it', 'marketing', 'student', 'finance'),
  },
  { requiredKeys: ['email'] },
);
const bant = fc.record(
  {
    budget: fc.option(fc.boolean()),
    authority: fc.option(fc.boolean()),
    need: fc.option(fc.boolean()),
    timelineMonths: fc.option(fc.integer({ min: 0, max: 36 })),
  },
  { requiredKeys: [] },
);

/** Any command an app or a timer could send, legal or not in the lead's stage. */
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.constant<Command>({ type: 'visit', channel: 'web' }),
  fc.record({
    type: fc.constant('form.submitted' as const),
    form: fc.constantFrom(...FORM_KINDS),
    consent: fc.boolean(),
    profile,
  }),
  fc.record({
    type: fc.constant('engagement' as const),
    kind: fc.constantFrom(...ENGAGEMENT_KINDS),
    contentStage: fc.option(fc.constantFrom(...BUYING_STAGES), { nil: undefined }),
  }),
  fc.record({
    type: fc.constant('profile.updated' as const),
    profile: profile.map(({ email: _, ...p }) => p),
  }),
  fc.record({ type: fc.constant('bant.updated' as const), bant }),
  fc.constant<Command>({ type: 'sales.accepted', owner: 'rep-1' }),
  fc.record({
    type: fc.constant('sales.rejected' as const),
    reason: fc.constantFrom(...SALES_REJECTION_REASONS),
  }),
  fc.constant<Command>({ type: 'proposal.sent' }),
  fc.constant<Command>({ type: 'deal.won' }),
  fc.record({ type: fc.constant('deal.lost' as const), reason: fc.constantFrom(...DEAL_LOSS_REASONS) }),
  fc.record({ type: fc.constant('consent.unsubscribed' as const), doNotContact: fc.boolean() }),
  fc.constant<Command>({ type: 'consent.subscribed' }),
  fc.constant<Command>({ type: 'disqualify', reason: 'spam' }),
  fc.constantFrom<Command>(
    { type: 'tick.decay' },
    { type: 'tick.nurture' },
    { type: 'sla.expired' },
    { type: 'cooldown.over' },
  ),
);

/** A schedule: commands at increasing times, some hours apart, some weeks. */
const schedule = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 * DAY_MS }), command), { maxLength: 60 });

function run(
  steps: Array<[number, Command]>,
  onStep?: (before: LeadSnapshot, event: LeadEvent, ok: boolean) => void,
) {
  let at = T0;
  let snapshot = cycle.start({ leadKey: 'prop', at }).snapshot;
  const sends: Array<{ at: number; consent: string }> = [];
  for (const [gap, cmd] of steps) {
    at += gap;
    const event = { ...cmd, at } as LeadEvent;
    const before = snapshot;
    const decision = cycle.apply(snapshot, event);
    if (decision.ok) {
      snapshot = decision.snapshot;
      for (const e of decision.effects)
        if (e.type === 'content.send') sends.push({ at, consent: before.value.consent });
    }
    onStep?.(before, event, decision.ok);
  }
  return { snapshot, sends };
}

describe('properties of the machine', () => {
  it('no schedule of commands throws, and a refused command is one the machine would not act on', () => {
    fc.assert(
      fc.property(schedule, (steps) => {
        run(steps, (before, event, ok) => {
          if (ok) return;
          // Refusals are exactly the events xstate itself would ignore: same state, no effects.
          const [next, actions] = transition(cycle.machine, before, event);
          expect(cycle.stateOf(next)).toEqual(cycle.stateOf(before));
          expect((actions as Array<{ type: string }>).filter((a) => a.type === 'xstate.emit')).toEqual([]);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('never more than the cap of marketing emails in any rolling window', () => {
    fc.assert(
      fc.property(schedule, (steps) => {
        const { sends } = run(steps);
        const { max, windowDays } = DEFAULT_CONFIG.emailCap;
        for (const s of sends) {
          const inWindow = sends.filter((o) => o.at <= s.at && o.at > s.at - windowDays * DAY_MS);
          expect(inWindow.length).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('after an unsubscribe, no marketing email until an explicit resubscribe', () => {
    fc.assert(
      fc.property(schedule, (steps) => {
        const { sends } = run(steps);
        expect(sends.every((s) => s.consent === 'granted')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('stage changes form one unbroken chain', () => {
    fc.assert(
      fc.property(schedule, (steps) => {
        let at = T0;
        const started = cycle.start({ leadKey: 'prop', at });
        let snapshot = started.snapshot;
        const changes = started.effects.filter((e) => e.type === 'stage.changed');
        for (const [gap, cmd] of steps) {
          at += gap;
          const d = cycle.apply(snapshot, { ...cmd, at } as LeadEvent);
          if (!d.ok) continue;
          snapshot = d.snapshot;
          changes.push(...d.effects.filter((e) => e.type === 'stage.changed'));
        }
        changes.forEach((c, i) => {
          expect(c.from).toBe(i === 0 ? null : changes[i - 1]?.to);
        });
        expect(changes.at(-1)?.to).toBe(snapshot.value.lifecycle);
      }),
      { numRuns: 200 },
    );
  });
});

describe('properties of deadlines', () => {
  it('every deadline the workflow fires is one the machine accepts, whatever happened before', () => {
    const appCommand = command.filter(
      (c) => !c.type.startsWith('tick.') && c.type !== 'sla.expired' && c.type !== 'cooldown.over',
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 * DAY_MS }), appCommand), { maxLength: 40 }),
        (steps) => {
          let at = T0;
          let snapshot = cycle.start({ leadKey: 'prop', at }).snapshot;
          const fireUntil = (until: number) => {
            for (let n = 0; n < 1000; n++) {
              const next = cycle.nextDeadline(cycle.stateOf(snapshot));
              if (!next || next.at > until) return;
              const decision = cycle.apply(snapshot, { type: next.event, at: Math.max(at, next.at) });
              if (!decision.ok)
                throw new Error(`deadline ${next.event} refused: ${decision.rejection.message}`);
              at = Math.max(at, next.at);
              snapshot = decision.snapshot;
            }
            throw new Error('deadlines do not advance');
          };
          for (const [gap, cmd] of steps) {
            fireUntil(at + gap);
            at += gap;
            const decision = cycle.apply(snapshot, { ...cmd, at } as LeadEvent);
            if (decision.ok) snapshot = decision.snapshot;
          }
          fireUntil(at + 365 * DAY_MS);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('properties of guards and scoring', () => {
  it('decay never raises a positive score and halves it every half-life', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e4, noNaN: true }),
        fc.integer({ min: 0, max: 3650 }),
        (points, days) => {
          const engagement = { points, asOf: 0, lastEngagedAt: 0, furthestContentStage: null };
          const later = decayedPoints(engagement, days * DAY_MS, DEFAULT_CONFIG);
          expect(later).toBeLessThanOrEqual(points);
          const halfLife = decayedPoints(
            engagement,
            DEFAULT_CONFIG.decayHalfLifeDays * DAY_MS,
            DEFAULT_CONFIG,
          );
          expect(halfLife).toBeCloseTo(points / 2, 6);
        },
      ),
    );
  });

  it('persona scores stay within 0..100 and the best persona is the best score', () => {
    fc.assert(
      fc.property(profile, (p) => {
        const scores = DEFAULT_CONFIG.personas.map((persona) => personaScore(p, persona));
        for (const s of scores) expect(s).toBeGreaterThanOrEqual(0);
        for (const s of scores) expect(s).toBeLessThanOrEqual(100);
        expect(bestPersona(p, DEFAULT_CONFIG.personas).score).toBe(Math.max(...scores));
      }),
    );
  });

  it('hot exactly when BANT is complete, and BANT is complete exactly when no criterion is missing', () => {
    fc.assert(
      fc.property(bant, (b) => {
        const full = {
          budget: b.budget ?? null,
          authority: b.authority ?? null,
          need: b.need ?? null,
          timelineMonths: b.timelineMonths ?? null,
        };
        const complete =
          full.budget === true &&
          full.authority === true &&
          full.need === true &&
          full.timelineMonths !== null &&
          full.timelineMonths <= DEFAULT_CONFIG.bantMaxTimelineMonths;
        expect(bantGaps(full, DEFAULT_CONFIG).length === 0).toBe(complete);
        expect(temperatureOf(full, DEFAULT_CONFIG)).toBe(complete ? 'hot' : 'cold');
      }),
    );
  });

  it('the score guard admits a lead exactly at the threshold, for any threshold', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (threshold) => {
        const c = createLeadCycle({ mqlThreshold: threshold, points: { demo_request: threshold } });
        let { snapshot } = c.start({ leadKey: 'k', at: T0 });
        const form = c.apply(snapshot, {
          type: 'form.submitted',
          at: T0,
          form: 'newsletter',
          consent: false,
          profile: { email: 'a@acme.example', companySize: 200, sector: 'software', jobFunction: 'it' },
        });
        if (!form.ok) throw new Error(form.rejection.message);
        snapshot = form.snapshot;
        const below = snapshot.context.score >= threshold;
        const d = c.apply(snapshot, { type: 'engagement', at: T0, kind: 'demo_request' });
        if (!d.ok) throw new Error(d.rejection.message);
        expect(below ? 'mql' : d.snapshot.value.lifecycle).toBe('mql');
      }),
      { numRuns: 50 },
    );
  });
});
