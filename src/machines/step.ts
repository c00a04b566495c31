import { type AnyActorScope, type AnyStateMachine, createActor, type SnapshotFrom } from 'xstate';

/**
 * xstate's pure `transition`/`initialTransition`, with one inert actor scope per machine instead of
 * one per call. Building that scope (an actor, which computes the machine's initial snapshot) was
 * over half of every transition's time. The lead machine spawns, invokes, schedules and sends
 * nothing, so the scope is never written to: reusing it gives the very snapshots and actions a fresh
 * one gives (test/machines/step.test.ts compares them). Synchronous, so one collector suffices.
 */
interface Stepper {
  scope: AnyActorScope;
  /** Where the scope's executor puts the actions of the call in progress. */
  actions: Array<{ type: string; params?: unknown }>;
}

const steppers = new WeakMap<AnyStateMachine, Stepper>();

function stepperOf(machine: AnyStateMachine): Stepper {
  const known = steppers.get(machine);
  if (known) return known;
  const self = createActor(machine);
  const stepper: Stepper = { scope: null as never, actions: [] };
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
  const next = machine.transition(snapshot, event, stepper.scope) as SnapshotFrom<M>;
  return [next, actions];
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
