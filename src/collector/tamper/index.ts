export * from './monitor.js';
export * from './rules.js';
