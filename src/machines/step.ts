import {
  type AnyActorScope,
  type AnyStateMachine,
  type AnyTransitionDefinition,
  createActor,
  type SnapshotFrom,
} from 'xstate';

/**
 * xstate's pure `transition`/`initialTransition`, with one inert actor scope per machine instead of
 * one per call. Building that scope (an actor, which computes the machine's initial snapshot) was
 * over half of every transition's time. The lead machine spawns, invokes, schedules and sends
 * nothing, so the scope is never written to: reusing it gives the very snapshots and actions a fresh
 * one gives (test/machine/step.test.ts compares them). Synchronous, so one collector suffices.
 */
interface Stepper {
  scope: AnyActorScope;
  /** Where the scope's executor puts the actions of the call in progress. */
  actions: Array<{ type: string; params?: unknown }>;
  /** The transitions the call's event selected (its first microstep), as xstate's inspection reports them. */
  selected: AnyTransitionDefinition[] | null;
}

const steppers = new WeakMap<AnyStateMachine, Stepper>();

function stepperOf(machine: AnyStateMachine): Stepper {
  const known = steppers.get(machine);
  if (known) return known;
  const stepper: Stepper = { scope: null as never, actions: [], selected: null };
  // The first microstep of a call is its event's: what `snapshot.can(event)` would have evaluated.
  const self = createActor(machine, {
    inspect: (inspection) => {
      if (inspection.type === '@xstate.microstep' && stepper.selected === null)
        stepper.selected = inspection._transitions;
    },
  });
  stepper.scope = {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: (action) => {
      stepper.actions.push(action as { type: string; params?: unknown });
    },
  } as AnyActorScope;
  steppers.set(machine, stepper);
  return stepper;
}

type Actions = Array<{ type: string; params?: unknown }>;

/** `transition(machine, snapshot, event)`: the next snapshot and the actions to execute. */
export function step<M extends AnyStateMachine>(
  machine: M,
  snapshot: SnapshotFrom<M>,
  event: Parameters<M['transition']>[1],
): [SnapshotFrom<M>, Actions] {
  const stepper = stepperOf(machine);
  const actions: Actions = [];
  stepper.actions = actions;
  stepper.selected = null;
  const next = machine.transition(snapshot, event, stepper.scope) as SnapshotFrom<M>;
  return [next, actions];
}

/**
 * `snapshot.can(event) ? transition(machine, snapshot, event) : null`, evaluating the event's guards
 * once instead of twice: the step runs, and is dropped (null) when its event selected no transition
 * that targets a state or runs an action, which is what `can` answers. Dropping it drops the
 * eventless transitions it ran too, so a refused event changes nothing, as with `can` first.
 */
export function stepIfAllowed<M extends AnyStateMachine>(
  machine: M,
  snapshot: SnapshotFrom<M>,
  event: Parameters<M['transition']>[1],
): [SnapshotFrom<M>, Actions] | null {
  const result = step(machine, snapshot, event);
  const selected = stepperOf(machine).selected ?? [];
  return selected.some((t) => t.target !== undefined || t.actions.length > 0) ? result : null;
}

/** `initialTransition(machine, input)`: the initial snapshot and the actions to execute. */
export function initialStep<M extends AnyStateMachine>(
  machine: M,
  input: unknown,
): [SnapshotFrom<M>, Actions] {
  const stepper = stepperOf(machine);
  const actions: Actions = [];
  stepper.actions = actions;
  const first = machine.getInitialSnapshot(stepper.scope, input) as SnapshotFrom<M>;
  return [first, actions];
}
