export { createHub, JUPYTERHUB_VERSION, type Hub, type HubDeps } from './hub.js';
export { startHub } from './main.js';
export * from './config/index.js';
