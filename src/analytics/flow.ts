/**
 * The funnel over time (as Marketo's Success Path Analyzer) and the cohort funnel: a period split
 * into UTC buckets (days, weeks from Monday, months). Pure functions of the stage changes, as the
 * other reports (reports.ts), so every store gives the same answers.
 */
import { DAY_MS, FUNNEL_STAGES, type Stage } from '../machines/index.js';
import { type CohortInterval, type FlowInterval, ReportParamsError } from './params.js';
import type { StageChangeRow } from './records.js';
import {
  createdAt,
  type FunnelStage,
  type FunnelStep,
  funnelFromCounts,
  type Period,
  reachedCounts,
  wasVisitorFirst,
} from './reports.js';

/** More buckets than a table can show (a year of days, and a bit): a coarser interval is asked for. */
export const MAX_BUCKETS = 400;

/** The start of the bucket holding `t` (UTC; weeks start on Monday). */
export function bucketStart(t: number, interval: FlowInterval): number {
  const d = new Date(t);
  const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
  if (interval === 'month') return Date.UTC(y, m, 1);
  const midnight = Date.UTC(y, m, day);
  if (interval === 'day') return midnight;
  return midnight - ((d.getUTCDay() + 6) % 7) * DAY_MS;
}

/** The start of the bucket after the one starting at `start`. */
export function nextBucketStart(start: number, interval: FlowInterval): number {
  if (interval === 'day') return start + DAY_MS;
  if (interval === 'week') return start + 7 * DAY_MS;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * The buckets of a period, the first and last cut to it (a period from a Wednesday starts with a
 * short week). Refused beyond MAX_BUCKETS.
 */
export function bucketsOf(period: Period, interval: FlowInterval): Period[] {
  const buckets: Period[] = [];
  for (let from = period.from; from < period.to; ) {
    const to = Math.min(nextBucketStart(bucketStart(from, interval), interval), period.to);
    buckets.push({ from, to });
    if (buckets.length > MAX_BUCKETS) {
      throw new ReportParamsError([
        {
          path: ['interval'],
          message: `the period holds more than ${MAX_BUCKETS} ${interval}s: choose a longer interval or a shorter period`,
        },
      ]);
    }
    from = to;
  }
  return buckets;
}

// ---------------------------------------------------------------------------------------------------

export interface FlowStageBucket {
  stage: FunnelStage;
  /** Leads in the stage just before the bucket starts. */
  startBalance: number;
  /** Moves into the stage during the bucket (a lead that skips a stage never enters it). */
  entered: number;
  /** Moves out of it to a later funnel stage. */
  forward: number;
  /** Moves out of it to a side stage (recycled, disqualified, lost, merged). */
  out: number;
  /** Moves out of it to an earlier funnel stage (none in the built-in lifecycle). */
  back: number;
  /** startBalance + entered − forward − out − back: the leads in the stage at the bucket's end. */
  endBalance: number;
  /** forward / (startBalance + entered); null when that is 0. */
  conversion: number | null;
  /** Mean days in the stage of the stays that moved forward in the bucket; null when none did. */
  velocityDays: number | null;
}

export interface FlowBucket extends Period {
  stages: FlowStageBucket[];
}

export interface FlowReport {
  period: Period;
  interval: FlowInterval;
  /** The funnel stages shown: visitor only when some lead was a visitor before it was a lead. */
  stages: FunnelStage[];
  /** From the bucket of the first recorded change on (none before it: nothing to show). */
  buckets: FlowBucket[];
}

/** A lead's move between two stages: out of `from` (entered at `enteredAt`) into `to`, at `at`. */
interface Move {
  from: Stage | null;
  to: Stage;
  at: number;
  enteredAt: number | null;
}

/** A lead's moves in order; a change to the stage it is in already is no move. */
function movesOf(changes: StageChangeRow[]): Move[] {
  const moves: Move[] = [];
  let stage: Stage | null = null;
  let enteredAt: number | null = null;
  for (const change of changes) {
    if (change.to === stage) continue;
    moves.push({ from: stage, to: change.to, at: change.at, enteredAt });
    stage = change.to;
    enteredAt = change.at;
  }
  return moves;
}

const funnelIndex = (stage: Stage | null): number =>
  stage === null ? -1 : (FUNNEL_STAGES as readonly Stage[]).indexOf(stage);

/** The index of the bucket holding `t`, -1 before the first, buckets.length at or after the last's end. */
function bucketIndex(buckets: Period[], t: number): number {
  let lo = 0;
  let hi = buckets.length;
  if (hi === 0 || t < (buckets[0] as Period).from) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((buckets[mid] as Period).to <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Per bucket and funnel stage: the balance at its start, what entered, what left forward, out to a
 * side stage or back, the balance at its end, the conversion and the velocity. Balances come from
 * the moves themselves, so end = start + entered − forward − out − back holds exactly, and each
 * bucket starts with the balance the previous one ended with.
 */
export function funnelOverTime(
  leads: Map<string, StageChangeRow[]>,
  period: Period,
  interval: FlowInterval,
): FlowReport {
  const visitors = [...leads.values()].some((changes) => wasVisitorFirst(changes, period.to));
  const stages: FunnelStage[] = visitors ? [...FUNNEL_STAGES] : FUNNEL_STAGES.slice(1);
  let first = Number.POSITIVE_INFINITY;
  for (const changes of leads.values()) first = Math.min(first, changes[0]?.at ?? first);
  const from = Math.max(
    period.from,
    first === Number.POSITIVE_INFINITY ? period.to : bucketStart(first, interval),
  );
  const buckets = from < period.to ? bucketsOf({ from, to: period.to }, interval) : [];

  type Tally = Omit<
    FlowStageBucket,
    'stage' | 'startBalance' | 'endBalance' | 'conversion' | 'velocityDays'
  > & {
    forwardDays: number;
  };
  const emptyTally = (): Tally => ({ entered: 0, forward: 0, out: 0, back: 0, forwardDays: 0 });
  const tallies = buckets.map(() => new Map<Stage, Tally>());
  const opening = new Map<Stage, number>();
  const tallyOf = (i: number, stage: Stage): Tally => {
    const map = tallies[i] as Map<Stage, Tally>;
    const known = map.get(stage);
    if (known) return known;
    const t = emptyTally();
    map.set(stage, t);
    return t;
  };

  for (const changes of leads.values()) {
    for (const move of movesOf(changes)) {
      const i = bucketIndex(buckets, move.at);
      if (i >= buckets.length) break;
      if (i < 0) {
        // Before the first bucket: only the balance it opens with.
        opening.set(move.to, (opening.get(move.to) ?? 0) + 1);
        if (move.from !== null) opening.set(move.from, (opening.get(move.from) ?? 0) - 1);
        continue;
      }
      tallyOf(i, move.to).entered++;
      if (move.from === null) continue;
      const left = tallyOf(i, move.from);
      const [fromIndex, toIndex] = [funnelIndex(move.from), funnelIndex(move.to)];
      if (toIndex < 0) left.out++;
      else if (toIndex > fromIndex) {
        left.forward++;
        left.forwardDays += (move.at - (move.enteredAt as number)) / DAY_MS;
      } else left.back++;
    }
  }

  const balance = new Map<Stage, number>(opening);
  return {
    period,
    interval,
    stages,
    buckets: buckets.map((bucket, i) => ({
      ...bucket,
      stages: stages.map((stage) => {
        const t = tallyOf(i, stage);
        const startBalance = balance.get(stage) ?? 0;
        const endBalance = startBalance + t.entered - t.forward - t.out - t.back;
        balance.set(stage, endBalance);
        const base = startBalance + t.entered;
        return {
          stage,
          startBalance,
          entered: t.entered,
          forward: t.forward,
          out: t.out,
          back: t.back,
          endBalance,
          conversion: base === 0 ? null : t.forward / base,
          velocityDays: t.forward === 0 ? null : t.forwardDays / t.forward,
        };
      }),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------

export interface CohortFunnel extends Period {
  /** Leads created (first stage change) in the bucket. */
  leads: number;
  /** How many of them reached each stage by `asOf`, of the previous step, of the cohort. */
  funnel: FunnelStep[];
}

export interface CohortFunnelReport {
  period: Period;
  interval: CohortInterval;
  asOf: number;
  /** The cohorts with leads, oldest first; every one with the same stages. */
  cohorts: CohortFunnel[];
}

/**
 * Leads grouped by the bucket they were created in, each group followed until `asOf`: the
 * conversion report's cohort funnel (funnelOf) once per bucket. Visitor is a step of every cohort
 * when some lead of any was a visitor first, so the cohorts line up as rows of one table.
 */
export function cohortFunnel(
  leads: Map<string, StageChangeRow[]>,
  period: Period,
  interval: CohortInterval,
  asOf: number,
): CohortFunnelReport {
  const groups = new Map<number, StageChangeRow[][]>();
  for (const changes of leads.values()) {
    const created = createdAt(changes);
    if (created === null || created < period.from || created >= period.to) continue;
    const start = Math.max(period.from, bucketStart(created, interval));
    const group = groups.get(start);
    if (group) group.push(changes);
    else groups.set(start, [changes]);
  }
  const counted = [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([from, members]) => ({ from, members, ...reachedCounts(members, asOf) }));
  const visitorsFirst = counted.reduce((n, c) => n + c.visitorsFirst, 0);
  return {
    period,
    interval,
    asOf,
    cohorts: counted.map(({ from, members, reached }) => ({
      from,
      to: Math.min(nextBucketStart(bucketStart(from, interval), interval), period.to),
      leads: members.length,
      funnel: funnelFromCounts(reached, visitorsFirst),
    })),
  };
}
