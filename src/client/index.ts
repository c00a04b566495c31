export * from './config-rollout.js';
export * from './connect.js';
export * from './errors.js';
export * from './lead-client.js';
export * from './lead-ids.js';
export * from './lead-key.js';
export * from './timeline.js';
