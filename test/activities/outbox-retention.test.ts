import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DeadLetter,
  OUTBOX_FILE,
  Outbox,
  type OutboxRecord,
  readDeadLetters,
  readOutbox,
} from '../../src/activities/index.js';
import { keepOutboxRetention, pruneOutbox } from '../../src/activities/outbox-retention.js';
import { DAY_MS } from '../../src/machines/index.js';
import { readSettings } from '../../src/settings.js';
import { runCli } from '../support/cli.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const NOW = Date.UTC(2026, 11, 2, 12);
const ada = 'acme:email:ada@acme.example';

/** A record recorded `daysAgo` days before NOW, to Ada's address. */
const recordOf = (key: string, daysAgo: number): OutboxRecord => ({
  key,
  kind: 'email',
  at: new Date(NOW - daysAgo * DAY_MS).toISOString(),
  workflowId: 'wf-ada',
  leadKey: ada,
  payload: { to: { address: 'ada@acme.example' } },
});

/** An outbox file as a worker would have left it: one line per record, 0600. */
async function outboxWith(records: OutboxRecord[]): Promise<string> {
  const file = join(dir, OUTBOX_FILE);
  await writeFile(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''), { mode: 0o600 });
  return file;
}

const keys = async () => (await readOutbox(dir)).map((r) => r.key);

describe('the outbox retention', () => {
  it('removes the records recorded before the cutoff, keeps the recent ones, and keeps the file 0600', async () => {
    const file = await outboxWith([
      recordOf('old-1', 200),
      recordOf('recent-1', 10),
      recordOf('old-2', 90.01),
      recordOf('edge', 89.99),
    ]);
    const outbox = new Outbox(dir);
    expect(await pruneOutbox(outbox, 90, NOW)).toEqual({
      removed: 2,
      deadLetters: 0,
      before: new Date(NOW - 90 * DAY_MS).toISOString(),
    });
    expect(await keys()).toEqual(['recent-1', 'edge']);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Again: nothing more to remove.
    expect((await pruneOutbox(outbox, 90, NOW)).removed).toBe(0);
    await outbox.close();
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps a recent key delivered once; only a pruned one is forgotten', async () => {
    await outboxWith([recordOf('old', 120), recordOf('recent', 1)]);
    const outbox = new Outbox(dir);
    await pruneOutbox(outbox, 90, NOW);
    let runs = 0;
    const meta = (key: string) => ({ key, kind: 'email' as const, workflowId: 'wf-ada', leadKey: ada });
    // A retry of the recent delivery (within the retention) does nothing.
    expect(await outbox.deliverOnce(meta('recent'), async () => ++runs)).toEqual({ delivered: false });
    expect(await outbox.deliverOnce(meta('old'), async () => ++runs)).toEqual({ delivered: true });
    expect(runs).toBe(1);
    await outbox.close();
  });

  it('counts only what is left for the email cap', async () => {
    await outboxWith([recordOf('e-old', 100), recordOf('e-new', 5)]);
    const outbox = new Outbox(dir);
    const since = NOW - 365 * DAY_MS;
    expect(await outbox.emailsSentSince(ada, 'ada@acme.example', since)).toHaveLength(2);
    await pruneOutbox(outbox, 90, NOW);
    expect(await outbox.emailsSentSince(ada, 'ada@acme.example', since)).toEqual([NOW - 5 * DAY_MS]);
    await outbox.close();
  });

  it('loses no delivery appended while it prunes, from this instance or another', async () => {
    await outboxWith(Array.from({ length: 200 }, (_, i) => recordOf(`old${i}`, 100 + i)));
    const worker = new Outbox(dir);
    const other = new Outbox(dir);
    const during = Array.from({ length: 50 }, (_, i) =>
      (i % 2 ? worker : other).deliverOnce(
        { key: `new${i}`, kind: 'crm', workflowId: 'wf', leadKey: ada },
        async () => ({ n: i }),
      ),
    );
    const [pruned] = await Promise.all([pruneOutbox(worker, 90, Date.now()), ...during]);
    expect(pruned.removed).toBe(200);
    await Promise.all([worker.close(), other.close()]);
    const left = await keys();
    expect(left.filter((k) => k.startsWith('new'))).toHaveLength(50);
    expect(left.filter((k) => k.startsWith('old'))).toEqual([]);
  });

  it('removes the dead letters that failed before the cutoff: they hold the name and address', async () => {
    const outbox = new Outbox(dir);
    const letter = (key: string, daysAgo: number): DeadLetter => ({
      key,
      kind: 'email',
      at: new Date(NOW - daysAgo * DAY_MS).toISOString(),
      workflowId: 'wf-ada',
      leadKey: ada,
      code: 'recipient_rejected',
      reason: 'SMTP 550 5.1.1',
      attempts: 3,
      input: { to: { email: 'ada@acme.example', firstName: 'Ada' } },
    });
    await outbox.deadLetter(letter('old', 91));
    await outbox.deadLetter(letter('recent', 2));
    expect(await pruneOutbox(outbox, 90, NOW)).toMatchObject({ removed: 0, deadLetters: 1 });
    expect((await readDeadLetters(dir)).map((l) => l.key)).toEqual(['recent']);
    await outbox.close();
  });

  it('is a no-op without an outbox file, and creates none', async () => {
    const outbox = new Outbox(dir);
    expect((await pruneOutbox(outbox, 90, NOW)).removed).toBe(0);
    await outbox.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('in the worker: prunes at start, then on every round, and logs a failure instead of throwing', async () => {
    await outboxWith([recordOf('old', 100), recordOf('young', 89.9)]);
    const outbox = new Outbox(dir);
    const lines: string[] = [];
    let now = NOW;
    const retention = await keepOutboxRetention(outbox, {
      days: 90,
      log: (l) => lines.push(l),
      now: () => now,
      everyMs: 20,
    });
    try {
      // The first prune ran before it resolved.
      expect(await keys()).toEqual(['young']);
      expect(lines).toEqual([
        `outbox: pruned 1 records from before ${new Date(NOW - 90 * DAY_MS).toISOString()} (retention 90 days)`,
      ]);
      now = NOW + 0.2 * DAY_MS; // a round later, the young one is old too
      await expect.poll(keys, { interval: 10 }).toEqual([]);
    } finally {
      retention.stop();
      await outbox.close();
    }

    // An outbox that cannot be read: logged, and the worker goes on.
    const broken = join(dir, 'broken');
    await mkdir(join(broken, OUTBOX_FILE), { recursive: true });
    const failing = new Outbox(broken);
    const failed: string[] = [];
    const r = await keepOutboxRetention(failing, { days: 90, log: (l) => failed.push(l) });
    r.stop();
    expect(failed).toEqual([expect.stringMatching(/^outbox: pruning failed, retried in a day: /)]);
  });

  it('is 90 days unless LEADCYCLE_OUTBOX_RETENTION_DAYS says otherwise: whole days, at least one', () => {
    expect(readSettings({}).LEADCYCLE_OUTBOX_RETENTION_DAYS).toBe(90);
    expect(readSettings({ LEADCYCLE_OUTBOX_RETENTION_DAYS: '30' }).LEADCYCLE_OUTBOX_RETENTION_DAYS).toBe(30);
    for (const bad of ['0', '1.5', 'forever']) {
      expect(() => readSettings({ LEADCYCLE_OUTBOX_RETENTION_DAYS: bad })).toThrow(
        /LEADCYCLE_OUTBOX_RETENTION_DAYS/,
      );
    }
  });
});

describe('leadcycle outbox prune', () => {
  it('prunes by the retention or --older-than, as text or JSON, and refuses less than a day', async () => {
    const now = Date.now();
    const at = (daysAgo: number) => new Date(now - daysAgo * DAY_MS).toISOString();
    await outboxWith([
      { ...recordOf('a', 0), at: at(100) },
      { ...recordOf('b', 0), at: at(40) },
      { ...recordOf('c', 0), at: at(1) },
    ]);
    const env = { LEADCYCLE_DATA_DIR: dir };

    const text = await runCli(['outbox', 'prune'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^pruned 1 records and 0 dead letters recorded before \S+ \(older than 90 days\) from .*outbox\.jsonl\n$/,
    );
    expect(await keys()).toEqual(['b', 'c']);

    const json = await runCli(['--json', 'outbox', 'prune', '--older-than', '30d'], env);
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout);
    expect(answer).toMatchObject({ removed: 1, olderThanDays: 30, file: join(dir, OUTBOX_FILE) });
    expect(Date.parse(answer.before)).toBeGreaterThan(now - 30 * DAY_MS - 60_000);
    expect(Date.parse(answer.before)).toBeLessThanOrEqual(Date.now() - 30 * DAY_MS);
    expect(await keys()).toEqual(['c']);
    expect((await stat(join(dir, OUTBOX_FILE))).mode & 0o777).toBe(0o600);

    for (const bad of ['0d', '12h']) {
      const refused = await runCli(['outbox', 'prune', '--older-than', bad], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--older-than/);
    }
    expect(await readFile(join(dir, OUTBOX_FILE), 'utf8')).toContain('"c"');
  });
});
