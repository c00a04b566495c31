/**
 * The analytics' reports as the API answers them: the analytics compute in epoch milliseconds, the
 * API speaks ISO 8601 (`2026-12-02T18:00:00.000Z`), as its queries and its lead views do. Converted
 * here, in the handler, so the response schemas (./report-schemas.ts) say `format: date-time` for
 * exactly what goes on the wire.
 */
import type { z } from 'zod';
import type {
  AttributionReport,
  BacktestJobView,
  BacktestReport,
  CohortFunnelReport,
  CohortReport,
  ConversionReport,
  EmailReport,
  FlowReport,
  ForecastReport,
  Period,
  SalesSlaReport,
  StageCountsReport,
  VelocityReport,
} from '../analytics/index.js';
import type {
  AttributionReportSchema,
  BacktestJobSchema,
  BacktestReportSchema,
  CohortFunnelReportSchema,
  CohortReportSchema,
  ConversionReportSchema,
  EmailReportSchema,
  FlowReportSchema,
  ForecastReportSchema,
  SlaReportSchema,
  StageCountsReportSchema,
  VelocityReportSchema,
} from './report-schemas.js';
import { isoOf } from './schemas.js';

const periodView = (period: Period) => ({ from: isoOf(period.from), to: isoOf(period.to) });

export const stagesView = (r: StageCountsReport): z.output<typeof StageCountsReportSchema> => ({
  ...r,
  at: isoOf(r.at),
});

export const conversionView = (r: ConversionReport): z.output<typeof ConversionReportSchema> => ({
  ...r,
  period: periodView(r.period),
  asOf: isoOf(r.asOf),
});

export const velocityView = (r: VelocityReport): z.output<typeof VelocityReportSchema> => ({
  ...r,
  period: r.period && periodView(r.period),
  asOf: isoOf(r.asOf),
});

export const slaView = (r: SalesSlaReport): z.output<typeof SlaReportSchema> => ({
  ...r,
  period: r.period && periodView(r.period),
  asOf: isoOf(r.asOf),
  worst: r.worst.map((b) => ({ ...b, mqlAt: isoOf(b.mqlAt), deadline: isoOf(b.deadline) })),
});

export const cohortsView = (r: CohortReport): z.output<typeof CohortReportSchema> => ({
  ...r,
  asOf: isoOf(r.asOf),
});

export const forecastView = (r: ForecastReport): z.output<typeof ForecastReportSchema> => ({
  ...r,
  asOf: isoOf(r.asOf),
});

export const backtestView = (r: BacktestReport): z.output<typeof BacktestReportSchema> => ({
  ...r,
  until: isoOf(r.until),
});

export const backtestJobView = (v: BacktestJobView): z.output<typeof BacktestJobSchema> => ({
  ...v,
  until: isoOf(v.until),
  createdAt: isoOf(v.createdAt),
  finishedAt: v.finishedAt === null ? null : isoOf(v.finishedAt),
  result: v.result && backtestView(v.result),
});

export const attributionView = (r: AttributionReport): z.output<typeof AttributionReportSchema> => ({
  ...r,
  period: r.period && periodView(r.period),
});

export const flowView = (r: FlowReport): z.output<typeof FlowReportSchema> => ({
  ...r,
  period: periodView(r.period),
  buckets: r.buckets.map((b) => ({ ...b, from: isoOf(b.from), to: isoOf(b.to) })),
});

export const cohortFunnelView = (r: CohortFunnelReport): z.output<typeof CohortFunnelReportSchema> => ({
  ...r,
  period: periodView(r.period),
  asOf: isoOf(r.asOf),
  cohorts: r.cohorts.map((c) => ({ ...c, from: isoOf(c.from), to: isoOf(c.to) })),
});

export const emailView = (r: EmailReport): z.output<typeof EmailReportSchema> => ({
  ...r,
  period: r.period && periodView(r.period),
});
