import type { LeadcycleConfig } from './config.js';
import { type Deadline, deadlines } from './deadlines.js';
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
  /** Upcoming timer deadlines, soonest first (ISO times). */
  next: Array<{ event: Deadline['event']; at: string; deferredByCap?: boolean }>;
  /**
   * The config version the lead runs (src/config-versions.ts), set by the workflow; absent when it
   * started from LEADCYCLE_CONFIG and never got a version (and in backtests).
   */
  configVersion?: number;
  state: LeadState;
}

export function viewOf(state: LeadState, config: LeadcycleConfig): LeadView {
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
    next: deadlines(state, config)
      .sort((a, b) => a.at - b.at)
      .map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
    state,
  };
}
