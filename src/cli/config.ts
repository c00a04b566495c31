/**
 * `config apply`, `config status`, `config rollback`: config versions (src/config-versions.ts),
 * stored in the data dir and rolled out to the running leads (src/client/config-rollout.ts).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { Analytics, type BacktestReport, backtestTimerIssues, openStore } from '../analytics/index.js';
import {
  type ConfigCounts,
  countLeadsPerVersion,
  DEFAULT_ROLLOUT_CONCURRENCY,
  type RolloutReport,
  rollOut,
} from '../client/index.js';
import { ConfigFileError, readConfigOverrides } from '../config-file.js';
import { type ConfigVersion, ConfigVersions, liveConfig } from '../config-versions.js';
import { LeadcycleConfigSchema } from '../machines/index.js';
import { dataDirOf } from '../paths.js';
import { readSettings } from '../settings.js';
import { withClient } from './leads.js';
import { integer, parseOptions } from './options.js';
import { type Output, table } from './output.js';
import { describeBacktest } from './report-text.js';

const ApplyOptionsSchema = z
  .object({
    backtest: z.boolean().optional(),
    note: z.string().min(1).max(500).optional(),
    concurrency: z.number().int().min(1).max(64),
  })
  .strict();
const RollbackOptionsSchema = ApplyOptionsSchema.omit({ backtest: true });

function describeRollout(version: ConfigVersion, report: RolloutReport): string {
  const lines = [
    `stored config version ${version.id}${version.note ? ` (${version.note})` : ''}`,
    `rolled out to ${report.applied} running lead(s); ${report.failed.length} failed`,
  ];
  if (report.failed.length > 0) lines.push(table(report.failed));
  return lines.join('\n');
}

function describeStatus(current: ConfigVersion | null, counts: ConfigCounts): string {
  const head = current
    ? `current config version ${current.id}, created ${current.createdAt}${current.note ? ` (${current.note})` : ''}`
    : 'no config version stored: new leads start with LEADCYCLE_CONFIG (else the defaults)';
  const rows = Object.entries(counts.leadsPerVersion).map(([version, leads]) => ({ version, leads }));
  return [head, `${counts.running} running lead(s)`, table(rows)].join('\n');
}

/** The journal replayed under the candidate before it is stored (the same backtest as `leadcycle backtest`). */
async function backtestFirst(file: string, overrides: object, live: object): Promise<BacktestReport> {
  const tooFast = backtestTimerIssues(LeadcycleConfigSchema.parse({ ...live, ...overrides }));
  if (tooFast.length > 0) throw new ConfigFileError(file, tooFast);
  const dir = dataDirOf(readSettings());
  if (!existsSync(dir))
    throw new ConfigFileError(file, [{ path: [], message: `no data dir ${dir} to backtest` }]);
  const store = openStore(dir, readSettings());
  try {
    return await new Analytics(store, Date.now, live).backtest(overrides, { label: 'candidate' });
  } finally {
    await store.close();
  }
}

export function addConfigCommands(program: Command, out: Output): void {
  const config = program
    .command('config')
    .description('config versions: roll a config out to the running leads, see who runs which, roll back');

  const finish = (version: ConfigVersion, report: RolloutReport) => {
    out.print({ version, rollout: report }, () => describeRollout(version, report));
    // Stored and partly rolled out: the failed leads are listed, and a second apply of the same
    // version reaches them (a lead already on it answers at once).
    if (report.failed.length > 0) process.exitCode = 1;
  };

  config
    .command('apply')
    .description(
      "store a config as the next version and send it to every running lead (fields it names replace the current version's)",
    )
    .argument('<file>', 'JSON config (fields of a LEADCYCLE_CONFIG file)')
    .option('--backtest', 'first replay the journal under it and print the funnels beside the actual ones')
    .option('--note <text>', 'why this version (shown by `config status`)')
    .option('--concurrency <n>', 'leads updated at once', integer, DEFAULT_ROLLOUT_CONCURRENCY)
    .action(async (file: string, options: unknown) => {
      const { backtest, note, concurrency } = parseOptions(ApplyOptionsSchema, options);
      const path = resolve(file);
      const overrides = await readConfigOverrides(path);
      const store = ConfigVersions.fromSettings();
      const live = await liveConfig(store);
      if (backtest) {
        const report = await backtestFirst(path, overrides, live.config);
        out.print({ backtest: report }, () => describeBacktest(report));
      }
      const version = await store.add({ ...live.config, ...overrides }, note);
      finish(version, await withClient((client) => rollOut(client, version, { concurrency })));
    });

  config
    .command('status')
    .description('the current config version and how many running leads run each version')
    .action(async () => {
      const current = await ConfigVersions.fromSettings().current();
      const counts = await withClient((client) => countLeadsPerVersion(client));
      out.print({ current, ...counts }, () => describeStatus(current, counts));
    });

  config
    .command('rollback')
    .description(
      'store the version before the current one again, as a new version, and send it to every running lead',
    )
    .option('--note <text>', 'why (default "rollback to version <n>")')
    .option('--concurrency <n>', 'leads updated at once', integer, DEFAULT_ROLLOUT_CONCURRENCY)
    .action(async (options: unknown) => {
      const { note, concurrency } = parseOptions(RollbackOptionsSchema, options);
      const version = await ConfigVersions.fromSettings().rollback(note);
      finish(version, await withClient((client) => rollOut(client, version, { concurrency })));
    });
}
