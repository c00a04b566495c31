/**
 * The data dir is its owner's only: after a real worker and a real API ran on it (their own
 * processes, as deployed), the dir is 0700 and every file in it 0600, what an older version left
 * open included; and the two processes named leads and hashed addresses with one secret, made once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LEAD_ID_SECRET_FILE, LeadIds, leadKeyOf } from '../src/client/index.js';
import { FIT } from './support/lead.js';
import { startWorkerProcess, type WorkerProcess } from './support/processes.js';
import { devServer } from './support/temporal.js';
import { eventually } from './support/workflow.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const API_KEY = 'k'.repeat(32);

let worker: WorkerProcess | undefined;
let api: ChildProcess | undefined;
afterAll(() => {
  worker?.child.kill('SIGKILL');
  api?.kill('SIGKILL');
});

/** `src/api/main.ts` in its own process; resolves with its URL once it listens. */
async function startApiProcess(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  api = child;
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const url = /leadcycle API on (http:\/\/[^:]+:\d+)/.exec(output)?.[1];
    if (url) return url;
    if (child.exitCode !== null) throw new Error(`API exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`API not ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the data dir', () => {
  it('is 0700 with every file 0600 after a worker and an API ran on it, sharing one lead id secret', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-modes-'));
    // As an older version left it: a world-readable dir and outbox.
    await chmod(dataDir, 0o755);
    await writeFile(join(dataDir, 'outbox.jsonl'), '');
    await chmod(join(dataDir, 'outbox.jsonl'), 0o644);
    const env = {
      TEMPORAL_ADDRESS: devServer().address,
      LEADCYCLE_TASK_QUEUE: `modes-${Date.now()}`,
      LEADCYCLE_DATA_DIR: dataDir,
      // No secret given: the first process makes the data dir's. Its data came from before: say so.
      LEADCYCLE_LEAD_ID_SECRET: '',
      LEADCYCLE_LEAD_IDS: 'keyed',
      LEADCYCLE_API_KEYS: API_KEY,
      LEADCYCLE_API_PORT: '0',
    };
    worker = await startWorkerProcess(env);
    const url = await startApiProcess(env);
    const post = async (path: string, payload: unknown) => {
      const res = await fetch(`${url}/v1/leads${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      // biome-ignore lint/suspicious/noExplicitAny: the API's answers, read as JSON
      return (await res.json()) as any;
    };

    const lead = { tenant: 'acme', email: 'ada@lead.example' };
    const captured = await post('/capture', {
      lead,
      command: {
        type: 'form.submitted',
        form: 'demo_request',
        consent: true,
        profile: { ...FIT, email: lead.email },
      },
    });
    // A do-not-contact: the worker puts the address on the suppression list, under its hash.
    await post('/commands', {
      lead,
      command: { type: 'consent.unsubscribed', doNotContact: true, source: 'link' },
    });
    // The API finds the worker's entry: both hashed the address with the same secret.
    const exported = await eventually(async () => {
      const found = await post('/export', { lead });
      expect(found.suppressions).toHaveLength(1);
      return found;
    });
    expect(exported.suppressions[0]).toMatchObject({ address: lead.email, reason: 'do_not_contact' });
    const secret = (await readFile(join(dataDir, LEAD_ID_SECRET_FILE), 'utf8')).trim();
    expect(captured.leadId).toBe(new LeadIds(secret).workflowIdOf(leadKeyOf(lead)));

    // While both run (the -wal and -shm files exist only then).
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const modes: Record<string, string> = {};
    for (const entry of await readdir(dataDir, { withFileTypes: true })) {
      if (entry.isFile())
        modes[entry.name] = ((await stat(join(dataDir, entry.name))).mode & 0o777).toString(8);
    }
    for (const name of [
      'outbox.jsonl',
      'leadcycle.db',
      'leadcycle.db-wal',
      'leadcycle.db-shm',
      LEAD_ID_SECRET_FILE,
      'codec-keys.json',
    ]) {
      expect(modes, name).toHaveProperty([name]);
    }
    expect(Object.entries(modes).filter(([, mode]) => mode !== '600')).toEqual([]);
  });
});
