/**
 * Where stage changes go, for forecasting (DOMAIN.md, "Forecasting": counts per stage, conversion
 * rates, time to move on). The interface is tiny on purpose: a SQLite or PostgreSQL store will
 * replace the JSON Lines default.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { STAGES } from '../machines/index.js';
import { JsonlLog, readJsonl } from './jsonl.js';

export const STAGE_CHANGES_FILE = 'stage-changes.jsonl';

const StageSchema = z.enum(STAGES);

export const StageChangeRecordSchema = z.object({
  /** The idempotency key. */
  key: z.string().min(1),
  workflowId: z.string(),
  leadKey: z.string(),
  /** When it was recorded (wall clock), ISO 8601; later than `change.at` when the activity retried. */
  at: z.iso.datetime(),
  /** The effect as the machine emitted it; `change.at` is the workflow's clock, epoch milliseconds. */
  change: z.object({
    type: z.literal('stage.changed'),
    from: StageSchema.nullable(),
    to: StageSchema,
    at: z.number(),
    cause: z.string(),
    reason: z.string().nullable(),
  }),
});
export type StageChangeRecord = z.infer<typeof StageChangeRecordSchema>;

export interface StageStore {
  /** Idempotent by `change.key`: recorded=false when that key is already stored. */
  record(change: StageChangeRecord): Promise<{ recorded: boolean }>;
  /** Every change, oldest first. */
  list(): Promise<StageChangeRecord[]>;
  close(): Promise<void>;
}

export class JsonlStageStore implements StageStore {
  readonly #log: JsonlLog<StageChangeRecord>;

  constructor(readonly dataDir: string) {
    this.#log = new JsonlLog(join(dataDir, STAGE_CHANGES_FILE), StageChangeRecordSchema);
  }

  get file(): string {
    return this.#log.file;
  }

  async record(change: StageChangeRecord): Promise<{ recorded: boolean }> {
    return { recorded: await this.#log.append(change) };
  }

  list(): Promise<StageChangeRecord[]> {
    return readStageChanges(this.dataDir);
  }

  close(): Promise<void> {
    return this.#log.close();
  }
}

export interface StageChangeQuery {
  leadKey?: string;
  /** Keep the newest `limit` matching records. */
  limit?: number;
}

/** The stage changes, oldest first. Tolerates a torn last line (a crash mid-append). */
export function readStageChanges(
  dataDir: string,
  query: StageChangeQuery = {},
): Promise<StageChangeRecord[]> {
  const { leadKey, limit } = query;
  return readJsonl(
    join(dataDir, STAGE_CHANGES_FILE),
    StageChangeRecordSchema,
    (r) => leadKey === undefined || r.leadKey === leadKey,
    limit,
  );
}
