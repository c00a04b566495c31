/**
 * A simulation's answer: what the lead received and when, from the effects its workflow carried out.
 * Stages, emails and handoffs are views of the one list of effects, which keeps every effect type
 * (today's and those added later) in `effects`.
 */
import type { LeadView } from '../machines/index.js';
import type { RecordedEffect } from './recorder.js';

/** One journey event as it went: applied (with the stage after it), or refused and why. */
export interface SimulatedEvent {
  day: number;
  kind: 'command' | 'fact';
  type: string;
  note?: string;
  outcome: 'applied' | 'refused' | 'signalled';
  /** The lead's stage after a command. */
  stage?: string;
  refusal?: string;
}

export interface SimulatedEffect {
  day: number;
  type: string;
  /** The effect as the machine emitted it, without its `at`. */
  detail: Record<string, unknown>;
  /** What the activity answered (a content send: delivered, or skipped and why). */
  outcome: unknown;
  failed?: string;
}

export interface SimulatedStage {
  day: number;
  from: string | null;
  to: string;
  cause: string;
  reason: string | null;
}

export interface SimulatedEmail {
  day: number;
  kind: string;
  family: string;
  buyingStage: string;
  item: string;
  title: string | null;
  /** False when the real activity sent nothing (`skipped` says why: a suppression, the cap on real send times). */
  delivered: boolean;
  skipped: string | null;
}

export interface SimulatedHandoff {
  day: number;
  type: string;
  escalation: boolean | null;
  /** Sales must accept before this day (a `sales.handoff`). */
  slaDeadlineDay: number | null;
}

export interface SimulationResult {
  name: string | null;
  leadKey: string;
  days: number;
  /** The simulated clock's start, ISO 8601 (days count from here). */
  startedAt: string;
  /** Wall-clock time the simulation took. */
  durationMs: number;
  events: SimulatedEvent[];
  stages: SimulatedStage[];
  emails: SimulatedEmail[];
  handoffs: SimulatedHandoff[];
  effects: SimulatedEffect[];
  /** The lead at the end. */
  final: {
    stage: string;
    consent: string;
    score: number;
    temperature: string;
    buyingStage: string;
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export function buildResult(args: {
  name: string | null;
  leadKey: string;
  days: number;
  start: number;
  dayMs: number;
  durationMs: number;
  events: SimulatedEvent[];
  recorded: RecordedEffect[];
  final: LeadView;
}): SimulationResult {
  const { start, dayMs } = args;
  const dayOf = (at: number) => round((at - start) / dayMs);
  const end = start + args.days * dayMs;
  const effects: SimulatedEffect[] = args.recorded
    .filter((r) => r.effect.at <= end)
    .map((r) => {
      const { at, type, ...detail } = r.effect;
      return {
        day: dayOf(at),
        type,
        detail,
        outcome: r.outcome,
        ...(r.failed === undefined ? {} : { failed: r.failed }),
      };
    });
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const stages = effects
    .filter((e) => e.type === 'stage.changed')
    .map((e) => ({
      day: e.day,
      from: str(e.detail.from),
      to: String(e.detail.to),
      cause: String(e.detail.cause),
      reason: str(e.detail.reason),
    }));
  const emails = effects
    .filter((e) => e.type === 'content.send')
    .map((e) => {
      const item = (e.detail.item ?? {}) as { id?: unknown; title?: unknown };
      const outcome = (e.outcome ?? {}) as { delivered?: unknown; skipped?: unknown };
      return {
        day: e.day,
        kind: String(e.detail.kind),
        family: String(e.detail.family),
        buyingStage: String(e.detail.buyingStage),
        item: String(item.id),
        title: str(item.title),
        // A retry of a key already done answers delivered=false: only a skip says nothing went out.
        delivered: e.failed === undefined && outcome.skipped === undefined,
        skipped: str(outcome.skipped) ?? (e.failed ? 'failed' : null),
      };
    });
  const handoffs = effects
    .filter((e) => e.type.startsWith('sales.'))
    .map((e) => ({
      day: e.day,
      type: e.type,
      escalation: typeof e.detail.escalation === 'boolean' ? e.detail.escalation : null,
      slaDeadlineDay: typeof e.detail.slaDeadline === 'number' ? dayOf(e.detail.slaDeadline) : null,
    }));
  const { final } = args;
  return {
    name: args.name,
    leadKey: args.leadKey,
    days: args.days,
    startedAt: new Date(start).toISOString(),
    durationMs: args.durationMs,
    events: args.events,
    stages,
    emails,
    handoffs,
    effects,
    final: {
      stage: final.stage,
      consent: final.consent,
      score: final.score,
      temperature: final.temperature,
      buyingStage: final.buyingStage,
    },
  };
}
