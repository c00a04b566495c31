/**
 * Reports over recorded stage changes (docs/domain.md: "Forecasting"): pure functions of the rows, so
 * every store (SQLite here, PostgreSQL at scale) and every test population gets the same answers.
 * Times are epoch milliseconds; durations are reported in days.
 */
import { DAY_MS, FUNNEL_STAGES, HOUR_MS, STAGES, type Stage } from '../machines/index.js';
import type { StageChangeRow } from './records.js';

export type FunnelStage = (typeof FUNNEL_STAGES)[number];

/** A half-open interval [from, to). */
export interface Period {
  from: number;
  to: number;
}

/** One lead's changes, in order. Rows come ordered by lead then seq from every store. */
export function byLead(rows: Iterable<StageChangeRow>): Map<string, StageChangeRow[]> {
  const leads = new Map<string, StageChangeRow[]>();
  for (const row of rows) {
    const list = leads.get(row.leadId);
    if (list) list.push(row);
    else leads.set(row.leadId, [row]);
  }
  for (const list of leads.values()) list.sort((a, b) => a.seq - b.seq);
  return leads;
}

const emptyCounts = (): Record<Stage, number> =>
  Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;

/** The lead's stage at an instant: the last change at or before it; null before the lead existed. */
export function stageAt(changes: StageChangeRow[], at: number): Stage | null {
  let stage: Stage | null = null;
  for (const change of changes) {
    if (change.at > at) break;
    stage = change.to;
  }
  return stage;
}

/** When the lead first entered a stage, or null. */
export function firstEntry(changes: StageChangeRow[], stage: Stage): number | null {
  return changes.find((c) => c.to === stage)?.at ?? null;
}

/** When the lead was created: its first stage change. */
export const createdAt = (changes: StageChangeRow[]): number | null => changes[0]?.at ?? null;

// ---------------------------------------------------------------------------------------------------

export interface StageCountsReport {
  at: number;
  total: number;
  stages: Record<Stage, number>;
}

/** Leads per stage at an instant (now, or any past date). */
export function stageCounts(leads: Map<string, StageChangeRow[]>, at: number): StageCountsReport {
  const stages = emptyCounts();
  let total = 0;
  for (const changes of leads.values()) {
    const stage = stageAt(changes, at);
    if (stage === null) continue;
    stages[stage]++;
    total++;
  }
  return { at, total, stages };
}

// ---------------------------------------------------------------------------------------------------

export interface FunnelStep {
  stage: FunnelStage;
  /** Leads of the cohort that reached this stage by `asOf`. */
  leads: number;
  /** Share of the previous step's leads; null for the first step. */
  stepRate: number | null;
  /** Share of the cohort. */
  cumulativeRate: number;
}

export interface StageFlow {
  from: FunnelStage;
  to: FunnelStage;
  /** Leads that entered `from` (for the first time) during the period. */
  entered: number;
  /** Of those, the ones that reached `to` by `asOf`. */
  converted: number;
  rate: number | null;
}

export interface ConversionReport {
  period: Period;
  asOf: number;
  /** Cohort funnel: the leads created during the period, followed until `asOf`. */
  funnel: FunnelStep[];
  /** Flow: of the leads entering each stage during the period, how many moved to the next one. */
  flow: StageFlow[];
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/** The funnel stages a lead reached by `asOf` (its first entry into each). */
export function reachedStages(changes: StageChangeRow[], asOf: number): FunnelStage[] {
  return FUNNEL_STAGES.filter((stage) => {
    const entered = firstEntry(changes, stage);
    return entered !== null && entered <= asOf;
  });
}

/**
 * Whether the lead was a visitor before it became a lead (by `asOf`): its visitor stay lasted, or
 * lasts still. A lead captured by a form enters visitor and lead at the same instant: it never was one.
 */
export function wasVisitorFirst(changes: StageChangeRow[], asOf: number): boolean {
  const visitor = firstEntry(changes, 'visitor');
  if (visitor === null || visitor > asOf) return false;
  const lead = firstEntry(changes, 'lead');
  return lead === null || lead > asOf || lead > visitor;
}

/**
 * Steps from how many leads reached each funnel stage. When none of them was a visitor first
 * (`visitorsFirst`, see wasVisitorFirst: every lead came in by a form), the funnel starts at lead:
 * a "visitor → lead 100 %" step would only restate the capture.
 */
export function funnelFromCounts(
  reached: ReadonlyMap<FunnelStage, number>,
  visitorsFirst: number,
): FunnelStep[] {
  const stages = visitorsFirst === 0 ? FUNNEL_STAGES.slice(1) : FUNNEL_STAGES;
  const first = reached.get(stages[0] as FunnelStage) ?? 0;
  return stages.map((stage, i) => {
    const leads = reached.get(stage) ?? 0;
    const previous = i === 0 ? null : (reached.get(stages[i - 1] as FunnelStage) ?? 0);
    return {
      stage,
      leads,
      stepRate: previous === null ? null : ratio(leads, previous),
      cumulativeRate: ratio(leads, first) ?? 0,
    };
  });
}

/** How many of a cohort reached each funnel stage by `asOf`, and how many were visitors first. */
export function reachedCounts(
  cohort: Iterable<StageChangeRow[]>,
  asOf: number,
): { reached: Map<FunnelStage, number>; visitorsFirst: number } {
  const reached = new Map<FunnelStage, number>();
  let visitorsFirst = 0;
  for (const changes of cohort) {
    for (const stage of reachedStages(changes, asOf)) reached.set(stage, (reached.get(stage) ?? 0) + 1);
    if (wasVisitorFirst(changes, asOf)) visitorsFirst++;
  }
  return { reached, visitorsFirst };
}

export function funnelOf(cohort: Iterable<StageChangeRow[]>, asOf: number): FunnelStep[] {
  const { reached, visitorsFirst } = reachedCounts(cohort, asOf);
  return funnelFromCounts(reached, visitorsFirst);
}

export function conversion(
  leads: Map<string, StageChangeRow[]>,
  period: Period,
  asOf: number = period.to,
): ConversionReport {
  const inPeriod = (t: number | null) => t !== null && t >= period.from && t < period.to;
  const cohort = [...leads.values()].filter((changes) => inPeriod(createdAt(changes)));
  const flow: StageFlow[] = [];
  for (let i = 0; i + 1 < FUNNEL_STAGES.length; i++) {
    const from = FUNNEL_STAGES[i] as FunnelStage;
    const to = FUNNEL_STAGES[i + 1] as FunnelStage;
    let entered = 0;
    let converted = 0;
    for (const changes of leads.values()) {
      const at = firstEntry(changes, from);
      if (!inPeriod(at)) continue;
      entered++;
      const next = firstEntry(changes, to);
      if (next !== null && next <= asOf) converted++;
    }
    flow.push({ from, to, entered, converted, rate: ratio(converted, entered) });
  }
  return { period, asOf, funnel: funnelOf(cohort, asOf), flow };
}

// ---------------------------------------------------------------------------------------------------

export interface Durations {
  count: number;
  medianDays: number | null;
  meanDays: number | null;
  p90Days: number | null;
}

export function durations(ms: number[]): Durations {
  if (ms.length === 0) return { count: 0, medianDays: null, meanDays: null, p90Days: null };
  const days = ms.map((d) => d / DAY_MS).sort((a, b) => a - b);
  return {
    count: days.length,
    medianDays: quantile(days, 0.5),
    meanDays: days.reduce((a, b) => a + b, 0) / days.length,
    p90Days: quantile(days, 0.9),
  };
}

/** The q-quantile of sorted values, interpolated between the two nearest; null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

export interface StageTime extends Durations {
  stage: Stage;
  /**
   * Stays still running at `asOf`: censored, counted here but not in the times (their length is not
   * known yet, only that it is at least asOf minus their entry).
   */
  open: number;
  /** From entering the stage to first reaching the next funnel stage, for the leads that did. */
  toNext: Durations | null;
}

export interface VelocityReport {
  period: Period | null;
  asOf: number;
  stages: StageTime[];
}

/**
 * The stages a lead does not leave along the lifecycle (a merge only closes the record): their stays
 * never end, so they have no times. `lost` is left only by a come-back (the salesDecides rule).
 */
export const TERMINAL_STAGES: readonly Stage[] = ['customer', 'disqualified', 'lost', 'merged'];

/**
 * The velocity rows worth showing: every stage but the terminal ones, which are kept only when some
 * stay in them did end (a lost deal that came back), so they would not be rows without a figure.
 */
export function velocityRows(rows: StageTime[]): StageTime[] {
  return rows.filter((row) => !TERMINAL_STAGES.includes(row.stage) || row.count > 0);
}

/**
 * Time in each stage: every completed stay (entry to the next change) that ended in the period
 * (or all of them), and the time to the next funnel stage for stays that started in it.
 */
export function velocity(
  leads: Map<string, StageChangeRow[]>,
  asOf: number,
  period: Period | null = null,
): VelocityReport {
  const within = (t: number) => period === null || (t >= period.from && t < period.to);
  const stays = new Map<Stage, number[]>(STAGES.map((s) => [s, []]));
  const open = new Map<Stage, number>(STAGES.map((s) => [s, 0]));
  const toNext = new Map<Stage, number[]>(STAGES.map((s) => [s, []]));
  for (const changes of leads.values()) {
    for (let i = 0; i < changes.length; i++) {
      const entry = changes[i] as StageChangeRow;
      if (entry.at > asOf) break;
      const exit = changes[i + 1];
      if (exit && exit.at <= asOf) {
        if (within(exit.at)) stays.get(entry.to)?.push(exit.at - entry.at);
      } else {
        open.set(entry.to, (open.get(entry.to) ?? 0) + 1);
      }
    }
    FUNNEL_STAGES.forEach((stage, i) => {
      const next = FUNNEL_STAGES[i + 1];
      if (!next) return;
      const entered = firstEntry(changes, stage);
      const reached = firstEntry(changes, next);
      if (entered === null || reached === null || reached > asOf || !within(entered)) return;
      toNext.get(stage)?.push(reached - entered);
    });
  }
  return {
    period,
    asOf,
    stages: velocityRows(
      STAGES.filter((s) => s !== 'merged').map((stage) => ({
        stage,
        ...durations(stays.get(stage) ?? []),
        open: open.get(stage) ?? 0,
        toNext:
          (FUNNEL_STAGES as readonly Stage[]).includes(stage) && stage !== 'customer'
            ? durations(toNext.get(stage) ?? [])
            : null,
      })),
    ),
  };
}

// ---------------------------------------------------------------------------------------------------

export interface SlaBreach {
  leadId: string;
  mqlAt: number;
  deadline: number;
  /** How the stay ended: answered by sales after the deadline, recycled by the SLA, or still waiting. */
  outcome: 'answered_late' | 'recycled_by_sla' | 'still_waiting';
  overdueHours: number;
}

export interface SlaReport {
  slaHours: number;
  period: Period | null;
  asOf: number;
  /** MQL stays that started in the period. */
  mqlStays: number;
  breaches: number;
  rate: number | null;
  byOutcome: Record<SlaBreach['outcome'], number>;
  /** The most overdue first. */
  worst: SlaBreach[];
}

/**
 * Sales must accept an MQL within `slaHours` (docs/domain.md: "Sales handoff and SLA"). A breach is an MQL stay
 * that outlived its deadline: sales answered late, the SLA sent it back to nurture, or it still waits.
 */
export function slaBreaches(
  leads: Map<string, StageChangeRow[]>,
  options: { slaHours: number; asOf: number; period?: Period | null; worst?: number },
): SlaReport {
  const { slaHours, asOf, period = null } = options;
  const found: SlaBreach[] = [];
  let mqlStays = 0;
  for (const [leadId, changes] of leads) {
    changes.forEach((entry, i) => {
      if (entry.to !== 'mql' || entry.at > asOf) return;
      if (period && (entry.at < period.from || entry.at >= period.to)) return;
      mqlStays++;
      const deadline = entry.at + slaHours * HOUR_MS;
      const exit = changes[i + 1];
      const ended = exit && exit.at <= asOf ? exit : null;
      const endedAt = ended ? ended.at : asOf;
      if (endedAt <= deadline) return;
      found.push({
        leadId,
        mqlAt: entry.at,
        deadline,
        outcome: !ended
          ? 'still_waiting'
          : ended.cause === 'sla.expired'
            ? 'recycled_by_sla'
            : 'answered_late',
        overdueHours: (endedAt - deadline) / HOUR_MS,
      });
    });
  }
  const byOutcome = { answered_late: 0, recycled_by_sla: 0, still_waiting: 0 };
  for (const b of found) byOutcome[b.outcome]++;
  return {
    slaHours,
    period,
    asOf,
    mqlStays,
    breaches: found.length,
    rate: ratio(found.length, mqlStays),
    byOutcome,
    worst: found.sort((a, b) => b.overdueHours - a.overdueHours).slice(0, options.worst ?? 10),
  };
}

// ---------------------------------------------------------------------------------------------------

export interface Cohort {
  /** Capture month, `YYYY-MM` (UTC): when the lead first became a lead. */
  month: string;
  leads: number;
  reached: Record<Exclude<FunnelStage, 'visitor' | 'lead'>, number>;
  customerRate: number;
  /** Days from capture to customer, for the cohort's customers. */
  daysToCustomer: Durations;
}

export interface CohortReport {
  asOf: number;
  cohorts: Cohort[];
}

const monthOf = (t: number) => new Date(t).toISOString().slice(0, 7);

/** Leads grouped by the month they were captured, and how far each group has come by `asOf`. */
export function cohorts(leads: Map<string, StageChangeRow[]>, asOf: number): CohortReport {
  const groups = new Map<string, StageChangeRow[][]>();
  for (const changes of leads.values()) {
    const captured = firstEntry(changes, 'lead');
    if (captured === null || captured > asOf) continue;
    const month = monthOf(captured);
    const group = groups.get(month);
    if (group) group.push(changes);
    else groups.set(month, [changes]);
  }
  return {
    asOf,
    cohorts: [...groups.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([month, members]) => {
        const reachedBy = (stage: Stage) =>
          members.filter((c) => {
            const at = firstEntry(c, stage);
            return at !== null && at <= asOf;
          }).length;
        const toCustomer = members.flatMap((c) => {
          const captured = firstEntry(c, 'lead') as number;
          const customer = firstEntry(c, 'customer');
          return customer !== null && customer <= asOf ? [customer - captured] : [];
        });
        const reached = {
          mql: reachedBy('mql'),
          sql: reachedBy('sql'),
          opportunity: reachedBy('opportunity'),
          customer: reachedBy('customer'),
        };
        return {
          month,
          leads: members.length,
          reached,
          customerRate: reached.customer / members.length,
          daysToCustomer: durations(toCustomer),
        };
      }),
  };
}
