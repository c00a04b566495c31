import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';

/**
 * Histories recorded from the integration tests, checked in and replayed in CI. Recording writes the
 * top folder; histories of earlier workflow versions are kept in subfolders.
 */
export const HISTORIES_DIR = fileURLToPath(new URL('../histories/', import.meta.url));

/**
 * Saves the history of every run of a workflow, when LEADCYCLE_RECORD_HISTORIES=1
 * (`npm run record-histories`); otherwise does nothing, so ordinary runs never rewrite the corpus.
 */
export async function recordHistories(client: Client, workflowId: string, name: string): Promise<void> {
  if (process.env.LEADCYCLE_RECORD_HISTORIES !== '1') return;
  // Walk back from the newest run through continue-as-new links (the test server has no list API).
  let runId: string | undefined;
  for (let i = 0; ; i++) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    await writeFile(`${HISTORIES_DIR}${name}${i === 0 ? '' : `.previous-${i}`}.json`, historyToJSON(history));
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return;
  }
}

export async function loadHistories(): Promise<
  Array<{ workflowId: string; history: ReturnType<typeof historyFromJSON> }>
> {
  // Subfolders keep the corpus of earlier workflow versions (e.g. before-fewer-events/): they must replay too.
  const files = (await readdir(HISTORIES_DIR, { recursive: true })).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(await readFile(`${HISTORIES_DIR}${file}`, 'utf8'))),
    })),
  );
}
