export { buildLabApp } from './app.js';
export { readStartup, type LabStartup } from './config.js';
export type { LabConfig, LabContext } from './context.js';
export { startLab, type RunningLab } from './server.js';
