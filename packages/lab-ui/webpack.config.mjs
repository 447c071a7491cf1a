// webpack 5 configuration of the EUCP JupyterLab build (used by build.mjs, not by a CLI).
// Two compilations: the application bundle (`static/`) and the theme style sheets
// (`themes/<package>/index.css`, fetched at run time from `lab/api/themes/`).
import { createRequire } from 'node:module';
import path from 'node:path';
import webpack from 'webpack';
import MiniCssExtractPlugin from 'mini-css-extract-plugin';
import miniSvgDataUri from 'mini-svg-data-uri';
import { LicenseReportPlugin } from './licenses.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);

/** Loaders shared by both compilations: CSS assets, SVG icons, fonts, images. */
function assetRules(cssLoaders) {
  return [
    { test: /\.raw\.css$/, type: 'asset/source' },
    { test: /(?<!\.raw)\.css$/, use: cssLoaders },
    { test: /\.md$/, type: 'asset/source' },
    { test: /\.html$/, type: 'asset/resource' },
    { test: /\.(jpe?g|png|gif|ico)$/, type: 'asset/resource' },
    { test: /\.(woff2?|ttf|otf|eot)(\?v=\d+\.\d+\.\d+)?$/, type: 'asset/resource' },
    {
      // SVGs referenced from CSS become data URIs ...
      test: /\.svg(\?v=\d+\.\d+\.\d+)?$/,
      issuer: /\.css$/,
      type: 'asset/inline',
      generator: { dataUrl: (content) => miniSvgDataUri(content.toString()) },
    },
    {
      // ... while JavaScript imports them as strings (JupyterLab's LabIcon reads the markup).
      test: /\.svg(\?v=\d+\.\d+\.\d+)?$/,
      issuer: /\.js$/,
      type: 'asset/source',
    },
  ];
}

/**
 * One copy of the packages that must be singletons, taken from this workspace: React 18
 * (the web UI's React 19 is hoisted to the root) and the Jupyter web components (some
 * @jupyterlab packages still ask for 0.16, JupyterLab 4.6.6 uses 0.17 everywhere; two
 * copies would register the same custom elements twice).
 */
const singletons = Object.fromEntries(
  ['react', 'react-dom', '@jupyter/react-components', '@jupyter/web-components'].map((name) => [
    name,
    path.dirname(require.resolve(`${name}/package.json`, { paths: [here] })),
  ]),
);

/**
 * @param {object} options
 * @param {string} options.outDir  the (temporary) dist directory being produced
 * @param {{name: string, dir: string, themePath: string}[]} options.themes
 * @param {boolean} options.minimize
 * @returns {import('webpack').Configuration[]}
 */
export function configs({ outDir, themes, minimize }) {
  const common = {
    mode: 'production',
    context: here,
    bail: true,
    devtool: false,
    performance: { hints: false },
    infrastructureLogging: { level: 'warn' },
    resolve: { alias: singletons, fallback: { path: require.resolve('path-browserify') } },
  };
  const app = {
    ...common,
    name: 'lab',
    entry: { main: './src/index.js' },
    output: {
      path: path.join(outDir, 'static'),
      // The page sets __webpack_public_path__ from `fullStaticUrl` (src/publicpath.js).
      publicPath: 'auto',
      filename: '[name].[contenthash].js',
      chunkFilename: '[name].[contenthash].js',
      assetModuleFilename: '[name].[contenthash][ext]',
      hashDigestLength: 20,
    },
    module: {
      // Some packages import JSON or .js without fully specified ESM paths.
      rules: [{ test: /\.m?js$/, resolve: { fullySpecified: false } }, ...assetRules(['style-loader', 'css-loader'])],
    },
    optimization: {
      minimize,
      moduleIds: 'deterministic',
      chunkIds: 'deterministic',
      splitChunks: {
        chunks: 'all',
        cacheGroups: {
          jlab_core: { test: /[\\/]node_modules[\\/]@(jupyterlab|lumino(?!\/datagrid))[\\/]/, name: 'jlab_core' },
        },
      },
    },
    plugins: [
      new webpack.DefinePlugin({ 'process.env': '{}', 'process.cwd': '(() => "/")', 'process.platform': '"browser"' }),
      new LicenseReportPlugin({ filename: 'third-party-licenses.json' }),
    ],
  };
  const themeSheets = {
    ...common,
    name: 'themes',
    entry: Object.fromEntries(themes.map((t) => [`${t.name}/index`, path.join(t.dir, t.themePath)])),
    output: {
      path: path.join(outDir, 'themes'),
      publicPath: 'auto',
      filename: '[name].js',
      assetModuleFilename: '[name].[contenthash][ext]',
    },
    module: { rules: assetRules([MiniCssExtractPlugin.loader, 'css-loader']) },
    optimization: { minimize: false },
    plugins: [new MiniCssExtractPlugin({ filename: '[name].css' })],
  };
  return [app, themeSheets];
}
