/**
 * In-memory {@link Kernel} and {@link KernelManager} for tests of the code above the
 * kernel seam (bridge routing, sessions). `FakeKernel` records what it was sent and lets
 * the test play the kernel: `emit()` a message, `setState()` a status. Named
 * misbehaviour: `FakeKernelManager({ failStart })` makes every start fail.
 */
import { randomUUID } from 'node:crypto';
import type {
  ExecutionState,
  Kernel,
  KernelManager,
  KernelMessage,
  KernelModel,
  KernelSpec,
  KernelStatusEvent,
  StartKernelOptions,
} from '../../src/kernels/types.js';

export class FakeKernel implements Kernel {
  readonly id = randomUUID();
  private conns = 0;
  private readonly connWaiters: { n: number; resolve: () => void }[] = [];
  state: ExecutionState = 'idle';
  readonly sent: KernelMessage[] = [];
  touched = 0;
  private readonly messageListeners = new Set<(m: KernelMessage) => void>();
  private readonly statusListeners = new Set<(e: KernelStatusEvent) => void>();
  private readonly sentWaiters: ((m: KernelMessage) => void)[] = [];

  constructor(
    readonly name: string,
    readonly options: StartKernelOptions,
  ) {}

  get connections(): number {
    return this.conns;
  }
  set connections(n: number) {
    this.conns = n;
    for (const w of this.connWaiters.splice(0)) (w.n === n ? w.resolve() : this.connWaiters.push(w));
  }
  /** Resolves once the bridge reports `n` attached clients. */
  waitConnections(n: number): Promise<void> {
    if (this.conns === n) return Promise.resolve();
    return new Promise((resolve) => this.connWaiters.push({ n, resolve }));
  }

  model(): KernelModel {
    return { id: this.id, name: this.name, last_activity: new Date().toISOString(), execution_state: this.state, connections: this.connections };
  }
  send(msg: KernelMessage): void {
    if (this.state === 'dead') return;
    this.sent.push(msg);
    for (const w of this.sentWaiters.splice(0)) w(msg);
  }
  /** Resolves with the next message a client sends (or the latest if one is already there and `n` reached). */
  nextSent(n = this.sent.length + 1): Promise<KernelMessage> {
    if (this.sent.length >= n) return Promise.resolve(this.sent[n - 1]!);
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.sent.length >= n) resolve(this.sent[n - 1]!);
        else this.sentWaiters.push(check);
      };
      this.sentWaiters.push(check);
    });
  }
  onMessage(listener: (msg: KernelMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }
  onStatus(listener: (ev: KernelStatusEvent) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }
  async interrupt(): Promise<void> {}
  async restart(): Promise<void> {
    this.setState('restarting');
    this.setState('idle');
  }
  async shutdown(): Promise<void> {
    if (this.state !== 'dead') this.setState('dead');
  }
  touch(): void {
    this.touched++;
  }
  /** Plays the kernel sending `msg`. */
  emit(msg: KernelMessage): void {
    for (const l of this.messageListeners) l(msg);
  }
  setState(state: ExecutionState): void {
    this.state = state;
    for (const l of this.statusListeners) l({ state });
  }
  /** A kernel message on `channel` answering `parent` (or with no parent). */
  reply(channel: KernelMessage['channel'], msgType: string, parent: KernelMessage | null, content: Record<string, unknown> = {}): KernelMessage {
    return {
      channel,
      header: { msg_id: randomUUID(), msg_type: msgType, session: 'kernel-session', username: 'kernel', date: new Date().toISOString(), version: '5.3' },
      parent_header: parent ? parent.header : {},
      metadata: {},
      content,
      buffers: [],
    };
  }
}

const spec = (name: string): KernelSpec => ({
  name,
  resourceDir: '/nonexistent',
  spec: { argv: ['true'], display_name: name, language: 'python' },
  resources: [],
});

export class FakeKernelManager implements KernelManager {
  readonly kernels = new Map<string, FakeKernel>();
  readonly started: FakeKernel[] = [];
  readonly shutdowns: string[] = [];

  constructor(private readonly opts: { failStart?: string } = {}) {}

  async specs(): Promise<{ default: string; kernelspecs: Record<string, KernelSpec> }> {
    return { default: 'python3', kernelspecs: { python3: spec('python3'), ir: spec('ir') } };
  }
  list(): Kernel[] {
    return [...this.kernels.values()];
  }
  get(id: string): FakeKernel | undefined {
    return this.kernels.get(id);
  }
  async start(opts: StartKernelOptions): Promise<Kernel> {
    if (this.opts.failStart) throw new Error(this.opts.failStart);
    await new Promise((resolve) => setImmediate(resolve)); // starting takes a while
    const k = new FakeKernel(opts.name ?? 'python3', opts);
    this.kernels.set(k.id, k);
    this.started.push(k);
    return k;
  }
  async shutdown(id: string): Promise<void> {
    const k = this.kernels.get(id);
    if (!k) return;
    this.shutdowns.push(id);
    await k.shutdown();
    this.kernels.delete(id);
  }
  async shutdownAll(): Promise<void> {
    for (const id of [...this.kernels.keys()]) await this.shutdown(id);
  }
  onKernel(): () => void {
    return () => {};
  }
  /** Adds a kernel as if it had been re-adopted. */
  adopt(k: FakeKernel): void {
    this.kernels.set(k.id, k);
  }
}
