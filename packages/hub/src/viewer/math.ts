import katex from 'katex';
import type { MarkdownIt, StateBlock, StateInline } from 'markdown-it';
import { escapeHtml } from './html.js';

/**
 * TeX in notebooks, as Jupyter writes it: `$…$` inline, `$$…$$` and
 * `\begin{env}…\end{env}` displayed. A markdown-it plugin turns them into `math_inline`
 * / `math_block` tokens (code spans and fences keep their dollars, `\$` is a dollar);
 * KaTeX renders them to HTML without scripts (`trust: false`).
 */

/** Renders TeX to HTML; `display` for block math. Never throws: bad TeX is shown as source, in red. */
export function renderTex(tex: string, display: boolean): string {
  try {
    return katex.renderToString(tex, {
      displayMode: display, throwOnError: false, trust: false, strict: 'ignore', output: 'htmlAndMathml', maxExpand: 1000, maxSize: 100,
    });
  } catch {
    return `<code class="math-error">${escapeHtml(tex)}</code>`;
  }
}

const DOLLAR = 0x24;
const BACKSLASH = 0x5c;

const isSpace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;

/** Inline `$…$` (pandoc's rule: no space inside the delimiters, no digit after the closing one) and `$$…$$`. */
function mathInline(state: StateInline, silent: boolean): boolean {
  const src = state.src;
  const start = state.pos;
  if (src.charCodeAt(start) !== DOLLAR) return false;
  const display = src.charCodeAt(start + 1) === DOLLAR;
  const open = display ? 2 : 1;
  if (!display && (start + 1 >= state.posMax || isSpace(src.charCodeAt(start + 1)))) return false;
  let end = start + open;
  for (;;) {
    end = src.indexOf(display ? '$$' : '$', end);
    if (end < 0 || end >= state.posMax) return false;
    // A code span starts before any closer: the dollars belong to text and code (`$HOME`).
    const tick = src.indexOf('`', start + open);
    if (tick >= 0 && tick < end) return false;
    let backslashes = 0;
    for (let i = end - 1; i >= start + open && src.charCodeAt(i) === BACKSLASH; i--) backslashes++;
    const escaped = backslashes % 2 === 1;
    if (!escaped && (display || (!isSpace(src.charCodeAt(end - 1)) && !isDigit(src.charCodeAt(end + 1))))) break;
    end += 1;
  }
  const content = src.slice(start + open, end);
  if (content.trim() === '') return false;
  if (!silent) {
    const token = state.push(display ? 'math_block_inline' : 'math_inline', 'math', 0);
    token.markup = display ? '$$' : '$';
    token.content = content;
  }
  state.pos = end + open;
  return true;
}

const BEGIN_ENV = /^\\begin\{([A-Za-z]+\*?)\}/;

/**
 * Block `$$ … $$` (on one line or several) and `\begin{env} … \end{env}`, starting a
 * line; anything but spaces after the closer leaves the line to the inline rule.
 */
function mathBlock(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  if (state.sCount[startLine]! - state.blkIndent >= 4) return false;
  const begin = state.bMarks[startLine]! + state.tShift[startLine]!;
  const first = state.src.slice(begin, state.eMarks[startLine]!);
  let opener = 0;
  let closer: string;
  if (first.startsWith('$$')) {
    opener = 2;
    closer = '$$';
  } else {
    const env = BEGIN_ENV.exec(first);
    if (!env) return false;
    closer = `\\end{${env[1]}}`;
  }
  const keepDelimiters = opener === 0;
  const parts: string[] = [];
  let line = startLine;
  let from = begin + opener;
  for (;;) {
    const text = state.src.slice(from, state.eMarks[line]!);
    const at = text.indexOf(closer);
    if (at >= 0) {
      if (text.slice(at + closer.length).trim() !== '') return false;
      parts.push(keepDelimiters ? text.slice(0, at + closer.length) : text.slice(0, at));
      break;
    }
    parts.push(text);
    line++;
    if (line >= endLine) return false;
    from = state.bMarks[line]! + state.tShift[line]!;
  }
  if (silent) return true;
  state.line = line + 1;
  const token = state.push('math_block', 'math', 0);
  token.block = true;
  token.content = parts.join('\n').trim();
  token.markup = closer;
  token.map = [startLine, state.line];
  return true;
}

/** Where a math token's HTML goes: the markdown renderer substitutes it after sanitising (see markdown.ts). */
export interface MathSink {
  /** Returns the text that stands for the formula in the rendered markdown. */
  add(tex: string, display: boolean): string;
}

/** The markdown-it plugin: math tokens and their rendering through `env.math` (a {@link MathSink}). */
export function mathPlugin(md: MarkdownIt): void {
  md.inline.ruler.before('escape', 'math_inline', mathInline);
  md.block.ruler.before('fence', 'math_block', mathBlock, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
  const sink = (env: unknown): MathSink => (env as { math: MathSink }).math;
  md.renderer.rules.math_inline = (tokens, idx, _o, env) => sink(env).add(tokens[idx]!.content, false);
  md.renderer.rules.math_block_inline = (tokens, idx, _o, env) => sink(env).add(tokens[idx]!.content, true);
  md.renderer.rules.math_block = (tokens, idx, _o, env) => `<div class="math-display">${sink(env).add(tokens[idx]!.content, true)}</div>\n`;
}
