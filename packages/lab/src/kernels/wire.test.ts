import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createSigner, deserialize, DELIMITER, newHeader, newMessage, serialize, WireError } from './wire.js';

const signer = createSigner('secret-key', 'hmac-sha256');

test('serialize lays out identities, delimiter, signature, four JSON frames and buffers', () => {
  const msg = newMessage('shell', 'execute_request', 'sess-1', { code: '1+1' });
  msg.buffers = [new Uint8Array([1, 2, 3])];
  const frames = serialize(msg, signer, [Buffer.from('peer')]);
  assert.equal(frames.length, 1 + 1 + 1 + 4 + 1);
  assert.equal(frames[0]!.toString(), 'peer');
  assert.ok(frames[1]!.equals(DELIMITER));
  assert.deepEqual(JSON.parse(frames[3]!.toString()), msg.header);
  assert.equal(frames[4]!.toString(), '{}');
  assert.deepEqual(JSON.parse(frames[6]!.toString()), { code: '1+1' });
  assert.deepEqual([...frames[7]!], [1, 2, 3]);
  // The signature is the HMAC-SHA256 of the four JSON frames, as jupyter_client computes it.
  const hmac = createHmac('sha256', 'secret-key');
  for (const f of frames.slice(3, 7)) hmac.update(f);
  assert.equal(frames[2]!.toString(), hmac.digest('hex'));
});

test('deserialize round-trips a message and returns the routing prefix', () => {
  const msg = newMessage('iopub', 'stream', 'kernel-sess', { name: 'stdout', text: 'hi\n' }, newHeader('execute_request', 'c'));
  msg.buffers = [Buffer.from('raw')];
  const { identities, msg: back } = deserialize(serialize(msg, signer, [Buffer.from('stream.stdout')]), signer, 'iopub');
  assert.deepEqual(identities.map(String), ['stream.stdout']);
  assert.equal(back.channel, 'iopub');
  assert.deepEqual(back.header, msg.header);
  assert.deepEqual(back.parent_header, msg.parent_header);
  assert.deepEqual(back.content, msg.content);
  assert.deepEqual(back.buffers.map((b) => Buffer.from(b).toString()), ['raw']);
});

test('a tampered frame or a wrong key fails the signature check', () => {
  const frames = serialize(newMessage('shell', 'execute_request', 's', { code: 'x' }), signer);
  const tampered = frames.slice();
  tampered[5] = Buffer.from('{"code":"import os"}');
  assert.throws(() => deserialize(tampered, signer, 'shell'), (e: unknown) => e instanceof WireError && e.kind === 'signature');
  assert.throws(() => deserialize(frames, createSigner('other-key'), 'shell'), /bad signature/);
  // A signature of a different length must not throw from timingSafeEqual.
  const short = frames.slice();
  short[1] = Buffer.from('abc');
  assert.throws(() => deserialize(short, signer, 'shell'), /bad signature/);
});

test('buffers are not signed', () => {
  const frames = serialize(newMessage('shell', 'comm_msg', 's'), signer);
  frames.push(Buffer.from('extra buffer'));
  assert.equal(deserialize(frames, signer, 'shell').msg.buffers.length, 1);
});

test('an empty key means unsigned messages with an empty signature frame', () => {
  const none = createSigner('');
  const frames = serialize(newMessage('shell', 'kernel_info_request', 's'), none);
  assert.equal(frames[1]!.length, 0);
  assert.equal(deserialize(frames, none, 'shell').msg.header.msg_type, 'kernel_info_request');
  assert.throws(() => deserialize(serialize(newMessage('shell', 'x', 's'), signer), none, 'shell'), /bad signature/);
});

test('malformed frames are rejected with a reason', () => {
  assert.throws(() => deserialize([Buffer.from('a'), Buffer.from('b')], signer, 'shell'), /delimiter/);
  assert.throws(() => deserialize([DELIMITER, Buffer.from('')], signer, 'shell'), /too few frames/);
  const parts = [Buffer.from('{"msg_type":"x"}'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')];
  assert.throws(() => deserialize([DELIMITER, Buffer.from(signer.sign(parts)), ...parts], signer, 'shell'), /msg_id/);
  const notJson = [Buffer.from('{"msg_id":"1","msg_type":"x"}'), Buffer.from('nope'), Buffer.from('{}'), Buffer.from('{}')];
  assert.throws(() => deserialize([DELIMITER, Buffer.from(signer.sign(notJson)), ...notJson], signer, 'shell'), /parent_header frame is not JSON/);
});

test('headers carry a unique id, an ISO date and protocol 5.3; unknown fields survive', () => {
  const a = newHeader('kernel_info_request', 's');
  const b = newHeader('kernel_info_request', 's');
  assert.notEqual(a.msg_id, b.msg_id);
  assert.match(a.msg_id, /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(a.date)));
  assert.equal(a.version, '5.3');
  const withExtra = { ...newMessage('shell', 'execute_request', 's'), header: { ...a, subshell_id: null } };
  assert.equal(deserialize(serialize(withExtra, signer), signer, 'shell').msg.header.subshell_id, null);
});

test('unknown hash algorithms and non-HMAC schemes are refused up front', () => {
  assert.throws(() => createSigner('k', 'hmac-nosuchhash'));
  assert.throws(() => createSigner('k', 'rsa-sha256'), /Unsupported signature scheme/);
});
