import { AnsiUp } from 'ansi_up';
import { collapseCarriageReturns, type NotebookOutput } from '@eucp/core';
import { escapeDoubleQuotedAttr, escapeHtml, imageDataUri } from './html.js';
import type { MarkdownRenderer } from './markdown.js';

/**
 * nbformat outputs → HTML chunks. Text, images, JSON, LaTeX and markdown are rendered
 * into the viewer page (escaped, or sanitised markdown); HTML and JavaScript outputs,
 * which are untrusted code, each get their own `<iframe sandbox="allow-scripts" srcdoc>`
 * (an opaque origin of their own: they cannot read or change the page or each other).
 * SVG is shown as an `<img>` of a data: URI, where its scripts never run.
 */

/** The order in which a mimebundle's representations are preferred (JupyterLab's, minus widgets). */
export const MIME_PRIORITY = [
  'application/javascript', 'text/html', 'text/markdown', 'text/latex', 'image/svg+xml', 'image/png', 'image/jpeg', 'image/gif',
  'image/webp', 'application/json', 'text/plain',
] as const;

const BITMAPS = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Head of every output frame's document: its own small style sheet. */
const FRAME_HEAD = '<!doctype html><html><head><meta charset="utf-8"><style>'
  + 'body{margin:0;padding:2px;font:14px/1.4 system-ui,sans-serif;color:#1b1f23;overflow-x:auto}'
  + 'table{border-collapse:collapse;font-size:13px}th,td{padding:.25em .6em;border:0;text-align:right}'
  + 'thead{border-bottom:1px solid #888}tbody tr:nth-child(odd){background:#f5f5f5}tbody tr:hover{background:#e1efff}'
  + '</style></head><body>';

/**
 * Tail of every output frame: reports the content height to the viewer page, which sizes
 * the frame (an output can only resize its own frame: the page matches the sender).
 */
const FRAME_TAIL = '<script>(function(){var last=0;function report(){var h=Math.ceil(document.documentElement.scrollHeight);'
  + 'if(h!==last){last=h;parent.postMessage({eucpFrameHeight:h},"*");}}'
  + 'if(window.ResizeObserver){new ResizeObserver(report).observe(document.documentElement);}'
  + 'addEventListener("load",report);report();})();</script></body></html>';

function frame(kind: string, bodyHtml: string): string {
  const doc = FRAME_HEAD + bodyHtml + FRAME_TAIL;
  return `<iframe class="output-frame" sandbox="allow-scripts" title="${kind} output" referrerpolicy="no-referrer" srcdoc="${escapeDoubleQuotedAttr(doc)}"></iframe>`;
}

/** Terminal text (streams, tracebacks): ANSI colours → classes, everything else escaped. */
export function ansiToHtml(text: string): string {
  if (!text.includes('\x1b')) return escapeHtml(text);
  const ansi = new AnsiUp();
  ansi.use_classes = true;
  return ansi.ansi_to_html(text);
}

function textOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join('');
  return null;
}

function dimension(meta: unknown, mime: string, key: 'width' | 'height'): string {
  const m = (meta as Record<string, unknown> | undefined)?.[mime] as Record<string, unknown> | undefined;
  const v = m?.[key];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? ` ${key}="${Math.round(v)}"` : '';
}

/**
 * Appends the HTML of one representation of a mimebundle to `chunks`; false (nothing
 * appended) if `value` is not usable for `mime`, so the next representation is tried.
 * Large values (images) are pushed as chunks of their own, never concatenated.
 */
function renderMime(mime: string, value: unknown, metadata: unknown, md: MarkdownRenderer, chunks: string[]): boolean {
  if (mime === 'application/json') {
    let json: string | undefined;
    try {
      json = JSON.stringify(value, null, 2);
    } catch { /* a cycle cannot come from JSON.parse */ }
    if (json === undefined) return false;
    chunks.push('<pre class="output-json">', escapeHtml(json), '</pre>');
    return true;
  }
  const text = textOf(value);
  if (text === null) return false;
  if (BITMAPS.has(mime)) {
    const size = dimension(metadata, mime, 'width') + dimension(metadata, mime, 'height');
    chunks.push(`<img class="output-image" alt=""${size} src="`, imageDataUri(mime, text), '">');
    return true;
  }
  switch (mime) {
    case 'text/html':
      chunks.push(frame('HTML', text));
      return true;
    case 'application/javascript':
      chunks.push(frame('JavaScript', `<div id="output"></div><script>var element=document.getElementById("output");\n${text.replace(/<\/(script)/gi, '<\\/$1')}\n</script>`));
      return true;
    case 'image/svg+xml': {
      const size = dimension(metadata, mime, 'width') + dimension(metadata, mime, 'height');
      chunks.push(`<img class="output-image output-svg" alt=""${size} src="data:image/svg+xml;base64,`, Buffer.from(text, 'utf8').toString('base64'), '">');
      return true;
    }
    case 'text/markdown':
      chunks.push('<div class="output-markdown">', md.render(text), '</div>');
      return true;
    case 'text/latex':
      chunks.push('<div class="output-latex">', md.renderLatex(text), '</div>');
      return true;
    case 'text/plain':
      chunks.push('<pre class="output-text">', ansiToHtml(text), '</pre>');
      return true;
    default:
      return false;
  }
}

/** Appends the preferred renderable representation of a mimebundle to `chunks`. */
function renderBundle(data: Record<string, unknown>, metadata: unknown, md: MarkdownRenderer, chunks: string[]): void {
  for (const mime of MIME_PRIORITY) {
    if (Object.hasOwn(data, mime) && renderMime(mime, data[mime], metadata, md, chunks)) return;
  }
  const types = Object.keys(data);
  chunks.push(`<p class="output-unsupported">(${escapeHtml(types.length ? `output of type ${types.join(', ')}` : 'empty output')} — not shown here)</p>`);
}

/** Appends the HTML of one output to `chunks`. */
export function renderOutput(output: NotebookOutput, md: MarkdownRenderer, chunks: string[]): void {
  switch (output.output_type) {
    case 'stream': {
      const raw = textOf(output.text) ?? '';
      const text = raw.includes('\r') || raw.includes('\b') ? collapseCarriageReturns(raw) : raw;
      const name = output.name === 'stderr' ? 'stderr' : 'stdout';
      chunks.push(`<div class="output"><div class="prompt"></div><pre class="output-stream output-${name}">`, ansiToHtml(text), '</pre></div>');
      return;
    }
    case 'error': {
      const traceback = output.traceback.length ? output.traceback.join('\n') : `${output.ename}: ${output.evalue}`;
      chunks.push('<div class="output"><div class="prompt"></div><pre class="output-error">', ansiToHtml(traceback), '</pre></div>');
      return;
    }
    case 'execute_result': {
      const count = output.execution_count;
      chunks.push(`<div class="output"><div class="prompt out">${count === null ? '' : `Out[${count}]:`}</div><div class="output-body">`);
      renderBundle(output.data, output.metadata, md, chunks);
      chunks.push('</div></div>');
      return;
    }
    case 'display_data':
      chunks.push('<div class="output"><div class="prompt"></div><div class="output-body">');
      renderBundle(output.data, output.metadata, md, chunks);
      chunks.push('</div></div>');
      return;
  }
}
