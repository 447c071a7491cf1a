export * from './spawner-contract.js';
export * from './fake-spawners.js';
