import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '@eucp/core';
import { NotebookRenderer } from './render.js';
import { RenderPool } from './render-pool.js';

const OPTS = { title: 'pool', staticBase: '../static/' };
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

function notebook(cells: number): Buffer {
  const out = [];
  for (let i = 0; i < cells; i++) {
    out.push({ cell_type: 'markdown', metadata: {}, source: `## Step ${i}\nThe mean is $\\bar{x} = ${i}$.` });
    out.push({
      cell_type: 'code', metadata: {}, execution_count: i + 1, source: `plot(${i})`,
      outputs: [
        { output_type: 'stream', name: 'stdout', text: `\x1b[32mline ${i}\x1b[0m <b>\n`.repeat(50) },
        { output_type: 'display_data', metadata: {}, data: { 'image/png': PNG, 'text/html': `<table><tr><td>${i}</td></tr></table>` } },
      ],
    });
  }
  return Buffer.from(JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { language_info: { name: 'python' } }, cells: out }));
}

describe('the render worker', () => {
  const pool = new RenderPool();
  after(() => pool.close());

  it('renders exactly what the renderer renders on this thread', async () => {
    const bytes = notebook(20);
    assert.deepEqual(await pool.renderFile(bytes, OPTS), new NotebookRenderer().renderFile(bytes, OPTS));
  });

  it('keeps the event loop free while it renders a large notebook', async () => {
    const order: string[] = [];
    const rendering = pool.renderFile(notebook(3000), OPTS).then(() => order.push('rendered'));
    await new Promise<void>((r) => setImmediate(() => { order.push('event loop turned'); r(); }));
    await rendering;
    assert.deepEqual(order, ['event loop turned', 'rendered']);
  });

  it('gives back the renderer\'s own errors, and renders again afterwards', async () => {
    const bad = Buffer.from('{"nbformat": 4, "cells": [\n  {"cell_type": "code"');
    const local = (() => { try { new NotebookRenderer().renderFile(bad, OPTS); } catch (err) { return err; } })();
    await assert.rejects(pool.renderFile(bad, OPTS), (err: unknown) => {
      assert.ok(isAppError(err) && isAppError(local));
      assert.equal(err.code, 'NOTEBOOK_INVALID');
      assert.equal(err.message, local.message);
      return true;
    });
    assert.ok((await pool.renderFile(notebook(1), OPTS)).join('').includes('Step 0'));
  });

  it('starts a new worker after close', async () => {
    await pool.close();
    assert.ok((await pool.renderFile(notebook(2), OPTS)).join('').includes('Step 1'));
  });
});
