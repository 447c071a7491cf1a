import { AppError, NotebookFormatError, parseNotebook, validateNotebook, type Notebook, type NotebookCell } from '@eucp/core';
import { highlightCode, highlightLanguage } from './highlight.js';
import { escapeHtml } from './html.js';
import { jsonTextOf } from './json-text.js';
import { MarkdownRenderer, type Attachments } from './markdown.js';
import { renderOutput } from './outputs.js';
import { VIEWER_CSS } from './styles.js';

/**
 * The server-side notebook renderer: nbformat 4 JSON → one self-contained HTML document
 * (apart from the KaTeX and highlight.js style sheets under `staticBase`), as a list of
 * string chunks to write in order; outputs are never parsed as HTML on the server.
 * Rendering is synchronous and pure; what it emits is safe to serve only on the viewer
 * origin with the viewer's CSP (untrusted HTML is framed, not removed).
 */

export interface RenderOptions {
  /** Shown as the document title (escaped). */
  title: string;
  /** URL prefix of the static style sheets, relative to the page, e.g. `../static/`. */
  staticBase: string;
}

/**
 * Script of the viewer page: sizes each output frame to the height it reports. The
 * sender must be the frame's own window, so an output can only resize itself.
 */
const PAGE_SCRIPT = '<script>addEventListener("message",function(e){var d=e.data;'
  + 'if(!d||typeof d.eucpFrameHeight!=="number"||!isFinite(d.eucpFrameHeight))return;'
  + 'var f=document.getElementsByTagName("iframe");for(var i=0;i<f.length;i++){if(f[i].contentWindow===e.source){'
  + 'f[i].style.height=Math.max(16,Math.min(d.eucpFrameHeight+4,20000))+"px";return;}}});</script>';

function head(title: string, staticBase: string): string {
  const base = escapeHtml(staticBase);
  return '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
    + `<title>${escapeHtml(title)}</title><link rel="stylesheet" href="${base}katex.min.css"><link rel="stylesheet" href="${base}highlight.css">`
    + `<style>${VIEWER_CSS}</style></head><body>`;
}

/** The notebook's language for highlighting: language_info.name, else the kernelspec's language. */
function notebookLanguage(nb: Notebook): string | null {
  const info = nb.metadata.language_info?.name;
  const spec = (nb.metadata.kernelspec as Record<string, unknown> | undefined)?.language;
  return highlightLanguage(typeof info === 'string' ? info : typeof spec === 'string' ? spec : null);
}

/** Builds HTML documents of notebooks; one instance is reused across requests. */
export class NotebookRenderer {
  private readonly md = new MarkdownRenderer();

  /**
   * Parses a `.ipynb` file's bytes (UTF-8) into the read form.
   * @throws AppError `NOTEBOOK_INVALID` naming the problem (bad JSON with line and
   *   column, wrong nbformat, the cell and field that is malformed).
   */
  parse(bytes: Buffer): Notebook {
    try {
      let value: unknown;
      try {
        value = JSON.parse(jsonTextOf(bytes));
      } catch {
        // Parse the plain UTF-8 text again for a message with the right line and column.
        return parseNotebook(bytes.toString('utf8'));
      }
      return validateNotebook(value);
    } catch (err) {
      if (err instanceof NotebookFormatError) throw new AppError('NOTEBOOK_INVALID', err.message, {}, { cause: err });
      throw err;
    }
  }

  /**
   * The HTML document of a `.ipynb` file as chunks to write in order (large outputs are
   * chunks of their own: nothing copies them into one big string).
   * @throws as {@link parse}.
   */
  renderFile(bytes: Buffer, opts: RenderOptions): string[] {
    return this.renderChunks(this.parse(bytes), opts);
  }

  /** The HTML document of a parsed notebook (read form: multiline strings joined), as chunks. */
  renderChunks(nb: Notebook, opts: RenderOptions): string[] {
    const chunks: string[] = [head(opts.title, opts.staticBase), '<main class="notebook">'];
    this.renderCells(nb, chunks);
    chunks.push('</main>', PAGE_SCRIPT, '</body></html>');
    return chunks;
  }

  /** Appends the HTML of every cell to `chunks`. */
  renderCells(nb: Notebook, chunks: string[]): void {
    const language = notebookLanguage(nb);
    for (const cell of nb.cells) this.renderCell(cell, language, chunks);
  }

  private renderCell(cell: NotebookCell, language: string | null, chunks: string[]): void {
    const source = typeof cell.source === 'string' ? cell.source : cell.source.join('');
    switch (cell.cell_type) {
      case 'markdown':
        chunks.push('<div class="cell markdown-cell"><div class="prompt"></div><div class="markdown">',
          this.md.render(source, cell.attachments as Attachments | undefined), '</div></div>');
        return;
      case 'raw':
        chunks.push('<div class="cell raw-cell"><div class="prompt"></div><pre class="raw">', escapeHtml(source), '</pre></div>');
        return;
      case 'code': {
        const count = cell.execution_count;
        chunks.push('<div class="cell code-cell"><div class="input"><div class="prompt in">', count === null ? '[ ]:' : `[${count}]:`,
          '</div><pre class="source hljs"><code>', highlightCode(source, language), '</code></pre></div>');
        if (cell.outputs.length) {
          chunks.push('<div class="outputs">');
          for (const output of cell.outputs) renderOutput(output, this.md, chunks);
          chunks.push('</div>');
        }
        chunks.push('</div>');
      }
    }
  }

  /** An error document in the viewer's style: `title` and `message` are escaped. */
  renderError(title: string, message: string, opts: Pick<RenderOptions, 'staticBase'>): string {
    return `${head(title, opts.staticBase)}<main class="notebook viewer-error" role="alert"><h1>${escapeHtml(title)}</h1>`
      + `<p>${escapeHtml(message)}</p></main></body></html>`;
  }
}
