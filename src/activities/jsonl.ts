/**
 * Append-only JSON Lines files keyed by an idempotency key: the embedded default behind the outbox
 * and the stage-change store.
 *
 * - One record per line, each line written by a single append and synced before the append resolves,
 *   so a record that was acknowledged survives a crash.
 * - A crash mid-append leaves at most one torn, unterminated last line: readers skip it, and the next
 *   writer to open the file cuts it off (it was never acknowledged, so its activity will retry).
 * - A broken line elsewhere (a disk fault, a hand edit) is skipped too, counted and logged by file and
 *   line number without its content: one bad line must not stop every delivery. Its key is lost, so
 *   that one delivery may repeat on retry; the Message-ID and Idempotency-Key let the far side drop it.
 * - Idempotent by key within one process: keys are loaded when the file is opened. Several processes
 *   writing one file would each miss the others' keys, so run one worker per data dir.
 * - `rewrite` (an erasure) replaces the file by a temp file and a rename. Every append first checks
 *   that its handle is still the file's and reopens otherwise, so a log in another instance or
 *   process follows the new file instead of writing into the replaced one.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../private-fs.js';
import { KeyedLock } from './keyed-lock.js';

const NEWLINE = 0x0a;

/** What a scan found after the last newline: nothing, a whole record missing its newline, or a torn one. */
export type JsonlTail = { offset: number; valid: boolean } | null;

/** Broken lines skipped so far in this process, by file: what an operator (or a test) can check. */
const skippedLines = new Map<string, number>();

export function skippedJsonlLines(file: string): number {
  return skippedLines.get(resolve(file)) ?? 0;
}

/** Logged once per file and line: the content may hold personal data, so only where it is. */
const reported = new Set<string>();
function skipLine(file: string, lineNo: number, bytes: number, reason: string): void {
  const path = resolve(file);
  skippedLines.set(path, (skippedLines.get(path) ?? 0) + 1);
  const at = `${path}:${lineNo}`;
  if (reported.has(at)) return;
  reported.add(at);
  console.warn(`leadcycle: skipped a broken line in ${at} (${bytes} bytes, ${reason})`);
}

/**
 * Streams a JSON Lines file through `visit`, checking every record against `schema`. A missing file is
 * empty. A bad line before the last one is skipped (see the header); a bad unterminated last line is
 * reported as a torn tail instead.
 */
export async function scanJsonl<T>(
  file: string,
  schema: z.ZodType<T>,
  visit: (record: T) => void,
  range: { end?: number } = {},
): Promise<JsonlTail> {
  let offset = 0;
  let lineNo = 0;
  let pending: Buffer[] = [];
  let pendingStart = 0;
  const parse = (bytes: Buffer): T => {
    const result = schema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!result.success) throw new SchemaMismatch();
    return result.data;
  };
  const lineDone = (bytes: Buffer) => {
    lineNo += 1;
    if (bytes.length === 0) return;
    let record: T;
    try {
      record = parse(bytes);
    } catch (err) {
      // Not the parser's message: JSON.parse quotes the line.
      skipLine(file, lineNo, bytes.length, err instanceof SchemaMismatch ? 'not a record' : 'not JSON');
      return;
    }
    visit(record);
  };

  try {
    // createReadStream's `end` is inclusive.
    const stream = createReadStream(file, range.end === undefined ? {} : { end: range.end - 1 });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
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

class SchemaMismatch extends Error {}

/** Serializes writes per file across every JsonlLog of the process, so lines never interleave. */
const fileWrites = new KeyedLock();

/** One append-only JSON Lines file, idempotent by `key`. Opens (and loads its keys) on first use. */
export class JsonlLog<T extends { key: string }> {
  readonly file: string;
  readonly #schema: z.ZodType<T>;
  readonly #keyLock = new KeyedLock();
  #opened: Promise<{ handle: FileHandle; keys: Set<string> }> | null = null;
  /** `#opened` once it has loaded: one still loading waits for the file lock, so reads the file as it will be. */
  #loaded: Promise<{ handle: FileHandle; keys: Set<string> }> | null = null;

  constructor(file: string, schema: z.ZodType<T>) {
    this.file = resolve(file);
    this.#schema = schema;
  }

  /** Whether the key is in the file as it is now: a rewrite in another instance (an erasure) counts. */
  async has(key: string): Promise<boolean> {
    await this.#open();
    const { keys } = await fileWrites.run(this.file, () => this.#current());
    return keys.has(key);
  }

  /** Appends the record unless its key is already there. Resolves true once the line is on disk. */
  append(record: T): Promise<boolean> {
    return this.#keyLock.run(record.key, async () => {
      if ((await this.#open()).keys.has(record.key)) return false;
      const line = `${JSON.stringify(this.#schema.parse(record))}\n`;
      return fileWrites.run(this.file, async () => {
        const { handle, keys } = await this.#current();
        // The file may have been rewritten meanwhile, its keys with it.
        if (keys.has(record.key)) return false;
        await handle.appendFile(line, 'utf8');
        await handle.datasync();
        keys.add(record.key);
        return true;
      });
    });
  }

  /**
   * Keeps only the records `keep` accepts: the others are gone from the disk, not only hidden. Writes
   * the kept lines to a temp file, syncs it and renames it over the log, so a crash leaves either the
   * old file or the new one. Serialized with this process's appends to the file; a record another
   * process appends during the rewrite is copied over from the replaced file, short of one whose
   * write lands in the instant between that copy and the rename being seen (see the header).
   */
  rewrite(keep: (record: T) => boolean): Promise<{ removed: number }> {
    return fileWrites.run(this.file, async () => {
      let old: FileHandle;
      try {
        old = await open(this.file, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removed: 0 };
        throw err;
      }
      const temp = join(dirname(this.file), `.${basename(this.file)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        const kept: string[] = [];
        const seen = new Set<string>();
        let removed = 0;
        const visit = (record: T) => {
          if (seen.has(record.key)) return;
          seen.add(record.key);
          if (keep(record)) kept.push(`${JSON.stringify(record)}\n`);
          else removed += 1;
        };
        const { size } = await old.stat();
        const tail = size > 0 ? await scanJsonl(this.file, this.#schema, visit, { end: size }) : null;
        const out = await open(temp, 'wx', PRIVATE_FILE_MODE);
        try {
          await out.writeFile(kept.join(''), 'utf8');
          // Lines another process appended to the old file since the scan: carried over.
          // From the unterminated tail on, if any: it may have been an append caught mid-write.
          kept.length = 0;
          for (const line of await readFrom(old, tail ? tail.offset : size)) {
            const parsed = this.#schema.safeParse(parseLine(line));
            if (parsed.success) visit(parsed.data);
          }
          await out.appendFile(kept.join(''), 'utf8');
          await out.datasync();
        } finally {
          await out.close();
        }
        await rename(temp, this.file);
        await syncDir(dirname(this.file));
        // Only a log already loaded: awaiting one still loading would wait for the lock held here.
        if (this.#opened && this.#opened === this.#loaded) await this.#current();
        return { removed };
      } finally {
        await old.close();
        await rm(temp, { force: true });
      }
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

  /** The opened log, reopened if its file was replaced (a rewrite). Call inside fileWrites for the file. */
  async #current(): Promise<{ handle: FileHandle; keys: Set<string> }> {
    const opened = await (this.#opened ?? this.#reload());
    const [ours, onDisk] = await Promise.all([
      opened.handle.stat(),
      stat(this.file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      }),
    ]);
    if (onDisk !== null && onDisk.ino === ours.ino && onDisk.dev === ours.dev) return opened;
    await opened.handle.close();
    return this.#reload();
  }

  /** Loads the file again; inside fileWrites for the file. */
  #reload(): Promise<{ handle: FileHandle; keys: Set<string> }> {
    const reopened = this.#loadUnlocked();
    this.#opened = reopened;
    this.#markLoaded(reopened);
    return reopened;
  }

  #open(): Promise<{ handle: FileHandle; keys: Set<string> }> {
    if (!this.#opened) {
      this.#opened = this.#load();
      this.#markLoaded(this.#opened);
    }
    return this.#opened;
  }

  /** Notes `opened` as loaded once it is; a failed open (a corrupt file, a permission error) is retried on the next call. */
  #markLoaded(opened: Promise<{ handle: FileHandle; keys: Set<string> }>): void {
    opened.then(
      () => {
        if (this.#opened === opened) this.#loaded = opened;
      },
      () => {
        if (this.#opened === opened) this.#opened = null;
      },
    );
  }

  async #load(): Promise<{ handle: FileHandle; keys: Set<string> }> {
    // The records name people: the folder and the file are the owner's only.
    await ensurePrivateDir(dirname(this.file));
    return fileWrites.run(this.file, () => this.#loadUnlocked());
  }

  async #loadUnlocked(): Promise<{ handle: FileHandle; keys: Set<string> }> {
    const keys = new Set<string>();
    const tail = await scanJsonl(this.file, this.#schema, (r) => keys.add(r.key));
    const handle = await open(this.file, 'a', PRIVATE_FILE_MODE);
    try {
      // A file an older version made 0644 is tightened too.
      if (((await handle.stat()).mode & 0o777) !== PRIVATE_FILE_MODE) await handle.chmod(PRIVATE_FILE_MODE);
      // Repair before the first append, or the new line would be glued to the torn one.
      if (tail?.valid) await handle.appendFile('\n');
      else if (tail) await handle.truncate(tail.offset);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return { handle, keys };
  }
}

/** The whole lines of a file from `offset` on (a torn last line is left out). */
async function readFrom(handle: FileHandle, offset: number): Promise<string[]> {
  const { size } = await handle.stat();
  if (size <= offset) return [];
  const buffer = Buffer.alloc(size - offset);
  await handle.read(buffer, 0, buffer.length, offset);
  const text = buffer.toString('utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line.trim() !== '');
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** A rename is durable once its directory is synced (a no-op where directories cannot be opened). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    await handle.close();
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
