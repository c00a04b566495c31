/** The PostgreSQL analytics store (LEADCYCLE_DATABASE_URL): its schema, its queries, its SQL reports. */
export { pgFault, redactDatabaseUrl } from './faults.js';
export { migratePostgres, PG_MIGRATIONS } from './migrations.js';
export { PostgresReports } from './reports.js';
export { PostgresAnalyticsStore, type PostgresStoreOptions } from './store.js';
