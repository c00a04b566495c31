/** The real worker process prunes the outbox past its retention when it starts, before it polls. */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTBOX_FILE, readOutbox } from '../src/activities/index.js';
import { DAY_MS } from '../src/machines/index.js';
import { startWorkerProcess, type WorkerProcess } from './support/processes.js';
import { devServer } from './support/temporal.js';

let worker: WorkerProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the worker', () => {
  it('prunes the records older than LEADCYCLE_OUTBOX_RETENTION_DAYS at start, keeping the file 0600', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-retention-'));
    const record = (key: string, daysAgo: number) => ({
      key,
      kind: 'crm',
      at: new Date(Date.now() - daysAgo * DAY_MS).toISOString(),
      workflowId: 'wf',
      leadKey: 'acme:email:ada@acme.example',
      payload: {},
    });
    const file = join(dataDir, OUTBOX_FILE);
    await writeFile(
      file,
      [record('old', 40), record('recent', 20)].map((r) => `${JSON.stringify(r)}\n`).join(''),
      { mode: 0o600 },
    );
    worker = await startWorkerProcess(
      {
        TEMPORAL_ADDRESS: devServer().address,
        LEADCYCLE_TASK_QUEUE: `retention-${Date.now()}`,
        LEADCYCLE_DATA_DIR: dataDir,
        LEADCYCLE_LEAD_ID_SECRET: 's'.repeat(32),
        LEADCYCLE_OUTBOX_RETENTION_DAYS: '30',
      },
      120_000,
    );
    expect(worker.output()).toMatch(/outbox: pruned 1 records from before \S+ \(retention 30 days\)/);
    expect((await readOutbox(dataDir)).map((r) => r.key)).toEqual(['recent']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  }, 150_000);
});
