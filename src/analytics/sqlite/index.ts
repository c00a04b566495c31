/** The embedded SQLite analytics store: its schema, its queries, and the import of the legacy JSON Lines file. */
export * from './errors.js';
export { LEGACY_STAGE_CHANGES_FILE } from './legacy-import.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export {
  ANALYTICS_SPOOL_FILE,
  openResilientStore,
  ResilientAnalyticsStore,
  type ResilientStoreOptions,
  type StoreHealth,
  storeFault,
} from './resilient.js';
export {
  ANALYTICS_DB_FILE,
  type OpenStoreOptions,
  openAnalyticsStore,
  SqliteAnalyticsStore,
} from './store.js';
