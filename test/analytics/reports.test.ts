import { beforeAll, describe, expect, it } from 'vitest';
import { forecast, MIN_HISTORY } from '../../src/analytics/forecast.js';
import { Analytics } from '../../src/analytics/index.js';
import type { StageChangeRow } from '../../src/analytics/records.js';
import { byLead, stageAt, stageCounts, velocity } from '../../src/analytics/reports.js';
import { DAY_MS, HOUR_MS } from '../../src/machines/index.js';
import { asOfView, stageChangePopulation } from '../support/population.js';
import { yearOfCaptures } from '../support/populations.js';
import { STORE_KINDS, useTestStores } from '../support/stores.js';

/**
 * Reports over generated populations whose true rates and stage times are known: the reports must
 * recover them. Tolerances are set from the sampling error of the population's size (stated per test).
 * Each runs against both stores: SQLite (reports computed in memory, the reference) and PostgreSQL
 * (aggregated in SQL).
 */
const YEAR_START = Date.UTC(2025, 0, 1);
const SPEC = yearOfCaptures({
  seed: 7,
  leads: 20_000,
  from: YEAR_START,
  dealValue: 25_000,
  mqlMeanDays: 1.5,
});
const rows = stageChangePopulation(SPEC);
/** Long after every lead has finished: the whole truth. */
const END = SPEC.to + 5 * 365 * DAY_MS;
const all = byLead(rows);

const stores = useTestStores();

describe.each(STORE_KINDS)('reports from the %s store', (kind) => {
  /** The population, written once into a store of this kind. */
  let population: Analytics;
  beforeAll(async () => {
    const store = await stores.open(kind);
    await store.recordStageChanges(rows);
    population = new Analytics(store, () => END);
  }, 60_000);

  /** A store of this kind holding only `changes`. */
  const analyticsOf = async (changes: StageChangeRow[]) => {
    const store = await stores.open(kind);
    await store.recordStageChanges(changes);
    return new Analytics(store, () => END);
  };

  describe('conversion', async () => {
    it('recovers the step rates and the cumulative rates (within 2 percentage points, n ≥ 1,000 per step)', async () => {
      const report = await population.conversion({ from: SPEC.from, to: SPEC.to }, END);
      const step = (stage: string) => report.funnel.find((s) => s.stage === stage);
      // Every lead came in by a form (visitor and lead at one instant): the funnel starts at lead.
      expect(report.funnel.map((s) => s.stage)).toEqual(['lead', 'mql', 'sql', 'opportunity', 'customer']);
      expect(step('lead')).toMatchObject({ leads: SPEC.leads, stepRate: null, cumulativeRate: 1 });
      expect(step('mql')?.stepRate).toBeCloseTo(0.4, 1);
      expect(Math.abs((step('mql')?.stepRate ?? 0) - 0.4)).toBeLessThan(0.02);
      expect(Math.abs((step('sql')?.stepRate ?? 0) - 0.6)).toBeLessThan(0.02);
      expect(Math.abs((step('opportunity')?.stepRate ?? 0) - 0.5)).toBeLessThan(0.03);
      expect(Math.abs((step('customer')?.stepRate ?? 0) - 0.3)).toBeLessThan(0.04);
      expect(Math.abs((step('customer')?.cumulativeRate ?? 0) - 0.4 * 0.6 * 0.5 * 0.3)).toBeLessThan(0.006);
    });

    it('starts at visitor as soon as one lead of the cohort was a visitor first', async () => {
      const t = Date.UTC(2026, 0, 1);
      const report = await (
        await analyticsOf([
          ...leadRows('form', [
            [null, 'visitor', t],
            ['visitor', 'lead', t],
          ]),
          ...leadRows('visit', [
            [null, 'visitor', t],
            ['visitor', 'lead', t + HOUR_MS],
          ]),
          ...leadRows('browsing', [[null, 'visitor', t + 2 * HOUR_MS]]),
        ])
      ).conversion({ from: t, to: t + DAY_MS }, t + DAY_MS);
      expect(report.funnel.slice(0, 2)).toEqual([
        { stage: 'visitor', leads: 3, stepRate: null, cumulativeRate: 1 },
        { stage: 'lead', leads: 2, stepRate: 2 / 3, cumulativeRate: 2 / 3 },
      ]);
      // Before the visit became a lead, it was a visitor still: the step is there at that instant too.
      const early = await (
        await analyticsOf([
          ...leadRows('form', [
            [null, 'visitor', t],
            ['visitor', 'lead', t],
          ]),
          ...leadRows('visit', [
            [null, 'visitor', t],
            ['visitor', 'lead', t + HOUR_MS],
          ]),
        ])
      ).conversion({ from: t, to: t + DAY_MS }, t + HOUR_MS / 2);
      expect(early.funnel[0]).toEqual({ stage: 'visitor', leads: 2, stepRate: null, cumulativeRate: 1 });
    });

    it('counts flow per stage: leads entering a stage in the period and moving on by asOf', async () => {
      const firstHalf = { from: SPEC.from, to: SPEC.from + 182 * DAY_MS };
      const report = await population.conversion(firstHalf, END);
      const mqlToSql = report.flow.find((f) => f.from === 'mql');
      expect(mqlToSql?.entered).toBeGreaterThan(1_000);
      expect(Math.abs((mqlToSql?.rate ?? 0) - 0.6)).toBeLessThan(0.04);
      // Cut at the period's end instead: some leads had not moved on yet, so the rate is lower.
      const early = (await population.conversion(firstHalf, firstHalf.to)).flow.find(
        (f) => f.from === 'opportunity',
      );
      const late = report.flow.find((f) => f.from === 'opportunity');
      expect(early?.entered).toBe(late?.entered);
      expect(early?.converted ?? 0).toBeLessThan(late?.converted ?? 0);
    });
  });

  describe('time in stage', async () => {
    it('recovers each stage mean (within 6 %) and its median (mean · ln 2, within 8 %)', async () => {
      const report = await population.velocity(null, END);
      for (const [stage, { meanDays }] of Object.entries(SPEC.steps)) {
        const time = report.stages.find((s) => s.stage === stage);
        expect(time?.open).toBe(0);
        expect(Math.abs((time?.meanDays ?? 0) / meanDays - 1)).toBeLessThan(0.06);
        expect(Math.abs((time?.medianDays ?? 0) / (meanDays * Math.LN2) - 1)).toBeLessThan(0.08);
        // Exponential stays: the time to the next stage has the same distribution as the stay.
        if (time?.toNext?.meanDays) expect(Math.abs(time.toNext.meanDays / meanDays - 1)).toBeLessThan(0.1);
      }
    });

    it('drops the terminal stages, whose stays never end, unless some stay in them did end', async () => {
      const report = await population.velocity(null, END);
      expect(report.stages.map((s) => s.stage)).toEqual([
        'visitor',
        'lead',
        'mql',
        'sql',
        'opportunity',
        'recycled',
      ]);
      const t = Date.UTC(2026, 0, 1);
      const comeBack = await (
        await analyticsOf(
          leadRows('back', [
            [null, 'lead', t],
            ['lead', 'lost', t + DAY_MS],
            ['lost', 'lead', t + 31 * DAY_MS],
          ]),
        )
      ).velocity(null, t + 40 * DAY_MS);
      expect(comeBack.stages.find((s) => s.stage === 'lost')).toMatchObject({
        count: 1,
        medianDays: 30,
        open: 0,
      });
      expect(comeBack.stages.map((s) => s.stage)).not.toContain('customer');
    });

    it('leaves stays still running out of the figures and counts them as open', async () => {
      const asOf = SPEC.from + 200 * DAY_MS;
      const report = await population.velocity(null, asOf);
      // The store holds the later changes too: they do not change the past.
      expect(report).toEqual(velocity(byLead(asOfView(rows, asOf)), asOf));
      const lead = report.stages.find((s) => s.stage === 'lead');
      const inLead = (await population.stages(asOf)).stages.lead;
      expect(lead?.open).toBe(inLead);
    });
  });

  describe('leads per stage', async () => {
    it('gives the stage of every lead at any past date', async () => {
      const asOf = SPEC.from + 120 * DAY_MS;
      const report = await population.stages(asOf);
      const created = new Set(rows.filter((r) => r.at <= asOf).map((r) => r.leadId)).size;
      expect(report.total).toBe(created);
      expect(Object.values(report.stages).reduce((a, b) => a + b, 0)).toBe(created);
      // Same answer from the store's view at that date: the past is not rewritten by later changes.
      expect(stageCounts(byLead(asOfView(rows, asOf)), asOf)).toEqual(report);
      const someone = [...all.values()][0] as StageChangeRow[];
      expect(stageAt(someone, (someone[0]?.at ?? 0) - 1)).toBeNull();
    });
  });

  describe('SLA breaches', async () => {
    it('finds the MQL stays that outlived the SLA: P(stay > 48 h) = exp(−2/1.5) for a 1.5-day mean', async () => {
      const report = await population.sla({ slaHours: 48, asOf: END });
      const expected = Math.exp(-48 / (SPEC.steps.mql.meanDays * 24));
      expect(report.mqlStays).toBeGreaterThan(7_000);
      expect(Math.abs((report.rate ?? 0) - expected)).toBeLessThan(0.02);
      expect(report.byOutcome.still_waiting).toBe(0);
      expect(report.worst[0]?.overdueHours).toBeGreaterThanOrEqual(report.worst[1]?.overdueHours ?? 0);
    });

    it('counts an MQL still waiting past its deadline', async () => {
      const t = Date.UTC(2026, 0, 1);
      const lead = [
        row(1, null, 'visitor', t),
        row(2, 'visitor', 'lead', t),
        row(3, 'lead', 'mql', t + HOUR_MS),
      ];
      const report = await (await analyticsOf(lead)).sla({ slaHours: 48, asOf: t + 100 * HOUR_MS });
      expect(report.byOutcome).toEqual({ answered_late: 0, recycled_by_sla: 0, still_waiting: 1 });
      expect(report.worst[0]?.overdueHours).toBeCloseTo(51);
    });
  });

  describe('cohorts by capture month', async () => {
    it('puts every lead in its capture month and gives each month the same conversion (within 4 points)', async () => {
      const report = await population.cohorts(END);
      expect(report.cohorts.map((c) => c.month)).toHaveLength(12);
      expect(report.cohorts.reduce((n, c) => n + c.leads, 0)).toBe(SPEC.leads);
      for (const cohort of report.cohorts) {
        expect(Math.abs(cohort.reached.mql / cohort.leads - 0.4)).toBeLessThan(0.04);
        expect(cohort.daysToCustomer.count).toBe(cohort.reached.customer);
      }
    });
  });

  describe('forecast', async () => {
    it('predicts the customers that today’s pipeline brings within 90 days (within its 80 % interval, widened for model error)', async () => {
      // "Today" is two thirds into a year of steady capture; the truth is in the generated future.
      const asOf = SPEC.from + 240 * DAY_MS;
      const horizonDays = 90;
      const known = byLead(asOfView(rows, asOf));
      const report = await population.forecast({ asOf, horizonDays });
      expect(report).toEqual(forecast(known, { asOf, horizonDays }));

      const openAtAsOf = new Set(
        [...known.entries()]
          .filter(([, c]) => !['customer', 'lost', 'disqualified'].includes(stageAt(c, asOf) ?? ''))
          .map(([k]) => k),
      );
      const actual = rows.filter(
        (r) =>
          r.to === 'customer' &&
          openAtAsOf.has(r.leadId) &&
          r.at > asOf &&
          r.at <= asOf + horizonDays * DAY_MS,
      ).length;

      expect(actual).toBeGreaterThan(50);
      expect(report.notEnoughHistory).toEqual([]);
      const spread = (report.high - report.low) / 2;
      expect(Math.abs(report.expectedCustomers - actual)).toBeLessThan(Math.max(2 * spread, 0.15 * actual));
      expect(report.dealValue).toBe(SPEC.dealValue);
      expect(report.expectedRevenue).toBeCloseTo(report.expectedCustomers * SPEC.dealValue);
    });

    it('leaves out a stage with too little history, and says so', async () => {
      const t = Date.UTC(2026, 0, 1);
      const few = await analyticsOf([row(1, null, 'visitor', t), row(2, 'visitor', 'lead', t)]);
      const report = await few.forecast({ asOf: t + DAY_MS, horizonDays: 30 });
      expect(report.stages.find((s) => s.stage === 'lead')?.history).toBeLessThan(MIN_HISTORY);
      expect(report.notEnoughHistory).toEqual(['lead']);
      expect(report.expectedCustomers).toBe(0);
      expect(report.expectedRevenue).toBeNull();
    });
  });
});

function row(
  seq: number,
  from: StageChangeRow['from'],
  to: StageChangeRow['to'],
  at: number,
): StageChangeRow {
  return { key: `one/${seq}`, leadId: 'one', seq, from, to, at, cause: 'test', reason: null, amount: null };
}

/** One lead's rows, in seq order. */
function leadRows(
  leadId: string,
  changes: [StageChangeRow['from'], StageChangeRow['to'], number][],
): StageChangeRow[] {
  return changes.map(([from, to, at], i) => ({
    key: `${leadId}/${i + 1}`,
    leadId,
    seq: i + 1,
    from,
    to,
    at,
    cause: 'test',
    reason: null,
    amount: null,
  }));
}
