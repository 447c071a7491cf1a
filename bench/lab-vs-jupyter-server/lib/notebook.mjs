// Deterministic test notebooks: a large one (code cells with stdout, a PNG-like base64
// image and an HTML result each, markdown in between) for the contents API, and the
// one-cell notebook of the "browser closed" test.

/** mulberry32: a small seeded PRNG, so every run sends byte-identical notebooks. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** `bytes` pseudo-random bytes behind a PNG signature, base64 with 76-column lines like matplotlib's. */
function pngLike(rand, bytes) {
  const buf = Buffer.alloc(bytes);
  PNG_MAGIC.copy(buf);
  for (let i = PNG_MAGIC.length; i < bytes; i++) buf[i] = (rand() * 256) | 0;
  return buf.toString('base64').replace(/.{76}/g, '$&\n');
}

/**
 * A valid nbformat 4.5 notebook whose compact JSON is at least `targetBytes` long, in the
 * shape JupyterLab sends on save (multi-line strings as one string). Deterministic.
 * @returns {{ nb: object, cells: number, codeCells: number, images: number, jsonBytes: number }}
 */
export function bigNotebook(targetBytes, { imageBytes = 48 * 1024, seed = 20_240_501 } = {}) {
  const rand = prng(seed);
  const cells = [];
  let bytes = 400;
  let images = 0;
  for (let i = 0; bytes < targetBytes; i++) {
    const n = String(i).padStart(4, '0');
    const md = { id: `md-${n}`, cell_type: 'markdown', metadata: {}, source: `## Step ${i}\n\nAnomaly of the near-surface air temperature, run ${i % 7}, *member* r${i % 10}i1p1f1.` };
    const lines = Array.from({ length: 20 }, (_, k) => `t=${k} mean=${(rand() * 300).toFixed(6)} std=${(rand() * 10).toFixed(6)}`).join('\n') + '\n';
    const png = pngLike(rand, imageBytes);
    images++;
    const code = {
      id: `code-${n}`, cell_type: 'code', execution_count: i + 1, metadata: { tags: i % 5 === 0 ? ['figure'] : [] },
      source: `import numpy as np\nimport matplotlib.pyplot as plt\nx = np.linspace(0, 10, ${100 + i})\nfor t in range(20):\n    print(f"t={t} mean={x.mean()} std={x.std()}")\nplt.plot(x, np.sin(x + ${i}))\nplt.show()\ndf_${i}.describe()`,
      outputs: [
        { output_type: 'stream', name: 'stdout', text: lines },
        { output_type: 'display_data', data: { 'image/png': png, 'text/plain': '<Figure size 640x480 with 1 Axes>' }, metadata: {} },
        { output_type: 'execute_result', execution_count: i + 1, metadata: {},
          data: { 'text/plain': `count  ${100 + i}\nmean   ${rand().toFixed(6)}`, 'text/html': `<table><tr><th>count</th><td>${100 + i}</td></tr><tr><th>mean</th><td>${rand().toFixed(6)}</td></tr></table>` } },
      ],
    };
    cells.push(md, code);
    bytes += JSON.stringify(md).length + JSON.stringify(code).length + 2;
  }
  const nb = {
    cells,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' }, language_info: { name: 'python', version: '3.11' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return { nb, cells: cells.length, codeCells: cells.length / 2, images, jsonBytes: Buffer.byteLength(JSON.stringify(nb)) };
}

/** The cell of the "browser closed" test: prints 0…n-1, one line every `sleepS` seconds. */
export function captureNotebook(cellId, n, sleepS) {
  return {
    cells: [{ id: cellId, cell_type: 'code', execution_count: null, metadata: {}, outputs: [],
      source: `import time\nfor i in range(${n}):\n    print(i, flush=True)\n    time.sleep(${sleepS})` }],
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' }, language_info: { name: 'python' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Joined stdout text of one cell of a notebook model (strings or nbformat line arrays). */
export function cellStdout(nb, cellId) {
  const cell = nb?.cells?.find((c) => c.id === cellId);
  if (!cell) return { found: false, text: '', outputs: 0, executionCount: null };
  const text = (cell.outputs ?? []).filter((o) => o.output_type === 'stream' && o.name === 'stdout')
    .map((o) => (Array.isArray(o.text) ? o.text.join('') : o.text ?? '')).join('');
  return { found: true, text, outputs: (cell.outputs ?? []).length, executionCount: cell.execution_count ?? null };
}
