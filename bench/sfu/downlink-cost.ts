// The CPU cost of the SFU's downlink congestion control, per packet sent to a subscriber: numbering
// (the send history), then reading the subscriber's feedback every 50 packets (parse, the
// estimator), at 1000 packets/s with 2 % loss. `npm run bench:sfu`'s subscribers send no
// transport-wide feedback, so this measures that part on its own.
//   node --import tsx bench/sfu/downlink-cost.ts
import { BandwidthEstimator } from '../../packages/server/src/sfu/bwe/bandwidth-estimator.ts';
import { TransportSendHistory } from '../../packages/server/src/sfu/bwe/send-history.ts';
import { parseRtcp } from '../../packages/server/src/sfu/rtp/rtcp.ts';
import { TwccRecorder } from '../../packages/server/src/sfu/rtp/twcc.ts';

const PACKETS = 1_000_000;
const PACKETS_PER_FEEDBACK = 50;

// The subscriber's side, built up front so that only the SFU's work is timed.
const receiver = new TwccRecorder();
const feedbacks: Buffer[] = [];
for (let i = 0; i < PACKETS + 100_000; i++) {
  if (i % PACKETS_PER_FEEDBACK !== 7) receiver.onPacket(i & 0xffff, 20_000 + i * 1000 + (i % 3) * 250);
  if (i % PACKETS_PER_FEEDBACK === PACKETS_PER_FEEDBACK - 1) feedbacks.push(...receiver.takeFeedback(1, 2));
}

const history = new TransportSendHistory();
const estimator = new BandwidthEstimator({ initialBps: 1_000_000 });
// The history starts at a random sequence; the recorded feedback starts at 0: align them.
while (history.onSent(1200, 0) !== 0xffff);
let packet = 0;
let feedback = 0;

function send(count: number): void {
  for (let i = 0; i < count; i++, packet++) {
    history.onSent(1200, packet);
    if (packet % PACKETS_PER_FEEDBACK === PACKETS_PER_FEEDBACK - 1) {
      for (const rtcp of parseRtcp(feedbacks[feedback++]!)) if (rtcp.type === 'twcc') estimator.onFeedback(history.results(rtcp.feedback), packet + 20);
    }
  }
}

send(100_000); // warm-up (JIT)
const start = process.cpuUsage();
send(PACKETS);
const used = process.cpuUsage(start);
console.log(`${((used.user + used.system) / PACKETS).toFixed(3)} µs CPU per packet sent (numbering + feedback every ${PACKETS_PER_FEEDBACK} packets through the estimator), estimate ${Math.round(estimator.bps / 1000)} kbit/s`);
