// A webpack plugin that writes the licenses of every npm package bundled into the
// application as `third-party-licenses.json`, in the shape JupyterLab's Help ▸ Licenses
// reads through `lab/api/licenses` ({packages: [{name, versionInfo, licenseId, extractedText}]}).
import fs from 'node:fs';
import path from 'node:path';
import webpack from 'webpack';

const LICENSE_FILE = /^(licen[sc]e|copying)(\.(md|txt|markdown))?$/i;

/** The directory of the npm package that owns `file`, or null outside node_modules. */
function packageDirOf(file) {
  const parts = file.split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return null;
  const depth = parts[at + 1]?.startsWith('@') ? 3 : 2;
  return parts.slice(0, at + depth).join(path.sep);
}

function describe(dir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const licenseFile = fs.readdirSync(dir).find((f) => LICENSE_FILE.test(f));
  const license = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type;
  return {
    name: pkg.name,
    versionInfo: pkg.version ?? '',
    licenseId: license ?? '',
    extractedText: licenseFile ? fs.readFileSync(path.join(dir, licenseFile), 'utf8') : '',
  };
}

export class LicenseReportPlugin {
  /** @param {{filename: string}} options */
  constructor(options) {
    this.filename = options.filename;
  }

  apply(compiler) {
    compiler.hooks.thisCompilation.tap('LicenseReportPlugin', (compilation) => {
      compilation.hooks.processAssets.tap(
        { name: 'LicenseReportPlugin', stage: webpack.Compilation.PROCESS_ASSETS_STAGE_REPORT },
        () => {
          const dirs = new Set();
          for (const module of compilation.modules) {
            const resource = module.resource ?? module.rootModule?.resource;
            const dir = resource && packageDirOf(resource);
            if (dir) dirs.add(dir);
            for (const inner of module.modules ?? []) {
              const innerDir = inner.resource && packageDirOf(inner.resource);
              if (innerDir) dirs.add(innerDir);
            }
          }
          const byName = new Map();
          for (const dir of dirs) {
            const entry = describe(dir);
            byName.set(`${entry.name}@${entry.versionInfo}`, entry);
          }
          const packages = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
          compilation.emitAsset(this.filename, new webpack.sources.RawSource(JSON.stringify({ packages }, null, 1)));
        },
      );
    });
  }
}
