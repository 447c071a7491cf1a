import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { isoformat } from '@eucp/core';
import type { LabContext } from '../context.js';
import type { LabAuth } from './auth.js';
import { JupyterError } from './errors.js';

/** The jupyter_server version we report (`GET api`); JupyterLab 4 expects 2.x. */
export const REPORTED_SERVER_VERSION = '2.20.0';

const SECTION = /^\w+$/;

/**
 * Server-wide routes (jupyter-server-api.md §0.3, b.4–b.6, b.8): version, status,
 * identity, the events socket, config sections, and the redirect of the base URL.
 */
export function serverRoutes(app: FastifyInstance, ctx: LabContext, _auth: LabAuth): void {
  const started = Date.now();

  app.get('/', async (_req, reply) => reply.redirect(`${ctx.config.baseUrl}${ctx.config.defaultUrl}`, 302));

  app.get('/api', async () => ({ version: REPORTED_SERVER_VERSION }));

  app.get('/api/status', async () => ({
    connections: ctx.kernels.list().reduce((n, k) => n + k.connections, 0),
    kernels: ctx.kernels.list().length,
    last_activity: isoformat(ctx.activity.last()),
    started: isoformat(started),
  }));

  app.get('/api/me', async (req) => {
    const name = req.identity?.name ?? 'anonymous';
    const permissions: Record<string, string[]> = { updatable_fields: [] };
    const raw = (req.query as Record<string, unknown>).permissions;
    if (typeof raw === 'string' && raw !== '') {
      let asked: unknown;
      try {
        asked = JSON.parse(raw);
      } catch {
        throw new JupyterError(400, 'permissions must be a JSON object of resource → actions');
      }
      if (typeof asked !== 'object' || asked === null || Array.isArray(asked)) {
        throw new JupyterError(400, 'permissions must be a JSON object of resource → actions');
      }
      // The owner (or anyone the hub admitted) may do everything on this server.
      for (const [resource, actions] of Object.entries(asked)) {
        permissions[resource] = Array.isArray(actions) ? actions.filter((a) => typeof a === 'string') : [];
      }
    }
    return {
      identity: { username: name, name, display_name: name, initials: name.slice(0, 1).toUpperCase(), avatar_url: null, color: null },
      permissions,
    };
  });

  // JupyterLab keeps this socket open and retries when it fails; we publish no events yet.
  app.get('/api/events/subscribe', { websocket: true }, (socket) => {
    socket.on('message', () => undefined);
  });
  app.post('/api/events', async (_req, reply) => reply.status(204).send());

  const configDir = path.join(ctx.config.stateDir, 'config');
  const readSection = (name: string): Record<string, unknown> => {
    if (!SECTION.test(name)) throw new JupyterError(404, `No config section ${name}`);
    try {
      return JSON.parse(readFileSync(path.join(configDir, `${name}.json`), 'utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const writeSection = (name: string, value: unknown): void => {
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    const file = path.join(configDir, `${name}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2));
    renameSync(`${file}.tmp`, file);
  };
  app.get<{ Params: { section: string } }>('/api/config/:section', async (req) => readSection(req.params.section));
  app.put<{ Params: { section: string } }>('/api/config/:section', async (req, reply) => {
    readSection(req.params.section);
    if (typeof req.body !== 'object' || req.body === null) throw new JupyterError(400, 'config must be a JSON object');
    writeSection(req.params.section, req.body);
    return reply.status(204).send();
  });
  app.patch<{ Params: { section: string } }>('/api/config/:section', async (req) => {
    const current = readSection(req.params.section);
    if (typeof req.body !== 'object' || req.body === null) throw new JupyterError(400, 'config must be a JSON object');
    const merged = mergeConfig(current, req.body as Record<string, unknown>);
    writeSection(req.params.section, merged);
    return merged;
  });
  app.get('/api/nbconvert', async () => ({}));
}

/** Recursive merge where `null` deletes a key (jupyter_server's config PATCH). */
export function mergeConfig(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) {
      out[k] = mergeConfig(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}
