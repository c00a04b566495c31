/** Rows of `stage_changes` to the store's `StageChangeRow` and back. */
import { STAGES, type Stage } from '../../machines/index.js';
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
  };
}

export const STAGE_CHANGE_COLUMNS =
  'key, lead_id, seq, from_stage, to_stage, at, cause, reason, amount, tenant';
