/**
 * Idempotency keys for writes. What guarantees exactly-once is Temporal: a keyed command is sent with
 * a Temporal update id derived from the caller, the key and the request (`updateIdOf`), and Temporal
 * applies an update id once per workflow run, answering a retry with the first outcome, whatever
 * happened to this process meanwhile (a 5xx, a SIGKILL, a restart, another replica).
 *
 * The store here is a per-process cache on top: a bounded LRU with a TTL. A retry it remembers gets
 * the first answer byte for byte (`Idempotent-Replayed: true`) without asking Temporal; the same key
 * with another request is refused (422); a retry while the first is still running is refused (409).
 * It does not survive a restart and is not shared between replicas: after a restart, the same key
 * with another request is a new update (another id), not a 422.
 */
import { createHash } from 'node:crypto';

export interface IdempotencyOptions {
  /** Most keys kept at once; the least recently used go first. Default 10,000. */
  maxEntries?: number;
  /** Most bytes of stored answers kept at once. Default 32 MiB. */
  maxBytes?: number;
  /** How long a key is remembered. Default 24 hours. */
  ttlMs?: number;
}

export interface StoredResponse {
  status: number;
  payload: string;
  headers: Record<string, string>;
}

type Entry =
  | { state: 'pending'; fingerprint: string; token: symbol; expiresAt: number }
  | { state: 'done'; fingerprint: string; expiresAt: number; response: StoredResponse; bytes: number };

export type Begin =
  | { kind: 'new'; token: symbol }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'in_progress' }
  | { kind: 'mismatch' };

/** A request in progress holds its key for at most this long, should its answer never be recorded. */
const PENDING_TTL_MS = 5 * 60_000;

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;

  constructor(
    options: IdempotencyOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.ttlMs = options.ttlMs ?? 24 * 60 * 60_000;
  }

  get size(): number {
    return this.entries.size;
  }

  begin(key: string, fingerprint: string): Begin {
    const now = this.now();
    const existing = this.entries.get(key);
    if (existing && existing.expiresAt > now) {
      if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (existing.state === 'pending') return { kind: 'in_progress' };
      // Refresh recency (not the TTL): Map order is the LRU order.
      this.entries.delete(key);
      this.entries.set(key, existing);
      return { kind: 'replay', response: existing.response };
    }
    if (existing) this.remove(key);
    const token = Symbol(key);
    this.entries.set(key, { state: 'pending', fingerprint, token, expiresAt: now + PENDING_TTL_MS });
    this.evict();
    return { kind: 'new', token };
  }

  /** Records the answer of the request holding `token`. */
  complete(key: string, token: symbol, response: StoredResponse): void {
    const existing = this.entries.get(key);
    if (existing?.state !== 'pending' || existing.token !== token) return;
    const bytes = Buffer.byteLength(response.payload) + key.length + 128;
    this.entries.delete(key);
    this.entries.set(key, {
      state: 'done',
      fingerprint: existing.fingerprint,
      expiresAt: this.now() + this.ttlMs,
      response,
      bytes,
    });
    this.bytes += bytes;
    this.evict();
  }

  /** Forgets a key whose request failed in a way worth retrying (a 5xx). */
  release(key: string, token: symbol): void {
    const existing = this.entries.get(key);
    if (existing?.state === 'pending' && existing.token === token) this.remove(key);
  }

  private remove(key: string): void {
    const existing = this.entries.get(key);
    if (!existing) return;
    if (existing.state === 'done') this.bytes -= existing.bytes;
    this.entries.delete(key);
  }

  private evict(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      const over = this.entries.size > this.maxEntries || this.bytes > this.maxBytes;
      if (!over && entry.expiresAt > now) break;
      this.remove(key);
    }
  }
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fingerprintOf(method: string, route: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${route}\n`).update(stableStringify(body)).digest('hex');
}

/**
 * The Temporal update id of a keyed write. The request's fingerprint is part of it, so Temporal never
 * answers one request with the outcome of another that reused its key (once the cache has forgotten
 * the key, that other request is applied as its own).
 */
export function updateIdOf(principal: string, key: string, fingerprint: string): string {
  return `idem-${createHash('sha256').update(`${principal}\u0000${key}\u0000${fingerprint}`).digest('hex')}`;
}
