import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { renderErrorCatalogMarkdown } from '@eucp/core';
import { renderConfigDocs } from '@eucp/hub/config/index';

/** Generated documents and their renderers. */
export const GENERATED_DOCS: Record<string, { file: string; render: () => string }> = {
  config: { file: 'docs/configuration.md', render: renderConfigDocs },
  errors: { file: 'docs/errors.md', render: renderErrorCatalogMarkdown },
};

/** `eucp docs [config|errors] [--root DIR]`: regenerates docs generated from code. */
export function register(program: Command): void {
  program
    .command('docs')
    .description('regenerate docs/configuration.md and docs/errors.md from the code')
    .argument('[which...]', 'config and/or errors (default: both)')
    .option('--root <dir>', 'repository root', '.')
    .action((which: string[], opts: { root: string }) => {
      const names = which.length ? which : Object.keys(GENERATED_DOCS);
      for (const name of names) {
        const doc = GENERATED_DOCS[name];
        if (!doc) throw new Error(`unknown document ${name}: use ${Object.keys(GENERATED_DOCS).join(' or ')}`);
        const file = path.join(opts.root, doc.file);
        const text = doc.render();
        let old = '';
        try { old = readFileSync(file, 'utf8'); } catch { /* new file */ }
        if (old !== text) writeFileSync(file, text);
        process.stdout.write(`${doc.file}${old === text ? ' (unchanged)' : ' written'}\n`);
      }
    });
}
