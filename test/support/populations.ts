import { DAY_MS } from '../../src/machines/index.js';
import type { StageChangePopulationSpec } from './population.js';

/**
 * The analytics tests' reference funnel: leads captured evenly over one year from `from`; 40 % of
 * leads become MQLs (after 20 days on average), 60 % of MQLs SQLs, 50 % of SQLs opportunities
 * (10 days) and 30 % of opportunities customers (30 days).
 */
export function yearOfCaptures(options: {
  seed: number;
  leads: number;
  from: number;
  dealValue: number;
  /** Mean days an MQL waits for sales (the SLA tests set it). */
  mqlMeanDays?: number;
}): StageChangePopulationSpec {
  const { seed, leads, from, dealValue, mqlMeanDays = 2 } = options;
  return {
    seed,
    leads,
    from,
    to: from + 365 * DAY_MS,
    steps: {
      lead: { rate: 0.4, meanDays: 20 },
      mql: { rate: 0.6, meanDays: mqlMeanDays },
      sql: { rate: 0.5, meanDays: 10 },
      opportunity: { rate: 0.3, meanDays: 30 },
    },
    dealValue,
  };
}
