import type { LeadcycleConfig } from './config.js';
import { type Deadline, type DeadlineOptions, deadlines } from './deadlines.js';
import type { LeadState } from './decide.js';

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
  /** An SQL or opportunity sales left untouched (reminded, no sales activity since); absent before time aged leads. */
  stale?: boolean;
  /** Upcoming timer deadlines, soonest first (ISO times). */
  next: Array<{ event: Deadline['event']; at: string; deferredByCap?: boolean }>;
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
    ...(context.stale !== undefined ? { stale: context.stale } : {}),
    next: deadlines(state, config, options)
      .sort((a, b) => a.at - b.at)
      .map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
    state,
  };
}
