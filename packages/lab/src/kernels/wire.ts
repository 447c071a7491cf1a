/**
 * The Jupyter messaging wire format (jupyter-server-api.md d.3/d.4): pure functions that turn
 * a {@link KernelMessage} into ZeroMQ frames and back, with the HMAC signature over the four
 * JSON frames. No sockets here, so everything is unit-testable.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Channel, KernelMessage, MessageHeader } from './types.js';

/** The frame that separates routing identities from the message proper. */
export const DELIMITER = Buffer.from('<IDS|MSG>', 'ascii');

/** Messaging protocol version we put in the headers we create. */
export const PROTOCOL_VERSION = '5.3';

/** A message that could not be read: malformed frames or a bad signature. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly kind: 'malformed' | 'signature',
  ) {
    super(message);
    this.name = 'WireError';
  }
}

/**
 * Signs and verifies messages for one connection (`key` + `signature_scheme` of the
 * connection file). An empty key disables signing: the signature frame is empty.
 */
export interface Signer {
  /** Lowercase hex HMAC over the concatenation of the frames, `''` when unsigned. */
  sign(frames: readonly Uint8Array[]): string;
  /** Constant-time check of `signature` (bytes of the hex string) against the frames. */
  verify(signature: Uint8Array, frames: readonly Uint8Array[]): boolean;
}

/**
 * Makes the {@link Signer} for a connection.
 * @param key the shared key (`key` in the connection file); `''` = unsigned.
 * @param scheme `hmac-<algorithm>` (`hmac-sha256` by default).
 * @throws Error if the scheme is not `hmac-…` or names an unknown hash algorithm.
 */
export function createSigner(key: string, scheme = 'hmac-sha256'): Signer {
  if (!scheme.startsWith('hmac-')) throw new Error(`Unsupported signature scheme ${scheme}`);
  const algorithm = scheme.slice('hmac-'.length);
  if (key === '') {
    return { sign: () => '', verify: (sig) => sig.length === 0 };
  }
  createHmac(algorithm, key); // throws now on an unknown algorithm, not on the first message
  const sign = (frames: readonly Uint8Array[]): string => {
    const hmac = createHmac(algorithm, key);
    for (const f of frames) hmac.update(f);
    return hmac.digest('hex');
  };
  return {
    sign,
    verify(signature, frames) {
      const expected = Buffer.from(sign(frames), 'ascii');
      return signature.length === expected.length && timingSafeEqual(signature, expected);
    },
  };
}

/**
 * A fresh header for a message we originate.
 * @param msgType e.g. `kernel_info_request`.
 * @param session the sender's session id (kept stable per client).
 */
export function newHeader(msgType: string, session: string, username = 'eucp-lab'): MessageHeader {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    session,
    username,
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}

/** Builds a complete message with a new header (parent `{}` unless given). */
export function newMessage(
  channel: Channel,
  msgType: string,
  session: string,
  content: Record<string, unknown> = {},
  parent: Partial<MessageHeader> = {},
): KernelMessage {
  return {
    channel,
    header: newHeader(msgType, session),
    parent_header: parent,
    metadata: {},
    content,
    buffers: [],
  };
}

/** The parts of a message that go on the wire (the channel is the socket it travels on). */
export type WireMessage = Pick<KernelMessage, 'header' | 'parent_header' | 'metadata' | 'content' | 'buffers'>;

/**
 * Serializes a message to ZeroMQ frames:
 * `[...identities, <IDS|MSG>, signature, header, parent_header, metadata, content, ...buffers]`.
 * @param identities routing prefix (none when sending from a DEALER).
 */
export function serialize(msg: WireMessage, signer: Signer, identities: readonly Uint8Array[] = []): Buffer[] {
  const parts = [
    Buffer.from(JSON.stringify(msg.header)),
    Buffer.from(JSON.stringify(msg.parent_header ?? {})),
    Buffer.from(JSON.stringify(msg.metadata ?? {})),
    Buffer.from(JSON.stringify(msg.content ?? {})),
  ];
  const frames: Buffer[] = identities.map((i) => Buffer.from(i.buffer, i.byteOffset, i.byteLength));
  frames.push(DELIMITER, Buffer.from(signer.sign(parts), 'ascii'), ...parts);
  for (const b of msg.buffers ?? []) frames.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  return frames;
}

const headerSchema = z.looseObject({
  msg_id: z.string(),
  msg_type: z.string(),
  session: z.string().catch(''),
  username: z.string().catch(''),
  date: z.string().catch(''),
  version: z.string().catch(''),
});
const dictSchema = z.record(z.string(), z.unknown());

function parseJson(frame: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('utf8'));
  } catch {
    throw new WireError(`${what} frame is not JSON`, 'malformed');
  }
}

function parseDict(frame: Uint8Array, what: string): Record<string, unknown> {
  const r = dictSchema.safeParse(parseJson(frame, what));
  if (!r.success) throw new WireError(`${what} frame is not a JSON object`, 'malformed');
  return r.data;
}

/** Result of {@link deserialize}: the message plus the routing identities before the delimiter. */
export interface Received {
  identities: Buffer[];
  /** The signature frame as received (hex text), for replay detection. */
  signature: string;
  msg: KernelMessage;
}

/**
 * Parses ZeroMQ frames into a message, verifying the signature first.
 * Splits at the first `<IDS|MSG>` frame; frames before it (ROUTER identities or an IOPub
 * topic) are returned as `identities`.
 * @param channel the channel the frames arrived on (stored in the message).
 * @throws WireError `signature` when the HMAC does not match, `malformed` when the frames
 *   are not a Jupyter message.
 */
export function deserialize(frames: readonly Uint8Array[], signer: Signer, channel: Channel): Received {
  const at = frames.findIndex((f) => f.length === DELIMITER.length && DELIMITER.equals(f));
  if (at < 0) throw new WireError('no <IDS|MSG> delimiter', 'malformed');
  if (frames.length < at + 6) throw new WireError(`too few frames (${frames.length - at - 1} after delimiter)`, 'malformed');
  const signature = frames[at + 1]!;
  const parts = frames.slice(at + 2, at + 6);
  if (!signer.verify(signature, parts)) throw new WireError('bad signature', 'signature');
  const header = headerSchema.safeParse(parseJson(parts[0]!, 'header'));
  if (!header.success) throw new WireError('header lacks msg_id/msg_type', 'malformed');
  const toBuf = (f: Uint8Array): Buffer => Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  return {
    identities: frames.slice(0, at).map(toBuf),
    signature: toBuf(signature).toString('ascii'),
    msg: {
      channel,
      header: header.data as MessageHeader,
      parent_header: parseDict(parts[1]!, 'parent_header') as Partial<MessageHeader>,
      metadata: parseDict(parts[2]!, 'metadata'),
      content: parseDict(parts[3]!, 'content'),
      buffers: frames.slice(at + 6).map(toBuf),
    },
  };
}
