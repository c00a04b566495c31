/**
 * Generated populations with known behaviour, for the analytics' tests, the benchmarks and README's
 * charts. Seeded: the same seed gives the same leads.
 *
 * - `stageChangePopulation`: stage changes drawn directly from known step rates and exponential
 *   stage times, so reports must recover those rates and times.
 * - `journalPopulation`: leads as the workflows journal them (forms, engagement, BANT, sales' and
 *   deals' outcomes), driven through the real machine, so a backtest has true inputs to replay.
 */

import { LeadReplay } from '../../src/analytics/backtest.js';
import type { AnalyticsStore, JournaledLead, StageChangeRow } from '../../src/analytics/records.js';
import {
  createLeadCycle,
  DAY_MS,
  type EngagementKind,
  HOUR_MS,
  type LeadcycleConfigInput,
  type LeadEvent,
  type Stage,
} from '../../src/machines/index.js';

/** mulberry32: small, fast, good enough for test populations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const exponential = (random: () => number, mean: number) => -Math.log(1 - random()) * mean;

// ---------------------------------------------------------------------------------------------------

export interface StepSpec {
  /** Probability of moving on to the next funnel stage (else the lead drops out). */
  rate: number;
  /** Mean days in the stage before moving on or dropping out (exponential). */
  meanDays: number;
}

export interface StageChangePopulationSpec {
  seed: number;
  leads: number;
  /** Leads are captured uniformly over [from, to). */
  from: number;
  to: number;
  steps: { lead: StepSpec; mql: StepSpec; sql: StepSpec; opportunity: StepSpec };
  dealValue: number;
}

const DROP: Record<keyof StageChangePopulationSpec['steps'], { to: Stage; cause: string }> = {
  lead: { to: 'disqualified', cause: 'disqualify' },
  mql: { to: 'recycled', cause: 'sales.rejected' },
  sql: { to: 'recycled', cause: 'sales.rejected' },
  opportunity: { to: 'lost', cause: 'deal.lost' },
};
const ADVANCE: Record<keyof StageChangePopulationSpec['steps'], { to: Stage; cause: string }> = {
  lead: { to: 'mql', cause: 'engagement' },
  mql: { to: 'sql', cause: 'sales.accepted' },
  sql: { to: 'opportunity', cause: 'proposal.sent' },
  opportunity: { to: 'customer', cause: 'deal.won' },
};

/** Every lead's complete future; callers cut it at an `asOf` to play "today". */
export function stageChangePopulation(spec: StageChangePopulationSpec): StageChangeRow[] {
  const random = rng(spec.seed);
  const rows: StageChangeRow[] = [];
  for (let n = 0; n < spec.leads; n++) {
    const leadId = `lead-${String(n).padStart(7, '0')}`;
    let seq = 0;
    const push = (from: Stage | null, to: Stage, at: number, cause: string) =>
      rows.push({
        key: `${leadId}/${++seq}`,
        leadId,
        seq,
        from,
        to,
        at: Math.round(at),
        cause,
        reason: null,
        amount: to === 'customer' || to === 'opportunity' ? spec.dealValue : null,
      });
    let at = spec.from + random() * (spec.to - spec.from);
    push(null, 'visitor', at, 'lead.started');
    push('visitor', 'lead', at, 'form.submitted');
    let stage: keyof StageChangePopulationSpec['steps'] = 'lead';
    for (;;) {
      const step = spec.steps[stage];
      at += exponential(random, step.meanDays) * DAY_MS;
      const advance = random() < step.rate;
      const { to, cause } = advance ? ADVANCE[stage] : DROP[stage];
      push(stage, to, at, cause);
      if (!advance || to === 'customer') break;
      stage = to as keyof StageChangePopulationSpec['steps'];
    }
  }
  return rows;
}

/** What a store would hold at `asOf`: the changes made by then. */
export const asOfView = (rows: StageChangeRow[], asOf: number) => rows.filter((r) => r.at <= asOf);

// ---------------------------------------------------------------------------------------------------

export interface JournalPopulationSpec {
  seed: number;
  leads: number;
  from: number;
  to: number;
  /** The config the "live" leads ran under (the actual series). */
  config?: LeadcycleConfigInput;
  /** Share of leads that fit the default IT persona (the rest are students). */
  fitShare?: number;
  /** Lead ids are `lead-<prefix><n>`: populations generated in chunks need distinct prefixes. */
  idPrefix?: string;
}

export interface JournaledPopulationLead {
  lead: JournaledLead;
  events: LeadEvent[];
  /** Engagement points earned in the lead's first burst (all at one instant, so no decay). */
  burstPoints: number;
  fits: boolean;
  /** The stage changes the live machine made of it (what the workflow recorded). */
  changes: StageChangeRow[];
}

const BURST_KINDS: EngagementKind[] = [
  'page_view',
  'email_click',
  'content_download',
  'pricing_page',
  'webinar_attended',
];

/**
 * Leads as their workflows would have journaled them. Each lead submits a form, engages in one burst
 * (so its score is the sum of the burst's points: whether it becomes an MQL under any threshold is
 * known exactly), then sales and buyers act on what the live machine made of it: an MQL is accepted
 * within the SLA (60 %) with BANT filled in, or rejected; an SQL gets a proposal (60 %); a proposal is
 * won (50 %) or lost. Later, some leads read a few more emails.
 */
export function journalPopulation(spec: JournalPopulationSpec): JournaledPopulationLead[] {
  const random = rng(spec.seed);
  const cycle = createLeadCycle(spec.config ?? {});
  const points = cycle.config.points;
  const out: JournaledPopulationLead[] = [];
  for (let n = 0; n < spec.leads; n++) {
    const leadId = `lead-${spec.idPrefix ?? ''}${String(n).padStart(7, '0')}`;
    const createdAt = Math.round(spec.from + random() * (spec.to - spec.from));
    const fits = random() < (spec.fitShare ?? 0.7);
    const events: LeadEvent[] = [];
    // Driven like a live workflow (timers included), so the journal is what a workflow would write.
    const live = new LeadReplay(cycle, { leadId, createdAt });
    const send = (event: LeadEvent) => {
      if (!live.offer(event)) return false;
      events.push(event);
      return true;
    };
    const stage = () => live.stage;

    let at = createdAt;
    send({
      type: 'form.submitted',
      at,
      form: 'content_download',
      consent: random() < 0.8,
      profile: {
        email: 'lead@redacted.invalid',
        companySize: fits ? 200 + Math.floor(random() * 2000) : 5,
        sector: 'software',
        jobFunction: fits ? 'it' : 'student',
      },
    });
    // The burst: 2-12 engagements at the form's instant (no decay between them).
    let burstPoints = points.content_download; // the form counts as a content download
    const burst = 2 + Math.floor(random() * 11);
    for (let i = 0; i < burst; i++) {
      const kind = BURST_KINDS[Math.floor(random() * BURST_KINDS.length)] as EngagementKind;
      if (send({ type: 'engagement', at, kind })) burstPoints += points[kind];
    }
    if (stage() === 'mql') {
      at += random() * 40 * HOUR_MS;
      if (random() < 0.6) {
        send({
          type: 'bant.updated',
          at: Math.round(at),
          bant: { budget: true, authority: true, need: true, timelineMonths: 3 },
        });
        send({ type: 'sales.accepted', at: Math.round(at + HOUR_MS), owner: 'redacted' });
      } else {
        send({ type: 'sales.rejected', at: Math.round(at + HOUR_MS), reason: 'not_ready' });
      }
    }
    if (stage() === 'sql') {
      at += exponential(random, 10) * DAY_MS;
      if (random() < 0.6)
        send({ type: 'proposal.sent', at: Math.round(at), amount: 10_000 + Math.round(random() * 40_000) });
    }
    if (stage() === 'opportunity') {
      at += exponential(random, 20) * DAY_MS;
      if (random() < 0.5) send({ type: 'deal.won', at: Math.round(at) });
      else send({ type: 'deal.lost', at: Math.round(at), reason: 'budget' });
    }
    // A few email opens months later (the burst has decayed to a quarter: they move no one to MQL).
    at += 60 * DAY_MS;
    for (let i = Math.floor(random() * 4); i > 0; i--) {
      at += exponential(random, 20) * DAY_MS;
      send({ type: 'engagement', at: Math.round(at), kind: 'email_open' });
    }
    out.push({ lead: { leadId, createdAt }, events, burstPoints, fits, changes: live.changes });
  }
  return out;
}

/** Stores generated leads as the workflows would have: their journal and their stage changes. */
export async function recordPopulation(
  store: AnalyticsStore,
  leads: Iterable<Pick<JournaledPopulationLead, 'lead' | 'events' | 'changes'>>,
): Promise<void> {
  for (const { lead, events, changes } of leads) {
    await store.recordJournal(
      lead,
      events.map((event, i) => ({ leadId: lead.leadId, seq: i + 1, event })),
    );
    for (const change of changes) await store.recordStageChange(change);
  }
}

/**
 * Generated history of several tenants, from 190 to 10 days before `now`: every lead and stage change
 * of its tenant. `extra` adds fields to the i-th change of a tenant's n-th lead (touches, owners).
 */
export function tenantsHistory(
  now: number,
  tenants: ReadonlyArray<{ tenant: string; leads: number; seed: number }>,
  extra: (change: StageChangeRow, n: number, i: number) => Partial<StageChangeRow> = () => ({}),
): Pick<JournaledPopulationLead, 'lead' | 'events' | 'changes'>[] {
  return tenants.flatMap(({ tenant, leads, seed }) =>
    journalPopulation({
      seed,
      leads,
      idPrefix: `${tenant}-`,
      from: now - 190 * DAY_MS,
      to: now - 10 * DAY_MS,
    }).map((l, n) => ({
      lead: { ...l.lead, tenant },
      events: l.events,
      changes: l.changes.map((c, i) => ({ ...c, tenant, ...extra(c, n, i) })),
    })),
  );
}
