export * from './errors.js';
export * from './argument-files.js';
export * from './options.js';
export * from './suggest.js';
export * from './progress.js';
export * from './log-file.js';
export * from './run.js';
