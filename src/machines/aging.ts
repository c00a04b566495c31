import { DAY_MS, type LeadcycleConfig } from './config.js';
import type { LeadAging, LeadContext } from './context.js';
import { isSalesActivity, type LeadEvent } from './events.js';
import { type Bant, bantGaps, buyingStageOf } from './scoring.js';
import type { BuyingStage, Stage, Temperature } from './vocabulary.js';

/**
 * Time ages a lead (LeadRules.timeAges, docs/domain.md: "Temperature"): a BANT timeline counts
 * down from the day sales gave it, a long silence cools a hot lead, and an SQL or opportunity that
 * sales leaves untouched turns stale. Pure: the machine is given the time by its events, and
 * src/machines/deadlines.ts derives when the next change is due.
 */

/** A month of a BANT timeline: a twelfth of a year of 365.25 days (30.4375 days, whole milliseconds). */
export const MONTH_MS = (365.25 / 12) * DAY_MS;

/** Stages with no short-term intent: re-nurture (a premature offer), a lost deal, a disqualified or merged record. */
export const COLD_STAGES: ReadonlySet<Stage> = new Set(['recycled', 'lost', 'disqualified', 'merged']);
/** Stages sales owns and works: they go stale without sales activity. */
export const SALES_STAGES: ReadonlySet<Stage> = new Set(['sql', 'opportunity']);

export const NO_AGING = (at: number): LeadAging => ({
  timelineGivenAt: null,
  salesActivityAt: null,
  remindedAt: null,
  asOf: at,
});

const latest = (...times: Array<number | null | undefined>): number | null =>
  times.reduce<number | null>(
    (a, t) => (t === null || t === undefined ? a : a === null ? t : Math.max(a, t)),
    null,
  );

/**
 * The months left of the BANT timeline at `at`: the months given less the whole months since they
 * were given (0: due this month; negative: passed). As given when the lead does not know when (a
 * lead recorded before timelines aged); null when unknown.
 */
export function timelineMonthsLeft(context: Pick<LeadContext, 'bant' | 'aging'>, at: number): number | null {
  const { timelineMonths } = context.bant;
  const given = context.aging?.timelineGivenAt ?? null;
  if (timelineMonths === null || given === null) return timelineMonths;
  return timelineMonths - Math.floor(Math.max(0, at - given) / MONTH_MS);
}

/** The lead's BANT as it stands at `at`: its timeline counted down (bantGaps refuses a passed one). */
export function bantAt(context: Pick<LeadContext, 'bant' | 'aging'>, at: number): Bant {
  return { ...context.bant, timelineMonths: timelineMonthsLeft(context, at) };
}

/** When the timeline given passes (its months left fall below 0), if it ages. */
export function timelinePassesAt(context: Pick<LeadContext, 'bant' | 'aging'>): number | null {
  const { timelineMonths } = context.bant;
  const given = context.aging?.timelineGivenAt ?? null;
  return timelineMonths === null || given === null ? null : given + (timelineMonths + 1) * MONTH_MS;
}

/**
 * The last sales activity (`isSalesActivity`, src/machines/events.ts). Entering an SQL or an
 * opportunity is one (sales accepted, a proposal went out), also for leads noted before time aged.
 */
export function lastSalesActivityAt(context: LeadContext): number | null {
  const entered = context.stage !== null && SALES_STAGES.has(context.stage) ? context.stageEnteredAt : null;
  return latest(context.aging?.salesActivityAt, entered);
}

/** Since when the lead is silent: no engagement and no sales activity since then. */
export function quietSince(context: LeadContext): number {
  return latest(context.createdAt, context.engagement.lastEngagedAt, lastSalesActivityAt(context)) ?? 0;
}

/** An SQL or opportunity whose owner was reminded, and no sales activity since. */
export function isStale(context: LeadContext): boolean {
  if (context.stage === null || !SALES_STAGES.has(context.stage)) return false;
  const reminded = context.aging?.remindedAt ?? null;
  return reminded !== null && reminded > (lastSalesActivityAt(context) ?? 0);
}

/** When an SQL or opportunity turns stale: `staleAfterDays` after its last sales activity; null once stale. */
export function staleDueAt(context: LeadContext, config: LeadcycleConfig): number | null {
  if (context.stage === null || !SALES_STAGES.has(context.stage) || isStale(context)) return null;
  const last = lastSalesActivityAt(context);
  return last === null ? null : last + config.staleAfterDays * DAY_MS;
}

/**
 * Hot = need + budget + decision maker + a short-term deadline, all still true at `at`: the
 * timeline has not passed, the lead is not silent for `coolAfterSilentDays`, and its stage has a
 * short-term intent at all.
 */
export function temperatureAt(context: LeadContext, at: number, config: LeadcycleConfig): Temperature {
  if (context.stage !== null && COLD_STAGES.has(context.stage)) return 'cold';
  if (bantGaps(bantAt(context, at), config).length > 0) return 'cold';
  if (at - quietSince(context) >= config.coolAfterSilentDays * DAY_MS) return 'cold';
  return 'hot';
}

interface AgedFacts {
  aging: LeadAging;
  temperature: Temperature;
  buyingStage: BuyingStage;
  stale: boolean;
}

/** The derived facts time changes, as of `at` (`derive` runs it with time ageing on). */
export function ageFacts(context: LeadContext, at: number, config: LeadcycleConfig): AgedFacts {
  const aging = context.aging ?? NO_AGING(at);
  return {
    aging: { ...aging, asOf: Math.max(aging.asOf, at) },
    temperature: temperatureAt(context, at, config),
    buyingStage: buyingStageOf(bantAt(context, at), context.engagement, config),
    stale: isStale(context),
  };
}

/**
 * What an accepted event tells about time: a sales activity restarts the staleness clock, and a
 * BANT update that names the timeline starts it counting from now (or forgets when, with it).
 */
export function noteActivity(context: LeadContext, event: LeadEvent): LeadAging {
  const aging = context.aging ?? NO_AGING(event.at);
  const noted = isSalesActivity(event) ? { ...aging, salesActivityAt: event.at } : aging;
  if (event.type !== 'bant.updated' || event.bant.timelineMonths === undefined) return noted;
  return { ...noted, timelineGivenAt: event.bant.timelineMonths === null ? null : event.at };
}

/**
 * When time alone next changes the lead's temperature or buying stage (a timeline that enters the
 * short-term window or passes, a silence that reaches `coolAfterSilentDays`): the `tick.cool`
 * deadline. Null when no such change lies ahead, or the lead was never aged.
 */
export function coolDueAt(context: LeadContext, config: LeadcycleConfig): number | null {
  const { aging } = context;
  if (!aging) return null;
  const candidates: number[] = [quietSince(context) + config.coolAfterSilentDays * DAY_MS];
  const { timelineMonths } = context.bant;
  if (timelineMonths !== null && aging.timelineGivenAt !== null) {
    const max = config.bantMaxTimelineMonths;
    if (timelineMonths > max) candidates.push(aging.timelineGivenAt + (timelineMonths - max) * MONTH_MS);
    candidates.push(aging.timelineGivenAt + (timelineMonths + 1) * MONTH_MS);
  }
  for (const at of candidates.filter((t) => t > aging.asOf).sort((a, b) => a - b)) {
    const aged = ageFacts(context, at, config);
    if (aged.temperature !== context.temperature || aged.buyingStage !== context.buyingStage) return at;
  }
  return null;
}
