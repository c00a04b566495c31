/** Rows of `stage_changes` to the store's `StageChangeRow` and back. */
import { STAGES, type Stage, type Touch, TouchSchema } from '../../machines/index.js';
import type { StageChangeRow } from '../records.js';
import { AnalyticsStoreError } from './errors.js';

export interface StageChangeColumns {
  key: string;
  lead_id: string;
  seq: number;
  from_stage: string | null;
  to_stage: string;
  at: number;
  cause: string;
  reason: string | null;
  amount: number | null;
  tenant: string | null;
  /** JSON of a `Touch`, or null. */
  first_touch: string | null;
  last_touch: string | null;
  owner: string | null;
}

const KNOWN_STAGES: ReadonlySet<string> = new Set(STAGES);

function stageOf(value: string, key: string): Stage {
  if (!KNOWN_STAGES.has(value)) {
    throw new AnalyticsStoreError(
      'unknown_stage',
      `stage change ${key}: unknown stage ${JSON.stringify(value)}`,
    );
  }
  return value as Stage;
}

/** A stored touch: our own schema wrote it, but a label's bounds are checked again before it reaches a report. */
function touchOf(json: string | null, key: string): Touch | null {
  if (json === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = undefined;
  }
  const parsed = TouchSchema.safeParse(value);
  if (!parsed.success) {
    throw new AnalyticsStoreError('invalid_touch', `stage change ${key}: a touch that is not one`);
  }
  return parsed.data;
}

/** Columns to row: our own schema wrote them, so only the stage names (an enum that evolves) are checked. */
export function toStageChangeRow(c: StageChangeColumns): StageChangeRow {
  return {
    key: c.key,
    leadId: c.lead_id,
    seq: c.seq,
    from: c.from_stage === null ? null : stageOf(c.from_stage, c.key),
    to: stageOf(c.to_stage, c.key),
    at: c.at,
    cause: c.cause,
    reason: c.reason,
    amount: c.amount,
    // Only when known: rows of before migration 5 read as they did.
    ...(c.tenant === null ? {} : { tenant: c.tenant }),
    // Only when known, likewise: rows without touches read as before migration 6.
    ...(c.first_touch === null ? {} : { firstTouch: touchOf(c.first_touch, c.key) }),
    ...(c.last_touch === null ? {} : { lastTouch: touchOf(c.last_touch, c.key) }),
    // And before migration 8, or without an owner.
    ...(c.owner === null ? {} : { owner: c.owner }),
  };
}

export function toColumns(row: StageChangeRow): StageChangeColumns {
  // `?? null`: better-sqlite3 refuses undefined, which an untyped caller could still pass.
  return {
    key: row.key,
    lead_id: row.leadId,
    seq: row.seq,
    from_stage: row.from ?? null,
    to_stage: row.to,
    at: row.at,
    cause: row.cause,
    reason: row.reason ?? null,
    amount: row.amount ?? null,
    tenant: row.tenant ?? null,
    first_touch: row.firstTouch ? JSON.stringify(row.firstTouch) : null,
    last_touch: row.lastTouch ? JSON.stringify(row.lastTouch) : null,
    owner: row.owner ?? null,
  };
}

export const STAGE_CHANGE_COLUMNS =
  'key, lead_id, seq, from_stage, to_stage, at, cause, reason, amount, tenant, first_touch, last_touch, owner';
