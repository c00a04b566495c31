import { getNextTransitions, type SnapshotFrom } from 'xstate';
import type { LeadcycleConfig } from './config.js';
import type { LeadContext, LeadInput } from './context.js';
import type { Effect } from './effects.js';
import type { LeadEvent, LeadEventType } from './events.js';
import { type GuardNode, guardTree } from './guard-tree.js';
import {
  type CheckArgs,
  consentVerdict,
  createChecks,
  openVerdict,
  salesSlaDeadline,
  stageNote,
  type Verdict,
} from './guards.js';
import { LATEST_RULES, type LeadMachine, type LeadRules } from './lead-machine.js';
import { initialStep, stepIfAllowed } from './step.js';
import type { ConsentState, Stage } from './vocabulary.js';

/**
 * The machine's pure API as the rest of leadcycle uses it: start a lead, apply an event, and when an
 * event is illegal, say which stage refused it and which guard failed.
 */
export type LeadSnapshot = SnapshotFrom<LeadMachine>;

/** The serialisable state of a lead: what queries return and continue-as-new carries. */
export interface LeadState {
  value: { lifecycle: Stage; consent: ConsentState };
  context: LeadContext;
}

export interface Rejection {
  code: 'not_allowed_in_stage' | 'guard_failed';
  stage: Stage;
  consent: ConsentState;
  event: LeadEventType;
  /** The first guard that failed, by name (`not slaEscalated` for a negated one); null when no transition exists. */
  guard: string | null;
  message: string;
}

export type Decision =
  | { ok: true; snapshot: LeadSnapshot; effects: Effect[] }
  | { ok: false; rejection: Rejection };

const effectsOf = (actions: Array<{ type: string; params?: unknown }>): Effect[] =>
  actions.filter((a) => a.type === 'xstate.emit').map((a) => (a.params as { event: Effect }).event);

export function stateOf(snapshot: LeadSnapshot): LeadState {
  return { value: snapshot.value as LeadState['value'], context: snapshot.context };
}

export function restore(machine: LeadMachine, state: LeadState): LeadSnapshot {
  return machine.resolveState({ value: state.value, context: state.context });
}

export function startLead(
  machine: LeadMachine,
  input: LeadInput,
): { snapshot: LeadSnapshot; effects: Effect[] } {
  const [snapshot, actions] = initialStep(machine, input);
  return { snapshot, effects: effectsOf(actions) };
}

export function applyEvent(
  machine: LeadMachine,
  config: LeadcycleConfig,
  snapshot: LeadSnapshot,
  event: LeadEvent,
  rules: LeadRules = LATEST_RULES,
): Decision {
  const stepped = stepIfAllowed(machine, snapshot, event);
  if (!stepped) return { ok: false, rejection: explainRejection(config, snapshot, event, rules) };
  const [next, actions] = stepped;
  return { ok: true, snapshot: next, effects: effectsOf(actions) };
}

interface Failure {
  guard: string;
  why: string;
}

/** Why a guard is false: the leaves of `and`/`not` that decided it, each with the check's own words. */
function failuresOf(node: GuardNode, verdictOf: (name: string, params: unknown) => Verdict): Failure[] {
  if (node.kind === 'and') return node.parts.flatMap((part) => failuresOf(part, verdictOf));
  if (node.kind === 'not') {
    if (node.part.kind !== 'check') return [{ guard: 'not', why: 'a guard failed' }];
    const verdict = verdictOf(node.part.name, node.part.params);
    return verdict.ok ? [{ guard: `not ${node.part.name}`, why: verdict.why }] : [];
  }
  const verdict = verdictOf(node.name, node.params);
  return verdict.ok ? [] : [{ guard: node.name, why: verdict.why }];
}

export function explainRejection(
  config: LeadcycleConfig,
  snapshot: LeadSnapshot,
  event: LeadEvent,
  rules: LeadRules = LATEST_RULES,
): Rejection {
  const { lifecycle: stage, consent } = snapshot.value as LeadState['value'];
  const checks = createChecks(config) as unknown as Record<
    string,
    (args: CheckArgs, params: unknown) => Verdict
  >;
  const args: CheckArgs = { context: snapshot.context, event };
  const verdictOf = (name: string, params: unknown): Verdict => {
    if (name === 'consentGiven') return consentVerdict(consent);
    if (name === 'isOpen') return openVerdict(stage);
    const check = checks[name];
    return check ? check(args, params) : { ok: false, why: `unknown guard ${name}` };
  };

  // The transitions this event could take: from each active region's state, then their ancestors.
  const candidates = getNextTransitions(snapshot).filter((t) => t.eventType === event.type);

  const base = { stage, consent, event: event.type };
  // What the stage waits for, with its numbers (score of threshold, when a cooldown ends). An MQL's
  // guard failures already say what sales needs; its other refusals say until when the SLA runs.
  const note =
    stage === 'mql'
      ? mqlNote(config, snapshot, candidates.length === 0)
      : stageNote(stage, snapshot.context, event.at, config, { lostCanReturn: rules.salesDecides });
  const noted = (message: string) =>
    note === null || message.includes(note) ? message : `${message} (${note})`;
  if (candidates.length === 0) {
    return {
      ...base,
      code: 'not_allowed_in_stage',
      guard: null,
      message: noted(`${event.type} is not allowed in stage ${stage}`),
    };
  }

  const failures = candidates.flatMap((t) => (t.guard ? failuresOf(guardTree(t.guard), verdictOf) : []));
  const whys = [...new Set(failures.map((f) => f.why))];
  const target = candidates
    .flatMap((t) => t.target ?? [])
    .map((n) => n.key)
    .find((key) => key !== stage);
  return {
    ...base,
    code: 'guard_failed',
    guard: failures[0]?.guard ?? null,
    message: noted(
      target ? `${target} ${whys.join('; ')}` : `${event.type} refused in ${stage}: ${whys.join('; ')}`,
    ),
  };
}

/** An MQL waits for sales: until when the SLA runs (for refusals other than a failed guard). */
function mqlNote(config: LeadcycleConfig, snapshot: LeadSnapshot, notAllowed: boolean): string | null {
  const deadline = salesSlaDeadline(snapshot.context, config);
  if (!notAllowed || deadline === null) return null;
  return `handed to sales, who must accept by ${new Date(deadline).toISOString()}`;
}
