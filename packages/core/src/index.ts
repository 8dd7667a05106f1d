export * from './error-codes.js';
export * from './errors.js';
export * from './ids.js';
export * from './job-spec.js';
export * from './retry-policy.js';
export type * from './source.js';
export type * from './storage-target.js';
