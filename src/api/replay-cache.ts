/**
 * Webhook deliveries already seen, so a captured request cannot be replayed even inside the
 * signature's timestamp tolerance. A delivery is identified by what its signature covers (the
 * timestamp and the raw body), not by the header text, which may carry extra or reordered entries.
 * An entry is kept until its timestamp is stale anyway; only correctly signed deliveries get in.
 *
 * With a file, the cache survives a restart: each entry is appended (and synced) before the delivery
 * is processed, a forgotten one is appended as a removal, and the file is rewritten with the live
 * entries only on open and whenever it holds twice as many lines as live entries (pruned by the
 * tolerance window). One API process per file: two processes would not see each other's entries.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateDirSync, PRIVATE_FILE_MODE } from '../private-fs.js';

/** The file the API keeps the deliveries it has seen in, under its data dir. */
export const REPLAY_CACHE_FILE = 'webhook-replays.log';

export class ReplayCache {
  private readonly seen = new Map<string, number>();
  private fd: number | undefined;
  private lines = 0;

  constructor(
    private readonly toleranceSeconds: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
    private readonly file?: string,
  ) {
    if (file) this.load(file);
  }

  static idOf(timestamp: number, body: Uint8Array): string {
    return createHash('sha256').update(`${timestamp}.`).update(body).digest('hex');
  }

  /** 'new' (now remembered), 'replayed', or 'full' (too many deliveries in the window: fail closed). */
  remember(timestamp: number, body: Uint8Array): { result: 'new' | 'replayed' | 'full'; id: string } {
    const id = ReplayCache.idOf(timestamp, body);
    const now = this.now();
    const expiresAt = this.seen.get(id);
    if (expiresAt !== undefined && expiresAt > now) return { result: 'replayed', id };
    this.sweep(now, false);
    if (this.seen.size >= this.maxEntries) this.sweep(now, true);
    if (this.seen.size >= this.maxEntries) return { result: 'full', id };
    const until = (timestamp + this.toleranceSeconds + 1) * 1000;
    this.seen.set(id, until);
    this.append(`${id} ${until}\n`);
    return { result: 'new', id };
  }

  /** Lets a delivery through again: its processing failed on our side (a 5xx), so the sender may retry it. */
  forget(id: string): void {
    if (this.seen.delete(id)) this.append(`- ${id}\n`);
  }

  /** Closes the file; the entries stay in it for the next process. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  get size(): number {
    return this.seen.size;
  }

  private load(file: string): void {
    ensurePrivateDirSync(dirname(file));
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const now = this.now();
    for (const line of text.split('\n')) {
      // A torn last line (a crash mid-write) is skipped: its delivery was never answered.
      const removal = /^- ([0-9a-f]{64})$/.exec(line);
      if (removal?.[1]) {
        this.seen.delete(removal[1]);
        continue;
      }
      const entry = /^([0-9a-f]{64}) (\d+)$/.exec(line);
      if (entry?.[1] && Number(entry[2]) > now) this.seen.set(entry[1], Number(entry[2]));
    }
    this.compact();
  }

  /** Rewrites the file with the live entries only, atomically. */
  private compact(): void {
    const file = this.file as string;
    this.close();
    const now = this.now();
    const live = [...this.seen].filter(([, expiresAt]) => expiresAt > now);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, live.map(([id, expiresAt]) => `${id} ${expiresAt}\n`).join(''), {
      mode: PRIVATE_FILE_MODE,
    });
    renameSync(tmp, file);
    this.lines = live.length;
    this.fd = openSync(file, 'a', PRIVATE_FILE_MODE);
  }

  /** Written and synced before the delivery is processed: a crash right after still refuses its replay. */
  private append(line: string): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, line);
    fdatasyncSync(this.fd);
    this.lines += 1;
    if (this.lines > Math.max(1_000, 2 * this.seen.size)) {
      this.sweep(this.now(), true);
      this.compact();
    }
  }

  /** Entries arrive roughly in expiry order: a quick sweep stops at the first live one. */
  private sweep(now: number, full: boolean): void {
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt <= now) this.seen.delete(id);
      else if (!full) return;
    }
  }
}
