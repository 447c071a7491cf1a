import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNameList } from './names.js';

test('parseNameList splits, lower-cases and de-duplicates', () => {
  assert.deepEqual(parseNameList('alice, Bob\ncarol;dave  alice'), { names: ['alice', 'bob', 'carol', 'dave'], invalid: [] });
  assert.deepEqual(parseNameList('   '), { names: [], invalid: [] });
});

test('parseNameList reports names the hub would refuse', () => {
  assert.deepEqual(parseNameList('ok 1bad x@y ok'), { names: ['ok'], invalid: ['1bad', 'x@y'] });
  assert.deepEqual(parseNameList('a'.repeat(33)).invalid.length, 1);
});
