/**
 * `npm run bench:mcu:tier-network`: the MCU grid's tier following a receiver's real network. An
 * `mcu` room of two publishers (Chromium pages on the host, each a 640x360 moving canvas) and two
 * receivers who publish nothing (so they see the same layout): `near` on the host, `far` in a
 * netsim namespace (e2e/netsim: its whole link through a TBF). Phases: the link clear, then held
 * at `--rate` kbit/s, then clear again. Once a second, each receiver's decoded grid height and
 * download (getStats) are printed; at the end, when `far` reached the lowest tier under the cap
 * and how long it took to climb back, while `near` kept its tier.
 *
 *   npm run bench:mcu:tier-network                           # default tiers, 1000 kbit/s, 25 s phases
 *   npm run bench:mcu:tier-network -- --rate 600 --phase 30
 *
 * Needs root (network namespaces, tc, nftables), like the netsim e2e tests.
 */
import { parseArgs } from 'node:util';
import { startShapedCall, stopShapedCall, type ShapedCallParts } from '../../e2e/harness/environment.ts';
import { SdkParticipant } from '../../e2e/harness/participant.ts';
import { optionsOrExit } from '../cli.ts';
import { cleanUpOnSignals, onCleanup, runCleanups } from '../sfu/cleanup.ts';
import { publishCanvas } from './page.ts';

const USAGE = `usage: npm run bench:mcu:tier-network -- [options]

An MCU receiver's grid tier on a shaped link against one on a clear link (needs root).

  --rate KBIT   the shaped phase's link rate (default 1000)
  --phase T     seconds per phase: clear, shaped, clear (default 25)`;

interface Options {
  rateKbit: number;
  phaseSeconds: number;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({ args: argv, options: { rate: { type: 'string' }, phase: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) return 'help';
  const positive = (value: string, what: string) => {
    const n = Number(value);
    if (!(n > 0)) throw new Error(`${what}: not a positive number: ${value}`);
    return n;
  };
  return { rateKbit: positive(values.rate ?? '1000', '--rate'), phaseSeconds: positive(values.phase ?? '25', '--phase') };
}

const options = optionsOrExit(parse, USAGE);

interface Sample {
  at: number;
  phase: string;
  height: number | undefined;
  kbps: number;
}

/** The receiver's grid: decoded height now and download since the previous sample. */
async function sample(receiver: SdkParticipant, previous: { bytes: number; at: number }): Promise<{ height: number | undefined; kbps: number }> {
  const stats = await receiver.stats();
  const grid = stats.find((s) => s.direction === 'inbound' && s.kind === 'video' && s.source === 'mix');
  const bytes = stats.filter((s) => s.direction === 'inbound').reduce((sum, s) => sum + s.bytes, 0);
  const now = Date.now();
  const kbps = previous.at > 0 ? ((bytes - previous.bytes) * 8) / (now - previous.at) : 0;
  previous.bytes = bytes;
  previous.at = now;
  return { height: grid?.frameHeight, kbps: Math.round(kbps) };
}

cleanUpOnSignals();
const parts: ShapedCallParts = {};
onCleanup(() => stopShapedCall(parts));
try {
  const env = await startShapedCall({}, parts);
  const tiers = env.server.config.mcu.videoTiers;
  const room = `tiers-${Date.now().toString(36)}`;
  const mcu = { roomConfig: { topology: 'mcu' as const }, camera: false, microphone: false };
  for (const [i, identity] of ['pubA', 'pubB'].entries()) {
    const publisher = await SdkParticipant.join(env.hostBrowser, env.server.url, room, identity, mcu);
    onCleanup(() => publisher.close());
    await publishCanvas(publisher, i === 0 ? [220, 40, 40] : [40, 80, 220], false);
  }
  const near = await SdkParticipant.join(env.hostBrowser, env.server.url, room, 'near', mcu);
  onCleanup(() => near.close());
  const far = await SdkParticipant.join(env.shapedBrowser, env.proxyUrl, room, 'far', mcu);
  onCleanup(() => far.close());
  console.log(`tiers: ${tiers.map((t) => `${t.width}x${t.height}@${t.fps} ${t.bitrateKbps} kbit/s`).join(', ')}; far's link: clear ${options.phaseSeconds} s, ${options.rateKbit} kbit/s ${options.phaseSeconds} s, clear ${options.phaseSeconds} s`);
  const samples = { near: [] as Sample[], far: [] as Sample[] };
  const previous = { near: { bytes: 0, at: 0 }, far: { bytes: 0, at: 0 } };
  const start = Date.now();
  const phases: Array<[string, () => Promise<void>]> = [
    ['clear', () => env.network.applyProfile('clear')],
    [`${options.rateKbit} kbit/s`, () => env.network.shape({ rateKbit: options.rateKbit })],
    ['clear again', () => env.network.applyProfile('clear')],
  ];
  const phaseStarts: number[] = [];
  for (const [phase, apply] of phases) {
    await apply();
    phaseStarts.push(Date.now() - start);
    const end = Date.now() + options.phaseSeconds * 1000;
    while (Date.now() < end) {
      const tick = Date.now();
      for (const [name, receiver] of [['near', near], ['far', far]] as const) samples[name].push({ at: Date.now() - start, phase, ...(await sample(receiver, previous[name])) });
      const [n, f] = [samples.near.at(-1)!, samples.far.at(-1)!];
      console.log(`${(f.at / 1000).toFixed(1).padStart(6)} s  ${phase.padEnd(14)} near ${String(n.height ?? '-').padStart(4)} px ${String(n.kbps).padStart(5)} kbit/s   far ${String(f.height ?? '-').padStart(4)} px ${String(f.kbps).padStart(5)} kbit/s`);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - tick))));
    }
  }
  const lowest = tiers[0]!.height;
  const top = Math.max(...samples.far.filter((s) => s.phase === 'clear').map((s) => s.height ?? 0));
  const shaped = samples.far.filter((s) => s.phase === phases[1]![0]);
  const firstLow = shaped.find((s) => s.height === lowest);
  const backUp = samples.far.filter((s) => s.phase === 'clear again').find((s) => (s.height ?? 0) >= top);
  const nearHeights = [...new Set(samples.near.map((s) => s.height))].join(', ');
  console.log(
    `far: ${top} px on the clear link; ${firstLow ? `${lowest} px ${((firstLow.at - phaseStarts[1]!) / 1000).toFixed(1)} s after the cap` : `never ${lowest} px under the cap`}` +
      ` (heights under it: ${[...new Set(shaped.map((s) => s.height))].join(', ')}); ${backUp ? `${top} px again ${((backUp.at - phaseStarts[2]!) / 1000).toFixed(1)} s after the link cleared` : `not back at ${top} px within ${options.phaseSeconds} s`}; near's heights throughout: ${nearHeights}`,
  );
} finally {
  await runCleanups();
}
