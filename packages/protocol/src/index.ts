export * from './errors.js';
export * from './messages.js';
export * from './parse.js';
export * from './quality-report.js';
export * from './vocabulary.js';
export * from './recordings.js';
export * from './avatar.js';
