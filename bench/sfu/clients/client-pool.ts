// The benchmark's side of the synthetic clients: one process for the publisher and one per
// `subscribersPerProcess` subscribers, each driven over IPC and killed by PID at the end.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onCleanup } from '../cleanup.ts';
import type { ClientReply, ClientRequest, ClientResult, ClientSettings, PeerState, PublisherStats, ReceivedStats } from './messages.ts';

const clientProcessPath = fileURLToPath(new URL('./client-process.ts', import.meta.url));
const READY_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 20_000;

class ClientProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (result: ClientResult) => void; reject: (error: Error) => void }>();
  private exited = false;
  private readonly unregisterCleanup: () => void;

  private constructor(private readonly child: ChildProcess) {
    this.unregisterCleanup = onCleanup(() => this.kill());
    child.on('message', (reply: ClientReply) => this.onReply(reply));
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const { reject } of this.pending.values()) reject(new Error(`client process exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  static async start(settings: ClientSettings): Promise<ClientProcess> {
    const child = fork(clientProcessPath, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PARLEY_BENCH_CLIENT_SETTINGS: JSON.stringify(settings) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const clientProcess = new ClientProcess(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('client process did not start in time')), READY_TIMEOUT_MS);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`client process exited on start (code ${code})`));
      });
    }).catch(async (error: unknown) => {
      await clientProcess.kill();
      throw error;
    });
    return clientProcess;
  }

  request<T extends ClientResult>(request: ClientRequest): Promise<T> {
    if (this.exited) return Promise.reject(new Error('client process has exited'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`client request ${request.type} timed out`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ id, request });
    });
  }

  async kill(): Promise<void> {
    this.unregisterCleanup();
    if (this.exited || this.child.pid === undefined) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    // SIGKILL: closing libdatachannel peers one by one can hang, and the OS frees their sockets.
    process.kill(this.child.pid, 'SIGKILL');
    await exited;
  }

  private onReply(reply: ClientReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new Error(reply.error));
  }
}

/** One synthetic WebRTC peer; signaling is the target's business, the SDP goes through here. */
export class PeerClient {
  constructor(
    readonly name: string,
    protected readonly process: ClientProcess,
  ) {}

  createOffer(): Promise<string> {
    return this.process.request<string>({ type: 'createOffer', peer: this.name });
  }

  /** Applies a remote offer and returns the complete answer (every local candidate inside). */
  acceptOffer(sdp: string): Promise<string> {
    return this.process.request<string>({ type: 'acceptOffer', peer: this.name, sdp });
  }

  async acceptAnswer(sdp: string): Promise<void> {
    await this.process.request({ type: 'acceptAnswer', peer: this.name, sdp });
  }

  async addRemoteCandidate(candidate: string, mid: string): Promise<void> {
    await this.process.request({ type: 'addRemoteCandidate', peer: this.name, candidate, mid });
  }

  state(): Promise<PeerState> {
    return this.process.request<PeerState>({ type: 'peerState', peer: this.name });
  }
}

export class PublisherClient extends PeerClient {
  async startPublishing(): Promise<void> {
    await this.process.request({ type: 'startPublishing', peer: this.name });
  }

  nextPacketIndex(): Promise<number> {
    return this.process.request<number>({ type: 'nextPacketIndex', peer: this.name });
  }

  stats(): Promise<PublisherStats> {
    return this.process.request<PublisherStats>({ type: 'publisherStats', peer: this.name });
  }
}

export const VIDEO_PAYLOAD_TYPE = 96;

export class ClientPool {
  private constructor(
    private readonly processes: ClientProcess[],
    readonly publisher: PublisherClient,
    readonly subscribers: PeerClient[],
    private readonly subscribersByProcess: Map<ClientProcess, PeerClient[]>,
  ) {}

  static async start(subscriberCount: number, subscribersPerProcess: number, settings: ClientSettings): Promise<ClientPool> {
    const processCount = 1 + Math.ceil(subscriberCount / subscribersPerProcess);
    const processes: ClientProcess[] = [];
    try {
      for (let i = 0; i < processCount; i++) processes.push(await ClientProcess.start(settings));
      const publisherProcess = processes[0]!;
      const publisher = new PublisherClient('publisher', publisherProcess);
      await publisherProcess.request({ type: 'createPublisher', peer: publisher.name, payloadType: VIDEO_PAYLOAD_TYPE });
      const subscribers: PeerClient[] = [];
      const subscribersByProcess = new Map<ClientProcess, PeerClient[]>();
      for (let i = 0; i < subscriberCount; i++) {
        const owner = processes[1 + Math.floor(i / subscribersPerProcess)]!;
        const subscriber = new PeerClient(`subscriber-${i + 1}`, owner);
        await owner.request({ type: 'createSubscriber', peer: subscriber.name });
        subscribers.push(subscriber);
        subscribersByProcess.set(owner, [...(subscribersByProcess.get(owner) ?? []), subscriber]);
      }
      return new ClientPool(processes, publisher, subscribers, subscribersByProcess);
    } catch (error) {
      await Promise.all(processes.map((clientProcess) => clientProcess.kill()));
      throw error;
    }
  }

  /** Distinct packets with an index in [fromIndex, toIndex) each subscriber received, and the NACKs they sent. */
  async receivedInWindow(fromIndex: number, toIndex: number): Promise<{ packets: number[]; nacksSent: number }> {
    const packets: number[] = [];
    let nacksSent = 0;
    for (const [owner, peers] of this.subscribersByProcess) {
      const stats = await owner.request<ReceivedStats>({ type: 'receivedStats', peers: peers.map((peer) => peer.name), fromIndex, toIndex });
      packets.push(...stats.inWindow);
      nacksSent += stats.nacksSent.reduce((sum, count) => sum + count, 0);
    }
    return { packets, nacksSent };
  }

  async close(): Promise<void> {
    await Promise.all(this.processes.map((clientProcess) => clientProcess.kill()));
  }
}
