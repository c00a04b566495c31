/** The analytics store's typed error, shared by its migrations, its queries and the legacy import. */
import { LeadcycleError } from '../../errors.js';

export type AnalyticsStoreErrorCode =
  /** The file was migrated by a newer leadcycle: its schema may not mean what this code assumes. */
  | 'schema_too_new'
  /** A stored stage this code does not know: written by other code, or a stage was removed. */
  | 'unknown_stage'
  /** A stored touch that is not one (not JSON, or a label out of bounds): written by other code. */
  | 'invalid_touch'
  /** A journal entry for another lead than the one it is recorded with: a caller's bug. */
  | 'lead_mismatch'
  /** A broken line before the last one of the legacy JSON Lines file. */
  | 'legacy_corrupt'
  | 'closed'
  /** Another process holds the write lock longer than the busy timeout: retry later. */
  | 'busy'
  /** The file is not a database, or a page of it is damaged: restore it (see README, "Operating"). */
  | 'corrupt'
  /** The file cannot be opened or written (missing permissions, disk full, I/O error). */
  | 'unavailable';

export class AnalyticsStoreError extends LeadcycleError<AnalyticsStoreErrorCode> {}
