import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { initialStep, step } from '../../src/machines/step.js';
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
});
