/**
 * Webhook deliveries already seen, so a captured request cannot be replayed even inside the
 * signature's timestamp tolerance. A delivery is identified by what its signature covers (the
 * timestamp and the raw body), not by the header text, which may carry extra or reordered entries.
 * An entry is kept until its timestamp is stale anyway; only correctly signed deliveries get in.
 */
import { createHash } from 'node:crypto';

export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly toleranceSeconds: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

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
    this.seen.set(id, (timestamp + this.toleranceSeconds + 1) * 1000);
    return { result: 'new', id };
  }

  /** Lets a delivery through again: its processing failed on our side (a 5xx), so the sender may retry it. */
  forget(id: string): void {
    this.seen.delete(id);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Entries arrive roughly in expiry order: a quick sweep stops at the first live one. */
  private sweep(now: number, full: boolean): void {
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt <= now) this.seen.delete(id);
      else if (!full) return;
    }
  }
}
