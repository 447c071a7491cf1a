/** Style sheet of the viewer page (inline; the CSP allows inline styles on the viewer origin only). */
const ANSI = [
  ['black', '#3e424d', '#282c36'], ['red', '#e75c58', '#b22b31'], ['green', '#00a250', '#007427'], ['yellow', '#ddb62b', '#b27d12'],
  ['blue', '#208ffb', '#0065ca'], ['magenta', '#d160c4', '#a03196'], ['cyan', '#60c6c8', '#258f8f'], ['white', '#c5c1b4', '#a1a6b2'],
] as const;

const ansiRules = ANSI.map(([name, normal, bright]) =>
  `.ansi-${name}-fg{color:${normal}}.ansi-${name}-bg{background:${normal}}`
  + `.ansi-bright-${name}-fg{color:${bright}}.ansi-bright-${name}-bg{background:${bright}}`).join('');

export const VIEWER_CSS = [
  'html{-webkit-text-size-adjust:100%}',
  'body{margin:0;padding:1rem;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f23;background:#fff}',
  '.notebook{max-width:72rem;margin:0 auto}',
  '.cell{display:grid;grid-template-columns:5.5rem minmax(0,1fr);margin:.4rem 0}',
  '.code-cell{display:block}.input,.output{display:grid;grid-template-columns:5.5rem minmax(0,1fr)}',
  '.prompt{font:12px/1.9 ui-monospace,monospace;color:#307fc1;text-align:right;padding-right:.6rem;white-space:nowrap;overflow:hidden}',
  '.prompt.out{color:#bf5b3d}',
  'pre{margin:0;font:13px/1.45 ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word}',
  'pre.source{padding:.45rem .6rem;background:#f7f7f7;border:1px solid #e0e0e0;border-radius:3px;overflow-x:auto;white-space:pre}',
  '.outputs{margin-top:.2rem}.output{margin:.1rem 0}.output-body{min-width:0;overflow-x:auto}',
  '.output-stream,.output-text,.output-json{padding:.2rem .6rem}.output-stderr{background:#fdd}',
  '.output-error{padding:.2rem .6rem;background:#fdd}',
  '.output-image{max-width:100%;height:auto;display:block}',
  '.output-frame{display:block;width:100%;height:2rem;border:0}',
  '.output-unsupported{color:#57606a;font-style:italic;margin:.2rem .6rem}',
  '.markdown{min-width:0;overflow-x:auto;padding:0 .6rem}.markdown img{max-width:100%}',
  '.markdown table{border-collapse:collapse}.markdown th,.markdown td{border:1px solid #d0d7de;padding:.2rem .5rem}',
  '.markdown pre{background:#f7f7f7;padding:.45rem .6rem;border-radius:3px;overflow-x:auto}',
  '.markdown code{font-size:.9em}.markdown h1,.markdown h2,.markdown h3{line-height:1.25}',
  '.math-display{overflow-x:auto;overflow-y:hidden}.math-error{color:#cf222e}',
  '.raw{padding:.2rem .6rem;color:#57606a}',
  '.viewer-error{padding:1rem 1.2rem;border:1px solid #cf222e;border-radius:6px;background:#ffebe9;color:#82071e}',
  '.viewer-error h1{font-size:1.3rem;margin:0 0 .5rem}',
  ansiRules,
  '.ansi-bold{font-weight:bold}',
].join('');
