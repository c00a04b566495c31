import { describe, expect, it } from 'vitest';
import {
  bucketStart,
  bucketsOf,
  cohortFunnel,
  type FlowReport,
  funnelOverTime,
  MAX_BUCKETS,
} from '../../src/analytics/flow.js';
import { ReportParamsError } from '../../src/analytics/params.js';
import type { StageChangeRow } from '../../src/analytics/records.js';
import { byLead, conversion, stageAt } from '../../src/analytics/reports.js';
import { DAY_MS, HOUR_MS, type Stage } from '../../src/machines/index.js';
import { stageChangePopulation } from '../support/population.js';
import { yearOfCaptures } from '../support/populations.js';

/**
 * The funnel over time and the cohort funnel over hand-made histories whose every figure is known,
 * and the balance identity over a generated year.
 */
const MONDAY = Date.UTC(2026, 10, 2); // 2026-11-02, a Monday
const day = (n: number, hours = 0) => MONDAY + n * DAY_MS + hours * HOUR_MS;

/** A lead's changes from its path: [stage, at] in order. */
function lead(id: string, path: [Stage, number][]): StageChangeRow[] {
  return path.map(([to, at], i) => ({
    key: `${id}/${i + 1}`,
    leadId: id,
    seq: i + 1,
    from: i === 0 ? null : (path[i - 1] as [Stage, number])[0],
    to,
    at,
    cause: 'test',
    reason: null,
    amount: null,
  }));
}

const ROWS = [
  // Before the period: an MQL already, disqualified on day 1.
  ...lead('old', [
    ['lead', day(-3)],
    ['mql', day(-1)],
    ['disqualified', day(1)],
  ]),
  // Through the funnel: a day as a lead, a week as an MQL, an SQL the next day.
  ...lead('a', [
    ['lead', day(0, 10)],
    ['mql', day(1, 10)],
    ['sql', day(8, 10)],
    ['opportunity', day(9, 10)],
  ]),
  // Skips mql: from lead straight to sql (sales accepted it), then recycled.
  ...lead('b', [
    ['lead', day(0, 12)],
    ['sql', day(3, 12)],
    ['recycled', day(4)],
  ]),
  // Comes in during the second week and stays a lead.
  ...lead('c', [['lead', day(10)]]),
];

const PERIOD = { from: MONDAY, to: day(14) };

const stageOf = (report: FlowReport, bucket: number, stage: string) =>
  report.buckets[bucket]?.stages.find((s) => s.stage === stage);

/** Leads in `stage` just before `t`, counted from each lead's stage as stageAt knows it. */
const inStageBefore = (rows: StageChangeRow[], stage: Stage, t: number) =>
  [...byLead(rows).values()].filter((changes) => stageAt(changes, t - 1) === stage).length;

function expectBalances(rows: StageChangeRow[], report: FlowReport) {
  report.buckets.forEach((bucket, i) => {
    for (const s of bucket.stages) {
      expect(s.endBalance, `${s.stage} #${i}`).toBe(s.startBalance + s.entered - s.forward - s.out - s.back);
      expect(s.startBalance, `${s.stage} #${i} start`).toBe(inStageBefore(rows, s.stage, bucket.from));
      expect(s.endBalance, `${s.stage} #${i} end`).toBe(inStageBefore(rows, s.stage, bucket.to));
      const next = report.buckets[i + 1]?.stages.find((n) => n.stage === s.stage);
      if (next) expect(next.startBalance).toBe(s.endBalance);
    }
  });
}

describe('buckets', () => {
  it('weeks start on Monday (UTC), months on the 1st; the first and last bucket are cut to the period', () => {
    expect(bucketStart(day(2, 23), 'week')).toBe(MONDAY);
    expect(bucketStart(day(7), 'week')).toBe(day(7));
    expect(bucketStart(day(6, 23), 'week')).toBe(MONDAY);
    expect(bucketStart(day(2, 5), 'day')).toBe(day(2));
    expect(bucketStart(day(2, 5), 'month')).toBe(Date.UTC(2026, 10, 1));
    expect(bucketsOf({ from: day(2), to: day(10, 6) }, 'week')).toEqual([
      { from: day(2), to: day(7) },
      { from: day(7), to: day(10, 6) },
    ]);
    expect(bucketsOf({ from: Date.UTC(2026, 10, 15), to: Date.UTC(2027, 1, 1) }, 'month')).toEqual([
      { from: Date.UTC(2026, 10, 15), to: Date.UTC(2026, 11, 1) },
      { from: Date.UTC(2026, 11, 1), to: Date.UTC(2027, 0, 1) },
      { from: Date.UTC(2027, 0, 1), to: Date.UTC(2027, 1, 1) },
    ]);
  });

  it(`refuses more than ${MAX_BUCKETS} buckets, naming the interval`, () => {
    const long = { from: MONDAY, to: day(MAX_BUCKETS + 1) };
    expect(() => bucketsOf(long, 'day')).toThrow(ReportParamsError);
    expect(bucketsOf(long, 'week').length).toBeLessThan(MAX_BUCKETS);
  });
});

describe('funnel over time', () => {
  const report = funnelOverTime(byLead(ROWS), PERIOD, 'week');

  it('has a bucket per week and the funnel stages from lead (no lead was a visitor)', () => {
    expect(report.buckets.map((b) => [b.from, b.to])).toEqual([
      [MONDAY, day(7)],
      [day(7), day(14)],
    ]);
    expect(report.stages).toEqual(['lead', 'mql', 'sql', 'opportunity', 'customer']);
  });

  it('counts balances, entries and moves forward and out in each week', () => {
    // Week 1: a and b enter lead; a moves on to mql, b skips to sql.
    expect(stageOf(report, 0, 'lead')).toMatchObject({
      startBalance: 0,
      entered: 2,
      forward: 2,
      out: 0,
      back: 0,
      endBalance: 0,
      conversion: 1,
    });
    // old was an MQL already and is disqualified; a enters; b never does.
    expect(stageOf(report, 0, 'mql')).toMatchObject({
      startBalance: 1,
      entered: 1,
      forward: 0,
      out: 1,
      endBalance: 1,
      conversion: 0,
      velocityDays: null,
    });
    // b enters sql without having been an MQL, and leaves it to recycled.
    expect(stageOf(report, 0, 'sql')).toMatchObject({ startBalance: 0, entered: 1, forward: 0, out: 1 });
    // Week 2: c enters lead and stays; a goes mql → sql → opportunity.
    expect(stageOf(report, 1, 'lead')).toMatchObject({ startBalance: 0, entered: 1, endBalance: 1 });
    expect(stageOf(report, 1, 'mql')).toMatchObject({ startBalance: 1, forward: 1, endBalance: 0 });
    expect(stageOf(report, 1, 'sql')).toMatchObject({ entered: 1, forward: 1, endBalance: 0, conversion: 1 });
    expect(stageOf(report, 1, 'opportunity')).toMatchObject({ entered: 1, endBalance: 1, conversion: 0 });
    expect(stageOf(report, 1, 'customer')).toMatchObject({ startBalance: 0, entered: 0, conversion: null });
  });

  it('velocity is the mean days in the stage of the stays that moved forward in the bucket', () => {
    // a: a day as a lead; b: three days before it skipped to sql.
    expect(stageOf(report, 0, 'lead')?.velocityDays).toBe(2);
    expect(stageOf(report, 1, 'mql')?.velocityDays).toBe(7);
    expect(stageOf(report, 1, 'sql')?.velocityDays).toBe(1);
    expect(stageOf(report, 1, 'lead')?.velocityDays).toBeNull();
  });

  it('end = start + entered − out holds exactly, and the balances are the stages leads are in', () => {
    expectBalances(ROWS, report);
    expectBalances(ROWS, funnelOverTime(byLead(ROWS), PERIOD, 'day'));
    expectBalances(ROWS, funnelOverTime(byLead(ROWS), { from: day(1, 5), to: day(9, 11) }, 'day'));
  });

  it('holds over a generated year of leads too, by week and by month', () => {
    const rows = stageChangePopulation(
      yearOfCaptures({ seed: 11, leads: 400, from: MONDAY, dealValue: 1_000 }),
    );
    for (const interval of ['week', 'month'] as const) {
      const r = funnelOverTime(byLead(rows), { from: day(30), to: day(400) }, interval);
      expect(r.buckets.length).toBeGreaterThan(10);
      expectBalances(rows, r);
      const mqls = r.buckets.reduce((n, b) => n + (b.stages.find((s) => s.stage === 'mql')?.entered ?? 0), 0);
      expect(mqls).toBeGreaterThan(50);
    }
  });

  it('counts a move back to an earlier funnel stage apart, and a change to the same stage as none', () => {
    const rows = [
      ...lead('x', [
        ['lead', day(0)],
        ['mql', day(1)],
        ['mql', day(2)],
        ['lead', day(3)],
      ]),
    ];
    const r = funnelOverTime(byLead(rows), PERIOD, 'week');
    expect(stageOf(r, 0, 'mql')).toMatchObject({ entered: 1, back: 1, forward: 0, out: 0, endBalance: 0 });
    expect(stageOf(r, 0, 'lead')).toMatchObject({ entered: 2, forward: 1, endBalance: 1 });
    expectBalances(rows, r);
  });

  it('shows visitor only when a lead was a visitor before it was a lead', () => {
    // A form capture enters visitor and lead at one instant: it never was a visitor.
    const captured = lead('f', [
      ['visitor', day(1)],
      ['lead', day(1)],
    ]);
    expect(funnelOverTime(byLead(captured), PERIOD, 'week').stages[0]).toBe('lead');
    const browsed = lead('v', [
      ['visitor', day(1)],
      ['lead', day(4)],
    ]);
    const r = funnelOverTime(byLead([...captured, ...browsed]), PERIOD, 'week');
    expect(r.stages[0]).toBe('visitor');
    expect(stageOf(r, 0, 'visitor')).toMatchObject({ entered: 2, forward: 2, velocityDays: 1.5 });
  });

  it('starts at the bucket of the first record; nothing recorded: no buckets', () => {
    const r = funnelOverTime(byLead(ROWS), { from: 0, to: day(14) }, 'week');
    expect(r.buckets[0]?.from).toBe(bucketStart(day(-3), 'week'));
    expect(r.period).toEqual({ from: 0, to: day(14) });
    expect(funnelOverTime(new Map(), PERIOD, 'day').buckets).toEqual([]);
  });
});

describe('cohort funnel', () => {
  it('groups leads by the week they were created in, each cohort followed until asOf', () => {
    const asOf = day(20);
    const r = cohortFunnel(byLead(ROWS), { from: day(-7), to: day(14) }, 'week', asOf);
    expect(r.cohorts.map((c) => [c.from, c.to, c.leads])).toEqual([
      [day(-7), MONDAY, 1],
      [MONDAY, day(7), 2],
      [day(7), day(14), 1],
    ]);
    const [, week1] = r.cohorts;
    // a and b: both leads; one MQL (b skipped it), both SQLs, one opportunity.
    expect(week1?.funnel).toEqual([
      { stage: 'lead', leads: 2, stepRate: null, cumulativeRate: 1 },
      { stage: 'mql', leads: 1, stepRate: 0.5, cumulativeRate: 0.5 },
      { stage: 'sql', leads: 2, stepRate: 2, cumulativeRate: 1 },
      { stage: 'opportunity', leads: 1, stepRate: 0.5, cumulativeRate: 0.5 },
      { stage: 'customer', leads: 0, stepRate: 0, cumulativeRate: 0 },
    ]);
  });

  it("is the conversion report's cohort funnel for each bucket", () => {
    const rows = stageChangePopulation(
      yearOfCaptures({ seed: 12, leads: 300, from: MONDAY, dealValue: 1_000 }),
    );
    const leads = byLead(rows);
    const asOf = day(500);
    const r = cohortFunnel(leads, { from: day(10), to: day(200) }, 'month', asOf);
    expect(r.cohorts.length).toBe(7);
    expect(r.cohorts[0]?.from).toBe(day(10));
    for (const c of r.cohorts) {
      expect(c.funnel).toEqual(conversion(leads, { from: c.from, to: c.to }, asOf).funnel);
      expect(c.funnel[0]?.leads).toBe(c.leads);
    }
  });

  it('gives every cohort the visitor step when a lead of any was a visitor first', () => {
    const rows = [
      ...lead('f', [
        ['visitor', day(1)],
        ['lead', day(1)],
      ]),
      ...lead('v', [['visitor', day(8)]]),
    ];
    const r = cohortFunnel(byLead(rows), PERIOD, 'week', day(20));
    expect(r.cohorts.map((c) => c.funnel.map((s) => s.stage)[0])).toEqual(['visitor', 'visitor']);
    expect(r.cohorts[1]?.funnel.slice(0, 2)).toEqual([
      { stage: 'visitor', leads: 1, stepRate: null, cumulativeRate: 1 },
      { stage: 'lead', leads: 0, stepRate: 0, cumulativeRate: 0 },
    ]);
  });
});
