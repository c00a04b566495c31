import {
  createLeadCycle,
  DAY_MS,
  type Effect,
  type LeadcycleConfigInput,
  type LeadEvent,
  type LeadSnapshot,
  type Rejection,
} from '../../src/machines/index.js';

export const T0 = Date.UTC(2026, 0, 5, 9);
export const FIT = { email: 'ada@acme.example', companySize: 250, sector: 'software', jobFunction: 'it' };
export const BANT_COMPLETE = { budget: true, authority: true, need: true, timelineMonths: 3 };

type Without<E, K extends string> = E extends unknown ? Omit<E, K> : never;
export type Command = Without<LeadEvent, 'at'>;

/** A lead driven through the pure machine with a test clock: each command happens at `now`. */
export function testLead(config: LeadcycleConfigInput = {}) {
  const cycle = createLeadCycle(config);
  let now = T0;
  const started = cycle.start({ leadKey: 'test:ada@acme.example', at: now });
  let snapshot: LeadSnapshot = started.snapshot;
  const effects: Effect[] = [...started.effects];
  const rejections: Rejection[] = [];

  const lead = {
    cycle,
    get now() {
      return now;
    },
    get snapshot() {
      return snapshot;
    },
    get stage() {
      return snapshot.value.lifecycle;
    },
    get consent() {
      return snapshot.value.consent;
    },
    get context() {
      return snapshot.context;
    },
    effects,
    rejections,
    sent: () => effects.filter((e) => e.type === 'content.send'),
    advance(ms: number) {
      now += ms;
      return lead;
    },
    advanceDays(days: number) {
      return lead.advance(days * DAY_MS);
    },
    /** Applies a command at `now`; returns the rejection, if any, so tests can assert on it. */
    send(command: Command): Rejection | null {
      const decision = cycle.apply(snapshot, { ...command, at: now } as LeadEvent);
      if (!decision.ok) {
        rejections.push(decision.rejection);
        return decision.rejection;
      }
      snapshot = decision.snapshot;
      effects.push(...decision.effects);
      return null;
    },
    /** Fires every deadline due up to `until`, in order, as the workflow's timers would. */
    runTimersUntil(until: number) {
      for (;;) {
        const next = cycle.nextDeadline(cycle.stateOf(snapshot));
        if (!next || next.at > until) break;
        now = Math.max(now, next.at);
        const rejection = lead.send({ type: next.event });
        if (rejection) throw new Error(`timer ${next.event} rejected: ${rejection.message}`);
      }
      now = until;
      return lead;
    },
  };
  return lead;
}

/** A persona-fit lead with consent, captured from a form. */
export function capturedLead(config: LeadcycleConfigInput = {}) {
  const lead = testLead(config);
  lead.send({ type: 'form.submitted', form: 'content_download', consent: true, profile: FIT });
  return lead;
}

/** A persona-fit lead pushed over the MQL threshold. */
export function mqlLead(config: LeadcycleConfigInput = {}) {
  const lead = capturedLead(config);
  lead.send({ type: 'engagement', kind: 'demo_request' });
  lead.send({ type: 'engagement', kind: 'webinar_attended' });
  lead.send({ type: 'engagement', kind: 'pricing_page' });
  return lead;
}

export function sqlLead(config: LeadcycleConfigInput = {}) {
  const lead = mqlLead(config);
  lead.send({ type: 'bant.updated', bant: BANT_COMPLETE });
  lead.send({ type: 'sales.accepted', owner: 'rep-7' });
  return lead;
}

export function opportunityLead(config: LeadcycleConfigInput = {}) {
  const lead = sqlLead(config);
  lead.send({ type: 'proposal.sent', amount: 24_000 });
  return lead;
}
