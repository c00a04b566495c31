/**
 * Engine: lead events per second end to end, next to a baseline workflow on the same server.
 *
 * Each measurement starts `leads` fresh workflows (untimed), then sends each `events` messages one
 * after another, all leads at once, and times every round trip. Updates (`executeUpdate` of the
 * `command` Update) return when the workflow has applied the command; signals (`fact`) return when
 * the server has accepted them, so the signal figure waits for one final update per lead, which the
 * workflow handles only after every signal before it (its wall time includes that barrier).
 */
import { performance } from 'node:perf_hooks';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { LeadCommandInput, LeadFact } from '../src/machines/index.js';
import {
  commandUpdate,
  factSignal,
  type LeadWorkflowInput,
  STARTED_UNDER,
} from '../src/workflows/messages.js';
import { baselineCommandUpdate, baselineFactSignal } from './baseline-workflow.js';
import { countEventTypes } from './lib/event-types.js';
import { cpuMeter } from './lib/procfs.js';
import { boundedAll, percentile } from './lib/stats.js';

/** `baseline`, `lead` (the workflow in src/), or the name of a variant given with --variant. */
export type Kind = string;
export type Path = 'update' | 'signal';

export interface EngineContext {
  /** A client per kind: the lead workflow's payloads go through the codec, the baseline's do not. */
  clients: Record<Kind, Client>;
  /** Task queue per kind; each is served by the worker process from that kind's own bundle. */
  queues: Record<Kind, string>;
  /** Processes whose CPU is metered: server, worker, and this process (the client). */
  pids: Record<string, number>;
  log: (line: string) => void;
  tag: string;
}

export interface Measurement {
  kind: Kind;
  path: Path;
  round: number;
  leads: number;
  events: number;
  wallMs: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  latencies: number[];
  /** CPU milliseconds per event, by process. */
  cpuMsPerEvent: Record<string, number>;
  /** History events and bytes the measured messages added, per message (mean over leads). */
  historyEventsPerEvent: number;
  historyBytesPerEvent: number;
  /** The largest history length of a measured workflow at the end. */
  maxHistoryLength: number;
  /** Bytes of one update's result as JSON (what the caller receives and history keeps). */
  resultBytes: number;
  /** Event types the measured messages added to one workflow's history, by count. */
  eventTypes?: Record<string, number>;
}

const ENGAGEMENT_MIX: Array<Omit<Extract<LeadFact, { type: 'engagement' }>, 'type'>> = [
  { kind: 'email_open' },
  { kind: 'page_view' },
  { kind: 'email_click' },
  { kind: 'content_download', contentStage: 'awareness' },
  { kind: 'email_open' },
  { kind: 'page_view' },
];

/** The i-th engagement of a lead: a realistic mix of opens, clicks, page views, downloads. */
export function engagement(i: number): Extract<LeadFact, { type: 'engagement' }> {
  return { type: 'engagement', ...(ENGAGEMENT_MIX[i % ENGAGEMENT_MIX.length] as object) } as Extract<
    LeadFact,
    { type: 'engagement' }
  >;
}

/**
 * A lead that gives consent but fits no buyer persona: it stays in `lead` whatever its score, so
 * every measured message is an engagement that changes facts and score, not the stage.
 */
export function captureCommand(i: number, email = `lead-${i}@bench.example`): LeadCommandInput {
  return {
    type: 'form.submitted',
    form: 'content_download',
    consent: true,
    profile: {
      // The lead's own address: a lead keyed by its email takes no other.
      email,
      companySize: 3,
      sector: 'education',
      jobFunction: 'student',
    },
  };
}

async function settled(handle: WorkflowHandle): Promise<{ historyLength: number; historySize: number }> {
  for (let attempt = 0; ; attempt++) {
    const d = await handle.describe();
    const busy = (d.raw.pendingActivities?.length ?? 0) > 0 || d.raw.pendingWorkflowTask != null;
    if (!busy || attempt > 600) return { historyLength: d.historyLength, historySize: d.historySize ?? 0 };
    await new Promise((r) => setTimeout(r, 50));
  }
}

function clientOf(ctx: EngineContext, kind: Kind): Client {
  const client = ctx.clients[kind];
  if (!client) throw new Error(`no client for ${kind}`);
  return client;
}

function queueOf(ctx: EngineContext, kind: Kind): string {
  const queue = ctx.queues[kind];
  if (!queue) throw new Error(`no task queue for ${kind}`);
  return queue;
}

/** Starts `leads` workflows of one kind and applies the capture command to each (untimed). */
export async function startLeads(ctx: EngineContext, kind: Kind, leads: number, label: string) {
  return boundedAll(leads, leads, async (i) => {
    const workflowId = `bench-${ctx.tag}-${label}-${kind}-${i}`;
    const handle =
      kind !== 'baseline'
        ? await clientOf(ctx, kind).workflow.start('leadWorkflow', {
            workflowId,
            taskQueue: queueOf(ctx, kind),
            // Declaring the rules it starts under, as LeadClient's starts do.
            args: [
              { leadKey: `bench:${workflowId}`, startedUnder: STARTED_UNDER } satisfies LeadWorkflowInput,
            ],
          })
        : await clientOf(ctx, kind).workflow.start('baselineWorkflow', {
            workflowId,
            taskQueue: queueOf(ctx, kind),
          });
    const update = kind !== 'baseline' ? commandUpdate : baselineCommandUpdate;
    await handle.executeUpdate(update as typeof commandUpdate, { args: [captureCommand(i) as never] });
    return handle;
  });
}

/** One measurement: fresh leads of one kind, `events` messages each along one path, all leads at once. */
export async function measure(
  ctx: EngineContext,
  opts: { kind: Kind; path: Path; leads: number; events: number; round: number; withEventTypes?: boolean },
): Promise<Measurement> {
  const { kind, path, leads, events, round } = opts;
  const handles = await startLeads(ctx, kind, leads, `${path}-r${round}`);
  const before = await Promise.all(handles.map(settled));

  const update = (kind !== 'baseline' ? commandUpdate : baselineCommandUpdate) as typeof commandUpdate;
  const signal = (kind !== 'baseline' ? factSignal : baselineFactSignal) as typeof factSignal;
  const latencies: number[] = [];
  let resultBytes = 0;

  const meter = cpuMeter(ctx.pids);
  const started = performance.now();
  await Promise.all(
    handles.map(async (handle) => {
      for (let j = 0; j < events; j++) {
        const t0 = performance.now();
        if (path === 'update') {
          const result = await handle.executeUpdate(update, { args: [engagement(j)] });
          if (j === 0) resultBytes = JSON.stringify(result).length;
        } else {
          await handle.signal(signal, engagement(j));
        }
        latencies.push(performance.now() - t0);
      }
      // Signals are only accepted so far: an update after them returns once they were all handled.
      if (path === 'signal') await handle.executeUpdate(update, { args: [engagement(events)] });
    }),
  );
  const wallMs = performance.now() - started;
  const cpu = meter.stop();

  const after = await Promise.all(handles.map(settled));
  const total = leads * events;
  // The signal path's barrier update is one more message per lead in history; count it out evenly.
  const messages = path === 'signal' ? events + 1 : events;
  const perLead = (i: number, key: 'historyLength' | 'historySize') =>
    ((after[i]?.[key] ?? 0) - (before[i]?.[key] ?? 0)) / messages;
  const historyEventsPerEvent = handles.reduce((s, _, i) => s + perLead(i, 'historyLength'), 0) / leads;
  const historyBytesPerEvent = handles.reduce((s, _, i) => s + perLead(i, 'historySize'), 0) / leads;

  let eventTypes: Record<string, number> | undefined;
  if (opts.withEventTypes && handles[0]) {
    const history = await handles[0].fetchHistory();
    eventTypes = countEventTypes((history.events ?? []).slice(before[0]?.historyLength ?? 0));
  }

  const m: Measurement = {
    kind,
    path,
    round,
    leads,
    events: total,
    wallMs,
    eventsPerSecond: (total / wallMs) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    latencies,
    cpuMsPerEvent: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / total])),
    historyEventsPerEvent,
    historyBytesPerEvent,
    maxHistoryLength: Math.max(...after.map((a) => a.historyLength)),
    resultBytes,
    ...(eventTypes ? { eventTypes } : {}),
  };
  ctx.log(
    `engine r${round} ${kind.padEnd(8)} ${path.padEnd(6)}: ${m.eventsPerSecond.toFixed(0)} ev/s, ` +
      `p50 ${m.p50Ms.toFixed(1)} ms, p99 ${m.p99Ms.toFixed(1)} ms, ` +
      `${m.historyEventsPerEvent.toFixed(1)} history events/ev, ` +
      `cpu ms/ev ${Object.entries(m.cpuMsPerEvent)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}`,
  );
  return m;
}

export interface ContinueAsNewCheck {
  updates: number;
  runs: number;
  runHistoryLengths: number[];
  maxRunHistoryLength: number;
  wallMs: number;
}

/** One lead, `updates` engagement updates in a row: how many runs, and how long each run's history got. */
export async function continueAsNewCheck(ctx: EngineContext, updates: number): Promise<ContinueAsNewCheck> {
  const [handle] = await startLeads(ctx, 'lead', 1, 'can');
  if (!handle) throw new Error('no lead started');
  const started = performance.now();
  for (let j = 0; j < updates; j++) {
    await handle.executeUpdate(commandUpdate, { args: [engagement(j)] });
  }
  const wallMs = performance.now() - started;
  const client = clientOf(ctx, 'lead');
  await settled(client.workflow.getHandle(handle.workflowId));
  // Walk back from the newest run through the continue-as-new links in each run's first event.
  const runHistoryLengths: number[] = [];
  let runId: string | undefined;
  for (;;) {
    const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    runHistoryLengths.push(history.events?.length ?? 0);
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) break;
  }
  runHistoryLengths.reverse(); // oldest run first
  const check = {
    updates,
    runs: runHistoryLengths.length,
    runHistoryLengths,
    maxRunHistoryLength: Math.max(...runHistoryLengths),
    wallMs,
  };
  ctx.log(
    `continue-as-new: ${updates} updates → ${check.runs} runs, history lengths ${runHistoryLengths.join(', ')}`,
  );
  return check;
}
