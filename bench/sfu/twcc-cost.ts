// The CPU cost of transport-wide feedback in the SFU, per received packet: recording arrivals and
// building feedback, as a publisher at bench:sfu's 1000 packets/s with 2 % loss. `npm run bench:sfu`
// clients do not negotiate transport-cc, so this measures that part on its own.
import { TwccRecorder } from '../../packages/server/src/sfu/rtp/twcc.ts';
// 1000 packets/s like bench:sfu's publisher, feedback every 50 ms (50 packets), 2 % loss.
const recorder = new TwccRecorder();
const N = 2_000_000;
let seq = 0, t = 0, out = 0;
const run = (n: number) => { for (let i = 0; i < n; i++) { seq = (seq + 1) & 0xffff; t += 1000; if (i % 50 !== 7) recorder.onPacket(seq, t); if (i % 50 === 49) out += recorder.takeFeedback(1, 2).length; } };
run(200_000);
const start = process.cpuUsage();
run(N);
const used = process.cpuUsage(start);
console.log(`${((used.user + used.system) / N).toFixed(3)} µs CPU per received packet (recording + feedback every 50 packets), ${out} feedback packets`);
