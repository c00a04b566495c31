/**
 * Moved to src/analytics/sqlite/. Kept only for src/activities/index.ts, which is edited elsewhere:
 * once it imports '../analytics/sqlite/index.js', delete this file.
 */
export * from './sqlite/index.js';
