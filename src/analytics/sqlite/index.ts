/** The embedded SQLite analytics store: its schema, its queries, and the import of the legacy JSON Lines file. */
export * from './errors.js';
export { LEGACY_STAGE_CHANGES_FILE } from './legacy-import.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export { ANALYTICS_DB_FILE, openAnalyticsStore, SqliteAnalyticsStore } from './store.js';
