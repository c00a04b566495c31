import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OUTBOX_FILE, Outbox, type OutboxRecord, readOutbox } from '../../src/activities/index.js';
import { JsonlLog, skippedJsonlLines } from '../../src/activities/jsonl.js';
import { OutboxRecordSchema } from '../../src/activities/outbox.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

const meta = (key: string, over: Partial<OutboxRecord> = {}) => ({
  key,
  kind: 'email' as const,
  workflowId: 'lead-wf',
  leadKey: 'lead-1',
  ...over,
});
const record = (key: string, payload: unknown = {}): OutboxRecord => ({
  ...meta(key),
  at: new Date().toISOString(),
  payload,
});
const lines = async () => (await readFile(join(dir, OUTBOX_FILE), 'utf8')).split('\n');

describe('outbox', () => {
  it('delivers once per key, across retries and across a reopen', async () => {
    const outbox = new Outbox(dir);
    let runs = 0;
    const deliver = async () => ({ n: ++runs });
    expect(await outbox.deliverOnce(meta('k1'), deliver)).toEqual({ delivered: true });
    expect(await outbox.deliverOnce(meta('k1'), deliver)).toEqual({ delivered: false });
    await outbox.close();

    const reopened = new Outbox(dir); // a worker restart: keys come back from the file
    expect(await reopened.deliverOnce(meta('k1'), deliver)).toEqual({ delivered: false });
    expect(await reopened.deliverOnce(meta('k2'), deliver)).toEqual({ delivered: true });
    await reopened.close();

    expect(runs).toBe(2);
    const records = await readOutbox(dir);
    expect(records.map((r) => [r.key, r.payload])).toEqual([
      ['k1', { n: 1 }],
      ['k2', { n: 2 }],
    ]);
  });

  it('runs concurrent attempts with one key one after the other, delivering once', async () => {
    const outbox = new Outbox(dir);
    let inFlight = 0;
    let runs = 0;
    const deliver = async () => {
      inFlight += 1;
      expect(inFlight).toBe(1);
      await new Promise((r) => setTimeout(r, 20));
      inFlight -= 1;
      return { n: ++runs };
    };
    const results = await Promise.all(
      Array.from({ length: 5 }, () => outbox.deliverOnce(meta('same'), deliver)),
    );
    expect(results.filter((r) => r.delivered)).toHaveLength(1);
    expect(runs).toBe(1);
    await outbox.close();
  });

  it('records nothing when the delivery throws, so the retry delivers', async () => {
    const outbox = new Outbox(dir);
    await expect(
      outbox.deliverOnce(meta('k'), async () => {
        throw new Error('server down');
      }),
    ).rejects.toThrow('server down');
    expect(await readOutbox(dir)).toEqual([]);
    expect(await outbox.deliverOnce(meta('k'), async () => ({ ok: true }))).toEqual({ delivered: true });
    await outbox.close();
  });

  it('writes whole lines under concurrent appends, even from two writers of one file', async () => {
    const a = new JsonlLog(join(dir, OUTBOX_FILE), OutboxRecordSchema);
    const b = new JsonlLog(join(dir, OUTBOX_FILE), OutboxRecordSchema);
    const big = 'x'.repeat(100_000); // far beyond any pipe or page size
    const appended = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).append(record(`k${i}`, { i, big }))),
    );
    expect(appended.every(Boolean)).toBe(true);
    await Promise.all([a.close(), b.close()]);

    const all = await lines();
    expect(all.pop()).toBe(''); // ends with a newline
    expect(all).toHaveLength(200);
    const keys = all.map((line) => OutboxRecordSchema.parse(JSON.parse(line)).key);
    expect(new Set(keys).size).toBe(200);
  });

  it('appends one line for many concurrent appends of one key', async () => {
    const log = new JsonlLog(join(dir, OUTBOX_FILE), OutboxRecordSchema);
    const appended = await Promise.all(Array.from({ length: 20 }, () => log.append(record('once'))));
    expect(appended.filter(Boolean)).toHaveLength(1);
    await log.close();
    expect(await readOutbox(dir)).toHaveLength(1);
  });

  it('tolerates a torn last line when reading, and cuts it off before the next append', async () => {
    const file = join(dir, OUTBOX_FILE);
    await writeFile(file, `${JSON.stringify(record('a'))}\n${JSON.stringify(record('b'))}\n{"key":"c","ki`);
    expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['a', 'b']);

    const outbox = new Outbox(dir);
    expect(await outbox.deliverOnce(meta('c'), async () => ({}))).toEqual({ delivered: true });
    expect(await outbox.deliverOnce(meta('a'), async () => ({}))).toEqual({ delivered: false });
    await outbox.close();
    expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['a', 'b', 'c']);
    expect(await lines()).toHaveLength(4); // three records and the final newline
  });

  it('keeps a whole last record that lost only its newline', async () => {
    await writeFile(join(dir, OUTBOX_FILE), `${JSON.stringify(record('a'))}\n${JSON.stringify(record('b'))}`);
    const outbox = new Outbox(dir);
    expect(await outbox.deliverOnce(meta('b'), async () => ({}))).toEqual({ delivered: false });
    expect(await outbox.deliverOnce(meta('c'), async () => ({}))).toEqual({ delivered: true });
    await outbox.close();
    expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['a', 'b', 'c']);
  });

  it('skips a broken line that is not the last one, counted and logged by line without its content', async () => {
    const file = join(dir, OUTBOX_FILE);
    const secret = 'ada@acme.example';
    await writeFile(
      file,
      `${JSON.stringify(record('a'))}\n{"key":"${secret}" not json\n{"key":"x"}\n${JSON.stringify(record('b'))}\n`,
    );
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const before = skippedJsonlLines(file);
      expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['a', 'b']);
      expect(skippedJsonlLines(file) - before).toBe(2);
      const logged = warn.mock.calls.map((c) => String(c[0])).join('\n');
      expect(logged).toContain(`${file}:2`);
      expect(logged).toContain(`${file}:3`);
      expect(logged).not.toContain(secret);

      const outbox = new Outbox(dir);
      expect(await outbox.has('a')).toBe(true);
      expect(await outbox.deliverOnce(meta('b'), async () => ({}))).toEqual({ delivered: false });
      expect(await outbox.deliverOnce(meta('c'), async () => ({}))).toEqual({ delivered: true });
      await outbox.close();
      expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['a', 'b', 'c']);
    } finally {
      warn.mockRestore();
    }
  });

  it('filters by kind and lead, and keeps the newest `limit` records', async () => {
    expect(await readOutbox(dir)).toEqual([]); // no file yet
    const outbox = new Outbox(dir);
    for (let i = 0; i < 6; i++) {
      await outbox.deliverOnce(
        meta(`k${i}`, { kind: i % 2 ? 'crm' : 'email', leadKey: `lead-${i % 3}` }),
        async () => i,
      );
    }
    await outbox.close();
    expect((await readOutbox(dir, { kind: 'crm' })).map((r) => r.key)).toEqual(['k1', 'k3', 'k5']);
    expect((await readOutbox(dir, { leadKey: 'lead-0' })).map((r) => r.key)).toEqual(['k0', 'k3']);
    expect((await readOutbox(dir, { kind: 'email', limit: 2 })).map((r) => r.key)).toEqual(['k2', 'k4']);
    expect(await readOutbox(dir, { limit: 0 })).toEqual([]);
  });

  it('sees records another writer appended, skipping a half-written one', async () => {
    const file = join(dir, OUTBOX_FILE);
    await writeFile(file, `${JSON.stringify(record('a'))}\n`);
    const partial = JSON.stringify(record('b'));
    await appendFile(file, partial.slice(0, 20)); // a writer mid-append, as a reader may see it
    expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['a']);
  });

  describe('forget', () => {
    const ada = 'acme:email:ada@acme.example';
    const bob = 'acme:email:bob@acme.example';
    const deliverFor = (outbox: Outbox, key: string, leadKey: string) =>
      outbox.deliverOnce(meta(key, { leadKey, workflowId: `wf-${leadKey}` }), async () => ({
        to: leadKey.slice(leadKey.lastIndexOf(':') + 1),
      }));

    it("removes the lead's records from the file, keeps the others, and delivers on", async () => {
      const outbox = new Outbox(dir);
      for (let i = 0; i < 6; i++) await deliverFor(outbox, `k${i}`, i % 2 ? ada : bob);
      expect(await outbox.forget(ada)).toEqual({ removed: 3 });

      const text = await readFile(outbox.file, 'utf8');
      expect(text).not.toContain('ada@acme.example');
      expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['k0', 'k2', 'k4']);
      // Appends go to the new file, and the forgotten keys are forgotten too.
      expect(await deliverFor(outbox, 'k6', bob)).toEqual({ delivered: true });
      expect(await outbox.has('k1')).toBe(false);
      // Twice is fine.
      expect(await outbox.forget(ada)).toEqual({ removed: 0 });
      await outbox.close();
      expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['k0', 'k2', 'k4', 'k6']);
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });

    it('is a no-op without an outbox file, and creates none', async () => {
      const outbox = new Outbox(dir);
      expect(await outbox.forget(ada)).toEqual({ removed: 0 });
      await outbox.close();
      expect(await readdir(dir)).toEqual([]);
    });

    it('another writer with the old file open follows the rewrite instead of losing its appends', async () => {
      // The worker's outbox (another instance, as in another process) keeps its handle open.
      const worker = new Outbox(dir);
      const eraser = new Outbox(dir);
      await deliverFor(worker, 'k0', ada);
      await deliverFor(worker, 'k1', bob);
      expect(await eraser.forget(ada)).toEqual({ removed: 1 });
      expect(await deliverFor(worker, 'k2', bob)).toEqual({ delivered: true });
      await Promise.all([worker.close(), eraser.close()]);
      expect((await readOutbox(dir)).map((r) => r.key)).toEqual(['k1', 'k2']);
    });

    it('loses no delivery that runs concurrently with the rewrite', async () => {
      const outbox = new Outbox(dir);
      for (let i = 0; i < 50; i++) await deliverFor(outbox, `old${i}`, i % 2 ? ada : bob);
      const other = new Outbox(dir);
      const during = Array.from({ length: 50 }, (_, i) => deliverFor(i % 2 ? outbox : other, `new${i}`, bob));
      const [forgotten] = await Promise.all([outbox.forget(ada), ...during]);
      expect(forgotten).toEqual({ removed: 25 });
      await Promise.all([outbox.close(), other.close()]);
      const keys = (await readOutbox(dir)).map((r) => r.key);
      expect(keys.filter((k) => k.startsWith('new'))).toHaveLength(50);
      expect(keys.filter((k) => k.startsWith('old'))).toHaveLength(25);
      expect(await readFile(join(dir, OUTBOX_FILE), 'utf8')).not.toContain(ada);
    });

    it('drops a torn last line (never acknowledged) and keeps a whole one', async () => {
      const file = join(dir, OUTBOX_FILE);
      const whole = { ...record('b'), leadKey: bob };
      await writeFile(file, `${JSON.stringify({ ...record('a'), leadKey: ada })}\n${JSON.stringify(whole)}`);
      const outbox = new Outbox(dir);
      expect(await outbox.forget(ada)).toEqual({ removed: 1 });
      await outbox.close();
      expect(await readOutbox(dir)).toEqual([whole]);
      expect(await lines()).toHaveLength(2); // one record and the final newline
      await appendFile(file, '{"key":"c","ki');
      const again = new Outbox(dir);
      expect(await again.forget(ada)).toEqual({ removed: 0 });
      await again.close();
      expect(await readOutbox(dir)).toEqual([whole]);
      expect(await lines()).toHaveLength(2);
    });
  });
});
