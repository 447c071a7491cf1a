// Builds the EUCP JupyterLab UI into dist/ (offline, from node_modules only):
//   dist/static/     the application bundle (content-hashed file names, with .br/.gz siblings) + licenses report
//   dist/schemas/    every plugin's settings schema, as <package>/<plugin>.json (+ package.json.orig)
//   dist/themes/     theme style sheets, as <package>/index.css
//   dist/manifest.json  {appName, appVersion, entry: [bundle files to load, in order], …}
// The new tree is assembled next to dist/ and swapped in only when everything succeeded.
// Usage: node build.mjs [--no-minimize]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import webpack from 'webpack';
import { configs } from './webpack.config.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);
const started = Date.now();
const log = (msg) => process.stderr.write(`[lab-ui] ${msg}\n`);

const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
const names = [...pkg.jupyterlab.extensions, ...pkg.jupyterlab.mimeExtensions];

/** package.json and directory of every extension package. */
const extensions = names.map((name) => {
  const manifest = require.resolve(`${name}/package.json`, { paths: [here] });
  return { name, dir: path.dirname(manifest), meta: JSON.parse(fs.readFileSync(manifest, 'utf8')) };
});

// The hand-written import lists must agree with package.json.
const indexSource = fs.readFileSync(path.join(here, 'src/index.js'), 'utf8');
const styleSource = fs.readFileSync(path.join(here, 'src/style.js'), 'utf8');
const problems = [];
for (const ext of extensions) {
  if (!indexSource.includes(`from '${ext.name}'`)) problems.push(`src/index.js does not import ${ext.name}`);
  if (ext.meta.styleModule && !styleSource.includes(`'${ext.name}/${ext.meta.styleModule}'`)) {
    problems.push(`src/style.js does not import ${ext.name}/${ext.meta.styleModule}`);
  }
}
if (problems.length) {
  for (const p of problems) log(p);
  process.exit(1);
}

const distDir = path.join(here, 'dist');
const outDir = path.join(here, `dist.tmp-${process.pid}`);
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });

/** Copies `<schemaDir>/*.json` of a package to `schemas/<name>/`, with its package.json as `package.json.orig`. */
function copySchemas(name, schemaDir, packageJson) {
  const target = path.join(outDir, 'schemas', name);
  fs.mkdirSync(target, { recursive: true });
  for (const file of fs.readdirSync(schemaDir)) {
    if (file.endsWith('.json')) fs.copyFileSync(path.join(schemaDir, file), path.join(target, file));
  }
  fs.writeFileSync(path.join(target, 'package.json.orig'), JSON.stringify(packageJson, null, 2));
}

let schemaCount = 0;
for (const ext of extensions) {
  const schemaDir = ext.meta.jupyterlab?.schemaDir;
  if (!schemaDir) continue;
  copySchemas(ext.name, path.join(ext.dir, schemaDir), ext.meta);
  schemaCount += fs.readdirSync(path.join(ext.dir, schemaDir)).filter((f) => f.endsWith('.json')).length;
}
// The EUCP plugins' schemas (plugin ids `@eucp/lab-extension:<plugin>`), if it has any.
const eucpSchemas = path.join(here, 'src/eucp-extension/schema');
if (fs.existsSync(eucpSchemas)) {
  copySchemas('@eucp/lab-extension', eucpSchemas, { name: '@eucp/lab-extension', version: pkg.version });
}

const themes = extensions
  .filter((ext) => ext.meta.jupyterlab?.themePath)
  .map((ext) => ({ name: ext.name, dir: ext.dir, themePath: ext.meta.jupyterlab.themePath }));

const minimize = !process.argv.includes('--no-minimize');
log(`bundling ${extensions.length} extensions and ${themes.length} themes (minimize: ${minimize})`);
const stats = await new Promise((resolve, reject) => {
  webpack(configs({ outDir, themes, minimize }), (err, result) => {
    if (err) return reject(err);
    if (result.hasErrors()) {
      return reject(new Error(result.toString({ all: false, errors: true, errorDetails: true, colors: false })));
    }
    resolve(result);
  });
}).catch((err) => {
  log(err.stack ?? String(err));
  fs.rmSync(outDir, { recursive: true, force: true });
  process.exit(1);
});

const [appStats, themeStats] = stats.stats.map((s) => s.toJson({ all: false, entrypoints: true, warnings: true }));
for (const w of [...(appStats.warnings ?? []), ...(themeStats.warnings ?? [])]) log(`warning: ${w.message.split('\n')[0]}`);
// The theme compilation also emits a throw-away JavaScript stub per theme.
for (const ext of themes) fs.rmSync(path.join(outDir, 'themes', ext.name, 'index.js'), { force: true });

// Favicons for the page: the Jupyter logo, and a grey one while the kernel is busy.
const logo = fs.readFileSync(require.resolve('@jupyterlab/ui-components/style/icons/jupyter/jupyter-favicon.svg', { paths: [here] }), 'utf8');
fs.writeFileSync(path.join(outDir, 'static', 'favicon.svg'), logo);
fs.writeFileSync(path.join(outDir, 'static', 'favicon-busy.svg'), logo.replace(/fill="#[0-9A-Fa-f]{6}"/g, 'fill="#757575"'));

// Pre-compressed siblings (`x.js.br`, `x.js.gz`) that the lab server sends to browsers accepting them.
const COMPRESSIBLE = /\.(js|css|json|svg|txt|map|eot|ttf|otf)$/;
let compressed = 0;
for (const sub of ['static', 'themes']) {
  for (const rel of fs.readdirSync(path.join(outDir, sub), { recursive: true })) {
    const file = path.join(outDir, sub, rel);
    if (!COMPRESSIBLE.test(file) || !fs.statSync(file).isFile() || fs.statSync(file).size < 1024) continue;
    const data = fs.readFileSync(file);
    fs.writeFileSync(`${file}.br`, zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9 } }));
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(data, { level: 9 }));
    compressed++;
  }
}

const application = JSON.parse(fs.readFileSync(require.resolve('@jupyterlab/application/package.json', { paths: [here] }), 'utf8'));
const entry = appStats.entrypoints.main.assets.map((a) => a.name).filter((n) => n.endsWith('.js'));
const manifest = {
  appName: 'JupyterLab',
  appVersion: application.version,
  entry,
  licenses: 'third-party-licenses.json',
  extensions: names,
  themes: themes.map((t) => t.name),
};
fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

fs.rmSync(distDir, { recursive: true, force: true });
fs.renameSync(outDir, distDir);
log(`built dist/ (${schemaCount} schemas, ${entry.length} entry files, ${compressed} files pre-compressed) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
