import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_DOCS } from './commands/docs.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('generated documentation', () => {
  for (const [name, doc] of Object.entries(GENERATED_DOCS)) {
    it(`${doc.file} matches the code (regenerate with: npm run eucp -- docs ${name})`, () => {
      assert.equal(readFileSync(path.join(root, doc.file), 'utf8'), doc.render());
    });
  }
});
