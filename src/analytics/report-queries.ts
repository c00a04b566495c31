/**
 * Reports a store can answer itself (the PostgreSQL store aggregates them in SQL): `Analytics` asks
 * the store for them when it offers them, and otherwise computes them in memory over every stage
 * change (reports.ts, forecast.ts), which stay the reference: both must give the same answers.
 */
import type { ForecastReport } from './forecast.js';
import type {
  CohortReport,
  ConversionReport,
  Period,
  SlaReport,
  StageCountsReport,
  VelocityReport,
} from './reports.js';

/** Whose leads: one tenant's, or (absent) every lead. */
export interface ReportScope {
  tenant?: string;
}

export interface ReportQueries {
  stageCounts(at: number, scope: ReportScope): Promise<StageCountsReport>;
  conversion(period: Period, asOf: number, scope: ReportScope): Promise<ConversionReport>;
  velocity(asOf: number, period: Period | null, scope: ReportScope): Promise<VelocityReport>;
  slaBreaches(
    options: { slaHours: number; asOf: number; period?: Period | null; worst?: number },
    scope: ReportScope,
  ): Promise<SlaReport>;
  cohorts(asOf: number, scope: ReportScope): Promise<CohortReport>;
  forecast(
    options: { asOf: number; horizonDays: number; dealValue?: number | null },
    scope: ReportScope,
  ): Promise<ForecastReport>;
}

/** The store's own report queries, when it has them. */
export function reportQueriesOf(store: object): ReportQueries | null {
  const reports = (store as { reports?: unknown }).reports;
  return typeof reports === 'object' && reports !== null ? (reports as ReportQueries) : null;
}
