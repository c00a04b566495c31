import type { EngagementKind, LeadcycleConfig, Persona } from './config.js';
import { DAY_MS } from './config.js';
import type { BantUpdate, Profile } from './events.js';
import { BUYING_STAGES, type BuyingStage } from './vocabulary.js';

/** Pure scoring functions: the machine's guards and the analytics both use these. */

export interface Bant {
  budget: boolean | null;
  authority: boolean | null;
  need: boolean | null;
  timelineMonths: number | null;
}

export const UNKNOWN_BANT: Bant = { budget: null, authority: null, need: null, timelineMonths: null };

export function mergeBant(bant: Bant, update: BantUpdate): Bant {
  const next = { ...bant };
  for (const key of ['budget', 'authority', 'need', 'timelineMonths'] as const) {
    const value = update[key];
    if (value !== undefined) (next as Record<typeof key, unknown>)[key] = value;
  }
  return next;
}

/** BANT criteria not yet validated, in the order sales asks about them. Empty means BANT complete. */
export function bantGaps(
  bant: Bant,
  config: LeadcycleConfig,
): Array<'budget' | 'authority' | 'need' | 'timeline'> {
  const gaps: Array<'budget' | 'authority' | 'need' | 'timeline'> = [];
  if (bant.budget !== true) gaps.push('budget');
  if (bant.authority !== true) gaps.push('authority');
  if (bant.need !== true) gaps.push('need');
  // A negative timeline has passed (src/machines/aging.ts counts it down): no short-term deadline.
  const months = bant.timelineMonths;
  if (months === null || months < 0 || months > config.bantMaxTimelineMonths) gaps.push('timeline');
  return gaps;
}

export interface PersonaMatch {
  persona: string | null;
  /** 0-100: the share of the best persona's criteria the profile meets. */
  score: number;
}

function inRange(value: number | undefined, range: { min?: number; max?: number }): boolean {
  if (value === undefined) return false;
  return (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);
}

const normalise = (s: string) => s.trim().toLowerCase();

/** Criteria the persona defines and the profile meets, each worth the same share of 100. */
export function personaScore(profile: Profile, persona: Persona): number {
  const checks: boolean[] = [];
  if (persona.companySize) checks.push(inRange(profile.companySize, persona.companySize));
  if (persona.annualRevenue) checks.push(inRange(profile.annualRevenue, persona.annualRevenue));
  if (persona.sectors)
    checks.push(
      profile.sector !== undefined && persona.sectors.map(normalise).includes(normalise(profile.sector)),
    );
  if (persona.jobFunctions)
    checks.push(
      profile.jobFunction !== undefined &&
        persona.jobFunctions.map(normalise).includes(normalise(profile.jobFunction)),
    );
  const met = checks.filter(Boolean).length;
  return checks.length === 0 ? 0 : Math.round((100 * met) / checks.length);
}

export function bestPersona(profile: Profile, personas: readonly Persona[]): PersonaMatch {
  let best: PersonaMatch = { persona: null, score: 0 };
  for (const persona of personas) {
    const score = personaScore(profile, persona);
    if (score > best.score) best = { persona: persona.id, score };
  }
  return best;
}

export interface Engagement {
  /** Points as of `asOf`; decays from there. */
  points: number;
  asOf: number;
  lastEngagedAt: number | null;
  /** The furthest buying stage the lead's own behaviour showed (content, pricing, demo). */
  furthestContentStage: BuyingStage | null;
}

export const NO_ENGAGEMENT = (at: number): Engagement => ({
  points: 0,
  asOf: at,
  lastEngagedAt: null,
  furthestContentStage: null,
});

/** Exponential decay with a half-life: real systems fade behaviour scores with inactivity. */
export function decayedPoints(engagement: Engagement, at: number, config: LeadcycleConfig): number {
  const elapsed = Math.max(0, at - engagement.asOf);
  const factor = 0.5 ** (elapsed / (config.decayHalfLifeDays * DAY_MS));
  return engagement.points * factor;
}

export function decayTo(engagement: Engagement, at: number, config: LeadcycleConfig): Engagement {
  if (at <= engagement.asOf) return engagement;
  return { ...engagement, points: decayedPoints(engagement, at, config), asOf: at };
}

/** Kinds that show a buying stage by themselves, whatever the content. */
const STAGE_OF_KIND: Partial<Record<EngagementKind, BuyingStage>> = {
  pricing_page: 'decision',
  demo_request: 'decision',
  quote_request: 'decision',
  webinar_attended: 'consideration',
  premium_content: 'consideration',
};

export function furthestStage(a: BuyingStage | null, b: BuyingStage | null | undefined): BuyingStage | null {
  if (!b) return a;
  if (!a) return b;
  return BUYING_STAGES.indexOf(b) > BUYING_STAGES.indexOf(a) ? b : a;
}

export function engage(
  engagement: Engagement,
  kind: EngagementKind,
  contentStage: BuyingStage | undefined,
  at: number,
  config: LeadcycleConfig,
): Engagement {
  const decayed = decayTo(engagement, at, config);
  return {
    points: decayed.points + config.points[kind],
    asOf: Math.max(decayed.asOf, at),
    lastEngagedAt: Math.max(engagement.lastEngagedAt ?? at, at),
    furthestContentStage: furthestStage(
      furthestStage(decayed.furthestContentStage, STAGE_OF_KIND[kind]),
      contentStage,
    ),
  };
}

/** Scores are shown and compared as whole points. */
export const roundScore = (points: number) => Math.round(points);

/**
 * The three steps of docs/domain.md: "The buying journey": no need identified (awareness), need identified but no BANT (consideration),
 * BANT validated (decision); the lead's own behaviour can show a later stage than what sales knows.
 */
export function buyingStageOf(bant: Bant, engagement: Engagement, config: LeadcycleConfig): BuyingStage {
  const fromBant: BuyingStage =
    bantGaps(bant, config).length === 0 ? 'decision' : bant.need === true ? 'consideration' : 'awareness';
  return furthestStage(fromBant, engagement.furthestContentStage) ?? 'awareness';
}

/** Hot = need + budget + decision maker + a short-term deadline (docs/domain.md: "Temperature"). */
export function temperatureOf(bant: Bant, config: LeadcycleConfig): 'hot' | 'cold' {
  return bantGaps(bant, config).length === 0 ? 'hot' : 'cold';
}

/** Merging: what the survivor already knows wins; the other record fills the gaps. */
export function fillBant(survivor: Bant, other: Bant): Bant {
  return {
    budget: survivor.budget ?? other.budget,
    authority: survivor.authority ?? other.authority,
    need: survivor.need ?? other.need,
    timelineMonths: survivor.timelineMonths ?? other.timelineMonths,
  };
}
