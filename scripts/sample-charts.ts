/**
 * `npm run sample-charts`: the charts in README, made the way users make theirs — 5,000 generated
 * leads (`journalPopulation`, seeded) driven through the machine, journaled and recorded into a
 * SQLite store, then read back through `Analytics` and drawn by `src/analytics/charts.ts`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Analytics, openAnalyticsStore } from '../src/analytics/index.js';
import { journalPopulation, recordPopulation } from '../test/support/population.js';

const FROM = Date.UTC(2026, 0, 1);
const TO = Date.UTC(2026, 6, 1);
const AS_OF = Date.UTC(2026, 9, 1);

const dir = await mkdtemp(join(tmpdir(), 'leadcycle-sample-'));
const store = openAnalyticsStore(dir);
try {
  await recordPopulation(store, journalPopulation({ seed: 2026, leads: 5_000, from: FROM, to: TO }));
  const analytics = new Analytics(store, () => AS_OF);
  const period = { from: FROM, to: TO };
  await writeFile('docs/funnel.svg', await analytics.funnelSvg(period));
  await writeFile('docs/velocity.svg', await analytics.velocitySvg(null));
  const whatIf = await analytics.backtest({ mqlThreshold: 60 }, { label: 'what-if: MQL threshold 60' });
  await writeFile('docs/backtest.svg', await analytics.backtestSvg(whatIf));
  console.log('wrote docs/funnel.svg, docs/velocity.svg, docs/backtest.svg');
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
