import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, type InjectedSinks, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHEAP_STARTS, type LeadWorkflowInput, QUIET_MESSAGES } from '../../src/workflows/messages.js';
import { finalStateFile, loadHistories, type RecordedHistory } from '../support/histories.js';
import type { ReplayStateSinks } from '../support/replay-state.js';

/**
 * Histories recorded from the integration tests (`npm run record-histories`) replayed against
 * today's workflow code. Temporal's replay fails a change that emits other commands, but compares
 * only their types and ids: a changed decision that keeps the same calls (other content, another
 * score in a handoff) replays clean. So a replay must also give every activity the input recorded
 * in the history, and end in the lead's view recorded beside it (`<name>.final.json`).
 *
 * LEADCYCLE_RECORD_FINAL_STATES=1 rewrites every `.final.json` from today's replay: for a deliberate
 * change of what the view holds, whose diff is then the thing to review.
 */
const path = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const WORKFLOWS = path('../../src/workflows/index.ts');
const ALTERED_WORKFLOWS = path('../support/altered-workflows.ts');
const REPLAY_STATE = path('../support/replay-state.ts');
// As the worker bundles them: the machine's modules shared by every workflow of the thread.
const PRELOAD = path('../../src/machines/shared-modules.ts');

const quiet = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** The workflows at `workflowsPath`, bundled with the interceptor that reports what they decide on replay. */
async function bundle(workflowsPath: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: [REPLAY_STATE],
    preloadModules: [PRELOAD],
    logger: quiet,
  });
  return code;
}

interface ActivityCall {
  activityType: string;
  input: unknown;
}

interface Replayed {
  workflowId: string;
  /** Temporal's verdict: a nondeterminism error (or any other replay failure). */
  error: string | null;
  /** The lead's view after the last activation of the replay (JSON, as a query would answer). */
  final: unknown;
  /** Every activity the replay scheduled, in order, with its input (JSON). */
  activities: ActivityCall[];
}

async function replay(code: string, histories: RecordedHistory[]): Promise<Replayed[]> {
  const finals = new Map<string, unknown>();
  const activities = new Map<string, ActivityCall[]>();
  const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
  const sinks: InjectedSinks<ReplayStateSinks> = {
    replayState: {
      view: { fn: (info, view) => void finals.set(info.workflowId, json(view)), callDuringReplay: true },
      activity: {
        fn: (info, activityType, args) => {
          const calls = activities.get(info.workflowId) ?? [];
          calls.push({ activityType, input: json(args[0]) });
          activities.set(info.workflowId, calls);
        },
        callDuringReplay: true,
      },
    },
  };
  const results = Worker.runReplayHistories(
    { workflowBundle: { code }, sinks },
    histories.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  const replayed: Replayed[] = [];
  for await (const { workflowId, error } of results) {
    replayed.push({
      workflowId,
      error: error ? error.message : null,
      final: finals.get(workflowId),
      activities: activities.get(workflowId) ?? [],
    });
  }
  return replayed;
}

/** The histories whose replay did not end in their recorded view, with the first fields that differ. */
function viewMismatches(histories: RecordedHistory[], replayed: Replayed[]): string[] {
  const byId = new Map(replayed.map((r) => [r.workflowId, r]));
  return histories.flatMap(({ workflowId, final }) => {
    const got = byId.get(workflowId)?.final;
    if (got === undefined) return [`${workflowId}: no view captured on replay`];
    if (final === undefined) return [`${workflowId}: no ${workflowId}.final.json beside the history`];
    // Additive, as for activity inputs: a field the view gained since the recording has nothing to compare with.
    const paths = differences(final, got, '$', { additive: true });
    return paths.length ? [`${workflowId}: ${paths.slice(0, 5).join(', ')}`] : [];
  });
}

/** The activities scheduled in a recorded history, with their inputs as the activity received them. */
function recordedActivities(history: RecordedHistory['history']): ActivityCall[] {
  return (history.events ?? []).flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    const payload = scheduled?.input?.payloads?.[0];
    if (!scheduled || !payload) return [];
    return [
      {
        activityType: scheduled.activityType?.name ?? '',
        input: defaultPayloadConverter.fromPayload(payload),
      },
    ];
  });
}

/**
 * What an activity was asked, without the workflow id: a replay runs under the history's file name.
 * The idempotency key keeps its sequence number (`<workflow id>/<n>`).
 */
function decision({ activityType, input }: ActivityCall): unknown {
  const { workflowId: _, idempotencyKey, ...rest } = input as Record<string, unknown>;
  const seq =
    typeof idempotencyKey === 'string' ? idempotencyKey.slice(idempotencyKey.lastIndexOf('/')) : null;
  return { activityType, seq, ...rest };
}

/**
 * The histories where the replay asked an activity something other than what the history recorded.
 * A field the recorded input did not have yet (added to an activity's input since) is no changed
 * decision and is let through; a value that differs, or a field that is gone, is one. A replay may
 * schedule more than the history holds: the last workflow task of a history cut mid-task runs live.
 */
function activityMismatches(histories: RecordedHistory[], replayed: Replayed[]): string[] {
  const byId = new Map(replayed.map((r) => [r.workflowId, r]));
  return histories.flatMap(({ workflowId, history }) => {
    const recorded = recordedActivities(history);
    const got = byId.get(workflowId)?.activities ?? [];
    if (got.length < recorded.length)
      return [`${workflowId}: ${got.length} of ${recorded.length} activities`];
    const paths = recorded.flatMap((call, i) =>
      differences(decision(call), decision(got[i] as ActivityCall), `$[${i}]`, { additive: true }),
    );
    return paths.length ? [`${workflowId}: ${paths.slice(0, 5).join(', ')}`] : [];
  });
}

/** Where two JSON values differ, leaves only: `path: recorded -> replayed`. */
function differences(a: unknown, b: unknown, at = '$', options = { additive: false }): string[] {
  const leaf = [`${at}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return Object.is(a, b) ? [] : leaf;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return leaf;
  const recorded = a as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => !options.additive || k in recorded)
    .flatMap((k) => differences(recorded[k], (b as Record<string, unknown>)[k], `${at}.${k}`, options));
}

/** The patch ids of a history's patch markers, in order (core's marker details: `patch-data`). */
function patchMarkers(history: RecordedHistory['history']): string[] {
  return (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    const data =
      marker?.markerName === 'core_patch' ? marker.details?.['patch-data']?.payloads?.[0] : undefined;
    return data ? [defaultPayloadConverter.fromPayload<{ id: string }>(data).id] : [];
  });
}

/** The history with `startedUnder` in its start's input, as clients send it. */
function declaringStart(
  history: RecordedHistory['history'],
  startedUnder: LeadWorkflowInput['startedUnder'],
): RecordedHistory['history'] {
  const copy = historyFromJSON(JSON.parse(historyToJSON(history)));
  const payloads = copy.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  const payload = payloads?.[0];
  if (!payloads || !payload) throw new Error('a history without its start input');
  const input = defaultPayloadConverter.fromPayload<LeadWorkflowInput>(payload);
  payloads[0] = defaultPayloadConverter.toPayload({ ...input, startedUnder });
  return copy;
}

const errors = (replayed: Replayed[]) =>
  replayed.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`);

let histories: RecordedHistory[];
let real: string;
let altered: string;

beforeAll(async () => {
  [histories, real, altered] = await Promise.all([
    loadHistories(),
    bundle(WORKFLOWS),
    bundle(ALTERED_WORKFLOWS),
  ]);
});

describe('replay of recorded histories', () => {
  // Each test replays the whole corpus (about fifty histories): more than the default minute on a busy machine.
  it('every checked-in history replays without a nondeterminism error, with its activity inputs and its recorded end view', {
    timeout: 180_000,
  }, async () => {
    expect(histories.length).toBeGreaterThanOrEqual(5);
    const replayed = await replay(real, histories);
    expect(replayed.map((r) => r.workflowId).sort()).toEqual(histories.map((h) => h.workflowId));
    expect(errors(replayed)).toEqual([]);
    expect(activityMismatches(histories, replayed)).toEqual([]);

    if (process.env.LEADCYCLE_RECORD_FINAL_STATES === '1') {
      for (const r of replayed) {
        if (r.final !== undefined)
          await writeFile(finalStateFile(r.workflowId), `${JSON.stringify(r.final, null, 2)}\n`);
      }
      return;
    }
    expect(viewMismatches(histories, replayed)).toEqual([]);
  });

  it.each([CHEAP_STARTS, QUIET_MESSAGES] as const)(
    'a start declaring %s run by a worker of a release before it (which wrote the cheap-starts marker) replays',
    { timeout: 180_000 },
    async (startedUnder) => {
      // Histories started without a declaration, whose first task asked patched('cheap-starts'): with
      // the declaration added to their input they are what a worker that does not know it records
      // (it asks the patch, and wakes its loop for every message).
      const flagged = histories
        .filter(
          (h) =>
            h.workflowId.startsWith('before-start-flag/') && patchMarkers(h.history).includes(CHEAP_STARTS),
        )
        .map((h) => ({ ...h, history: declaringStart(h.history, startedUnder) }));
      expect(flagged.length).toBeGreaterThanOrEqual(5);
      const replayed = await replay(real, flagged);
      expect(errors(replayed)).toEqual([]);
      expect(activityMismatches(flagged, replayed)).toEqual([]);
      expect(viewMismatches(flagged, replayed)).toEqual([]);
    },
  );

  it('a changed decision that keeps every command fails here, though Temporal replays it clean', {
    timeout: 180_000,
  }, async () => {
    // Discovery content for a lead in consideration: the same sendContent calls, other content.
    const replayed = await replay(altered, histories);
    // The finding: Temporal's nondeterminism check alone passes every history...
    expect(errors(replayed)).toEqual([]);
    // ...while the activity inputs and the lead's view show the other decision, in every version's
    // 180-day nurture (the only recorded lead nurtured while it considers a purchase). Its eighth
    // send went out in consideration: evaluation content then, discovery content now.
    const nurtured = histories.map((h) => h.workflowId).filter((id) => id.endsWith('nurture-180-days'));
    const activities = activityMismatches(histories, replayed);
    expect(activities.map((f) => f.split(':')[0])).toEqual(nurtured);
    for (const f of activities) expect(f).toContain('.content.item.id: "evaluation-1" -> "discovery-8"');
    const views = viewMismatches(histories, replayed);
    expect(views.map((f) => f.split(':')[0])).toEqual(nurtured);
    for (const f of views)
      expect(f).toContain('$.state.context.nurture.sentIds.7: "evaluation-1" -> "discovery-8"');
  });
});
