// The CPU cost of watching a simulcast publisher's uplink for a collapse (worker/uplink-collapse.ts),
// per received packet: arrival bytes, sequence advance, queueing delay per layer, and the 50 ms
// check, for a publisher at ~250 packets/s over three layers. `npm run bench:sfu`'s synthetic
// publisher sends no simulcast, so this measures that part on its own.
//   node --import tsx bench/sfu/uplink-cost.ts
import { UplinkCollapse } from '../../packages/server/src/sfu/worker/uplink-collapse.ts';

const PACKETS = 2_000_000;
/** 4 ms apart: 250 packets a second; the check runs every 50 ms, as the worker's fast tick. */
const PACKET_INTERVAL_MS = 4;
const CHECK_EVERY = 50 / PACKET_INTERVAL_MS;

const detector = new UplinkCollapse();
let now = 0;
let collapses = 0;

function receive(count: number): void {
  for (let i = 0; i < count; i++) {
    now += PACKET_INTERVAL_MS;
    const layer = i % 3;
    detector.onBytes(1100, now);
    detector.onAdvance(1, now);
    // A frame every 33 ms per layer, captured ~5 ms before arrival.
    detector.onMedia(layer, (Math.floor((now - 5) / 33) * 33 * 90) >>> 0, 90000, now);
    if (i % CHECK_EVERY === 0 && detector.update(now)) collapses += 1;
    void detector.losingMost;
  }
}

receive(200_000); // warm-up (JIT)
const start = process.cpuUsage();
receive(PACKETS);
const used = process.cpuUsage(start);
console.log(`${((used.user + used.system) / PACKETS).toFixed(3)} µs CPU per received packet (bytes, loss, queueing delay, a check every 50 ms), ${collapses} collapses`);
