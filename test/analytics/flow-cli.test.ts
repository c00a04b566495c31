import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  byLead,
  cohortFunnel,
  funnelOverTime,
  openAnalyticsStore,
  type StageChangeRow,
} from '../../src/analytics/index.js';
import { runCli } from '../support/cli.js';
import { stageChangePopulation } from '../support/population.js';
import { yearOfCaptures } from '../support/populations.js';

/**
 * `leadcycle report flow` and `report cohort-funnel`, the real command in a child process over a data
 * dir of generated leads of two tenants: each is the pure function's answer over the same rows.
 */
const FROM = Date.UTC(2023, 0, 1);
let dir: string;
let rows: StageChangeRow[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leadcycle-flow-cli-'));
  rows = ['acme', 'globex'].flatMap((tenant, i) =>
    stageChangePopulation(yearOfCaptures({ seed: 20 + i, leads: 150, from: FROM, dealValue: 1_000 })).map(
      (row) => ({ ...row, key: `${tenant}/${row.key}`, leadId: `${tenant}-${row.leadId}`, tenant }),
    ),
  );
  const store = openAnalyticsStore(dir);
  await store.recordStageChanges(rows);
  await store.close();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const at = (iso: string) => Date.parse(iso);

describe('leadcycle report flow and cohort-funnel', () => {
  it('flow: the pure report of a tenant, by month, as JSON and as a table; a wrong interval is named', async () => {
    const period = ['--from', '2023-02-01', '--to', '2023-06-01'];
    const [json, human, wrong] = await Promise.all([
      runCli([
        '--json',
        'report',
        'flow',
        ...period,
        '--interval',
        'month',
        '--tenant',
        'acme',
        '--data-dir',
        dir,
      ]),
      runCli(['report', 'flow', ...period, '--data-dir', dir]),
      runCli(['report', 'flow', '--interval', 'year', '--data-dir', dir]),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const acme = byLead(rows.filter((r) => r.tenant === 'acme'));
    const expected = funnelOverTime(acme, { from: at('2023-02-01'), to: at('2023-06-01') }, 'month');
    expect(JSON.parse(json.stdout)).toEqual(expected);
    expect(expected.buckets).toHaveLength(4);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('funnel by week, 2023-02-01 00:00 UTC – 2023-06-01 00:00 UTC');
    const week = funnelOverTime(byLead(rows), { from: at('2023-02-01'), to: at('2023-06-01') }, 'week');
    const mql = week.buckets[0]?.stages.find((s) => s.stage === 'mql');
    expect(human.stdout).toMatch(
      new RegExp(`^2023-02-01\\s+mql\\s+${mql?.startBalance}\\s+${mql?.entered}\\s+${mql?.forward}\\s`, 'm'),
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('interval');
  });

  it('cohort-funnel: the pure report, by week, now and as of a past instant', async () => {
    const before = Date.now();
    const past = await runCli([
      '--json',
      'report',
      'cohort-funnel',
      '--from',
      '2023-03-01',
      '--to',
      '2023-04-01',
      '--as-of',
      '2023-05-01',
      '--data-dir',
      dir,
    ]);
    expect(past.code, past.stderr).toBe(0);
    expect(JSON.parse(past.stdout)).toEqual(
      cohortFunnel(byLead(rows), { from: at('2023-03-01'), to: at('2023-04-01') }, 'month', at('2023-05-01')),
    );
    const r = await runCli([
      '--json',
      'report',
      'cohort-funnel',
      '--from',
      '2023-03-01',
      '--to',
      '2023-04-01',
      '--interval',
      'week',
      '--data-dir',
      dir,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.asOf).toBeGreaterThanOrEqual(before);
    expect(json).toEqual(
      cohortFunnel(byLead(rows), { from: at('2023-03-01'), to: at('2023-04-01') }, 'week', json.asOf),
    );
    expect(json.cohorts).toHaveLength(5);
  });
});
