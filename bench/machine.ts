/**
 * Machine: pure transitions per second, in this process, over a realistic lead journey, and the cost
 * per event of what the workflow does around each transition (serialise the result, restore a
 * snapshot after continue-as-new).
 */
import { performance } from 'node:perf_hooks';
import {
  createLeadCycle,
  DAY_MS,
  HOUR_MS,
  LeadCommandSchema,
  type LeadEvent,
  type LeadSnapshot,
} from '../src/machines/index.js';

type Step = { dtMs: number; event: Record<string, unknown> & { type: LeadEvent['type'] } };

const FIT = { email: 'ada@acme.example', companySize: 250, sector: 'software', jobFunction: 'it' };

/**
 * One lead's journey from first visit to customer, with the facts that dominate real traffic
 * (page views, email opens and clicks), timer events, and a few commands the machine refuses.
 */
const JOURNEY: Step[] = [
  { dtMs: HOUR_MS, event: { type: 'visit', page: '/pricing' } },
  { dtMs: HOUR_MS, event: { type: 'visit', page: '/blog/a' } },
  {
    dtMs: HOUR_MS,
    event: { type: 'form.submitted', form: 'content_download', consent: true, profile: FIT },
  },
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'email_open' } },
  { dtMs: HOUR_MS, event: { type: 'engagement', kind: 'email_click' } },
  { dtMs: DAY_MS, event: { type: 'visit', page: '/blog/b' } },
  { dtMs: 7 * DAY_MS, event: { type: 'tick.nurture' } },
  { dtMs: 0, event: { type: 'tick.decay' } },
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'email_open' } },
  { dtMs: DAY_MS, event: { type: 'profile.updated', profile: { jobTitle: 'CTO', country: 'FR' } } },
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'content_download', contentStage: 'consideration' } },
  { dtMs: HOUR_MS, event: { type: 'deal.won' } }, // refused: not allowed in stage lead
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'page_view' } },
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'demo_request' } },
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'webinar_attended' } }, // becomes an MQL
  { dtMs: HOUR_MS, event: { type: 'sales.accepted', owner: 'rep-1' } }, // refused: BANT incomplete
  { dtMs: HOUR_MS, event: { type: 'bant.updated', bant: { budget: true, authority: true, need: true } } },
  { dtMs: HOUR_MS, event: { type: 'bant.updated', bant: { timelineMonths: 3 } } },
  { dtMs: HOUR_MS, event: { type: 'sales.accepted', owner: 'rep-1' } },
  { dtMs: 3 * DAY_MS, event: { type: 'engagement', kind: 'email_open' } },
  { dtMs: DAY_MS, event: { type: 'proposal.sent', amount: 24_000 } },
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'pricing_page' } },
  { dtMs: 7 * DAY_MS, event: { type: 'tick.decay' } },
  { dtMs: 7 * DAY_MS, event: { type: 'deal.won', amount: 24_000 } },
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'email_open' } },
  { dtMs: 30 * DAY_MS, event: { type: 'tick.nurture' } }, // the newsletter
  { dtMs: DAY_MS, event: { type: 'engagement', kind: 'email_click' } },
  { dtMs: 7 * DAY_MS, event: { type: 'tick.decay' } },
];

export interface MachineResults {
  journeyEvents: number;
  refusedPerJourney: number;
  transitionsPerSecond: number;
  usPerTransition: number;
  usPerStart: number;
  usPerView: number;
  usPerNextDeadline: number;
  usPerCommandParse: number;
  /** The machine-side work the workflow does per command update, as a sum of the calls it makes. */
  usPerWorkflowUpdateEstimate: number;
  stateJsonBytes: number;
  viewJsonBytes: number;
  usPerStateSerialise: number;
  usPerRestore: number;
  usPerViewSerialise: number;
}

function timeLoop(budgetMs: number, body: () => number): { perOpUs: number; ops: number } {
  // Warm up, then run whole batches until the budget is spent.
  const warmEnd = performance.now() + Math.min(300, budgetMs / 4);
  while (performance.now() < warmEnd) body();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs) {
    ops += body();
    now = performance.now();
  }
  return { perOpUs: ((now - start) * 1000) / ops, ops };
}

export function runMachine(budgetMs = 2_000): MachineResults {
  const cycle = createLeadCycle({});
  const T0 = Date.UTC(2026, 0, 5, 9);

  /** One lead through JOURNEY; `onStep` sees the snapshot after each event. */
  const playJourney = (onStep?: (snapshot: LeadSnapshot, refused: boolean) => void) => {
    let snapshot = cycle.start({ leadKey: 'bench:journey', at: T0 }).snapshot;
    let at = T0;
    for (const step of JOURNEY) {
      at += step.dtMs;
      const decision = cycle.apply(snapshot, { ...step.event, at } as LeadEvent);
      if (decision.ok) snapshot = decision.snapshot;
      onStep?.(snapshot, !decision.ok);
    }
    return snapshot;
  };

  // Snapshots along the journey, to time the per-event helpers on realistic states.
  const snapshots: LeadSnapshot[] = [];
  let refused = 0;
  const end = playJourney((snapshot, wasRefused) => {
    snapshots.push(snapshot);
    if (wasRefused) refused++;
  });
  if (end.value.lifecycle !== 'customer') {
    throw new Error(`the benchmark journey ends in ${end.value.lifecycle}, not customer`);
  }

  const journey = timeLoop(budgetMs, () => {
    playJourney();
    return JOURNEY.length;
  });
  const start = timeLoop(budgetMs / 4, () => {
    cycle.start({ leadKey: 'bench:journey', at: T0 });
    return 1;
  });
  // Starts are part of each journey loop: take them out of the per-transition figure.
  const usPerTransition = journey.perOpUs - start.perOpUs / JOURNEY.length;

  const states = snapshots.map((s) => cycle.stateOf(s));
  const view = timeLoop(budgetMs / 4, () => {
    for (const s of states) cycle.view(s);
    return states.length;
  });
  const nextDeadline = timeLoop(budgetMs / 4, () => {
    for (const s of states) cycle.nextDeadline(s);
    return states.length;
  });
  const commands = JOURNEY.filter((s) => !s.event.type.startsWith('tick.')).map((s) => s.event);
  const parse = timeLoop(budgetMs / 4, () => {
    for (const c of commands) LeadCommandSchema.safeParse(c);
    return commands.length;
  });

  const stateJson = states.map((s) => JSON.stringify(s));
  const serialise = timeLoop(budgetMs / 4, () => {
    for (const s of states) JSON.stringify(s);
    return states.length;
  });
  const restore = timeLoop(budgetMs / 4, () => {
    for (const json of stateJson) cycle.restore(JSON.parse(json));
    return stateJson.length;
  });
  const views = states.map((s) => cycle.view(s));
  const viewSerialise = timeLoop(budgetMs / 4, () => {
    for (const v of views) JSON.parse(JSON.stringify(v));
    return views.length;
  });

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // Per command update the workflow parses the command twice (validator, handler), applies it once
  // (the validator's probe; the handler takes its decision), builds the view once (the result and
  // the current details share it) and derives the next deadline about three times (fireDueTimers,
  // the sleep, the view's deadlines are in the view figure already).
  const usPerWorkflowUpdateEstimate =
    2 * parse.perOpUs + usPerTransition + view.perOpUs + 3 * nextDeadline.perOpUs;

  return {
    journeyEvents: JOURNEY.length,
    refusedPerJourney: refused,
    transitionsPerSecond: 1e6 / usPerTransition,
    usPerTransition,
    usPerStart: start.perOpUs,
    usPerView: view.perOpUs,
    usPerNextDeadline: nextDeadline.perOpUs,
    usPerCommandParse: parse.perOpUs,
    usPerWorkflowUpdateEstimate,
    stateJsonBytes: Math.round(mean(stateJson.map((j) => j.length))),
    viewJsonBytes: Math.round(mean(views.map((v) => JSON.stringify(v).length))),
    usPerStateSerialise: serialise.perOpUs,
    usPerRestore: restore.perOpUs,
    usPerViewSerialise: viewSerialise.perOpUs,
  };
}
