export * from './errors.js';
export * from './ids.js';
export * from './scopes.js';
export * from './time.js';
export * from './servers.js';
export * from './limits.js';
