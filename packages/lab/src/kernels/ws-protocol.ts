/**
 * The two wire forms of Jupyter messages on the kernel WebSocket
 * (jupyter-server-api.md c.3, c.4), pure functions without I/O:
 *
 * - the default ("legacy", JSON) form: one JSON text frame per message with a `channel`
 *   key; a message with binary buffers becomes one binary frame
 *   `[uint32 BE nbufs][nbufs × uint32 BE offsets][JSON][buffer…]`;
 * - `v1.kernel.websocket.jupyter.org`: one binary frame per message,
 *   `[uint64 LE n][n × uint64 LE offsets][channel][header][parent][metadata][content][buffer…]`.
 *
 * Decoding validates what a client sent with zod and throws {@link WsProtocolError} on
 * anything malformed; the bridge drops such frames with a log line.
 */
import { z } from 'zod';
import type { Channel, KernelMessage, MessageHeader } from './types.js';

/** The subprotocol JupyterLab 4 offers first. */
export const V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org';

/** Wire form of one WebSocket: `v1` binary frames, or the default JSON form. */
export type WsProtocol = 'v1' | 'json';

/** One frame to send: text (`binary: false`) or binary. */
export interface WsFrame {
  data: string | Uint8Array;
  binary: boolean;
}

/** A frame a client sent that cannot be turned into a kernel message. */
export class WsProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WsProtocolError';
  }
}

/**
 * The subprotocol the server selects from the client's offer (c.1): v1 when offered,
 * otherwise none (the JSON form).
 */
export function selectProtocol(offered: readonly string[]): typeof V1_PROTOCOL | null {
  return offered.includes(V1_PROTOCOL) ? V1_PROTOCOL : null;
}

/** Parses a `Sec-WebSocket-Protocol` header value into its tokens. */
export function parseProtocolHeader(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

const CHANNELS = ['shell', 'iopub', 'stdin', 'control'] as const;

const headerSchema = z.looseObject({
  msg_id: z.string().min(1),
  msg_type: z.string().min(1),
  session: z.string(),
  username: z.string().default(''),
  // JupyterLab always sends it; clients that omit it get the time of arrival.
  date: z.string().optional(),
  version: z.string().default('5.3'),
});

const objectSchema = z.record(z.string(), z.unknown());

const clientMessageSchema = z.object({
  channel: z.enum(CHANNELS),
  header: headerSchema,
  parent_header: objectSchema.nullish().transform((v) => v ?? {}),
  metadata: objectSchema.nullish().transform((v) => v ?? {}),
  content: objectSchema,
});

function toMessage(raw: unknown, buffers: Uint8Array[]): KernelMessage {
  const parsed = clientMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new WsProtocolError(`invalid kernel message: ${where}${issue?.message ?? 'bad input'}`);
  }
  const { channel, header, parent_header, metadata, content } = parsed.data;
  const fullHeader: MessageHeader = { ...header, date: header.date ?? new Date().toISOString() };
  return {
    channel: channel as Channel,
    header: fullHeader,
    parent_header: parent_header as Partial<MessageHeader>,
    metadata,
    content,
    buffers,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    throw new WsProtocolError(`${what} is not valid UTF-8 JSON`);
  }
}

function view(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

/** Checks that `offsets` only grow and stay inside a frame of `length` bytes. */
function checkOffsets(offsets: number[], start: number, length: number): void {
  let prev = start;
  for (const o of offsets) {
    if (o < prev || o > length) throw new WsProtocolError('frame offsets are out of order or out of range');
    prev = o;
  }
}

// ---------------------------------------------------------------------------------------
// Default (JSON) form

/**
 * Decodes a client frame in the default form: a JSON text frame, or the binary form with
 * buffers. A message without `channel` is a `shell` message (c.3).
 */
export function decodeJson(data: string | Uint8Array, binary: boolean): KernelMessage {
  if (!binary) {
    const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new WsProtocolError('text frame is not valid JSON');
    }
    return toMessage(withDefaultChannel(raw), []);
  }
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  if (bytes.byteLength < 4) throw new WsProtocolError('binary frame too short');
  const dv = view(bytes);
  const nbufs = dv.getUint32(0, false);
  if (nbufs < 1 || 4 * (nbufs + 1) > bytes.byteLength) throw new WsProtocolError('binary frame has a bad buffer count');
  const offsets: number[] = [];
  for (let i = 1; i <= nbufs; i++) offsets.push(dv.getUint32(4 * i, false));
  checkOffsets(offsets, 4 * (nbufs + 1), bytes.byteLength);
  const parts = offsets.map((start, i) => bytes.subarray(start, offsets[i + 1] ?? bytes.byteLength));
  const [json, ...buffers] = parts;
  return toMessage(withDefaultChannel(parseJson(json!, 'message JSON')), buffers);
}

function withDefaultChannel(raw: unknown): unknown {
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && (raw as { channel?: unknown }).channel == null) {
    return { ...raw, channel: 'shell' };
  }
  return raw;
}

/**
 * Encodes a kernel message in the default form: a text frame when it has no buffers,
 * else the binary buffers form. Like jupyter_server, the JSON carries `msg_id` and
 * `msg_type` next to the header, and `buffers: []` in text frames.
 */
export function encodeJson(msg: KernelMessage): WsFrame {
  const body = {
    channel: msg.channel,
    header: msg.header,
    msg_id: msg.header.msg_id,
    msg_type: msg.header.msg_type,
    parent_header: msg.parent_header ?? {},
    metadata: msg.metadata,
    content: msg.content,
  };
  if (msg.buffers.length === 0) return { data: JSON.stringify({ ...body, buffers: [] }), binary: false };
  const json = encoder.encode(JSON.stringify(body));
  const parts = [json, ...msg.buffers];
  const nbufs = parts.length;
  const headerLen = 4 * (nbufs + 1);
  const total = headerLen + parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  const dv = view(out);
  dv.setUint32(0, nbufs, false);
  let pos = headerLen;
  parts.forEach((p, i) => {
    dv.setUint32(4 * (i + 1), pos, false);
    out.set(p, pos);
    pos += p.byteLength;
  });
  return { data: out, binary: true };
}

// ---------------------------------------------------------------------------------------
// v1.kernel.websocket.jupyter.org

/** Largest offset count accepted (1 channel + 4 JSON parts + buffers + end). */
const MAX_V1_OFFSETS = 1 << 16;

/** Decodes a client frame in the v1 binary form (c.4). Text frames are not v1. */
export function decodeV1(data: string | Uint8Array, binary: boolean): KernelMessage {
  if (!binary || typeof data === 'string') throw new WsProtocolError('v1 protocol frames must be binary');
  if (data.byteLength < 8) throw new WsProtocolError('v1 frame too short');
  const dv = view(data);
  const n64 = dv.getBigUint64(0, true);
  if (n64 < 6n || n64 > BigInt(MAX_V1_OFFSETS) || 8n * (n64 + 1n) > BigInt(data.byteLength)) {
    throw new WsProtocolError('v1 frame has a bad offset count');
  }
  const n = Number(n64);
  const offsets: number[] = [];
  for (let i = 1; i <= n; i++) {
    const o = dv.getBigUint64(8 * i, true);
    if (o > BigInt(data.byteLength)) throw new WsProtocolError('v1 frame offset beyond the frame');
    offsets.push(Number(o));
  }
  checkOffsets(offsets, 8 * (n + 1), data.byteLength);
  const part = (i: number): Uint8Array => data.subarray(offsets[i]!, offsets[i + 1]!);
  let channel: string;
  try {
    channel = utf8.decode(part(0));
  } catch {
    throw new WsProtocolError('v1 channel is not UTF-8');
  }
  const raw = {
    channel,
    header: parseJson(part(1), 'header'),
    parent_header: parseJson(part(2), 'parent_header'),
    metadata: parseJson(part(3), 'metadata'),
    content: parseJson(part(4), 'content'),
  };
  const buffers: Uint8Array[] = [];
  for (let i = 5; i < n - 1; i++) buffers.push(part(i));
  return toMessage(raw, buffers);
}

/** Encodes a kernel message as one v1 binary frame (c.4). */
export function encodeV1(msg: KernelMessage): WsFrame {
  const parts: Uint8Array[] = [
    encoder.encode(msg.channel),
    encoder.encode(JSON.stringify(msg.header)),
    encoder.encode(JSON.stringify(msg.parent_header ?? {})),
    encoder.encode(JSON.stringify(msg.metadata ?? {})),
    encoder.encode(JSON.stringify(msg.content ?? {})),
    ...msg.buffers,
  ];
  const n = parts.length + 1;
  const headerLen = 8 * (n + 1);
  const total = headerLen + parts.reduce((sum, p) => sum + p.byteLength, 0);
  const out = new Uint8Array(total);
  const dv = view(out);
  dv.setBigUint64(0, BigInt(n), true);
  let pos = headerLen;
  parts.forEach((p, i) => {
    dv.setBigUint64(8 * (i + 1), BigInt(pos), true);
    out.set(p, pos);
    pos += p.byteLength;
  });
  dv.setBigUint64(8 * n, BigInt(total), true);
  return { data: out, binary: true };
}

// ---------------------------------------------------------------------------------------

/** Encodes `msg` in the given wire form. */
export function encodeMessage(protocol: WsProtocol, msg: KernelMessage): WsFrame {
  return protocol === 'v1' ? encodeV1(msg) : encodeJson(msg);
}

/** Decodes a client frame in the given wire form; throws {@link WsProtocolError}. */
export function decodeMessage(protocol: WsProtocol, data: string | Uint8Array, binary: boolean): KernelMessage {
  return protocol === 'v1' ? decodeV1(data, binary) : decodeJson(data, binary);
}
