/**
 * The outbox: one append-only JSON Lines file, `<dataDir>/outbox.jsonl`, holding one record per
 * delivery. It is the embedded default for email and CRM handoff (the record *is* the delivery), and
 * the memory of the real adapters (a key already there was delivered, so a retry does nothing).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { tenantOfLeadKey } from '../analytics/suppression.js';
import { DEAD_LETTERS_FILE, type DeadLetter, DeadLetterSchema } from './dead-letters.js';
import { JsonlLog, readJsonl } from './jsonl.js';
import { KeyedLock } from './keyed-lock.js';

export const OUTBOX_FILE = 'outbox.jsonl';

/**
 * `email.skipped`: a content email not sent because its address is suppressed, the lead's consent
 * was withdrawn, or the email cap was reached on real send times (no address kept).
 */
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

/** Whom an email went to: its tenant and address (lower-cased), so every record of a person counts. */
const recipientOf = (leadKey: string, address: string) =>
  `${tenantOfLeadKey(leadKey)}\n${address.toLowerCase()}`;

/**
 * When an email record was really sent, in the machine's clock: the wall time it was recorded, or the
 * time the machine decided it if that is later (a test server's skipped clock runs ahead of the wall).
 */
function sentAtOf(record: OutboxRecord): number {
  const decided = (record.payload as { content?: { at?: unknown } } | null)?.content?.at;
  const at = Date.parse(record.at);
  return typeof decided === 'number' ? Math.max(at, decided) : at;
}

const addressOf = (record: OutboxRecord): string | null => {
  const to = (record.payload as { to?: { address?: unknown } } | null)?.to?.address;
  return typeof to === 'string' ? to : null;
};

export class Outbox {
  readonly #log: JsonlLog<OutboxRecord>;
  readonly #deadLetters: JsonlLog<DeadLetter>;
  readonly #deliveries = new KeyedLock();
  /** Real send times of emails by recipient, loaded on first use; null after an erasure (reloaded). */
  #sent: Promise<Map<string, Map<string, number>>> | null = null;

  constructor(readonly dataDir: string) {
    this.#log = new JsonlLog(join(dataDir, OUTBOX_FILE), OutboxRecordSchema);
    this.#deadLetters = new JsonlLog(join(dataDir, DEAD_LETTERS_FILE), DeadLetterSchema);
  }

  get file(): string {
    return this.#log.file;
  }

  has(key: string): Promise<boolean> {
    return this.#log.has(key);
  }

  /**
   * The record under `key`, or null: what a retry did before (sent or skipped). Reads the file, so
   * only for the rare retry of a key `has` knows.
   */
  async recordOf(key: string): Promise<OutboxRecord | null> {
    if (!(await this.#log.has(key))) return null;
    const [record] = await readJsonl(this.#log.file, OutboxRecordSchema, (r) => r.key === key, 1);
    return record ?? null;
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
      const record = { ...meta, at: new Date().toISOString(), payload };
      await this.#log.append(record);
      if (record.kind === 'email' && this.#sent) {
        const address = addressOf(record);
        if (address) note(await this.#sent, recipientOf(record.leadKey, address), record);
      }
      return { delivered: true };
    });
  }

  /**
   * The real send times of the emails this data dir delivered to `address` (in the lead key's tenant)
   * after `since`: the email cap checked where the message leaves, not where it was decided.
   */
  async emailsSentSince(leadKey: string, address: string, since: number): Promise<number[]> {
    if (!this.#sent) {
      const loading = readOutbox(this.dataDir, { kind: 'email' }).then((records) => {
        const sent = new Map<string, Map<string, number>>();
        for (const r of records) {
          const to = addressOf(r);
          if (to) note(sent, recipientOf(r.leadKey, to), r);
        }
        return sent;
      });
      this.#sent = loading;
      loading.catch(() => {
        if (this.#sent === loading) this.#sent = null;
      });
    }
    const times = (await this.#sent).get(recipientOf(leadKey, address))?.values() ?? [];
    return [...times].filter((t) => t > since).sort((a, b) => a - b);
  }

  /** Records a delivery that failed for good; false when its key already has one. */
  deadLetter(record: DeadLetter): Promise<boolean> {
    return this.#deadLetters.append(DeadLetterSchema.parse(record));
  }

  /** Removes the dead letter of `key` (once it was delivered after all). */
  async resolveDeadLetter(key: string): Promise<boolean> {
    const { removed } = await this.#deadLetters.rewrite((r) => r.key !== key);
    return removed > 0;
  }

  /**
   * Erases a lead from the outbox: its records (and so its addresses and lead key) leave the file,
   * rewritten atomically beside this process's deliveries (see `JsonlLog.rewrite`). Terminate the
   * lead's workflow first: an activity attempt already running for it could otherwise record again.
   */
  async forget(leadKey: string): Promise<{ removed: number }> {
    const [records, deadLetters] = await Promise.all([
      this.#log.rewrite((r) => r.leadKey !== leadKey),
      this.#deadLetters.rewrite((r) => r.leadKey !== leadKey),
    ]);
    this.#sent = null;
    return { removed: records.removed + deadLetters.removed };
  }

  /**
   * Removes the records recorded (`at`) before `cutoff` (ms since the epoch): the retention
   * (outbox-retention.ts). The same atomic 0600 rewrite as `forget`, taken in turn with this
   * process's appends, and another process's appends carried over. A pruned key is forgotten: a
   * delivery under it would happen again, which is why the cutoff must lie far behind any retry.
   * Dead letters that failed before the cutoff go too: each holds the activity's input (a name, an
   * address), and a delivery no operator retried in that long is not worth making.
   */
  async prune(cutoff: number): Promise<{ removed: number; deadLetters: number }> {
    const kept = (r: { at: string }) => Date.parse(r.at) >= cutoff;
    const [pruned, deadLetters] = await Promise.all([
      this.#log.rewrite(kept),
      this.#deadLetters.rewrite(kept),
    ]);
    // The email cap's send times are reloaded from what is left.
    if (pruned.removed > 0) this.#sent = null;
    return { removed: pruned.removed, deadLetters: deadLetters.removed };
  }

  async close(): Promise<void> {
    await Promise.all([this.#log.close(), this.#deadLetters.close()]);
  }
}

/** By key: a record read from the file and noted on append counts once. */
function note(map: Map<string, Map<string, number>>, recipient: string, record: OutboxRecord): void {
  const times = map.get(recipient) ?? new Map<string, number>();
  times.set(record.key, sentAtOf(record));
  map.set(recipient, times);
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
