/**
 * The outbox: one append-only JSON Lines file, `<dataDir>/outbox.jsonl`, holding one record per
 * delivery. It is the embedded default for email and CRM handoff (the record *is* the delivery), and
 * the memory of the real adapters (a key already there was delivered, so a retry does nothing).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { JsonlLog, readJsonl } from './jsonl.js';
import { KeyedLock } from './keyed-lock.js';

export const OUTBOX_FILE = 'outbox.jsonl';

/** `email.skipped`: a content email not sent because its address is suppressed (no address kept). */
export const OUTBOX_KINDS = ['email', 'email.skipped', 'crm'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];

export const OutboxRecordSchema = z.object({
  /** The idempotency key; one namespace for every kind (the workflow makes keys unique per effect). */
  key: z.string().min(1),
  kind: z.enum(OUTBOX_KINDS),
  /** When the delivery was recorded (wall clock), ISO 8601. */
  at: z.iso.datetime(),
  workflowId: z.string(),
  leadKey: z.string(),
  payload: z.unknown(),
});
export type OutboxRecord = z.infer<typeof OutboxRecordSchema>;

export type DeliveryMeta = Pick<OutboxRecord, 'key' | 'kind' | 'workflowId' | 'leadKey'>;

export class Outbox {
  readonly #log: JsonlLog<OutboxRecord>;
  readonly #deliveries = new KeyedLock();

  constructor(readonly dataDir: string) {
    this.#log = new JsonlLog(join(dataDir, OUTBOX_FILE), OutboxRecordSchema);
  }

  get file(): string {
    return this.#log.file;
  }

  has(key: string): Promise<boolean> {
    return this.#log.has(key);
  }

  /**
   * Runs `deliver` unless the key is already recorded, then records what it returned. A crash between
   * the two repeats the delivery on retry: that is why SMTP messages carry a Message-ID and webhooks
   * an Idempotency-Key derived from the same key, so the far side can drop the duplicate.
   */
  deliverOnce(meta: DeliveryMeta, deliver: () => Promise<unknown>): Promise<{ delivered: boolean }> {
    return this.#deliveries.run(meta.key, async () => {
      if (await this.#log.has(meta.key)) return { delivered: false };
      const payload = await deliver();
      await this.#log.append({ ...meta, at: new Date().toISOString(), payload });
      return { delivered: true };
    });
  }

  /**
   * Erases a lead from the outbox: its records (and so its addresses and lead key) leave the file,
   * rewritten atomically beside this process's deliveries (see `JsonlLog.rewrite`). Terminate the
   * lead's workflow first: an activity attempt already running for it could otherwise record again.
   */
  forget(leadKey: string): Promise<{ removed: number }> {
    return this.#log.rewrite((r) => r.leadKey !== leadKey);
  }

  close(): Promise<void> {
    return this.#log.close();
  }
}

export interface OutboxQuery {
  kind?: OutboxKind;
  leadKey?: string;
  /** Keep the newest `limit` matching records. */
  limit?: number;
}

/** The outbox's records, oldest first, for the CLI. Tolerates a torn last line (a crash mid-append). */
export function readOutbox(dataDir: string, query: OutboxQuery = {}): Promise<OutboxRecord[]> {
  const { kind, leadKey, limit } = query;
  return readJsonl(
    join(dataDir, OUTBOX_FILE),
    OutboxRecordSchema,
    (r) => (kind === undefined || r.kind === kind) && (leadKey === undefined || r.leadKey === leadKey),
    limit,
  );
}
