import { createConnection, type Socket } from 'node:net';
import {
  FrameDecoder,
  encodeFrame,
  holderMessageSchema,
  type ClientMessage,
  type HolderInfo,
  type HolderMessage,
} from './protocol.js';

/** Why connecting to a holder failed: `stale` means no holder listens on that socket. */
export class HolderConnectError extends Error {
  constructor(
    message: string,
    readonly stale: boolean,
  ) {
    super(message);
    this.name = 'HolderConnectError';
  }
}

const STALE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTSOCK']);

/**
 * The lab server's side of one connection to a terminal holder (`protocol.ts`).
 * Created by {@link HolderConnection.connect}, which resolves once the holder has said
 * who it is. Messages that arrive before a listener is set are kept for it.
 */
export class HolderConnection {
  private listener: ((message: HolderMessage) => void) | null = null;
  private queued: HolderMessage[] = [];
  private closeListeners: (() => void)[] = [];
  private isClosed = false;

  private constructor(
    private readonly socket: Socket,
    readonly info: HolderInfo,
  ) {
    socket.on('close', () => {
      this.isClosed = true;
      for (const listener of this.closeListeners.splice(0)) listener();
    });
  }

  /**
   * Connects to the holder listening on `socketPath`. Rejects with a
   * {@link HolderConnectError} when nobody listens (`stale`), the peer misbehaves or it
   * does not answer within `timeoutMs`.
   */
  static connect(socketPath: string, timeoutMs = 10_000): Promise<HolderConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const decoder = new FrameDecoder(holderMessageSchema);
      let connection: HolderConnection | null = null;
      const fail = (err: HolderConnectError): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new HolderConnectError(`terminal holder on ${socketPath} did not answer`, false)),
        timeoutMs,
      );
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (!connection) fail(new HolderConnectError(`${socketPath}: ${err.message}`, STALE_CODES.has(err.code ?? '')));
      });
      socket.on('close', () => {
        if (!connection) fail(new HolderConnectError(`terminal holder on ${socketPath} hung up`, false));
      });
      socket.on('data', (chunk: Buffer) => {
        let messages: HolderMessage[];
        try {
          messages = decoder.push(chunk);
        } catch (err) {
          if (!connection) fail(new HolderConnectError(`bad frame from ${socketPath}: ${String(err)}`, false));
          socket.destroy();
          return;
        }
        for (const message of messages) {
          if (connection) {
            connection.dispatch(message);
          } else if (message.type === 'info') {
            clearTimeout(timer);
            connection = new HolderConnection(socket, message);
            resolve(connection);
          } else {
            fail(new HolderConnectError(`terminal holder on ${socketPath} did not introduce itself`, false));
            return;
          }
        }
      });
    });
  }

  /** True once the connection is closed (by either side). */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Sets the one message listener and hands it what arrived before. */
  onMessage(listener: (message: HolderMessage) => void): void {
    this.listener = listener;
    for (const message of this.queued.splice(0)) listener(message);
  }

  /** Called once when the connection closes (immediately if it already has). */
  onClose(listener: () => void): void {
    if (this.isClosed) listener();
    else this.closeListeners.push(listener);
  }

  /** Resolves once the connection is closed. */
  whenClosed(): Promise<void> {
    return new Promise((resolve) => this.onClose(resolve));
  }

  send(message: ClientMessage): void {
    if (!this.isClosed && !this.socket.destroyed) this.socket.write(encodeFrame(message));
  }

  /** Closes the connection; idempotent. The holder keeps running. */
  close(): void {
    this.socket.destroy();
  }

  private dispatch(message: HolderMessage): void {
    if (this.listener) this.listener(message);
    else this.queued.push(message);
  }
}
