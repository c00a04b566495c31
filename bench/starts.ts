/**
 * Starts: what a new lead costs in Temporal history, and how many new leads a worker takes per
 * second. Leads are captured as apps capture them (LeadClient.capture: update-with-start of a form
 * with consent and a profile that fits no persona), all kinds on the same dev server and worker
 * process, one kind after another. A lead's first minute is over once it has no activity and no
 * workflow task pending (it then sleeps for days, until its next nurture email or decay tick).
 */
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { LeadClient } from '../src/client/index.js';
import { captureCommand, type Kind } from './engine.js';
import { countEventTypes } from './lib/event-types.js';
import { boundedAll } from './lib/stats.js';

export interface StartsMeasurement {
  kind: Kind;
  round: number;
  leads: number;
  concurrency: number;
  /** From the first capture until every lead's first minute was over (nothing pending). */
  wallMs: number;
  /** New leads per second through their first minute. */
  startsPerSecond: number;
  /** Exact counts per lead after its first minute: the smallest and largest over the leads. */
  historyEvents: { min: number; max: number };
  workflowTasks: { min: number; max: number };
  activityTasks: { min: number; max: number };
  /** The first lead's history by event type. */
  eventTypes: Record<string, number>;
}

export interface StartsResults {
  measurements: StartsMeasurement[];
  /** Per kind: the median start rate over the rounds, the lead workflow's rate over it, the exact counts. */
  summary: Array<{
    kind: Kind;
    startsPerSecond: number;
    leadOverThis: number;
    historyEvents: number;
    workflowTasks: number;
  }>;
}

const { EventType } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/**
 * Waits until the lead's first minute is over: no workflow task and no activity pending, as its
 * history tells while the server appends to it. A long poll (the server answers when events come)
 * rather than describing the workflow every few milliseconds: that polling loaded the server as
 * much as the leads did, the more so the faster they went. Answers the history.
 */
async function firstMinuteOver(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  const activities = new Set<string>();
  let workflowTask = false;
  let nextPageToken: Uint8Array | undefined;
  const until = performance.now() + 60_000;
  while (performance.now() < until) {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId },
      waitNewEvent: true,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const e of page.history?.events ?? []) {
      events.push(e);
      if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) workflowTask = true;
      if (
        e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED ||
        e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED ||
        e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
      )
        workflowTask = false;
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) activities.add(String(e.eventId));
      const ended =
        e.activityTaskCompletedEventAttributes ??
        e.activityTaskFailedEventAttributes ??
        e.activityTaskTimedOutEventAttributes ??
        e.activityTaskCanceledEventAttributes;
      if (ended) activities.delete(String(ended.scheduledEventId));
    }
    if (events.length > 0 && !workflowTask && activities.size === 0) return events;
    if (!page.nextPageToken?.length) throw new Error(`${workflowId}: closed during its first minute`);
    nextPageToken = page.nextPageToken;
  }
  throw new Error(`${workflowId}: still busy after a minute`);
}

const range = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
};

export async function runStarts(
  ctx: {
    clients: Record<Kind, Client>;
    queues: Record<Kind, string>;
    tag: string;
    log: (line: string) => void;
  },
  kinds: Kind[],
  options: {
    leads: number;
    concurrency: number;
    rounds: number;
    /** Per variant, the client of its own checkout: an older workflow refuses a newer config's fields. */
    clientModules?: Record<Kind, string>;
  },
): Promise<StartsResults> {
  const measurements: StartsMeasurement[] = [];
  const clientClass: Record<Kind, typeof LeadClient> = {};
  for (const kind of kinds) {
    const module = options.clientModules?.[kind];
    clientClass[kind] = module
      ? ((await import(module)) as { LeadClient: typeof LeadClient }).LeadClient
      : LeadClient;
  }
  const once = async (kind: Kind, round: number, leads: number): Promise<StartsMeasurement> => {
    const client = ctx.clients[kind] as Client;
    const Client = clientClass[kind] as typeof LeadClient;
    const app = new Client(client, { taskQueue: ctx.queues[kind] as string });
    const refs = Array.from({ length: leads }, (_, i) => ({
      tenant: `bench-starts-${ctx.tag}-${kind}-r${round}`,
      email: `lead-${i}@bench.example`,
    }));
    const t0 = performance.now();
    const histories = await boundedAll(leads, options.concurrency, async (i) => {
      const ref = refs[i] as (typeof refs)[number];
      // The profile's address is the ref's (captureCommand's), as a lead keyed by its email requires.
      await app.capture(ref, captureCommand(i));
      return firstMinuteOver(client, Client.keyOf(ref, app.ids).workflowId);
    });
    const wallMs = performance.now() - t0;
    const types = histories.map(countEventTypes);
    return {
      kind,
      round,
      leads,
      concurrency: options.concurrency,
      wallMs,
      startsPerSecond: (leads / wallMs) * 1000,
      historyEvents: range(histories.map((h) => h.length)),
      workflowTasks: range(types.map((t) => t.WORKFLOW_TASK_COMPLETED ?? 0)),
      activityTasks: range(types.map((t) => t.ACTIVITY_TASK_COMPLETED ?? 0)),
      eventTypes: types[0] ?? {},
    };
  };

  ctx.log('starts: warm-up');
  for (const kind of kinds) await once(kind, 0, 4);
  for (let round = 1; round <= options.rounds; round++) {
    // Alternate the order, so a drift during the run weighs on every kind alike.
    for (const kind of round % 2 === 1 ? kinds : [...kinds].reverse()) {
      const m = await once(kind, round, options.leads);
      ctx.log(
        `starts: ${kind} round ${round}: ${m.leads} leads in ${(m.wallMs / 1000).toFixed(1)} s ` +
          `(${m.startsPerSecond.toFixed(1)}/s), ${m.historyEvents.max} events, ${m.workflowTasks.max} workflow tasks, ` +
          `${m.activityTasks.max} activities per lead`,
      );
      measurements.push(m);
    }
  }
  const rate = (kind: Kind) =>
    median(measurements.filter((m) => m.kind === kind).map((m) => m.startsPerSecond));
  const lead = rate('lead');
  const summary = kinds.map((kind) => {
    const of = measurements.filter((m) => m.kind === kind);
    return {
      kind,
      startsPerSecond: rate(kind),
      leadOverThis: lead / rate(kind),
      historyEvents: Math.max(...of.map((m) => m.historyEvents.max)),
      workflowTasks: Math.max(...of.map((m) => m.workflowTasks.max)),
    };
  });
  for (const s of summary)
    ctx.log(
      `starts: ${s.kind}: ${s.startsPerSecond.toFixed(1)} new leads/s (lead ×${s.leadOverThis.toFixed(2)} of it), ` +
        `${s.historyEvents} history events and ${s.workflowTasks} workflow tasks per new lead`,
    );
  return { measurements, summary };
}
