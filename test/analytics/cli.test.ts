import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attribution,
  backtest,
  byLead,
  cohorts,
  conversion,
  forecast,
  openAnalyticsStore,
  type StageChangeRow,
  salesSla,
  stageCounts,
  velocity,
} from '../../src/analytics/index.js';
import { DAY_MS } from '../../src/machines/index.js';
import { CLI } from '../support/cli.js';
import {
  type JournaledPopulationLead,
  journalPopulation,
  recordPopulation,
  stageChangePopulation,
} from '../support/population.js';
import { yearOfCaptures } from '../support/populations.js';

/**
 * `leadcycle report|chart|backtest`, the real command in a child process, over data dirs filled with
 * generated populations: each report must be the pure function's over the same rows.
 */
const run = promisify(execFile);

const YEAR_START = Date.UTC(2023, 0, 1);
/** Well in the past: every lead has finished, so "now" only moves `asOf`, which the reports echo. */
const SPEC = yearOfCaptures({ seed: 11, leads: 1_500, from: YEAR_START, dealValue: 20_000 });

let root: string;
/** stageChangePopulation rows. */
let reportsDir: string;
/** journalPopulation leads, with the stage changes their live machine made. */
let journalDir: string;
let emptyDir: string;
let rows: StageChangeRow[];
let journaled: JournaledPopulationLead[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'leadcycle-report-cli-'));
  reportsDir = await mkdtemp(join(root, 'reports-'));
  journalDir = await mkdtemp(join(root, 'journal-'));
  emptyDir = await mkdtemp(join(root, 'empty-'));

  rows = stageChangePopulation(SPEC);
  const reports = openAnalyticsStore(reportsDir);
  for (const row of rows) await reports.recordStageChange(row);
  await reports.close();

  journaled = journalPopulation({ seed: 5, leads: 200, from: YEAR_START, to: YEAR_START + 180 * DAY_MS });
  const journal = openAnalyticsStore(journalDir);
  await recordPopulation(journal, journaled);
  await journal.close();

  await writeFile(join(root, 'what-if.json'), JSON.stringify({ mqlThreshold: 30 }));
  await writeFile(join(root, 'wrong-type.json'), JSON.stringify({ mqlThreshold: 'high' }));
  await writeFile(join(root, 'unknown-field.json'), JSON.stringify({ mqlTreshold: 30 }));
  await writeFile(join(root, 'fast-tick.json'), JSON.stringify({ decayTickDays: 0.01 }));
  await writeFile(
    join(root, 'marketing-only.json'),
    JSON.stringify({ personas: [{ id: 'm', name: 'Marketing', jobFunctions: ['marketing'] }] }),
  );
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [...CLI, ...args], {
      env: { ...process.env, ...env },
      cwd: root,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `--json`, expecting success. */
async function report(...args: string[]) {
  const before = Date.now();
  const r = await cli(['--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return { json: JSON.parse(r.stdout), before, after: Date.now() };
}

const pct = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(1)}%`);
const leads = () => byLead(rows);
const at = (iso: string) => Date.parse(iso);

describe('leadcycle report', () => {
  it('stages: the pure counts, as JSON and as a table, from LEADCYCLE_DATA_DIR', async () => {
    const instant = '2023-07-01';
    const expected = stageCounts(leads(), at(instant));
    const [json, human] = await Promise.all([
      cli(['--json', 'report', 'stages', '--at', instant], { LEADCYCLE_DATA_DIR: reportsDir }),
      cli(['report', 'stages', '--at', instant], { LEADCYCLE_DATA_DIR: reportsDir }),
    ]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(expected);
    expect(expected.total).toBeGreaterThan(0);
    expect(human.stdout).toContain(`${expected.total} leads at 2023-07-01 00:00 UTC`);
    for (const [stage, n] of Object.entries(expected.stages)) {
      expect(human.stdout).toMatch(new RegExp(`^${stage}\\s+${n}$`, 'm'));
    }
  });

  it('conversion: the pure funnel and flow for a period; rates as percentages with one decimal', async () => {
    const args = ['--from', '2023-01-01', '--to', '2023-07-01', '--as-of', '2024-06-01T12:00:00Z'];
    const expected = conversion(
      leads(),
      { from: at('2023-01-01'), to: at('2023-07-01') },
      at('2024-06-01T12:00:00Z'),
    );
    const [{ json }, human] = await Promise.all([
      report('report', 'conversion', ...args, '--data-dir', reportsDir),
      cli(['report', 'conversion', ...args, '--data-dir', reportsDir]),
    ]);
    expect(json).toEqual(expected);
    for (const step of expected.funnel) {
      const rate = pct(step.stepRate).replace('.', '\\.');
      const cumulative = pct(step.cumulativeRate).replace('.', '\\.');
      expect(human.stdout).toMatch(
        new RegExp(`^${step.stage}\\s+${step.leads}\\s+${rate}\\s+${cumulative}$`, 'm'),
      );
    }
    expect(human.stdout).toMatch(/^mql\s+\d+\s+\d+\.\d%\s+\d+\.\d%$/m);
  });

  it(`conversion: by default, the leads created in the 90 days before now`, async () => {
    const { json, before, after } = await report('report', 'conversion', '--data-dir', reportsDir);
    expect(json.asOf).toBeGreaterThanOrEqual(before);
    expect(json.asOf).toBeLessThanOrEqual(after);
    expect(json.period).toEqual({ from: json.asOf - 90 * DAY_MS, to: json.asOf });
    expect(json).toEqual(conversion(leads(), json.period, json.asOf));
  });

  it('velocity and sla: the pure reports for a period; days with one decimal', async () => {
    const period = { from: at('2023-03-01'), to: at('2023-09-01') };
    const [v, s, human] = await Promise.all([
      report('report', 'velocity', '--from', '2023-03-01', '--to', '2023-09-01', '--data-dir', reportsDir),
      report(
        'report',
        'sla',
        '--sla-hours',
        '24',
        '--from',
        '2023-03-01',
        '--to',
        '2023-09-01',
        '--data-dir',
        reportsDir,
      ),
      cli(['report', 'velocity', '--from', '2023-03-01', '--to', '2023-09-01', '--data-dir', reportsDir]),
    ]);
    expect(v.json.asOf).toBeGreaterThanOrEqual(v.before);
    expect(v.json).toEqual(velocity(leads(), v.json.asOf, period));
    const sql = v.json.stages.find((t: { stage: string }) => t.stage === 'sql');
    expect(human.stdout).toMatch(
      new RegExp(
        `^sql\\s+${sql.count}\\s+${sql.medianDays.toFixed(1)}\\s+${sql.meanDays.toFixed(1)}\\s`,
        'm',
      ),
    );

    expect(s.json).toEqual(salesSla(leads(), { slaHours: 24, asOf: s.json.asOf, period }));
    expect(s.json.breaches).toBeGreaterThan(0);
  });

  it('cohorts and forecast: the pure reports', async () => {
    const [c, f, human] = await Promise.all([
      report('report', 'cohorts', '--data-dir', reportsDir),
      report('report', 'forecast', '--horizon-days', '60', '--deal-value', '1000', '--data-dir', reportsDir),
      cli(['report', 'forecast', '--data-dir', reportsDir]),
    ]);
    expect(c.json).toEqual(cohorts(leads(), c.json.asOf));
    expect(c.json.cohorts).toHaveLength(12);
    expect(f.json).toEqual(forecast(leads(), { asOf: f.json.asOf, horizonDays: 60, dealValue: 1000 }));
    // Without --deal-value, the mean amount of the won deals: the population's one deal value.
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('within 90 days');
    expect(human.stdout).toContain('deal value 20,000');
  });
});

describe('leadcycle chart', () => {
  it('writes the funnel and the velocity charts as SVG files', async () => {
    const funnel = join(root, 'funnel.svg');
    const times = join(root, 'velocity.svg');
    const [f, v] = await Promise.all([
      report(
        'chart',
        'funnel',
        '--out',
        funnel,
        '--from',
        '2023-01-01',
        '--to',
        '2024-01-01',
        '--data-dir',
        reportsDir,
      ),
      cli(['chart', 'velocity', '--out', times, '--data-dir', reportsDir]),
    ]);
    expect(f.json).toMatchObject({ chart: 'funnel', out: funnel });
    expect(v.stdout).toContain(`wrote the velocity chart to ${times}`);
    const funnelSvg = await readFile(funnel, 'utf8');
    expect(funnelSvg).toMatch(/^<svg /);
    expect(funnelSvg).toContain('Lead funnel');
    expect(f.json.bytes).toBe(Buffer.byteLength(funnelSvg));
    expect(await readFile(times, 'utf8')).toMatch(/^<svg [\s\S]*Time in stage/);
  });
});

describe('leadcycle backtest', () => {
  it('changes only what the what-if names in the live config (LEADCYCLE_CONFIG)', async () => {
    const args = ['--json', 'backtest', '--config', 'what-if.json', '--data-dir', journalDir];
    const live = await cli(args, { LEADCYCLE_CONFIG: join(root, 'marketing-only.json') });
    expect(live.code).toBe(0);
    const mql = (out: string) =>
      JSON.parse(out).series[1].funnel.find((f: { stage: string }) => f.stage === 'mql').leads;
    // The live persona fits none of the generated IT leads; the what-if changes only the threshold.
    expect(mql(live.stdout)).toBe(0);
    expect(mql((await cli(args)).stdout)).toBeGreaterThan(0);
  });

  it('replays the journal under the what-if config: the pure backtest, and its chart', async () => {
    const chart = join(root, 'backtest.svg');
    const until = '2024-01-01';
    const { json } = await report(
      'backtest',
      '--config',
      'what-if.json',
      '--label',
      'threshold 30',
      '--until',
      until,
      '--chart',
      chart,
      '--data-dir',
      journalDir,
    );
    async function* journal() {
      for (const { lead, events } of journaled) yield { lead, events };
    }
    const expected = await backtest(journal(), [{ label: 'threshold 30', config: { mqlThreshold: 30 } }], {
      until: at(until),
      recorded: byLead(journaled.flatMap((l) => l.changes)),
    });
    expect(json).toEqual(expected);
    // A lower threshold makes more MQLs of the same leads.
    const mqls = (label: string) =>
      json.series
        .find((s: { label: string }) => s.label === label)
        .funnel.find((f: { stage: string }) => f.stage === 'mql').leads;
    expect(mqls('threshold 30')).toBeGreaterThan(mqls('actual'));
    expect(await readFile(chart, 'utf8')).toMatch(/^<svg [\s\S]*threshold 30/);

    const human = await cli([
      'backtest',
      '--config',
      'what-if.json',
      '--until',
      until,
      '--data-dir',
      journalDir,
    ]);
    expect(human.stdout).toMatch(
      /^stage\s+actual leads\s+actual step rate\s+what-if leads\s+what-if step rate$/m,
    );
    expect(human.stdout).toContain('200 journaled leads replayed until 2024-01-01 00:00 UTC');
  });
});

describe('bad input exits 2 naming the option or the field; missing data exits 1', () => {
  it('refuses dates that do not parse, negative horizons and periods that end first', async () => {
    const [date, horizon, horizonJson, period, dataDir] = await Promise.all([
      cli(['report', 'stages', '--at', '2023-13-45', '--data-dir', reportsDir]),
      cli(['report', 'forecast', '--horizon-days', '-5', '--data-dir', reportsDir]),
      cli(['--json', 'report', 'forecast', '--horizon-days', 'soon', '--data-dir', reportsDir]),
      cli(['report', 'velocity', '--from', '2023-06-01', '--to', '2023-01-01', '--data-dir', reportsDir]),
      cli(['report', 'cohorts', '--data-dir', join(root, 'no-such-dir')]),
    ]);
    expect(date.code).toBe(2);
    expect(date.stderr).toMatch(/^error: --at: expected an ISO 8601 date/);
    expect(horizon.code).toBe(2);
    expect(horizon.stderr).toMatch(/^error: --horizon-days: Too small/);
    expect(horizonJson.code).toBe(2);
    expect(JSON.parse(horizonJson.stderr)).toEqual({
      error: {
        code: 'invalid_params',
        message: '--horizon-days: expected a number of days',
        issues: [{ option: '--horizon-days', message: 'expected a number of days' }],
      },
    });
    expect(period.code).toBe(2);
    expect(period.stderr).toMatch(/^error: --from: must be before the end of the period/);
    expect(dataDir.code).toBe(2);
    expect(dataDir.stderr).toMatch(/^error: --data-dir: no such directory/);
  });

  it('refuses a what-if config with a wrong field, naming the field', async () => {
    const [wrongType, unknown, asJson, label, fastTick] = await Promise.all([
      cli(['backtest', '--config', 'wrong-type.json', '--data-dir', journalDir]),
      cli(['backtest', '--config', 'unknown-field.json', '--data-dir', journalDir]),
      cli(['--json', 'backtest', '--config', 'wrong-type.json', '--data-dir', journalDir]),
      cli(['backtest', '--config', 'what-if.json', '--label', 'actual', '--data-dir', journalDir]),
      cli(['backtest', '--config', 'fast-tick.json', '--data-dir', journalDir]),
    ]);
    expect(wrongType.code).toBe(2);
    expect(wrongType.stderr).toMatch(/^error: wrong-type\.json: mqlThreshold: .*expected number/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('mqlTreshold');
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stderr).error).toMatchObject({
      code: 'invalid_config',
      issues: [{ path: 'mqlThreshold' }],
    });
    expect(label.code).toBe(2);
    expect(label.stderr).toMatch(/^error: --label: "actual" names the recorded series/);
    // A decay tick every 14.4 minutes would replay ~100 timers per lead and day: refused, naming the minimum.
    expect(fastTick.code).toBe(2);
    expect(fastTick.stderr).toMatch(
      /^error: fast-tick\.json: decayTickDays: must be at least 1 day in a backtest/,
    );
  });

  it('says so when the store holds nothing to backtest or to draw', async () => {
    const [backtested, asJson, chart] = await Promise.all([
      cli(['backtest', '--config', 'what-if.json', '--data-dir', emptyDir]),
      cli(['--json', 'backtest', '--config', 'what-if.json', '--data-dir', emptyDir]),
      cli(['chart', 'velocity', '--out', join(root, 'empty.svg'), '--data-dir', emptyDir]),
    ]);
    expect(backtested.code).toBe(1);
    expect(backtested.stderr).toBe('error: the journal holds no leads to replay\n');
    expect(JSON.parse(asJson.stderr).error.code).toBe('no_leads');
    expect(chart.code).toBe(1);
    expect(chart.stderr).toMatch(/no stage has a completed stay/);
  });
});

describe('leadcycle report attribution', () => {
  it('the pure report by first or last touch, as JSON and as a table; a wrong model is named', async () => {
    const dir = await mkdtemp(join(root, 'touched-'));
    // Customers credited to a partner by their last touch; everyone else to where they came from.
    const touched = rows.map((row): StageChangeRow => {
      if (row.to === 'visitor') return row;
      const n = Number.parseInt(row.leadId.replace(/\D/g, '') || '0', 10);
      const first = { source: n % 2 ? 'google' : 'linkedin', campaign: 'spring' };
      return {
        ...row,
        firstTouch: first,
        lastTouch: row.to === 'customer' ? { source: 'partner-x' } : first,
      };
    });
    const store = openAnalyticsStore(dir);
    await store.recordStageChanges(touched);
    await store.close();
    const period = ['--from', '2023-03-01', '--to', '2023-09-01'];
    const [last, first, human, wrong] = await Promise.all([
      report('report', 'attribution', '--model', 'last', ...period, '--data-dir', dir),
      report('report', 'attribution', '--by', 'campaign', '--data-dir', dir),
      cli(['report', 'attribution', '--model', 'last', ...period, '--data-dir', dir]),
      cli(['report', 'attribution', '--model', 'linear', '--data-dir', dir]),
    ]);
    const expected = attribution(byLead(touched), {
      model: 'last',
      by: 'source',
      period: { from: at('2023-03-01'), to: at('2023-09-01') },
    });
    expect(last.json).toEqual(expected);
    const partner = expected.rows.find((r) => r.value === 'partner-x');
    expect(partner?.customers).toBeGreaterThan(0);
    expect(partner?.leads).toBe(0);
    expect(first.json).toEqual(
      attribution(byLead(touched), { model: 'first', by: 'campaign', period: null }),
    );
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('last-touch attribution by source; stage entries 2023-03-01 00:00 UTC');
    expect(human.stdout).toMatch(
      new RegExp(`^partner-x\\s+0\\s+0\\s+0\\s+0\\s+${partner?.customers}\\s`, 'm'),
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('model');
  });
});
