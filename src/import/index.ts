export * from './errors.js';
export * from './mapping.js';
export * from './parse.js';
export * from './presets.js';
export * from './report.js';
export * from './row.js';
export * from './runner.js';
export * from './state.js';
