import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '@eucp/core';
import { NotebookRenderer } from './render.js';
import { jsonTextOf } from './json-text.js';

const renderer = new NotebookRenderer();
const OPTS = { title: 'test', staticBase: '../static/' };
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

type Cell = Record<string, unknown>;
const md = (source: string, extra: Cell = {}): Cell => ({ cell_type: 'markdown', metadata: {}, source, ...extra });
const code = (source: string, outputs: Cell[] = [], count: number | null = 1): Cell =>
  ({ cell_type: 'code', metadata: {}, source, outputs, execution_count: count });
const display = (data: Record<string, unknown>, metadata: Cell = {}): Cell => ({ output_type: 'display_data', data, metadata });

function notebook(cells: Cell[], language = 'python'): Buffer {
  return Buffer.from(JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: { language_info: { name: language } }, cells }));
}

function render(cells: Cell[], language?: string): string {
  return renderer.renderFile(notebook(cells, language), OPTS).join('');
}

/** The page without the documents of output frames (srcdoc values never contain a raw `"`). */
const outsideFrames = (html: string): string => html.replace(/ srcdoc="[^"]*"/g, ' srcdoc=""');
/** Scripts of the page itself: only the frame-sizing listener. */
const pageScripts = (html: string): string[] => outsideFrames(html).match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? [];

describe('notebook renderer: outputs', () => {
  it('escapes text/plain, so a <script> in a result is shown, not run', () => {
    const html = render([code('x', [{ output_type: 'execute_result', execution_count: 7, metadata: {}, data: { 'text/plain': '<script>alert("x")</script>' } }], 7)]);
    assert.match(html, /<pre class="output-text">&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;<\/pre>/);
    assert.match(html, /Out\[7\]:/);
    assert.equal(pageScripts(html).length, 1);
  });

  it('shows streams with ANSI colours as classes and escapes their text; stderr is marked', () => {
    const html = render([code('print()', [
      { output_type: 'stream', name: 'stdout', text: ['\x1b[31mred\x1b[0m and ', '<b>not bold</b>\n'] },
      { output_type: 'stream', name: 'stderr', text: 'progress 10%\rprogress 100%\n' },
    ])]);
    assert.match(html, /<span class="ansi-red-fg">red<\/span> and &lt;b&gt;not bold&lt;\/b&gt;/);
    assert.match(html, /output-stderr">progress 100%\n</, 'carriage returns collapse like in Jupyter');
  });

  it('shows tracebacks with their colours', () => {
    const html = render([code('1/0', [{ output_type: 'error', ename: 'ZeroDivisionError', evalue: 'division by zero',
      traceback: ['\x1b[0;31mZeroDivisionError\x1b[0m: division by zero'] }])]);
    assert.match(html, /<pre class="output-error"><span class="ansi-red-fg">ZeroDivisionError<\/span>: division by zero<\/pre>/);
  });

  it('embeds PNG, JPEG and GIF as data: URIs with their size metadata', () => {
    const html = render([code('plot()', [
      display({ 'image/png': PNG, 'text/plain': '<Figure>' }, { 'image/png': { width: 320, height: 200 } }),
      display({ 'image/jpeg': '/9j/4AAQ' }),
      display({ 'image/gif': 'R0lGODlh\n' }),
    ])]);
    assert.ok(html.includes(`<img class="output-image" alt="" width="320" height="200" src="data:image/png;base64,${PNG}">`));
    assert.ok(html.includes('src="data:image/jpeg;base64,/9j/4AAQ"'));
    assert.ok(html.includes('src="data:image/gif;base64,R0lGODlh\n"'));
    assert.ok(!html.includes('&lt;Figure&gt;'), 'the image is preferred to its text/plain');
  });

  it('cannot break out of an image attribute with a malformed base64 value', () => {
    const html = render([code('x', [display({ 'image/png': 'AAA"><script>alert(1)</script>' })])]);
    assert.ok(html.includes('src="data:image/png;base64,AAA&quot;><script>alert(1)</script>">'), 'the quote is escaped: all of it stays in src');
  });

  it('shows SVG as an image (its scripts never run) and HTML in its own sandboxed frame', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><circle r="5"/></svg>';
    const html = render([code('x', [display({ 'image/svg+xml': svg }), display({ 'text/html': '<table><tr><td>1 & "2"</td></tr></table><script>parent.x=1</script>', 'text/plain': 'df' })])]);
    assert.ok(html.includes(`src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"`));
    const frames = html.match(/<iframe [^>]*? srcdoc="[^"]*"><\/iframe>/g) ?? [];
    assert.equal(frames.length, 1);
    assert.match(frames[0]!, /^<iframe class="output-frame" sandbox="allow-scripts" /);
    assert.doesNotMatch(frames[0]!, /allow-same-origin|allow-top-navigation|allow-popups|allow-forms/);
    assert.ok(frames[0]!.includes('<td>1 &amp; &quot;2&quot;</td>'), 'the frame document is attribute-escaped');
    assert.ok(!outsideFrames(html).includes('<table>'), 'the HTML is not part of the page');
    assert.equal(pageScripts(html).length, 1);
  });

  it('frames application/javascript outputs too, and cannot close their script early', () => {
    const html = render([code('x', [display({ 'application/javascript': 'var s = "</script><b>";' })])]);
    assert.ok(html.includes('var s = &quot;<\\/script><b>&quot;;'));
    assert.equal(pageScripts(html).length, 1);
  });

  it('renders text/latex with KaTeX, text/markdown as markdown, application/json pretty-printed', () => {
    const html = render([code('x', [
      display({ 'text/latex': '$$\\frac{a}{b}$$', 'text/plain': 'a/b' }),
      display({ 'text/markdown': '**bold**' }),
      display({ 'application/json': { a: [1, '<x>'] } }),
    ])]);
    assert.match(html, /class="output-latex"><div class="math-display"><span class="katex-display">/);
    assert.match(html, /<annotation encoding="application\/x-tex">\\frac\{a\}\{b\}<\/annotation>/);
    assert.match(html, /<div class="output-markdown"><p><strong>bold<\/strong><\/p>/);
    assert.ok(html.includes('<pre class="output-json">{\n  &quot;a&quot;: [\n    1,\n    &quot;&lt;x&gt;&quot;\n  ]\n}</pre>'));
  });

  it('names outputs it cannot show instead of dropping them silently', () => {
    const html = render([code('w', [display({ 'application/vnd.jupyter.widget-view+json': { model_id: 'x' } })])]);
    assert.match(html, /output of type application\/vnd\.jupyter\.widget-view\+json — not shown here/);
  });
});

describe('notebook renderer: cells', () => {
  it('highlights code in the notebook language and shows execution counts', () => {
    const html = render([code('import xarray as xr\nds = xr.open_dataset("a.nc")', [], 12), code('pass', [], null)]);
    assert.match(html, /<div class="prompt in">\[12\]:<\/div><pre class="source hljs"><code><span class="hljs-keyword">import<\/span> xarray/);
    assert.match(html, /<div class="prompt in">\[ \]:<\/div>/);
    const r = render([code('x <- c(1, 2)\nprint("<b>")')], 'R');
    assert.match(r, /hljs-/, 'R is highlighted');
    const unknown = render([code('if x < 1 then "<b>"')], 'no-such-language');
    assert.ok(unknown.includes('<code>if x &lt; 1 then &quot;&lt;b&gt;&quot;</code>'));
  });

  it('renders markdown with headings, tables, fenced code and math ($…$, $$…$$, \\begin{…})', () => {
    const html = render([md('# Warming\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nInline $\\Delta T$ here.\n\n$$\nT = \\alpha + \\beta t\n$$\n\n'
      + '\\begin{equation}\nx^2\n\\end{equation}\n\n```python\nimport numpy\n```\n')]);
    assert.match(html, /<h1>Warming<\/h1>/);
    assert.match(html, /<table>[\s\S]*<td>1<\/td>/);
    assert.match(html, /Inline <span class="katex">[\s\S]*?\\Delta T<\/annotation>/);
    assert.match(html, /<div class="math-display"><span class="katex-display">[\s\S]*?T = \\alpha \+ \\beta t<\/annotation>/);
    assert.match(html, /\\begin\{equation\}\nx\^2\n\\end\{equation\}<\/annotation>/);
    assert.match(html, /<pre class="hljs"><code><span class="hljs-keyword">import<\/span> numpy/);
  });

  it('leaves dollars that are not math alone: prices, code spans, escaped dollars', () => {
    const html = render([md('It costs $5 and $10. Code: `$HOME`. Escaped: \\$x\\$.')]);
    assert.ok(!html.includes('class="katex'), html);
    assert.match(html, /It costs \$5 and \$10\. Code: <code>\$HOME<\/code>\. Escaped: \$x\$\./);
  });

  it('shows bad TeX as its source instead of failing the page', () => {
    const html = render([md('Broken $\\frac{1}{$ formula')]);
    assert.match(html, /katex-error|math-error/);
  });

  it('sanitises HTML written in markdown: no script, handler or javascript: link; links open a new window', () => {
    const html = render([md('<script>alert(1)</script><img src="x" onerror="alert(2)"><a href="javascript:alert(3)">j</a>\n\n'
      + '<div style="color:red" onclick="alert(4)">kept</div>\n\n[site](https://example.org) and [anchor](#top)')]);
    const page = outsideFrames(html);
    assert.equal(pageScripts(html).length, 1);
    assert.ok(!/onerror|onclick|javascript:|alert\(1\)/.test(page), page);
    assert.match(page, /<div style="color:red">kept<\/div>/);
    assert.match(page, /<a href="https:\/\/example\.org" target="_blank" rel="noopener noreferrer">site<\/a>/);
    assert.match(page, /<a href="#top">anchor<\/a>/);
  });

  it('keeps math intact next to sanitised HTML, and text cannot forge a formula placeholder', () => {
    const html = render([md('<b>bold</b> $x_1$ and &#xE000;0000000000000000:0&#xE001;')]);
    assert.match(html, /<b>bold<\/b> <span class="katex">/);
    assert.equal((html.match(/class="katex"/g) ?? []).length, 1);
  });

  it('shows attachments of markdown cells (markdown and HTML image syntax)', () => {
    const html = render([md('![chart](attachment:chart.png) <img src="attachment:chart.png" alt="again">', {
      attachments: { 'chart.png': { 'image/png': PNG } },
    })]);
    assert.equal(html.split(`src="data:image/png;base64,${PNG}"`).length - 1, 2);
  });

  it('shows raw cells as text', () => {
    const html = render([{ cell_type: 'raw', metadata: {}, source: '<script>x</script>' }]);
    assert.match(html, /<pre class="raw">&lt;script&gt;x&lt;\/script&gt;<\/pre>/);
  });
});

describe('notebook renderer: files', () => {
  it('reads UTF-8 text of every kind (accents, CJK, emoji, a BOM) exactly', () => {
    const text = 'Température — 气温 🌡️ \u2028';
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), notebook([md(text), code('print("é")', [{ output_type: 'stream', name: 'stdout', text: 'ü\n' }])])]);
    assert.deepEqual(JSON.parse(jsonTextOf(bytes)), JSON.parse(bytes.subarray(3).toString('utf8')));
    const html = renderer.renderFile(bytes, OPTS).join('');
    assert.ok(html.includes('Température — 气温 🌡️'));
    assert.ok(html.includes('>ü\n<'));
  });

  it('gives a clear NOTEBOOK_INVALID for malformed files (bad JSON with line and column, old nbformat, bad cells)', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"nbformat": 4,\n  "cells": [}', /line 2, column 13/],
      ['{"nbformat": 3, "worksheets": []}', /nbformat 3 notebooks are not supported/],
      ['{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "metadata": {}}]}', /cell 1: missing 'source'/],
      ['[1, 2]', /not a notebook/],
      ['{"nbformat": 4, "é": "', /not valid JSON/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => renderer.renderFile(Buffer.from(text), OPTS), (err: unknown) => {
        assert.ok(isAppError(err) && err.code === 'NOTEBOOK_INVALID' && err.status === 422, String(err));
        assert.match(err.message, message);
        return true;
      });
    }
  });

  it('renders an error page in the viewer style with escaped text', () => {
    const html = renderer.renderError('Cannot show <this>', 'because <b>', OPTS);
    assert.match(html, /<h1>Cannot show &lt;this&gt;<\/h1><p>because &lt;b&gt;<\/p>/);
  });
});
