/** The analytics store's typed error, shared by its migrations, its queries and the legacy import. */

export type AnalyticsStoreErrorCode =
  /** The file was migrated by a newer leadcycle: its schema may not mean what this code assumes. */
  | 'SCHEMA_TOO_NEW'
  /** A stored stage this code does not know: written by other code, or a stage was removed. */
  | 'UNKNOWN_STAGE'
  /** A journal entry for another lead than the one it is recorded with: a caller's bug. */
  | 'LEAD_MISMATCH'
  /** A broken line before the last one of the legacy JSON Lines file. */
  | 'LEGACY_CORRUPT'
  | 'CLOSED';

export class AnalyticsStoreError extends Error {
  override readonly name = 'AnalyticsStoreError';
  constructor(
    readonly code: AnalyticsStoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
