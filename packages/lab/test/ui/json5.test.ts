/** The JSON5 reader and the schema checker used for JupyterLab user settings. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Json5Error, parseJson5 } from '../../src/ui/json5.js';
import { validate } from '../../src/ui/json-schema.js';

describe('parseJson5', () => {
  it('reads the settings files JupyterLab writes (comments, trailing commas)', () => {
    const text = `{
    // Theme
    // @jupyterlab/apputils-extension:themes
    /* block
       comment */
    "theme": "JupyterLab Dark",
    "overrides": { "code-font-size": "13px", },
}`;
    assert.deepEqual(parseJson5(text), { theme: 'JupyterLab Dark', overrides: { 'code-font-size': '13px' } });
  });

  it('reads the rest of JSON5: unquoted keys, single quotes, escapes, numbers', () => {
    const value = parseJson5(`{unquoted: 'it\\'s', $x_1: [0x1F, +1, -.5, 2., 1e3, Infinity, -Infinity], nl: 'a\\
b', u: "\\u00e9\\x41", t: true, f: false, n: null}`) as Record<string, unknown>;
    assert.deepEqual(value, { unquoted: "it's", $x_1: [31, 1, -0.5, 2, 1000, Infinity, -Infinity], nl: 'ab', u: 'éA', t: true, f: false, n: null });
    assert.ok(Number.isNaN(parseJson5('NaN')));
    assert.equal(parseJson5('"ok"'), 'ok');
  });

  it('keeps "__proto__" as plain data', () => {
    const value = parseJson5('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ['__proto__']);
  });

  it('says where malformed text goes wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"a": 1', /line 1/],
      ['{\n  "a": 1,\n  "b" 2\n}', /Expected ':' at line 3/],
      ['{"a": 1} extra', /Unexpected text/],
      ['', /end of text/],
      ['{"a": "unterminated}', /Unterminated string/],
      ['/* never closed', /Unterminated comment/],
      ['[1 2]', /Expected ','/],
      ['{"a": undefined}', /Unexpected character/],
      ['['.repeat(10_000), /Nesting too deep/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseJson5(text), (err: unknown) => err instanceof Json5Error && message.test(err.message), text.slice(0, 30));
    }
  });
});

describe('validate (JSON Schema subset)', () => {
  const schema = {
    type: 'object',
    additionalProperties: false,
    definitions: { shortcut: { type: 'object', required: ['command', 'keys'], properties: { command: { type: 'string' }, keys: { type: 'array', items: { type: 'string' } } } } },
    properties: {
      theme: { type: 'string' },
      size: { type: 'integer', minimum: 1, maximum: 10 },
      mode: { oneOf: [{ const: 'auto' }, { const: 'manual' }] },
      shortcuts: { type: 'array', items: { $ref: '#/definitions/shortcut' } },
      width: { type: ['string', 'null'], pattern: '^\\d+px$' },
    },
  };

  it('accepts conforming settings', () => {
    assert.equal(validate(schema, {}), null);
    assert.equal(validate(schema, { theme: 'x', size: 3, mode: 'auto', shortcuts: [{ command: 'a', keys: ['Ctrl A'] }], width: '10px' }), null);
    assert.equal(validate(schema, { width: null }), null);
  });

  it('names the first problem', () => {
    assert.match(validate(schema, { theme: 1 })!, /\/theme: must be string/);
    assert.match(validate(schema, { size: 1.5 })!, /\/size: must be integer/);
    assert.match(validate(schema, { size: 11 })!, /\/size: must be ≤ 10/);
    assert.match(validate(schema, { mode: 'sometimes' })!, /\/mode: matches none/);
    assert.match(validate(schema, { shortcuts: [{ command: 'a' }] })!, /\/shortcuts\/0: missing required property 'keys'/);
    assert.match(validate(schema, { width: '10em' })!, /\/width: does not match/);
    assert.match(validate(schema, { other: true })!, /\/other: is not a known setting/);
  });
});
