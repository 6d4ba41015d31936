// `npm run bench:sfu`: CPU per forwarded packet and delivery of Parley's SFU and Janus, one
// publisher at a fixed packet rate and N subscribers, same synthetic clients for both. The SFU
// runs in its own process(es), the clients in others, so the CPU read from /proc is the SFU's.
import { cleanUpOnSignals, runCleanups } from './cleanup.ts';
import { ClientPool } from './clients/client-pool.ts';
import { commandLine, totalCpuMicroseconds } from './cpu.ts';
import { hostAddress, type HostAddress } from './host-address.ts';
import { parseBenchOptions, USAGE, type BenchOptions, type TargetName } from './options.ts';
import { optionsOrExit } from '../cli.ts';
import { cpuByRoleLine, processRole, recordingCostLines, tableHeader, tableRow, verdict, type RoundOutcome, type RoundResult } from './report.ts';
import { JanusTarget } from './targets/janus.ts';
import { ParleyTarget } from './targets/parley.ts';
import { TargetUnavailableError, type SfuTarget } from './targets/target.ts';

const CONNECT_TIMEOUT_MS = 20_000;
const FIRST_MEDIA_TIMEOUT_MS = 20_000;
/** Packets still in flight when the window closes get this long to arrive before counting. */
const DRAIN_MS = 1_000;
/** A subscriber that got less than this share of the window's packets is counted apart (stalled). */
const SHORT_DELIVERY = 0.99;

async function main(): Promise<number> {
  cleanUpOnSignals();
  const options = optionsOrExit(parseBenchOptions, USAGE);
  const host = hostAddress();
  console.log(
    `SFU benchmark: 1 publisher, VP8 at ${options.packetsPerSecond} packets/s x ${options.payloadBytes} B payload, ` +
      `N = ${options.subscriberCounts.join(', ')} subscribers; ${options.warmupSeconds} s warm-up then a ${options.seconds} s window per N; ` +
      `clients on ${host.address} (${host.interfaceName})`,
  );

  const outcomes: Record<TargetName, RoundOutcome[] | string> = { parley: 'not requested', janus: 'not requested' };
  const running: SfuTarget[] = [];
  /** `--record`: Parley's rounds with a server recording running, right after each plain one. */
  const recorded: RoundOutcome[] = [];
  let failed = false;
  try {
    for (const name of options.targets) {
      const target = createTarget(name, host);
      try {
        await target.start();
        running.push(target);
        outcomes[name] = [];
      } catch (error) {
        if (!(error instanceof TargetUnavailableError)) throw error;
        console.log(`${name}: skipped: ${error.message}`);
        outcomes[name] = 'unavailable';
      }
    }
    // Rounds alternate between the SFUs at each N, so that both see the same machine load.
    for (const subscribers of options.subscriberCounts) {
      for (const target of running) {
        const outcome = await measureRoundSafely(target, subscribers, options, host);
        failed ||= 'error' in outcome;
        (outcomes[target.name as TargetName] as RoundOutcome[]).push(outcome);
        console.log(`  ${target.name} N=${subscribers}: ${'error' in outcome ? `failed: ${outcome.error}` : 'done'}`);
        if (!options.record || target.name !== 'parley') continue;
        const withRecording = await measureRoundSafely(target, subscribers, options, host, true);
        failed ||= 'error' in withRecording;
        recorded.push(withRecording);
        console.log(`  ${target.name} N=${subscribers} with a server recording: ${'error' in withRecording ? `failed: ${withRecording.error}` : 'done'}`);
      }
    }
  } finally {
    for (const target of running) await target.stop();
  }

  for (const target of running) {
    console.log(`\n${target.description}; CPU of ${target.measuredProcesses}`);
    console.log(tableHeader());
    for (const outcome of outcomes[target.name as TargetName] as RoundOutcome[]) console.log(tableRow(outcome));
    for (const outcome of outcomes[target.name as TargetName] as RoundOutcome[]) {
      const line = cpuByRoleLine(outcome);
      if (line) console.log(line);
    }
  }

  if (options.record && Array.isArray(outcomes.parley)) {
    console.log('\nParley SFU with a server (tracks) recording of the room running; CPU of the same processes and the recorder');
    console.log(tableHeader());
    for (const outcome of recorded) console.log(tableRow(outcome));
    console.log('');
    for (const line of recordingCostLines(outcomes.parley, recorded)) console.log(line);
  }

  const { lines, ratioLine } = verdict(outcomes.parley, outcomes.janus);
  console.log('');
  for (const line of lines) console.log(line);
  console.log(ratioLine);
  const nothingMeasured = options.targets.every((name) => outcomes[name] === 'unavailable');
  return failed || nothingMeasured ? 1 : 0;
}

function createTarget(name: TargetName, host: HostAddress): SfuTarget {
  return name === 'janus' ? new JanusTarget(host) : new ParleyTarget(host);
}

async function measureRoundSafely(target: SfuTarget, subscribers: number, options: BenchOptions, host: HostAddress, record = false): Promise<RoundOutcome> {
  try {
    return await measureRound(target, subscribers, options, host, record);
  } catch (error) {
    return { subscribers, error: error instanceof Error ? error.message : String(error) };
  }
}

/** One publisher and `subscribers` subscribers in a fresh room; CPU and delivery over the window. */
async function measureRound(target: SfuTarget, subscribers: number, options: BenchOptions, host: HostAddress, record: boolean): Promise<RoundResult> {
  const roundSeconds = options.warmupSeconds + options.seconds + 60;
  const clients = await ClientPool.start(subscribers, options.subscribersPerProcess, {
    bindAddress: host.address,
    packetsPerSecond: options.packetsPerSecond,
    payloadBytes: options.payloadBytes,
    maxPackets: Math.ceil(roundSeconds * options.packetsPerSecond),
  });
  try {
    const round = await target.openRound(clients.publisher);
    let stopRecording: (() => Promise<void>) | undefined;
    try {
      await waitFor('the publisher connected', CONNECT_TIMEOUT_MS, async () => (await clients.publisher.state()).connection === 'connected');
      await clients.publisher.startPublishing();
      for (const subscriber of clients.subscribers) await round.addSubscriber(subscriber);
      let connections: string[] = [];
      await waitFor(
        'every subscriber connected',
        CONNECT_TIMEOUT_MS,
        async () => {
          connections = (await Promise.all(clients.subscribers.map((peer) => peer.state()))).map((state) => state.connection);
          return connections.every((state) => state === 'connected');
        },
        () => countStates(connections),
      );
      await waitFor('media at every subscriber', FIRST_MEDIA_TIMEOUT_MS, async () => {
        const states = await Promise.all(clients.subscribers.map((peer) => peer.state()));
        return states.every((state) => state.packetsReceived > 0);
      });
      // Started before the warm-up: the recorder process and the tap's connection are up by the window.
      if (record) {
        if (!round.record) throw new Error(`${target.name} cannot record`);
        stopRecording = await round.record();
      }
      await delay(options.warmupSeconds * 1000);

      const pids = target.processIds();
      const recorderPids = pids.filter((pid) => commandLine(pid).includes('recorder-main'));
      if (record && recorderPids.length !== 1) throw new Error(`one recorder process expected among the measured ones, found ${recorderPids.length}`);
      const cpuBefore = totalCpuMicroseconds(pids);
      const recorderBefore = totalCpuMicroseconds(recorderPids);
      const roles = pids.map((pid) => processRole(commandLine(pid)));
      const byPidBefore = pids.map((pid) => totalCpuMicroseconds([pid]));
      const fromIndex = await clients.publisher.nextPacketIndex();
      const startedAt = performance.now();
      await delay(options.seconds * 1000);
      const cpuAfter = totalCpuMicroseconds(pids);
      const recorderAfter = totalCpuMicroseconds(recorderPids);
      const cpuByRole: Record<string, number> = {};
      pids.forEach((pid, i) => (cpuByRole[roles[i]!] = (cpuByRole[roles[i]!] ?? 0) + totalCpuMicroseconds([pid]) - byPidBefore[i]!));
      const toIndex = await clients.publisher.nextPacketIndex();
      const seconds = (performance.now() - startedAt) / 1000;

      await delay(DRAIN_MS);
      const received = await clients.receivedInWindow(fromIndex, toIndex);
      const { keyframeRequests, retransmitted } = await clients.publisher.stats();
      return {
        subscribers,
        packetsSent: toIndex - fromIndex,
        packetsForwarded: received.packets.reduce((sum, count) => sum + count, 0),
        subscribersShort: received.packets.filter((count) => count < SHORT_DELIVERY * (toIndex - fromIndex)).length,
        cpuMicroseconds: cpuAfter - cpuBefore,
        seconds,
        keyframeRequests,
        retransmitted,
        subscriberNacks: received.nacksSent,
        ...(record ? { recorderCpuMicroseconds: recorderAfter - recorderBefore } : {}),
        ...(target.name === 'parley' ? { cpuByRole } : {}),
      };
    } finally {
      try {
        await stopRecording?.();
      } finally {
        await round.leave();
      }
    }
  } finally {
    await clients.close();
  }
}

/** `connected 19, connecting 1`: how many peers are in each state. */
function countStates(states: string[]): string {
  const counts = new Map<string, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return [...counts].map(([state, count]) => `${state} ${count}`).join(', ');
}

async function waitFor(what: string, timeoutMs: number, condition: () => Promise<boolean>, progress?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${progress ? ` (${progress()})` : ''}`);
    await delay(100);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main()
  .catch((error: unknown) => {
    console.error(error);
    return 1;
  })
  .then(async (code) => {
    await runCleanups();
    process.exit(code);
  });
