/**
 * The attribution report: which sources, channels, campaigns and forms bring leads, MQLs, SQLs,
 * opportunities, customers and won revenue. A pure function of the stage changes, which carry the
 * lead's first and last touch as of each change, so every store gives the same answer.
 */
import { type Stage, type Touch, type TouchDimension, touchValue } from '../machines/index.js';
import type { StageChangeRow } from './records.js';
import { firstEntry, type Period } from './reports.js';

/**
 * `first`: every stage a lead reaches counts for its first touch. `last`: each one counts for the
 * lead's last touch before it (the touch the stage change carried).
 */
export const ATTRIBUTION_MODELS = ['first', 'last'] as const;
export type AttributionModel = (typeof ATTRIBUTION_MODELS)[number];

export interface AttributionCounts {
  /** Leads that entered each stage for the first time during the period. */
  leads: number;
  mqls: number;
  sqls: number;
  opportunities: number;
  customers: number;
  /** The amounts of those customers' deals (a deal won without an amount adds nothing). */
  wonAmount: number;
}

export interface AttributionRow extends AttributionCounts {
  /** The touch's value for the dimension; null for leads without one (no touch, or not that field). */
  value: string | null;
}

export interface AttributionReport {
  model: AttributionModel;
  by: TouchDimension;
  /** Stage entries in this period; null for all of them. */
  period: Period | null;
  /** The most leads first, then the most customers, then by value (null last). */
  rows: AttributionRow[];
  total: AttributionCounts;
}

/** The funnel stages the report counts, each under its own field. */
const COUNTED = [
  ['lead', 'leads'],
  ['mql', 'mqls'],
  ['sql', 'sqls'],
  ['opportunity', 'opportunities'],
  ['customer', 'customers'],
] as const satisfies ReadonlyArray<readonly [Stage, keyof AttributionCounts]>;

const zero = (): AttributionCounts => ({
  leads: 0,
  mqls: 0,
  sqls: 0,
  opportunities: 0,
  customers: 0,
  wonAmount: 0,
});

/** The lead's first touch: set once, so the first change that carries one tells it. */
const firstTouchOf = (changes: StageChangeRow[]): Touch | null =>
  changes.find((c) => c.firstTouch)?.firstTouch ?? null;

/** Code-unit order, the same in every locale. */
const byValue = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function attribution(
  leads: Map<string, StageChangeRow[]>,
  options: { model: AttributionModel; by: TouchDimension; period: Period | null },
): AttributionReport {
  const { model, by, period } = options;
  const groups = new Map<string | null, AttributionCounts>();
  const total = zero();
  const inPeriod = (at: number) => period === null || (at >= period.from && at < period.to);
  for (const changes of leads.values()) {
    const first = touchValue(firstTouchOf(changes), by);
    for (const [stage, field] of COUNTED) {
      const at = firstEntry(changes, stage);
      if (at === null || !inPeriod(at)) continue;
      const entry = changes.find((c) => c.to === stage);
      const value = model === 'first' ? first : touchValue(entry?.lastTouch, by);
      let counts = groups.get(value);
      if (!counts) {
        counts = zero();
        groups.set(value, counts);
      }
      counts[field]++;
      total[field]++;
      if (stage === 'customer' && entry?.amount != null) {
        counts.wonAmount += entry.amount;
        total.wonAmount += entry.amount;
      }
    }
  }
  const rows = [...groups].map(([value, counts]): AttributionRow => ({ value, ...counts }));
  rows.sort(
    (a, b) =>
      b.leads - a.leads ||
      b.customers - a.customers ||
      (a.value === null ? 1 : 0) - (b.value === null ? 1 : 0) ||
      byValue(a.value ?? '', b.value ?? ''),
  );
  return { model, by, period, rows, total };
}
