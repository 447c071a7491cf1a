import { randomBytes } from 'node:crypto';
import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';
import { highlightCode, highlightLanguage } from './highlight.js';
import { mathPlugin, renderTex, type MathSink } from './math.js';

/** A markdown cell's attachments: name → mimebundle (base64 images). */
export type Attachments = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** Marks a formula in rendered markdown; the private-use characters are removed from sources first. */
const MATH_OPEN = '\uE000';
const MATH_CLOSE = '\uE001';
const MARKERS = /[\uE000\uE001]/g;
const PLACEHOLDER = /\uE000([0-9a-f]{16}):(\d+)\uE001/g;

const ATTACHMENT_MIMES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml'];

/** `attachment:<name>` → a data: URI of the attachment's image, or null. */
function attachmentUri(src: string, attachments: Attachments | undefined): string | null {
  if (!attachments || !src.startsWith('attachment:')) return null;
  let name = src.slice('attachment:'.length);
  try {
    name = decodeURIComponent(name);
  } catch { /* keep as written */ }
  const bundle = Object.hasOwn(attachments, name) ? attachments[name] : undefined;
  if (!bundle) return null;
  for (const mime of ATTACHMENT_MIMES) {
    const value = bundle[mime];
    if (typeof value !== 'string') continue;
    // Raw here: markdown-it and sanitize-html escape attribute values themselves.
    if (mime === 'image/svg+xml') return `data:image/svg+xml;base64,${Buffer.from(value, 'utf8').toString('base64')}`;
    return `data:${mime};base64,${value.replace(/\s+/g, '')}`;
  }
  return null;
}

/**
 * What HTML written into a markdown cell may keep: text formatting, tables, images (data:
 * and attachments; the viewer's CSP blocks others), links (opened in a new window). No
 * script, style element, form, frame, object or event handler survives.
 */
function sanitizeOptions(attachments: Attachments | undefined): sanitizeHtml.IOptions {
  return {
    allowedTags: [
      ...sanitizeHtml.defaults.allowedTags, 'img', 'del', 'ins', 'details', 'summary', 'font', 'center', 'big', 'tt', 'strike',
    ],
    allowedAttributes: {
      '*': ['class', 'style', 'title', 'align', 'valign', 'dir', 'lang', 'width', 'height'],
      a: ['href', 'name', 'target', 'rel'],
      img: ['src', 'alt', 'title', 'width', 'height'],
      font: ['color', 'size', 'face'],
      td: ['colspan', 'rowspan'],
      th: ['colspan', 'rowspan', 'scope'],
      ol: ['start', 'type', 'reversed'],
      li: ['value'],
      details: ['open'],
    },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['http', 'https', 'data'] },
    allowProtocolRelative: false,
    transformTags: {
      a: (tagName, attribs) => {
        const href = attribs.href ?? '';
        return href.startsWith('#') || href === ''
          ? { tagName, attribs }
          : { tagName, attribs: { ...attribs, target: '_blank', rel: 'noopener noreferrer' } };
      },
      img: (tagName, attribs) => {
        const uri = attachmentUri(attribs.src ?? '', attachments);
        return { tagName, attribs: uri ? { ...attribs, src: uri } : attribs };
      },
    },
  };
}

/** Renders the markdown of notebooks (cells, `text/markdown` outputs) to safe HTML. */
export class MarkdownRenderer {
  private readonly md: MarkdownIt;

  constructor() {
    this.md = new MarkdownIt({
      html: true,
      linkify: true,
      highlight: (code, lang) => `<pre class="hljs"><code>${highlightCode(code, highlightLanguage(lang))}</code></pre>`,
    });
    this.md.use(mathPlugin);
    const defaultImage = this.md.renderer.rules.image!;
    this.md.renderer.rules.image = (tokens, idx, options, env, self) => {
      const token = tokens[idx]!;
      const uri = attachmentUri(token.attrGet('src') ?? '', (env as RenderEnv).attachments);
      if (uri) token.attrSet('src', uri);
      return defaultImage(tokens, idx, options, env, self);
    };
    const defaultLinkOpen = this.md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
    this.md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
      const token = tokens[idx]!;
      if (!(token.attrGet('href') ?? '').startsWith('#')) {
        token.attrSet('target', '_blank');
        token.attrSet('rel', 'noopener noreferrer');
      }
      return defaultLinkOpen(tokens, idx, options, env, self);
    };
  }

  /**
   * HTML of `source`. Raw HTML in it is sanitised (only when the source has a `<`: without
   * one, everything in the output was generated and escaped by markdown-it); formulas are
   * rendered by KaTeX after sanitising, so its markup is kept whole.
   */
  render(source: string, attachments?: Attachments): string {
    const text = source.replace(MARKERS, '');
    const formulas: string[] = [];
    // Entities can still produce the marker characters; a fresh nonce keeps such text from naming a formula.
    const nonce = randomBytes(8).toString('hex');
    const math: MathSink = {
      add(tex, display) {
        formulas.push(renderTex(tex, display));
        return `${MATH_OPEN}${nonce}:${formulas.length - 1}${MATH_CLOSE}`;
      },
    };
    const env: RenderEnv = { math, attachments };
    let html = this.md.render(text, env);
    if (text.includes('<')) html = sanitizeHtml(html, sanitizeOptions(attachments));
    return formulas.length === 0 ? html : html.replace(PLACEHOLDER, (m, n: string, i: string) => (n === nonce ? formulas[Number(i)] ?? '' : m));
  }

  /** `text/latex`: a formula alone (`$$…$$`, `\[…\]`, `$…$`) displayed, else rendered like markdown. */
  renderLatex(latex: string): string {
    const t = latex.trim();
    const whole = /^\$\$([\s\S]*)\$\$$/.exec(t) ?? /^\\\[([\s\S]*)\\\]$/.exec(t) ?? /^\$([^$]*)\$$/.exec(t);
    if (whole) return `<div class="math-display">${renderTex(whole[1]!, true)}</div>`;
    if (t.startsWith('\\begin{') && !t.includes('$')) return `<div class="math-display">${renderTex(t, true)}</div>`;
    return this.render(latex);
  }
}

interface RenderEnv {
  math: MathSink;
  attachments: Attachments | undefined;
}
