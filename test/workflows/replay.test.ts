import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type InjectedSinks, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { finalStateFile, loadHistories, type RecordedHistory } from '../support/histories.js';
import type { ReplayStateSinks } from '../support/replay-state.js';

/**
 * Histories recorded from the integration tests (`npm run record-histories`) replayed against
 * today's workflow code. Temporal's replay fails a change that emits other commands, but compares
 * only their types and ids: a changed decision that keeps the same calls (other content, another
 * score in a handoff) replays clean. So each replay must also end in the lead's view recorded beside
 * its history (`<name>.final.json`).
 *
 * LEADCYCLE_RECORD_FINAL_STATES=1 rewrites every `.final.json` from today's replay: for a deliberate
 * change of what the view holds, whose diff is then the thing to review.
 */
const path = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const WORKFLOWS = path('../../src/workflows/index.ts');
const ALTERED_WORKFLOWS = path('../support/altered-workflows.ts');
const REPLAY_STATE = path('../support/replay-state.ts');

const quiet = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** The workflows at `workflowsPath`, bundled with the interceptor that reports the lead's view on replay. */
async function bundle(workflowsPath: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: [REPLAY_STATE],
    logger: quiet,
  });
  return code;
}

interface Replayed {
  workflowId: string;
  /** Temporal's verdict: a nondeterminism error (or any other replay failure). */
  error: string | null;
  /** The lead's view after the last activation of the replay (JSON, as a query would answer). */
  final: unknown;
}

async function replay(code: string, histories: RecordedHistory[]): Promise<Replayed[]> {
  const finals = new Map<string, unknown>();
  const sinks: InjectedSinks<ReplayStateSinks> = {
    replayState: {
      view: {
        fn: (info, view) => void finals.set(info.workflowId, JSON.parse(JSON.stringify(view))),
        callDuringReplay: true,
      },
    },
  };
  const results = Worker.runReplayHistories(
    { workflowBundle: { code }, sinks },
    histories.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  const replayed: Replayed[] = [];
  for await (const result of results) {
    replayed.push({
      workflowId: result.workflowId,
      error: result.error ? result.error.message : null,
      final: finals.get(result.workflowId),
    });
  }
  return replayed;
}

/** The histories whose replay did not end in their recorded view, with the first fields that differ. */
function mismatches(histories: RecordedHistory[], replayed: Replayed[]): string[] {
  const byId = new Map(replayed.map((r) => [r.workflowId, r]));
  return histories.flatMap(({ workflowId, final }) => {
    const got = byId.get(workflowId)?.final;
    if (got === undefined) return [`${workflowId}: no view captured on replay`];
    if (final === undefined) return [`${workflowId}: no ${workflowId}.final.json beside the history`];
    const paths = differences(final, got);
    return paths.length ? [`${workflowId}: ${paths.slice(0, 5).join(', ')}`] : [];
  });
}

/** Where two JSON values differ, leaves only: `path: recorded -> replayed`. */
function differences(a: unknown, b: unknown, at = '$'): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return Object.is(a, b) ? [] : [`${at}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
  }
  if (Array.isArray(a) !== Array.isArray(b)) return [`${at}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) =>
    differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`),
  );
}

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
  it('every checked-in history replays without a nondeterminism error and ends in its recorded view', async () => {
    expect(histories.length).toBeGreaterThanOrEqual(5);
    const replayed = await replay(real, histories);
    expect(replayed.map((r) => r.workflowId).sort()).toEqual(histories.map((h) => h.workflowId));
    expect(replayed.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`)).toEqual([]);

    if (process.env.LEADCYCLE_RECORD_FINAL_STATES === '1') {
      for (const r of replayed) {
        if (r.final !== undefined)
          await writeFile(finalStateFile(r.workflowId), `${JSON.stringify(r.final, null, 2)}\n`);
      }
      return;
    }
    expect(mismatches(histories, replayed)).toEqual([]);
  });

  it('a changed decision that keeps every command fails here, though Temporal replays it clean', async () => {
    // Discovery content for a lead in consideration: the same sendContent calls, other content.
    const replayed = await replay(altered, histories);
    // The finding: Temporal's nondeterminism check alone passes every history...
    expect(replayed.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`)).toEqual([]);
    // ...while the lead's view shows the other decision: sent items in every version's 180-day nurture
    // (the only recorded lead that reaches consideration while nurtured).
    const failed = mismatches(histories, replayed);
    expect(failed.map((f) => f.split(':')[0])).toEqual(
      histories.map((h) => h.workflowId).filter((id) => id.endsWith('nurture-180-days')),
    );
    // The eighth send went out in consideration: evaluation content then, discovery content now.
    for (const f of failed)
      expect(f).toContain('$.state.context.nurture.sentIds.7: "evaluation-1" -> "discovery-8"');
  });
});
