import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serialize, deserialize } from '@jupyterlab/services/lib/kernel/serialize.js';
import type { KernelMessage as JlabMessage } from '@jupyterlab/services';
import type { KernelMessage } from './types.js';
import {
  V1_PROTOCOL,
  WsProtocolError,
  decodeJson,
  decodeMessage,
  decodeV1,
  encodeJson,
  encodeMessage,
  encodeV1,
  parseProtocolHeader,
  selectProtocol,
} from './ws-protocol.js';

function message(overrides: Partial<KernelMessage> = {}): KernelMessage {
  return {
    channel: 'shell',
    header: {
      msg_id: 'f0c1',
      msg_type: 'execute_request',
      session: '9a3e',
      username: '',
      date: '2024-05-02T09:14:03.120Z',
      version: '5.2',
      subshell_id: null,
    },
    parent_header: {},
    metadata: { cellId: 'a1b2c3d4', deletedCells: [], recordTiming: false },
    content: { code: 'x = "é"', silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: true },
    buffers: [],
    ...overrides,
  };
}

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const toArrayBuffer = (u: Uint8Array): ArrayBuffer => u.slice().buffer;
const plain = (u: Uint8Array | DataView): number[] => [...new Uint8Array(u.buffer, u.byteOffset, u.byteLength)];

/** Builds a v1 frame by hand, exactly as c.4 describes it. */
function handV1(channel: string, jsonParts: string[], buffers: Uint8Array[]): Uint8Array {
  const parts = [Buffer.from(channel), ...jsonParts.map((p) => Buffer.from(p)), ...buffers.map((b) => Buffer.from(b))];
  const n = 2 + (4 + buffers.length);
  const head = Buffer.alloc(8 * (n + 1));
  head.writeBigUInt64LE(BigInt(n), 0);
  let pos = head.length;
  parts.forEach((p, i) => {
    head.writeBigUInt64LE(BigInt(pos), 8 * (i + 1));
    pos += p.length;
  });
  head.writeBigUInt64LE(BigInt(pos), 8 * n);
  return new Uint8Array(Buffer.concat([head, ...parts]));
}

/** Builds a legacy binary frame by hand, as c.3 describes it. */
function handLegacy(json: string, buffers: Uint8Array[]): Uint8Array {
  const parts = [Buffer.from(json), ...buffers.map((b) => Buffer.from(b))];
  const head = Buffer.alloc(4 * (parts.length + 1));
  head.writeUInt32BE(parts.length, 0);
  let pos = head.length;
  parts.forEach((p, i) => {
    head.writeUInt32BE(pos, 4 * (i + 1));
    pos += p.length;
  });
  return new Uint8Array(Buffer.concat([head, ...parts]));
}

describe('subprotocol selection', () => {
  it('selects v1 when offered, among others', () => {
    assert.equal(selectProtocol(parseProtocolHeader('foo, v1.kernel.websocket.jupyter.org')), V1_PROTOCOL);
  });
  it('selects nothing (JSON form) when v1 is not offered', () => {
    assert.equal(selectProtocol(parseProtocolHeader(undefined)), null);
    assert.equal(selectProtocol(parseProtocolHeader('chat, superchat')), null);
  });
});

describe('v1 binary form', () => {
  it('matches a frame built by hand from the spec (no buffers: 6 offsets, data at byte 56)', () => {
    const msg = message();
    const frame = encodeV1(msg);
    assert.equal(frame.binary, true);
    const expected = handV1(
      'shell',
      [JSON.stringify(msg.header), '{}', JSON.stringify(msg.metadata), JSON.stringify(msg.content)],
      [],
    );
    assert.deepEqual(plain(frame.data as Uint8Array), plain(expected));
    const dv = Buffer.from(frame.data as Uint8Array);
    assert.equal(dv.readBigUInt64LE(0), 6n);
    assert.equal(dv.readBigUInt64LE(8), 56n);
    assert.equal(dv.readBigUInt64LE(16), 56n + 5n);
    assert.equal(Number(dv.readBigUInt64LE(48)), dv.length, 'last offset = frame length');
  });

  it('round-trips a message with two buffers', () => {
    const msg = message({ channel: 'iopub', buffers: [bytes(1, 2, 3), bytes(), bytes(255)] });
    const back = decodeV1(encodeV1(msg).data, true);
    assert.deepEqual(back.header, msg.header);
    assert.equal(back.channel, 'iopub');
    assert.deepEqual(back.content, msg.content);
    assert.deepEqual(back.buffers.map(plain), [[1, 2, 3], [], [255]]);
  });

  it('decodes a hand-built frame with buffers', () => {
    const header = { msg_id: 'm1', msg_type: 'comm_msg', session: 's1', username: 'u', date: '2024-01-01T00:00:00Z', version: '5.3' };
    const frame = handV1('shell', [JSON.stringify(header), 'null', '{}', '{"comm_id":"c","data":{}}'], [bytes(9, 8), bytes(7)]);
    const msg = decodeV1(frame, true);
    assert.equal(msg.header.msg_type, 'comm_msg');
    assert.deepEqual(msg.parent_header, {});
    assert.deepEqual(msg.buffers.map(plain), [[9, 8], [7]]);
  });

  it('is read and written identically by @jupyterlab/services', () => {
    const msg = message({ buffers: [bytes(4, 5, 6)] });
    const theirs = deserialize(toArrayBuffer(encodeV1(msg).data as Uint8Array), V1_PROTOCOL);
    assert.deepEqual(theirs.header, msg.header);
    assert.deepEqual(theirs.content, msg.content);
    assert.deepEqual((theirs.buffers ?? []).map((b) => plain(b as DataView)), [[4, 5, 6]]);
    const fromClient = serialize({ ...msg, buffers: [bytes(7, 7).buffer] } as unknown as JlabMessage.IMessage, V1_PROTOCOL);
    const ours = decodeV1(new Uint8Array(fromClient as ArrayBuffer), true);
    assert.deepEqual(ours.metadata, msg.metadata);
    assert.deepEqual(ours.buffers.map(plain), [[7, 7]]);
  });

  it('rejects malformed frames with WsProtocolError', () => {
    const good = encodeV1(message()).data as Uint8Array;
    const cases: [string, Uint8Array | string, boolean][] = [
      ['text frame', '{"channel":"shell"}', false],
      ['too short', bytes(1, 2, 3), true],
      ['huge offset count', Uint8Array.from([...good.subarray(0, 8)].map((_, i) => (i === 7 ? 0x7f : 0xff))), true],
      ['truncated', good.subarray(0, good.byteLength - 3), true],
      ['bad JSON', handV1('shell', ['{', '{}', '{}', '{}'], []), true],
      ['bad header', handV1('shell', ['{"msg_id":1}', '{}', '{}', '{}'], []), true],
      ['unknown channel', handV1('heartbeat', [JSON.stringify(message().header), '{}', '{}', '{}'], []), true],
    ];
    for (const [name, data, binary] of cases) {
      assert.throws(() => decodeV1(data, binary), WsProtocolError, name);
    }
    const swapped = Buffer.from(good);
    swapped.writeBigUInt64LE(10n, 8 * 3); // offsets going backwards
    assert.throws(() => decodeV1(new Uint8Array(swapped), true), WsProtocolError);
  });
});

describe('JSON (default) form', () => {
  it('encodes a message without buffers as one text frame with channel and string dates', () => {
    const frame = encodeJson(message({ channel: 'iopub' }));
    assert.equal(frame.binary, false);
    const obj = JSON.parse(frame.data as string);
    assert.equal(obj.channel, 'iopub');
    assert.equal(obj.header.date, '2024-05-02T09:14:03.120Z');
    assert.equal(obj.msg_type, 'execute_request');
    assert.deepEqual(obj.buffers, []);
  });

  it('encodes buffers as the legacy binary frame, readable by @jupyterlab/services', () => {
    const msg = message({ channel: 'iopub', buffers: [bytes(1), bytes(2, 3)] });
    const frame = encodeJson(msg);
    assert.equal(frame.binary, true);
    const dv = Buffer.from(frame.data as Uint8Array);
    assert.equal(dv.readUInt32BE(0), 3, 'nbufs = buffers + 1');
    assert.equal(dv.readUInt32BE(4), 16, 'JSON starts after the offsets table');
    const theirs = deserialize(toArrayBuffer(frame.data as Uint8Array), '');
    assert.equal(theirs.channel, 'iopub');
    assert.deepEqual(theirs.content, msg.content);
    assert.deepEqual((theirs.buffers ?? []).map((b) => plain(b as DataView)), [[1], [2, 3]]);
  });

  it('decodes text and hand-built binary frames; a missing channel means shell', () => {
    const { channel: _c, buffers: _b, ...noChannel } = message();
    const msg = decodeJson(JSON.stringify(noChannel), false);
    assert.equal(msg.channel, 'shell');
    assert.deepEqual(msg.buffers, []);
    const bin = decodeJson(handLegacy(JSON.stringify({ ...noChannel, channel: 'stdin' }), [bytes(5, 6)]), true);
    assert.equal(bin.channel, 'stdin');
    assert.deepEqual(bin.buffers.map(plain), [[5, 6]]);
  });

  it('reads what @jupyterlab/services writes with and without buffers', () => {
    const text = serialize(message() as unknown as JlabMessage.IMessage, '');
    assert.equal(typeof text, 'string');
    assert.equal(decodeJson(text as string, false).header.msg_id, 'f0c1');
    const bin = serialize({ ...message(), buffers: [bytes(1, 2).buffer] } as unknown as JlabMessage.IMessage, '');
    const ours = decodeJson(new Uint8Array(bin as ArrayBuffer), true);
    assert.deepEqual(ours.buffers.map(plain), [[1, 2]]);
  });

  it('fills a missing date and metadata, keeps unknown header keys', () => {
    const msg = decodeJson(
      JSON.stringify({ header: { msg_id: 'x', msg_type: 'kernel_info_request', session: 's', extra: 1 }, content: {} }),
      false,
    );
    assert.equal(typeof msg.header.date, 'string');
    assert.equal(msg.header.extra, 1);
    assert.deepEqual(msg.metadata, {});
    assert.deepEqual(msg.parent_header, {});
  });

  it('rejects malformed frames with WsProtocolError', () => {
    const cases: [string, string | Uint8Array, boolean][] = [
      ['not JSON', '{oops', false],
      ['array', '[1,2]', false],
      ['no header', '{"content":{}}', false],
      ['no content', JSON.stringify({ header: message().header }), false],
      ['bad channel', JSON.stringify({ ...message(), channel: 'hb' }), false],
      ['binary too short', bytes(0, 0), true],
      ['binary bad count', bytes(0, 0, 0, 9, 0, 0, 0, 8), true],
      ['binary bad offset', bytes(0, 0, 0, 1, 0, 0, 0, 99), true],
    ];
    for (const [name, data, binary] of cases) {
      assert.throws(() => decodeJson(data, binary), WsProtocolError, name);
    }
  });
});

describe('encodeMessage/decodeMessage', () => {
  it('round-trip in both forms', () => {
    for (const protocol of ['v1', 'json'] as const) {
      const msg = message({ channel: 'control', buffers: [bytes(42)] });
      const frame = encodeMessage(protocol, msg);
      const back = decodeMessage(protocol, frame.data, frame.binary);
      assert.deepEqual({ ...back, buffers: back.buffers.map(plain) }, { ...msg, buffers: [[42]] }, protocol);
    }
  });
});
