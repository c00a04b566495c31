/**
 * Append-only JSON Lines files keyed by an idempotency key: the embedded default behind the outbox
 * and the stage-change store.
 *
 * - One record per line, each line written by a single append and synced before the append resolves,
 *   so a record that was acknowledged survives a crash.
 * - A crash mid-append leaves at most one torn, unterminated last line: readers skip it, and the next
 *   writer to open the file cuts it off (it was never acknowledged, so its activity will retry).
 * - Idempotent by key within one process: keys are loaded when the file is opened. Several processes
 *   writing one file would each miss the others' keys, so run one worker per data dir.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { CorruptStoreError } from './errors.js';
import { KeyedLock } from './keyed-lock.js';

const NEWLINE = 0x0a;

/** What a scan found after the last newline: nothing, a whole record missing its newline, or a torn one. */
export type JsonlTail = { offset: number; valid: boolean } | null;

/**
 * Streams a JSON Lines file through `visit`, checking every record against `schema`. A missing file is
 * empty. A bad line before the last one throws CorruptStoreError; a bad unterminated last line is
 * reported as a torn tail instead.
 */
export async function scanJsonl<T>(
  file: string,
  schema: z.ZodType<T>,
  visit: (record: T) => void,
): Promise<JsonlTail> {
  let offset = 0;
  let lineNo = 0;
  let pending: Buffer[] = [];
  let pendingStart = 0;
  const parse = (bytes: Buffer): T => {
    const result = schema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!result.success) throw new Error(result.error.issues.map((i) => i.message).join('; '));
    return result.data;
  };
  const lineDone = (bytes: Buffer) => {
    lineNo += 1;
    if (bytes.length === 0) return;
    try {
      visit(parse(bytes));
    } catch (err) {
      throw new CorruptStoreError(file, lineNo, err instanceof Error ? err.message : String(err));
    }
  };

  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      let start = 0;
      for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, start)) {
        pending.push(chunk.subarray(start, i));
        lineDone(Buffer.concat(pending));
        pending = [];
        start = i + 1;
        pendingStart = offset + start;
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
      offset += chunk.length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }

  const rest = Buffer.concat(pending);
  if (rest.toString('utf8').trim() === '') return null;
  try {
    visit(parse(rest));
    return { offset: pendingStart, valid: true };
  } catch {
    return { offset: pendingStart, valid: false };
  }
}

/** Serializes writes per file across every JsonlLog of the process, so lines never interleave. */
const fileWrites = new KeyedLock();

/** One append-only JSON Lines file, idempotent by `key`. Opens (and loads its keys) on first use. */
export class JsonlLog<T extends { key: string }> {
  readonly file: string;
  readonly #schema: z.ZodType<T>;
  readonly #keyLock = new KeyedLock();
  #opened: Promise<{ handle: FileHandle; keys: Set<string> }> | null = null;

  constructor(file: string, schema: z.ZodType<T>) {
    this.file = resolve(file);
    this.#schema = schema;
  }

  async has(key: string): Promise<boolean> {
    const { keys } = await this.#open();
    return keys.has(key);
  }

  /** Appends the record unless its key is already there. Resolves true once the line is on disk. */
  append(record: T): Promise<boolean> {
    return this.#keyLock.run(record.key, async () => {
      const { handle, keys } = await this.#open();
      if (keys.has(record.key)) return false;
      const line = `${JSON.stringify(this.#schema.parse(record))}\n`;
      await fileWrites.run(this.file, async () => {
        await handle.appendFile(line, 'utf8');
        await handle.datasync();
      });
      keys.add(record.key);
      return true;
    });
  }

  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = null;
    if (!opened) return;
    const { handle } = await opened.catch(() => ({ handle: null }));
    // Queued behind the writes already started on this file.
    if (handle) await fileWrites.run(this.file, () => handle.close());
  }

  #open(): Promise<{ handle: FileHandle; keys: Set<string> }> {
    if (!this.#opened) {
      this.#opened = this.#load();
      // A failed open (a corrupt file, a permission error) is retried on the next call.
      this.#opened.catch(() => {
        this.#opened = null;
      });
    }
    return this.#opened;
  }

  async #load(): Promise<{ handle: FileHandle; keys: Set<string> }> {
    await mkdir(dirname(this.file), { recursive: true });
    return fileWrites.run(this.file, async () => {
      const keys = new Set<string>();
      const tail = await scanJsonl(this.file, this.#schema, (r) => keys.add(r.key));
      const handle = await open(this.file, 'a');
      try {
        // Repair before the first append, or the new line would be glued to the torn one.
        if (tail?.valid) await handle.appendFile('\n');
        else if (tail) await handle.truncate(tail.offset);
      } catch (err) {
        await handle.close();
        throw err;
      }
      return { handle, keys };
    });
  }
}

/** Reads every record that matches `filter`, keeping the last `limit` (the newest: files are in append order). */
export async function readJsonl<T>(
  file: string,
  schema: z.ZodType<T>,
  filter: (record: T) => boolean = () => true,
  limit = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const records: T[] = [];
  await scanJsonl(file, schema, (record) => {
    if (!filter(record)) return;
    records.push(record);
    // Trim in batches, so reading a big file with a small limit stays linear and bounded.
    if (records.length >= 2 * limit + 1024) records.splice(0, records.length - limit);
  });
  return records.slice(Math.max(0, records.length - Math.max(0, limit)));
}
