import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import fortran from 'highlight.js/lib/languages/fortran';
import go from 'highlight.js/lib/languages/go';
import ini from 'highlight.js/lib/languages/ini';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import julia from 'highlight.js/lib/languages/julia';
import latex from 'highlight.js/lib/languages/latex';
import markdown from 'highlight.js/lib/languages/markdown';
import matlab from 'highlight.js/lib/languages/matlab';
import perl from 'highlight.js/lib/languages/perl';
import python from 'highlight.js/lib/languages/python';
import r from 'highlight.js/lib/languages/r';
import rust from 'highlight.js/lib/languages/rust';
import scala from 'highlight.js/lib/languages/scala';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { escapeHtml } from './html.js';

// The languages of Jupyter kernels a climate site runs, and what their code embeds.
const LANGUAGES = {
  bash, c, cpp, fortran, go, ini, java, javascript, json, julia, latex, markdown, matlab, perl, python, r, rust, scala, shell, sql,
  typescript, xml, yaml,
};
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);

/** Kernel language names that differ from highlight.js names. */
const ALIASES: Record<string, string> = {
  python3: 'python', ipython: 'python', ipython3: 'python', sh: 'bash', zsh: 'bash', js: 'javascript', ts: 'typescript',
  html: 'xml', tex: 'latex', octave: 'matlab', 'c++': 'cpp', gfortran: 'fortran', yml: 'yaml',
};

/** The highlight.js language for a kernel or fence language name, or null if none is known. */
export function highlightLanguage(name: string | null | undefined): string | null {
  if (!name) return null;
  const lower = name.trim().toLowerCase();
  const id = ALIASES[lower] ?? lower;
  return hljs.getLanguage(id) ? id : null;
}

/** Largest source highlighted; longer code is shown escaped (highlighting is linear but not free). */
const MAX_HIGHLIGHT_CHARS = 200_000;

/**
 * HTML of `code` highlighted as `language` (class names of highlight.js themes), or
 * escaped text when the language is unknown or the code is very long. Never throws.
 */
export function highlightCode(code: string, language: string | null): string {
  if (!language || code.length > MAX_HIGHLIGHT_CHARS) return escapeHtml(code);
  try {
    return hljs.highlight(code, { language, ignoreIllegals: true }).value;
  } catch {
    return escapeHtml(code);
  }
}
