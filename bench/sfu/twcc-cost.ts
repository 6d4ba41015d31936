// The CPU cost of transport-wide feedback in the SFU, per received packet: recording arrivals and
// building feedback, for a publisher at bench:sfu's 1000 packets/s with 2 % loss. `npm run bench:sfu`
// clients do not negotiate transport-cc, so this measures that part on its own.
//   node --import tsx bench/sfu/twcc-cost.ts
import { TwccRecorder } from '../../packages/server/src/sfu/rtp/twcc.ts';

const PACKETS = 2_000_000;
/** The worker sends feedback every 50 ms: 50 packets at 1000 packets/s. */
const PACKETS_PER_FEEDBACK = 50;

const recorder = new TwccRecorder();
let sequence = 0;
let arrivalUs = 0;
let feedbackPackets = 0;

function receive(count: number): void {
  for (let i = 0; i < count; i++) {
    sequence = (sequence + 1) & 0xffff;
    arrivalUs += 1000;
    // One packet in 50 lost: 2 %.
    if (i % PACKETS_PER_FEEDBACK !== 7) recorder.onPacket(sequence, arrivalUs);
    if (i % PACKETS_PER_FEEDBACK === PACKETS_PER_FEEDBACK - 1) feedbackPackets += recorder.takeFeedback(1, 2).length;
  }
}

receive(200_000); // warm-up (JIT)
const start = process.cpuUsage();
receive(PACKETS);
const used = process.cpuUsage(start);
console.log(`${((used.user + used.system) / PACKETS).toFixed(3)} µs CPU per received packet (recording + feedback every ${PACKETS_PER_FEEDBACK} packets), ${feedbackPackets} feedback packets`);
