/**
 * The sales SLA per owner: how fast each sales owner accepts the MQLs handed to them. A pure function
 * of the stage changes (the change into an SQL names its owner since SQLite migration 8, PostgreSQL
 * 4), so every store gives the same answer. Each MQL stay counts once, by how it ended.
 */
import { HOUR_MS } from '../machines/index.js';
import type { StageChangeRow } from './records.js';
import { type Period, quantile, type SlaReport, slaBreaches } from './reports.js';

export interface OwnerSlaCounts {
  /** MQL stays this owner accepted (into an SQL by `sales.accepted`). */
  accepted: number;
  /** Hours from the handoff (the entry into mql) to the acceptance; null without any. */
  medianHours: number | null;
  p90Hours: number | null;
  /** Accepted by the deadline (the handoff plus slaHours), and after it. */
  withinSla: number;
  late: number;
}

export interface OwnerSla extends OwnerSlaCounts {
  /** The sales owner; null for acceptances recorded before stage changes named one. */
  owner: string | null;
}

export interface SlaOwnersReport {
  /** The most acceptances first, then by owner (null last). */
  owners: OwnerSla[];
  /** Every owner's acceptances together. */
  allOwners: OwnerSlaCounts;
  /** MQLs nobody accepted in time: recycled by the SLA (reason `sales_sla_expired`). */
  unaccepted: number;
  /** MQLs still in mql at asOf, and how many of them are past their deadline then. */
  waiting: { open: number; pastSla: number };
  /** MQLs that left otherwise: rejected by sales, disqualified, merged. */
  other: number;
}

/** The SLA report as the API and CLI answer it: the breaches (slaBreaches), then per owner. */
export type SalesSlaReport = SlaReport & SlaOwnersReport;

/** The acceptances' hours as counts and quantiles. */
function countsOf(hours: number[], withinSla: number): OwnerSlaCounts {
  const sorted = [...hours].sort((a, b) => a - b);
  return {
    accepted: sorted.length,
    medianHours: quantile(sorted, 0.5),
    p90Hours: quantile(sorted, 0.9),
    withinSla,
    late: sorted.length - withinSla,
  };
}

/** Code-unit order, the same in every locale. */
const byOwner = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

/**
 * MQL stays that started in `period` (null: all of them) by `asOf`, by how they ended. The clock runs
 * from the handoff, the entry into mql: an escalation hands the MQL to sales again but is no new
 * stay (it changes no stage), so the time to accept counts from the first handoff.
 */
export function slaByOwner(
  leads: Map<string, StageChangeRow[]>,
  options: { slaHours: number; asOf: number; period?: Period | null },
): SlaOwnersReport {
  const { slaHours, asOf, period = null } = options;
  const slaMs = slaHours * HOUR_MS;
  const accepted = new Map<string | null, { hours: number[]; withinSla: number }>();
  let unaccepted = 0;
  let other = 0;
  const waiting = { open: 0, pastSla: 0 };
  for (const changes of leads.values()) {
    changes.forEach((entry, i) => {
      if (entry.to !== 'mql' || entry.at > asOf) return;
      if (period && (entry.at < period.from || entry.at >= period.to)) return;
      const deadline = entry.at + slaMs;
      const exit = changes[i + 1];
      if (!exit || exit.at > asOf) {
        waiting.open++;
        if (asOf > deadline) waiting.pastSla++;
      } else if (exit.to === 'sql' && exit.cause === 'sales.accepted') {
        const owner = exit.owner ?? null;
        let group = accepted.get(owner);
        if (!group) {
          group = { hours: [], withinSla: 0 };
          accepted.set(owner, group);
        }
        group.hours.push((exit.at - entry.at) / HOUR_MS);
        if (exit.at <= deadline) group.withinSla++;
      } else if (exit.to === 'recycled' && exit.reason === 'sales_sla_expired') {
        unaccepted++;
      } else {
        other++;
      }
    });
  }
  const owners = [...accepted]
    .map(([owner, g]): OwnerSla => ({ owner, ...countsOf(g.hours, g.withinSla) }))
    .sort((a, b) => b.accepted - a.accepted || byOwner(a.owner, b.owner));
  const all = [...accepted.values()];
  return {
    owners,
    allOwners: countsOf(
      all.flatMap((g) => g.hours),
      all.reduce((n, g) => n + g.withinSla, 0),
    ),
    unaccepted,
    waiting,
    other,
  };
}

/** The whole SLA report in memory: the breaches, then per owner. */
export function salesSla(
  leads: Map<string, StageChangeRow[]>,
  options: { slaHours: number; asOf: number; period?: Period | null },
): SalesSlaReport {
  return { ...slaBreaches(leads, options), ...slaByOwner(leads, options) };
}
