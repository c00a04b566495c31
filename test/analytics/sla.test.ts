import { describe, expect, it } from 'vitest';
import type { StageChangeRow } from '../../src/analytics/records.js';
import { byLead, slaBreaches } from '../../src/analytics/reports.js';
import { salesSla, slaByOwner } from '../../src/analytics/sla.js';
import { type Effect, HOUR_MS, type Stage } from '../../src/machines/index.js';
import { BANT_COMPLETE, mqlLead } from '../support/lead.js';

/** The SLA per owner, from hand-made stage changes whose answer is known, then from the machine's own. */
const T = Date.UTC(2026, 2, 2, 9);
const H = HOUR_MS;

function change(
  leadId: string,
  from: Stage | null,
  to: Stage,
  at: number,
  extra: Partial<StageChangeRow> = {},
): StageChangeRow {
  // Keyed and numbered by `mql`, in the order the lead's changes are given.
  return {
    key: `${leadId}/0`,
    leadId,
    seq: 1,
    from,
    to,
    at,
    cause: 'test',
    reason: null,
    amount: null,
    ...extra,
  };
}

/** A lead handed to sales at `at`, then whatever `after` adds (numbered in this order). */
const mql = (leadId: string, at: number, ...after: StageChangeRow[]) =>
  [change(leadId, null, 'lead', at - H), change(leadId, 'lead', 'mql', at), ...after].map((c, i) => ({
    ...c,
    key: `${leadId}/${i + 1}`,
    seq: i + 1,
  }));
const accepted = (leadId: string, at: number, owner?: string) =>
  change(leadId, 'mql', 'sql', at, { cause: 'sales.accepted', ...(owner ? { owner } : {}) });

const ASOF = T + 30 * 24 * H;
const report = (
  rows: StageChangeRow[],
  options: { asOf?: number; period?: { from: number; to: number } } = {},
) => slaByOwner(byLead(rows), { slaHours: 48, asOf: options.asOf ?? ASOF, period: options.period ?? null });

describe('slaByOwner', () => {
  it('per owner: acceptances, median and p90 hours from the handoff, within the SLA and late', () => {
    const rows = [
      ...mql('a1', T, accepted('a1', T + 2 * H, 'ada')),
      ...mql('a2', T, accepted('a2', T + 4 * H, 'ada')),
      ...mql('a3', T, accepted('a3', T + 48 * H, 'ada')), // at the deadline: within
      ...mql('a4', T, accepted('a4', T + 50 * H, 'ada')), // after it: late
      ...mql('s1', T, accepted('s1', T + 10 * H, 'sam')),
    ];
    const r = report(rows);
    expect(r.owners).toEqual([
      // Hours 2, 4, 48, 50: the median between 4 and 48, the p90 at 0.7 of the way from 48 to 50.
      { owner: 'ada', accepted: 4, medianHours: 26, p90Hours: 49.4, withinSla: 3, late: 1 },
      { owner: 'sam', accepted: 1, medianHours: 10, p90Hours: 10, withinSla: 1, late: 0 },
    ]);
    expect(r.owners[0]?.p90Hours).toBeCloseTo(49.4, 10);
    expect(r.allOwners).toMatchObject({ accepted: 5, medianHours: 10, withinSla: 4, late: 1 });
    expect(r).toMatchObject({ unaccepted: 0, waiting: { open: 0, pastSla: 0 }, other: 0 });
  });

  it('an MQL escalated, then accepted: the clock runs from the handoff, not from the escalation', () => {
    // The escalation at 48 h changes no stage: the acceptance at 60 h is 60 h after the handoff, late.
    const r = report(mql('e1', T, accepted('e1', T + 60 * H, 'ada')));
    expect(r.owners).toEqual([
      { owner: 'ada', accepted: 1, medianHours: 60, p90Hours: 60, withinSla: 0, late: 1 },
    ]);
  });

  it('never accepted (recycled by the SLA), still open (past the SLA or not), rejected: rows of their own', () => {
    const rows = [
      ...mql(
        'r1',
        T,
        change('r1', 'mql', 'recycled', T + 96 * H, { cause: 'sla.expired', reason: 'sales_sla_expired' }),
      ),
      ...mql('w1', ASOF - 100 * H), // waiting past its deadline
      ...mql('w2', ASOF - 10 * H), // waiting, still in time
      ...mql(
        'x1',
        T,
        change('x1', 'mql', 'recycled', T + H, { cause: 'sales.rejected', reason: 'not_ready' }),
      ),
      ...mql(
        'x2',
        T,
        change('x2', 'mql', 'disqualified', T + H, { cause: 'disqualify', reason: 'competitor' }),
      ),
    ];
    const r = report(rows);
    expect(r).toEqual({
      owners: [],
      allOwners: { accepted: 0, medianHours: null, p90Hours: null, withinSla: 0, late: 0 },
      unaccepted: 1,
      waiting: { open: 2, pastSla: 1 },
      other: 2,
    });
    // As of 50 h, the one the SLA recycles at 96 h is still waiting, past its deadline (the other two came later).
    expect(report(rows, { asOf: T + 50 * H })).toMatchObject({
      unaccepted: 0,
      waiting: { open: 1, pastSla: 1 },
    });
  });

  it('counts the stays that started in the period, each stay of a lead on its own; no owner recorded is a row of its own', () => {
    const rows = [
      // Handed off twice: recycled by the SLA, later handed off again and accepted.
      ...mql(
        'twice',
        T,
        change('twice', 'mql', 'recycled', T + 96 * H, { cause: 'sla.expired', reason: 'sales_sla_expired' }),
        change('twice', 'recycled', 'lead', T + 10 * 24 * H),
        change('twice', 'lead', 'mql', T + 20 * 24 * H),
        accepted('twice', T + 20 * 24 * H + 3 * H, 'sam'),
      ),
      // Accepted before stage changes named an owner.
      ...mql('old', T, accepted('old', T + 5 * H)),
    ];
    expect(report(rows).owners).toEqual([
      { owner: 'sam', accepted: 1, medianHours: 3, p90Hours: 3, withinSla: 1, late: 0 },
      { owner: null, accepted: 1, medianHours: 5, p90Hours: 5, withinSla: 1, late: 0 },
    ]);
    expect(report(rows).unaccepted).toBe(1);
    const later = report(rows, { period: { from: T + 24 * H, to: ASOF } });
    expect(later.owners.map((o) => o.owner)).toEqual(['sam']);
    expect(later.unaccepted).toBe(0);
  });

  it('agrees with the breach report on the same stays', () => {
    const rows = [
      ...mql('a', T, accepted('a', T + 50 * H, 'ada')),
      ...mql(
        'b',
        T,
        change('b', 'mql', 'recycled', T + 96 * H, { cause: 'sla.expired', reason: 'sales_sla_expired' }),
      ),
      ...mql('c', ASOF - 100 * H),
      ...mql('d', T, accepted('d', T + H, 'sam')),
    ];
    const r = salesSla(byLead(rows), { slaHours: 48, asOf: ASOF });
    expect(r).toMatchObject(slaBreaches(byLead(rows), { slaHours: 48, asOf: ASOF }));
    expect(r.byOutcome).toEqual({
      answered_late: r.allOwners.late,
      recycled_by_sla: r.unaccepted,
      still_waiting: r.waiting.pastSla,
    });
    expect(r.mqlStays).toBe(r.allOwners.accepted + r.unaccepted + r.waiting.open + r.other);
  });
});

describe('the machine names the owner on its stage changes', () => {
  const rowsOf = (effects: Effect[]) =>
    effects.flatMap((e, i) =>
      e.type === 'stage.changed'
        ? [
            {
              key: `lead-1/${i + 1}`,
              leadId: 'lead-1',
              seq: i + 1,
              from: e.from,
              to: e.to,
              at: e.at,
              cause: e.cause,
              reason: e.reason,
              amount: e.amount ?? null,
              ...(e.owner ? { owner: e.owner } : {}),
            },
          ]
        : [],
    );

  it('escalated, then accepted by an owner: the SQL names it, the report counts from the handoff', () => {
    const lead = mqlLead();
    const handoff = lead.now;
    lead.runTimersUntil(handoff + 50 * H); // the SLA escalates once at 48 h
    expect(lead.context.sales.escalated).toBe(true);
    lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
    lead.advance(10 * H).send({ type: 'sales.accepted', owner: 'rep-ada' });
    lead.send({ type: 'proposal.sent', amount: 1_000 });
    lead.send({ type: 'deal.lost', reason: 'timing' }); // back to nurture: the change out of sales
    const changes = rowsOf(lead.effects);
    expect(changes.map((c) => [c.to, c.owner ?? null])).toEqual([
      ['visitor', null],
      ['lead', null],
      ['mql', null],
      ['sql', 'rep-ada'],
      ['opportunity', 'rep-ada'],
      ['recycled', 'rep-ada'],
    ]);
    expect(lead.context.sales.owner).toBeNull();
    const r = slaByOwner(byLead(changes), { slaHours: 48, asOf: lead.now });
    expect(r.owners).toEqual([
      { owner: 'rep-ada', accepted: 1, medianHours: 60, p90Hours: 60, withinSla: 0, late: 1 },
    ]);
  });
});
