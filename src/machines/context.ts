import { ageFacts } from './aging.js';
import type { LeadcycleConfig } from './config.js';
import type { ImportSource, Profile } from './events.js';
import {
  type Bant,
  bestPersona,
  buyingStageOf,
  decayTo,
  type Engagement,
  NO_ENGAGEMENT,
  type PersonaMatch,
  roundScore,
  temperatureOf,
  UNKNOWN_BANT,
} from './scoring.js';
import type { Touches } from './touch.js';
import type { BuyingStage, Stage, Temperature } from './vocabulary.js';

/** What the machine knows about one lead. Facts first; the last block is derived from the facts. */
export interface LeadContext {
  leadKey: string;
  createdAt: number;
  /** The lifecycle stage last entered; mirrors the state value so effects can name where a lead came from. */
  stage: Stage | null;
  stageEnteredAt: number;
  /**
   * What caused the last stage change (the event type, and its reason when it carries one): the
   * view's `reason`. Absent in leads carried from runs before it and until the first change.
   */
  stageCause?: { cause: string; reason: string | null };
  profile: Profile;
  bant: Bant;
  engagement: Engagement;
  consent: { changedAt: number | null; doNotContact: boolean };
  nurture: {
    /** Send times inside the cap window only: older ones no longer matter. */
    sentAt: number[];
    sentIds: string[];
    lastSentAt: number | null;
    /** No marketing email before this (an imported contact's slot in the import ramp); absent: no such wait. */
    quietUntil?: number;
  };
  /**
   * The newsletter, with the newsletter-subscription rule: when the lead subscribed (null when it gets
   * it only because its nurture content ran out) and when the last issue went out. Absent before
   * either happened, and in leads recorded before the rule (customers are subscribed regardless).
   */
  newsletter?: { subscribedAt: number | null; lastSentAt: number | null };
  sales: { owner: string | null; slaStartedAt: number | null; escalated: boolean };
  recycle: { reason: string; since: number } | null;
  /** Why the lead left the funnel (disqualified or lost). */
  closed: { reason: string; note: string | null; at: number } | null;
  deal: { amount: number | null };
  /** Lead keys merged into this one; a merge is refused when already done. */
  absorbed: string[];
  /** The survivor this lead was merged into. */
  mergedInto: string | null;
  /** Where an imported contact came from, and what that tool said of it (absent: not imported). */
  imported?: ImportedFacts;
  /** What time ages (LeadRules.timeAges): absent in leads recorded before it. */
  aging?: LeadAging;
  /** Where the lead came from: absent until a capture or visit gives a touch (and in leads recorded before touches). */
  touches?: Touches;

  // Derived, recomputed by `derive` whenever a fact changes.
  fit: PersonaMatch;
  score: number;
  temperature: Temperature;
  buyingStage: BuyingStage;
  /** An SQL or opportunity sales left untouched: its owner was reminded, no sales activity since (time ageing only). */
  stale?: boolean;
}

/** What `lead.imported` brought in and leadcycle does not score or act on: kept as the file said. */
export interface ImportedFacts {
  tool: ImportSource;
  /** When it was imported (the stage's own date is stageEnteredAt). */
  at: number;
  /** The other tool's score, on that tool's scale. */
  score: number | null;
  properties: Record<string, string>;
}

/** The facts time ages (src/machines/aging.ts). */
export interface LeadAging {
  /** When sales gave the BANT timeline: its months count down from then. Null when none is known. */
  timelineGivenAt: number | null;
  /** The last sales activity (`isSalesActivity`). */
  salesActivityAt: number | null;
  /** When the owner was last reminded of this stale SQL or opportunity. */
  remindedAt: number | null;
  /** The time the derived facts were aged to: the next `tick.cool` is the next change after it. */
  asOf: number;
}

export interface LeadInput {
  leadKey: string;
  at: number;
}

/** The derived facts as of `at`; with `timeAges`, as time ages them too (src/machines/aging.ts). */
export function derive(
  context: LeadContext,
  at: number,
  config: LeadcycleConfig,
  timeAges = false,
): LeadContext {
  const engagement = decayTo(context.engagement, at, config);
  const derived = {
    ...context,
    engagement,
    fit: bestPersona(context.profile, config.personas),
    score: roundScore(engagement.points),
    temperature: temperatureOf(context.bant, config),
    buyingStage: buyingStageOf(context.bant, engagement, config),
  };
  return timeAges ? { ...derived, ...ageFacts(derived, at, config) } : derived;
}

export function initialContext(
  { leadKey, at }: LeadInput,
  config: LeadcycleConfig,
  timeAges = false,
): LeadContext {
  return derive(
    {
      leadKey,
      createdAt: at,
      stage: null,
      stageEnteredAt: at,
      profile: {},
      bant: UNKNOWN_BANT,
      engagement: NO_ENGAGEMENT(at),
      consent: { changedAt: null, doNotContact: false },
      nurture: { sentAt: [], sentIds: [], lastSentAt: null },
      sales: { owner: null, slaStartedAt: null, escalated: false },
      recycle: null,
      closed: null,
      deal: { amount: null },
      absorbed: [],
      mergedInto: null,
      fit: { persona: null, score: 0 },
      score: 0,
      temperature: 'cold',
      buyingStage: 'awareness',
    },
    at,
    config,
    timeAges,
  );
}
