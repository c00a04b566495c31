import { type AdjacencyValue, createTestModel } from 'xstate/graph';
import {
  bantAt,
  bantGaps,
  createLeadCycle,
  DAY_MS,
  IMPORTED_STAGES,
  type LeadCycle,
  type LeadEvent,
  type LeadSnapshot,
  lostReturnAt,
  nextContent,
} from '../../src/machines/index.js';

/**
 * The model the graph tests walk: the real machine under a config with a one-item catalog, so that
 * "all content sent" is reachable in a few steps. The graph's shape does not depend on the config.
 * Its one persona reads company size only, so a job function learnt in any stage (a form, a profile
 * update, a merged-in record) can break the disqualifying profile rule: students.
 */
export const modelCycle: LeadCycle = createLeadCycle({
  personas: [{ id: 'model-buyer', name: 'Model buyer', companySize: { min: 50 } }],
  profileRules: { disqualifyingJobFunctions: ['student'] },
  content: {
    discovery: [{ id: 'd1', title: 'Discovery', url: 'https://example.com/d1' }],
    evaluation: [{ id: 'e1', title: 'Evaluation', url: 'https://example.com/e1' }],
    decision: [{ id: 'x1', title: 'Decision', url: 'https://example.com/x1' }],
    newsletter: [{ id: 'n1', title: 'Newsletter', url: 'https://example.com/n1' }],
  },
  // Generated only for a lost lead after its quiet period: one engagement that reaches the MQL bar.
  points: { webinar_attended: 50 },
});

export const LEAD_INPUT = { leadKey: 'model:lead@example.com', at: Date.UTC(2026, 0, 1) };

const FIT_PROFILE = { email: 'lead@example.com', companySize: 200 };

/** Facts of another record of the same person, for merges. */
const TWIN = {
  profile: { jobTitle: 'CTO' },
  bant: { budget: true },
  engagementPoints: 12,
  furthestContentStage: 'consideration' as const,
  doNotContact: false,
  sentIds: ['d1'],
  sentAt: [] as number[],
};

/** The latest instant the lead's facts mention: model events happen a minute after it. */
function clock(snapshot: LeadSnapshot): number {
  const c = snapshot.context;
  return (
    Math.max(
      c.createdAt,
      c.stageEnteredAt,
      c.engagement.asOf,
      c.nurture.lastSentAt ?? 0,
      c.consent.changedAt ?? 0,
      c.recycle?.since ?? 0,
      c.sales.slaStartedAt ?? 0,
      c.closed?.at ?? 0,
      // Time ageing: the last aged instant, the last reminder.
      c.aging?.asOf ?? 0,
      c.aging?.remindedAt ?? 0,
    ) + 60_000
  );
}

/** Representative events for a snapshot; timer events come at the deadline the snapshot implies. */
export function modelEvents(snapshot: LeadSnapshot): LeadEvent[] {
  const at = clock(snapshot);
  const state = modelCycle.stateOf(snapshot);
  const deadlines = modelCycle.deadlines(state);
  const due = (event: LeadEvent['type']) => deadlines.find((d) => d.event === event)?.at ?? at;
  return [
    { type: 'visit', at, channel: 'web' },
    { type: 'form.submitted', at, form: 'demo_request', consent: true, profile: FIT_PROFILE },
    {
      type: 'form.submitted',
      at,
      form: 'newsletter',
      consent: false,
      profile: { email: 'lead@example.com' },
    },
    { type: 'engagement', at, kind: 'demo_request' },
    { type: 'engagement', at, kind: 'careers_page' },
    { type: 'profile.updated', at, profile: { companySize: 3 } },
    // Marketing rules: a student is disqualified wherever marketing owns the lead.
    {
      type: 'form.submitted',
      at,
      form: 'content_download',
      consent: false,
      profile: { email: 'lead@example.com', jobFunction: 'student' },
    },
    { type: 'profile.updated', at, profile: { jobFunction: 'student' } },
    {
      type: 'lead.absorbed',
      at,
      from: 'model:student@example.com',
      facts: { ...TWIN, profile: { jobFunction: 'student' }, consent: 'unknown' },
    },
    { type: 'bant.updated', at, bant: { budget: true, authority: true, need: true, timelineMonths: 3 } },
    { type: 'bant.updated', at, bant: { budget: null } },
    { type: 'sales.accepted', at, owner: 'rep-1' },
    { type: 'sales.rejected', at, reason: 'not_ready' },
    { type: 'proposal.sent', at, amount: 12_000 },
    { type: 'deal.won', at, amount: 12_000 },
    { type: 'deal.lost', at, reason: 'timing' },
    { type: 'deal.lost', at, reason: 'budget' },
    { type: 'consent.unsubscribed', at, doNotContact: false },
    { type: 'consent.subscribed', at },
    { type: 'disqualify', at, reason: 'competitor' },
    { type: 'lead.absorbed', at, from: 'model:twin@example.com', facts: { ...TWIN, consent: 'withdrawn' } },
    { type: 'lead.absorbed', at, from: 'model:cousin@example.com', facts: { ...TWIN, consent: 'granted' } },
    { type: 'lead.merged', at, into: 'model:survivor@example.com' },
    { type: 'tick.decay', at: due('tick.decay') },
    { type: 'tick.nurture', at: due('tick.nurture') },
    { type: 'sla.expired', at: due('sla.expired') },
    { type: 'cooldown.over', at: due('cooldown.over') },
    { type: 'tick.cool', at: due('tick.cool') },
    { type: 'tick.stale', at: due('tick.stale') },
    // A config version rolled out (the workflow's `config` update): same config here, the score refreshed.
    { type: 'config.changed', at, version: 2 },
    ...lostLeadComesBack(snapshot),
    // A contact imported with its history: only a new lead (a visitor) takes it.
    ...(state.value.lifecycle === 'visitor'
      ? IMPORTED_STAGES.map(
          (stage): LeadEvent => ({
            type: 'lead.imported',
            at,
            tool: 'hubspot',
            stage,
            profile: FIT_PROFILE,
            createdAt: Math.max(0, at - 30 * DAY_MS),
            owner: 'rep-1',
            score: 12,
          }),
        )
      : []),
  ];
}

/**
 * A lost lead's new buying signals once its quiet period is over (a minute on, it stays lost): a
 * hand-raiser, and an engagement that reaches the MQL threshold. Only a lost lead gets them.
 */
function lostLeadComesBack(snapshot: LeadSnapshot): LeadEvent[] {
  const back = lostReturnAt(snapshot.context, modelCycle.config);
  if (snapshot.value.lifecycle !== 'lost' || back === null) return [];
  return [
    { type: 'form.submitted', at: back, form: 'quote_request', consent: true, profile: FIT_PROFILE },
    { type: 'engagement', at: back, kind: 'webinar_attended' },
  ];
}

const withoutTime = (event: LeadEvent) => JSON.stringify({ ...event, at: undefined });

/** What distinguishes two model states: the stage and consent, and each fact a guard reads. */
export function abstractState(snapshot: LeadSnapshot): string {
  const c = snapshot.context;
  const { config } = modelCycle;
  // A closed lead's facts decide nothing but a merge (consent, absorbed): fewer states, same transitions.
  const stage = snapshot.value.lifecycle;
  if (stage === 'disqualified' || stage === 'lost' || stage === 'merged')
    return JSON.stringify({ value: snapshot.value, absorbed: c.absorbed.length });
  return JSON.stringify({
    value: snapshot.value,
    qualifies: c.score >= config.mqlThreshold,
    fits: c.fit.score >= config.personaFitThreshold,
    // As it stands at the lead's last aged instant: a timeline counts down (src/machines/aging.ts).
    bant: bantGaps(bantAt(c, c.aging?.asOf ?? c.createdAt), config).length === 0,
    escalated: c.sales.escalated,
    sent: c.nurture.sentIds.length,
    nurtureLeft: nextContent(c, 'nurture', config).item !== undefined,
    absorbed: c.absorbed.length,
    // Imported leads have states of their own, so they never stand in for the paths a lead takes.
    imported: c.imported !== undefined,
  });
}

export const leadModel = createTestModel(modelCycle.machine, {
  events: modelEvents,
  serializeState: (snapshot) => abstractState(snapshot as LeadSnapshot),
  input: LEAD_INPUT,
});

export interface ModelPath {
  description: string;
  /** The model state the path leaves by its last event: paths from one state share all but that event. */
  from: string;
  /** Generated events after the initial state; replay them with `retime`. */
  events: LeadEvent[];
  /** The abstract state after each event. */
  states: string[];
}

/**
 * Shortest paths reach every model state; extending each by every event its end state accepts
 * takes every transition of the abstract graph as well, self-loops included.
 */
export function transitionPaths(): ModelPath[] {
  const shortest = leadModel.getShortestPaths({ allowDuplicatePaths: true });
  const toState = new Map(shortest.map((p) => [abstractState(p.state as LeadSnapshot), p]));
  const adjacency = leadModel.getAdjacencyMap();
  const paths: ModelPath[] = [];
  for (const [key, vertex] of Object.entries(adjacency) as Array<
    [string, AdjacencyValue<LeadSnapshot, LeadEvent>]
  >) {
    const base = toState.get(key);
    if (!base) throw new Error(`no shortest path reaches ${key}`);
    const steps = base.steps.slice(1);
    for (const { event, state } of Object.values(vertex.transitions)) {
      if (!(vertex.state as LeadSnapshot).can(event as LeadEvent)) continue;
      paths.push({
        from: key,
        description: [...steps.map((s) => s.event.type), event.type].join(' → '),
        events: [...steps.map((s) => s.event as LeadEvent), event as LeadEvent],
        states: [
          ...steps.map((s) => abstractState(s.state as LeadSnapshot)),
          abstractState(state as LeadSnapshot),
        ],
      });
    }
  }
  return paths;
}

/** The funnel's main road, for simple paths: every loop-free way from visitor to customer. */
const FUNNEL_EVENTS = new Set([
  'form.submitted',
  'engagement',
  'bant.updated',
  'sales.accepted',
  'proposal.sent',
  'deal.won',
]);

export const funnelModel = createTestModel(modelCycle.machine, {
  events: modelEvents,
  // Filter rather than drop events: the test model fills any missing event type with a payload-less one.
  filterEvents: (_, event) => FUNNEL_EVENTS.has(event.type),
  serializeState: (snapshot) => abstractState(snapshot as LeadSnapshot),
  input: LEAD_INPUT,
});

/**
 * A path's events were generated at the model's own concrete states; replayed against another
 * snapshot, each event happens at the time that snapshot implies (a minute on, or at the deadline).
 */
export function retime(event: LeadEvent, snapshot: LeadSnapshot): LeadEvent {
  const key = withoutTime(event);
  const match = modelEvents(snapshot).find((e) => withoutTime(e) === key);
  if (!match) throw new Error(`the model has no event like ${key}`);
  return match;
}
