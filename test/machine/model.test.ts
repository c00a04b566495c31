import { describe, expect, it } from 'vitest';
import { type AnyTransitionDefinition, createActor, type StateNode } from 'xstate';
import { type LeadEvent, type LeadSnapshot, STAGES } from '../../src/machines/index.js';
import {
  abstractState,
  funnelModel,
  LEAD_INPUT,
  leadModel,
  modelCycle,
  retime,
  transitionPaths,
} from '../support/model.js';

const statePaths = leadModel.getShortestPaths({ allowDuplicatePaths: true });
const edgePaths = transitionPaths();
const funnelPaths = funnelModel.getSimplePaths({ toState: (s) => s.matches({ lifecycle: 'customer' }) });

/**
 * The system under test is the facade every caller uses (start, apply, restore); the lead is
 * persisted as JSON and restored at every step, as the workflow does across continue-as-new.
 */
function driveFrom(start: LeadSnapshot, events: LeadEvent[]): { snapshot: LeadSnapshot; seen: string[] } {
  let snapshot = start;
  const seen: string[] = [];
  for (const generated of events) {
    const decision = modelCycle.apply(snapshot, retime(generated, snapshot));
    if (decision.ok) {
      snapshot = modelCycle.restore(JSON.parse(JSON.stringify(modelCycle.stateOf(decision.snapshot))));
    }
    seen.push(abstractState(snapshot));
  }
  return { snapshot, seen };
}
const drive = (events: LeadEvent[]) => driveFrom(modelCycle.start(LEAD_INPUT).snapshot, events).seen;

const stageOf = (path: { state: unknown }) => (path.state as LeadSnapshot).value.lifecycle;

describe('model-based: shortest paths to every model state', () => {
  it('reaches every lifecycle stage and every consent state', () => {
    const values = statePaths.map((p) => (p.state as LeadSnapshot).value);
    expect(new Set(values.map((v) => v.lifecycle))).toEqual(new Set(STAGES));
    expect(new Set(values.map((v) => v.consent))).toEqual(new Set(['unknown', 'granted', 'withdrawn']));
  });

  it.each(STAGES.map((stage) => [stage, statePaths.filter((p) => stageOf(p) === stage)] as const))(
    'every path to a %s state is followed step by step by the persisted lead',
    (_, paths) => {
      expect(paths.length).toBeGreaterThan(0);
      for (const path of paths) {
        const events = path.steps.slice(1).map((s) => s.event as LeadEvent);
        const expected = path.steps.slice(1).map((s) => abstractState(s.state as LeadSnapshot));
        expect(drive(events), events.map((e) => e.type).join(' → ')).toEqual(expected);
      }
    },
  );
});

/** The transition paths in slices, each a test of its own: one slice stays well inside the test timeout. */
const SLICE = 10_000;
const edgeSlices = Array.from({ length: Math.ceil(edgePaths.length / SLICE) }, (_, i) => [
  i * SLICE + 1,
  Math.min((i + 1) * SLICE, edgePaths.length),
  edgePaths.slice(i * SLICE, (i + 1) * SLICE),
]) as Array<[number, number, typeof edgePaths]>;

describe(`model-based: every transition of the abstract graph (all ${edgePaths.length} transition paths)`, () => {
  // Paths that leave one model state share its shortest path: driven once, then each last event.
  const prefixes = new Map<string, ReturnType<typeof driveFrom>>();
  it.each(edgeSlices)('follows transition paths %i to %i step by step', (_, __, paths) => {
    for (const path of paths) {
      let prefix = prefixes.get(path.from);
      if (!prefix) {
        prefix = driveFrom(modelCycle.start(LEAD_INPUT).snapshot, path.events.slice(0, -1));
        prefixes.set(path.from, prefix);
      }
      const last = driveFrom(prefix.snapshot, path.events.slice(-1));
      expect([...prefix.seen, ...last.seen], path.description).toEqual(path.states);
    }
  });
});

describe('model-based: simple paths from visitor to customer', () => {
  it('finds many loop-free roads through the funnel', () => {
    expect(funnelPaths.length).toBeGreaterThan(10);
  });

  it.each(funnelPaths.map((p) => [p.steps.map((s) => s.event.type).join(' → '), p] as const))(
    '%s',
    (_, path) => {
      const events = path.steps.slice(1).map((s) => s.event as LeadEvent);
      const states = drive(events);
      expect(states.at(-1)).toEqual(abstractState(path.state as LeadSnapshot));
      expect(stageOf(path)).toBe('customer');
    },
  );
});

describe('model-based: transition-graph coverage', () => {
  const allStates: StateNode[] = [];
  const allTransitions: AnyTransitionDefinition[] = [];
  const walk = (node: StateNode) => {
    allStates.push(node);
    for (const list of node.transitions.values()) allTransitions.push(...list);
    allTransitions.push(...(node.always ?? []));
    for (const child of Object.values(node.states)) walk(child as StateNode);
  };
  walk(modelCycle.machine.root as unknown as StateNode);
  const label = (t: AnyTransitionDefinition) =>
    `${t.source.id} --${t.eventType || 'always'}${t.guard ? ' [guarded]' : ''}--> ` +
    (t.target?.map((n) => n.id).join(',') ?? '(self)');

  it('every state and every transition of the machine is visited by a generated path', () => {
    const visitedStates = new Set<string>();
    const taken = new Set<AnyTransitionDefinition>();
    /** Runs `events` from the start, or from a persisted snapshot; returns the snapshot it ends in. */
    const run = (events: LeadEvent[], snapshot?: unknown): unknown => {
      const actor = createActor(modelCycle.machine, {
        input: LEAD_INPUT,
        ...(snapshot ? { snapshot: snapshot as LeadSnapshot } : {}),
        inspect: (ev) => {
          if (ev.type !== '@xstate.microstep') return;
          for (const t of (ev as unknown as { _transitions: AnyTransitionDefinition[] })._transitions)
            taken.add(t);
        },
      }).start();
      const record = () => {
        for (const node of (actor.getSnapshot() as unknown as { _nodes: StateNode[] })._nodes)
          visitedStates.add(node.id);
      };
      record();
      for (const event of events) {
        actor.send(retime(event, actor.getSnapshot()));
        record();
      }
      const end = actor.getPersistedSnapshot();
      actor.stop();
      return end;
    };
    // Paths that leave one model state share its shortest path: run once, then each last event.
    const prefixes = new Map<string, unknown>();
    for (const path of edgePaths) {
      let prefix = prefixes.get(path.from);
      if (prefix === undefined) {
        prefix = run(path.events.slice(0, -1));
        prefixes.set(path.from, prefix);
      }
      run(path.events.slice(-1), prefix);
    }
    for (const path of funnelPaths) run(path.steps.slice(1).map((s) => s.event as LeadEvent));
    const missedStates = allStates.map((n) => n.id).filter((id) => !visitedStates.has(id));
    const missedTransitions = allTransitions.filter((t) => !taken.has(t)).map(label);
    console.info(
      `transition-graph coverage: states ${allStates.length - missedStates.length}/${allStates.length}, ` +
        `transitions ${allTransitions.length - missedTransitions.length}/${allTransitions.length}`,
    );
    expect(missedStates, 'states no generated path visits').toEqual([]);
    expect(missedTransitions, 'transitions no generated path takes').toEqual([]);
  });
});
