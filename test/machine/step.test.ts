import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { initialStep, step, stepIfAllowed } from '../../src/machines/step.js';
import { LEAD_INPUT, modelCycle, modelEvents } from '../support/model.js';

/** What an action is, without the scope it ran in (each call's own throwaway actor). */
const plain = (actions: Array<{ type: string; params?: unknown }>) =>
  actions.map(({ type, params }) => ({ type, params }));

/** The reused scope gives exactly what xstate's pure API gives with a fresh scope per call. */
describe('step with one actor scope per machine', () => {
  it('gives the snapshots and actions of initialTransition/transition over random journeys', () => {
    const { machine } = modelCycle;
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (picks) => {
        let [fast, fastActions] = initialStep(machine, LEAD_INPUT);
        let [slow, slowActions] = initialTransition(machine, LEAD_INPUT);
        expect(fast.value).toEqual(slow.value);
        expect(fast.context).toEqual(slow.context);
        expect(plain(fastActions)).toEqual(plain(slowActions));
        for (const pick of picks) {
          const events = modelEvents(slow);
          const event = events[pick % events.length];
          if (!event) break;
          [fast, fastActions] = step(machine, fast, event);
          [slow, slowActions] = transition(machine, slow, event);
          expect(fast.value).toEqual(slow.value);
          expect(fast.context).toEqual(slow.context);
          expect(fast.status).toBe(slow.status);
          expect(plain(fastActions)).toEqual(plain(slowActions));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('steps exactly the events snapshot.can allows, with the same snapshot, and drops the others', () => {
    const { machine } = modelCycle;
    const seen = { refused: 0, allowed: 0 };
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (picks) => {
        let [slow] = initialTransition(machine, LEAD_INPUT);
        for (const pick of picks) {
          const events = modelEvents(slow);
          const event = events[pick % events.length];
          if (!event) break;
          const fast = stepIfAllowed(machine, slow, event);
          if (!slow.can(event)) {
            expect(fast).toBeNull();
            seen.refused++;
            continue;
          }
          const [next, actions] = transition(machine, slow, event);
          expect(fast).not.toBeNull();
          expect(fast?.[0].value).toEqual(next.value);
          expect(fast?.[0].context).toEqual(next.context);
          expect(plain(fast?.[1] ?? [])).toEqual(plain(actions));
          slow = next;
          seen.allowed++;
        }
      }),
      { numRuns: 200 },
    );
    // Both sides of the comparison were exercised, many times.
    expect(seen.refused).toBeGreaterThan(100);
    expect(seen.allowed).toBeGreaterThan(100);
  });
});
