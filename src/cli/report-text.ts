/** The analytics' reports as text for people: a line saying what was counted, then a table. */
import {
  type AttributionReport,
  type BacktestReport,
  type CohortFunnelReport,
  type CohortReport,
  type ConversionReport,
  EMAIL_SKIP_REASONS,
  type EmailReport,
  type FlowReport,
  type ForecastReport,
  MIN_HISTORY,
  type Period,
  type SalesSlaReport,
  type StageCountsReport,
  type VelocityReport,
} from '../analytics/index.js';
import { table } from './output.js';

const pct = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(1)}%`);
const oneDecimal = (value: number | null) => (value === null ? '-' : value.toFixed(1));
const money = (value: number | null) => (value === null ? '-' : Math.round(value).toLocaleString('en-US'));
const when = (t: number) => `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const span = (period: Period) => `${when(period.from)} – ${when(period.to)}`;

export function describeStages(r: StageCountsReport): string {
  const rows = Object.entries(r.stages).map(([stage, leads]) => ({ stage, leads }));
  return [`${r.total} leads at ${when(r.at)}`, table(rows)].join('\n');
}

export function describeConversion(r: ConversionReport): string {
  const funnel = r.funnel.map((s) => ({
    stage: s.stage,
    leads: s.leads,
    'step rate': pct(s.stepRate),
    cumulative: pct(s.cumulativeRate),
  }));
  const flow = r.flow.map((f) => ({
    from: f.from,
    to: f.to,
    entered: f.entered,
    converted: f.converted,
    rate: pct(f.rate),
  }));
  return [
    `leads created ${span(r.period)}, followed until ${when(r.asOf)}`,
    table(funnel),
    '',
    `stage flow: leads entering a stage in the period, and how many moved on by ${when(r.asOf)}`,
    table(flow),
  ].join('\n');
}

export function describeVelocity(r: VelocityReport): string {
  const rows = r.stages.map((s) => ({
    stage: s.stage,
    stays: s.count,
    'median days': oneDecimal(s.medianDays),
    'mean days': oneDecimal(s.meanDays),
    'p90 days': oneDecimal(s.p90Days),
    open: s.open,
    'median days to next': s.toNext ? oneDecimal(s.toNext.medianDays) : '',
  }));
  const which = r.period ? `completed stays that ended ${span(r.period)}` : 'all completed stays';
  return [`${which}, as of ${when(r.asOf)}`, table(rows)].join('\n');
}

export function describeSla(r: SalesSlaReport): string {
  const which = r.period ? `MQL stays that started ${span(r.period)}` : 'all MQL stays';
  const worst = r.worst.map((b) => ({
    lead: b.leadId,
    'MQL at': when(b.mqlAt),
    deadline: when(b.deadline),
    outcome: b.outcome.replaceAll('_', ' '),
    'hours overdue': oneDecimal(b.overdueHours),
  }));
  const owners = [...r.owners, { ...r.allOwners, owner: 'all owners' }].map((o) => ({
    owner: o.owner ?? '(not recorded)',
    accepted: o.accepted,
    'median h': oneDecimal(o.medianHours),
    'p90 h': oneDecimal(o.p90Hours),
    'within SLA': o.withinSla,
    late: o.late,
  }));
  return [
    `sales SLA ${r.slaHours} h; ${which}, as of ${when(r.asOf)}`,
    `${r.mqlStays} MQL stays, ${r.breaches} breaches (${pct(r.rate)}): ${r.byOutcome.answered_late} answered late, ` +
      `${r.byOutcome.recycled_by_sla} recycled by the SLA, ${r.byOutcome.still_waiting} still waiting`,
    ...(worst.length ? ['', 'most overdue', table(worst)] : []),
    '',
    'time to accept per sales owner',
    table(owners),
    `not accepted in time (recycled by the SLA): ${r.unaccepted}; still waiting: ${r.waiting.open} ` +
      `(${r.waiting.pastSla} past the SLA); ended otherwise: ${r.other}`,
  ].join('\n');
}

export function describeAttribution(r: AttributionReport): string {
  const which = r.period ? `stage entries ${span(r.period)}` : 'all stage entries';
  const rows = [...r.rows, { value: 'total', ...r.total }].map((row) => ({
    [r.by]: row.value ?? '(none)',
    leads: row.leads,
    MQLs: row.mqls,
    SQLs: row.sqls,
    opportunities: row.opportunities,
    customers: row.customers,
    won: money(row.wonAmount),
  }));
  return [`${r.model}-touch attribution by ${r.by}; ${which}`, table(rows)].join('\n');
}

export function describeEmail(r: EmailReport): string {
  const which = r.period ? span(r.period) : 'everything recorded';
  const rows = [...r.items, { itemId: 'total', title: null, ...r.total }].map((row) => ({
    item: row.itemId,
    title: row.title ?? '',
    sent: row.sent,
    deferred: row.deferred,
    suppressed: row.suppressed,
    opened: row.uniqueOpens,
    'open rate': pct(row.openRate),
    clicked: row.uniqueClicks,
    'click rate': pct(row.clickRate),
    unsubscribes: row.unsubscribes,
  }));
  const why = EMAIL_SKIP_REASONS.filter((reason) => r.total.suppressedBy[reason] > 0)
    .map((reason) => `${reason} ${r.total.suppressedBy[reason]}`)
    .join(', ');
  return [
    `email per content item; ${which}`,
    table(rows),
    ...(why ? [`suppressed: ${why}`] : []),
    ...(r.unsubscribesWithoutEmail > 0
      ? [`${r.unsubscribesWithoutEmail} unsubscribes of leads sent no email before (in no item)`]
      : []),
    'opened and clicked count leads; an unsubscribe is credited to the last item sent to the lead before it',
  ].join('\n');
}

export function describeCohorts(r: CohortReport): string {
  const rows = r.cohorts.map((c) => ({
    month: c.month,
    leads: c.leads,
    mql: c.reached.mql,
    sql: c.reached.sql,
    opportunity: c.reached.opportunity,
    customer: c.reached.customer,
    'customer rate': pct(c.customerRate),
    'median days to customer': oneDecimal(c.daysToCustomer.medianDays),
  }));
  return [`leads by capture month, as of ${when(r.asOf)}`, table(rows)].join('\n');
}

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

export function describeFlow(r: FlowReport): string {
  const rows = r.buckets.flatMap((b) =>
    b.stages.map((s) => ({
      from: day(b.from),
      stage: s.stage,
      start: s.startBalance,
      in: s.entered,
      forward: s.forward,
      out: s.out,
      back: s.back,
      end: s.endBalance,
      conversion: pct(s.conversion),
      'days (moved on)': oneDecimal(s.velocityDays),
    })),
  );
  return [
    `funnel by ${r.interval}, ${span(r.period)}: end = start + in − forward − out − back`,
    rows.length ? table(rows) : 'no stage change recorded before the end of the period',
  ].join('\n');
}

export function describeCohortFunnel(r: CohortFunnelReport): string {
  const rows = r.cohorts.map((c) => ({
    [r.interval]: day(c.from),
    leads: c.leads,
    ...Object.fromEntries(c.funnel.map((s) => [s.stage, `${s.leads} (${pct(s.cumulativeRate)})`])),
  }));
  return [
    `leads by the ${r.interval} they were created in, ${span(r.period)}, followed until ${when(r.asOf)}; reached (of the cohort)`,
    rows.length ? table(rows) : 'no lead created in the period',
  ].join('\n');
}

export function describeForecast(r: ForecastReport): string {
  const rows = r.stages.map((s) => ({
    stage: s.stage,
    open: s.open,
    history: s.history,
    'rate to customer': pct(s.rate),
    'expected customers': oneDecimal(s.expectedCustomers),
  }));
  return [
    `customers expected within ${r.horizonDays} days of ${when(r.asOf)}: ${oneDecimal(r.expectedCustomers)} ` +
      `(80% interval ${oneDecimal(r.low)} – ${oneDecimal(r.high)})`,
    r.dealValue === null
      ? 'expected revenue unknown: no won deal with an amount on record (give --deal-value)'
      : `expected revenue ${money(r.expectedRevenue)} (deal value ${money(r.dealValue)})`,
    table(rows),
    ...(r.notEnoughHistory.length
      ? [`left out, fewer than ${MIN_HISTORY} finished histories: ${r.notEnoughHistory.join(', ')}`]
      : []),
  ].join('\n');
}

export function describeBacktest(r: BacktestReport): string {
  const rows = (r.series[0]?.funnel ?? []).map((step, i) =>
    Object.fromEntries([
      ['stage', step.stage],
      ...r.series.flatMap((s) => [
        [`${s.label} leads`, s.funnel[i]?.leads],
        [`${s.label} step rate`, pct(s.funnel[i]?.stepRate ?? null)],
      ]),
    ]),
  );
  const refused = r.series.filter((s) => s.label !== 'actual').map((s) => `${s.label} ${s.refusedEvents}`);
  return [
    `${r.leads} journaled leads replayed until ${when(r.until)}`,
    table(rows),
    `journaled events the replay refused: ${refused.join(', ')}`,
  ].join('\n');
}
