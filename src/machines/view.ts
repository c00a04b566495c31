import type { LeadcycleConfig } from './config.js';
import { type Deadline, type DeadlineOptions, deadlines } from './deadlines.js';
import type { LeadState } from './decide.js';
import type { Touches } from './touch.js';

/** What callers see of a lead: its stage and the numbers that explain it, and what it waits for. */
export interface LeadView {
  leadKey: string;
  stage: LeadState['value']['lifecycle'];
  consent: LeadState['value']['consent'];
  score: number;
  fitScore: number;
  persona: string | null;
  temperature: 'hot' | 'cold';
  buyingStage: LeadState['context']['buyingStage'];
  owner: string | null;
  stageEnteredAt: string;
  /**
   * Why the lead is in its stage, at a glance: the disqualify, loss or merge reason of a closed lead,
   * the recycle reason of a recycled one, else the cause of its last stage change (its reason when
   * the event gave one, else the event type; `created` for the first stage). Null for a lead carried from a run that did not keep it.
   */
  reason: string | null;
  /** An SQL or opportunity sales left untouched (reminded, no sales activity since); absent before time aged leads. */
  stale?: boolean;
  /** An imported contact: the tool it came from, when, and that tool's score (absent: not imported). */
  imported?: { tool: string; at: string; score: number | null };
  /** Where the lead came from: its first touch and its last (marketing labels only); absent until one. */
  touches?: Touches;
  /** Upcoming timer deadlines, soonest first (ISO times). */
  next: Array<{ event: Deadline['event']; at: string; deferredByCap?: boolean }>;
  /**
   * The config version the lead runs (src/config-versions.ts), set by the workflow; absent when it
   * started from LEADCYCLE_CONFIG and never got a version (and in backtests).
   */
  configVersion?: number;
  state: LeadState;
}

export function viewOf(state: LeadState, config: LeadcycleConfig, options: DeadlineOptions = {}): LeadView {
  const { context } = state;
  return {
    leadKey: context.leadKey,
    stage: state.value.lifecycle,
    consent: state.value.consent,
    score: context.score,
    fitScore: context.fit.score,
    persona: context.fit.persona,
    temperature: context.temperature,
    buyingStage: context.buyingStage,
    owner: context.sales.owner,
    stageEnteredAt: new Date(context.stageEnteredAt).toISOString(),
    reason: reasonOfStage(state),
    ...(context.stale !== undefined ? { stale: context.stale } : {}),
    ...(context.imported
      ? {
          imported: {
            tool: context.imported.tool,
            at: new Date(context.imported.at).toISOString(),
            score: context.imported.score,
          },
        }
      : {}),
    ...(context.touches ? { touches: { first: context.touches.first, last: context.touches.last } } : {}),
    next: deadlines(state, config, options)
      .sort((a, b) => a.at - b.at)
      .map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
    state,
  };
}

/** See LeadView.reason. */
export function reasonOfStage(state: LeadState): string | null {
  const { context } = state;
  switch (state.value.lifecycle) {
    case 'disqualified':
    case 'lost':
    case 'merged':
      if (context.closed) return context.closed.reason;
      break;
    case 'recycled':
      if (context.recycle) return context.recycle.reason;
      break;
    default:
      break;
  }
  const cause = context.stageCause;
  if (!cause) return null;
  // The machine's own start (a lead's first stage) is no event of anyone's.
  return cause.reason ?? (cause.cause === 'xstate.init' ? 'created' : cause.cause);
}
