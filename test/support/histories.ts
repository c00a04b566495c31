import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { stateQuery } from '../../src/workflows/messages.js';

/**
 * Histories recorded from the integration tests, checked in and replayed in CI. Recording writes the
 * top folder; histories of earlier workflow versions are kept in subfolders. Beside each history
 * `<name>.json` lies `<name>.final.json`: the lead's view (the `state` query) at the end of that
 * history, which its replay must reach (Temporal's own replay checks commands, not decisions).
 */
export const HISTORIES_DIR = fileURLToPath(new URL('../histories/', import.meta.url));

const FINAL_SUFFIX = '.final.json';

/** Where the final view of the history `id` (its path under HISTORIES_DIR, without `.json`) is kept. */
export const finalStateFile = (id: string) => `${HISTORIES_DIR}${id}${FINAL_SUFFIX}`;

/**
 * Saves the history of every run of a workflow and the lead's view at its end, when
 * LEADCYCLE_RECORD_HISTORIES=1 (`npm run record-histories`); otherwise does nothing, so ordinary runs
 * never rewrite the corpus.
 */
export async function recordHistories(client: Client, workflowId: string, name: string): Promise<void> {
  if (process.env.LEADCYCLE_RECORD_HISTORIES !== '1') return;
  // Walk back from the newest run through continue-as-new links (the test server has no list API).
  let runId: string | undefined;
  for (let i = 0; ; i++) {
    const handle = client.workflow.getHandle(workflowId, runId);
    const { history, view } = await historyWithView(handle);
    const id = `${name}${i === 0 ? '' : `.previous-${i}`}`;
    await writeFile(`${HISTORIES_DIR}${id}.json`, historyToJSON(history));
    await writeFile(finalStateFile(id), `${JSON.stringify(view, null, 2)}\n`);
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return;
  }
}

type Handle = ReturnType<Client['workflow']['getHandle']>;

/** A run's history and the view its worker answers at the end of it (fetched again if the run moved meanwhile). */
async function historyWithView(handle: Handle) {
  for (;;) {
    const history = await handle.fetchHistory();
    const view = await handle.query(stateQuery);
    const again = await handle.fetchHistory();
    if (again.events?.length === history.events?.length) return { history, view };
  }
}

export interface RecordedHistory {
  /** The history's path under HISTORIES_DIR without `.json`; the workflow id it is replayed under. */
  workflowId: string;
  history: ReturnType<typeof historyFromJSON>;
  /** The lead's view at the end of the history (`<name>.final.json`), if one was kept. */
  final: unknown;
}

export async function loadHistories(): Promise<RecordedHistory[]> {
  // Subfolders keep the corpus of earlier workflow versions (e.g. before-fewer-events/): they must replay too.
  const files = (await readdir(HISTORIES_DIR, { recursive: true }))
    .filter((f) => f.endsWith('.json') && !f.endsWith(FINAL_SUFFIX))
    .sort();
  return Promise.all(
    files.map(async (file) => {
      const workflowId = file.replace(/\.json$/, '');
      const finalFile = finalStateFile(workflowId);
      const final = await access(finalFile).then(
        async () => JSON.parse(await readFile(finalFile, 'utf8')) as unknown,
        () => undefined,
      );
      return {
        workflowId,
        history: historyFromJSON(JSON.parse(await readFile(`${HISTORIES_DIR}${file}`, 'utf8'))),
        final,
      };
    }),
  );
}
