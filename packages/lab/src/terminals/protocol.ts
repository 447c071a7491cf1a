/**
 * The framed protocol between the lab server and a terminal holder over the holder's
 * unix socket `<stateDir>/terminals/<name>.sock`.
 *
 * A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. Every
 * message is an object with a `type`; both sides validate what they receive with zod.
 *
 * Conversation: on connect the holder sends `info`. A client then sends `attach` once:
 * with `replay` it first receives `state` (the serialized screen + scrollback) and, with
 * `output`, every later chunk of PTY output as `output`, without a gap or an overlap
 * between the two. Every attached client receives `activity` (throttled) and `exit`.
 * `input`, `resize`, `kill` and `status` may be sent at any time.
 */
import { join } from 'node:path';
import { z } from 'zod';

/** Terminal names are `\w+` (jupyter-server-api.md b.7); they become file names. */
export const TERMINAL_NAME = /^\w{1,64}$/;

/** Largest frame accepted (a serialized 10,000-line scrollback stays well below). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

const size = z.number().int().min(1).max(10_000);

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('attach'), replay: z.boolean(), output: z.boolean() }),
  z.object({ type: z.literal('input'), data: z.string() }),
  z.object({ type: z.literal('resize'), rows: size, cols: size }),
  z.object({ type: z.literal('kill') }),
  z.object({ type: z.literal('status') }),
]);
/** A message from the lab server to a holder. */
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export const holderInfoSchema = z.object({
  type: z.literal('info'),
  name: z.string(),
  holderPid: z.number().int(),
  shellPid: z.number().int(),
  /** Epoch ms. */
  createdAt: z.number(),
  /** Epoch ms of the latest input or output. */
  lastActivity: z.number(),
  rows: z.number().int(),
  cols: z.number().int(),
});
/** What a holder says about itself on connect. */
export type HolderInfo = z.infer<typeof holderInfoSchema>;

export const holderMessageSchema = z.discriminatedUnion('type', [
  holderInfoSchema,
  z.object({ type: z.literal('state'), data: z.string() }),
  z.object({ type: z.literal('output'), data: z.string() }),
  z.object({ type: z.literal('activity'), at: z.number() }),
  z.object({ type: z.literal('status'), busy: z.boolean(), process: z.string() }),
  z.object({ type: z.literal('exit'), exitCode: z.number().int(), signal: z.number().int().nullable() }),
]);
/** A message from a holder to the lab server. */
export type HolderMessage = z.infer<typeof holderMessageSchema>;

/** Encodes one message as a frame. */
export function encodeFrame(message: ClientMessage | HolderMessage): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Splits a byte stream into frames and parses each with `schema`. `push` throws on a
 * frame that is too large, not JSON or does not match; the caller then drops the peer.
 */
export class FrameDecoder<T> {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly schema: z.ZodType<T>) {}

  /** Feeds received bytes; returns the complete messages they finish, in order. */
  push(chunk: Buffer): T[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const out: T[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) throw new Error(`terminal frame of ${length} bytes is too large`);
      if (this.buffered.length < 4 + length) break;
      const body = this.buffered.subarray(4, 4 + length).toString('utf8');
      this.buffered = this.buffered.subarray(4 + length);
      out.push(this.schema.parse(JSON.parse(body)));
    }
    return out;
  }
}

/** Where a terminal's files live, all under `<stateDir>/terminals/`. */
export interface TerminalPaths {
  dir: string;
  socket: string;
  state: string;
  log: string;
}

/** The paths of terminal `name` (validated: throws on a name that is not `\w+`). */
export function terminalPaths(stateDir: string, name: string): TerminalPaths {
  if (!TERMINAL_NAME.test(name)) throw new Error(`invalid terminal name: ${JSON.stringify(name)}`);
  const dir = join(stateDir, 'terminals');
  return {
    dir,
    socket: join(dir, `${name}.sock`),
    state: join(dir, `${name}.state`),
    log: join(dir, `${name}.log`),
  };
}

/** Contents of `<name>.state`: the screen state written by the holder (atomically). */
export const stateFileSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  createdAt: z.number(),
  lastActivity: z.number(),
  rows: z.number().int(),
  cols: z.number().int(),
  /** Set once the shell has exited (the final state). */
  exit: z.object({ exitCode: z.number().int(), signal: z.number().int().nullable() }).nullable(),
  /** Serialized screen and scrollback (xterm escape sequences). */
  data: z.string(),
});
export type StateFile = z.infer<typeof stateFileSchema>;

/** Configuration the manager hands a holder (argv[2], JSON). */
export const holderConfigSchema = z.object({
  name: z.string().regex(TERMINAL_NAME),
  stateDir: z.string(),
  cwd: z.string(),
  shell: z.string(),
  rows: size,
  cols: size,
  scrollback: z.number().int().min(0),
});
export type HolderConfig = z.infer<typeof holderConfigSchema>;
