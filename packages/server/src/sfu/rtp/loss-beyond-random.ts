/**
 * Whether a count of lost packets is more than random loss explains: the SFU asks for resends and
 * keeps forwarding under random loss (NACKs repair it), and gives up on upper layers only when a
 * link is overloaded. A share alone cannot tell the two apart over few packets: a publisher sending
 * its 360p and 180p layers at 15 fps delivers ~12 packets in 200 ms, and under `bench:quality`'s 7 %
 * random loss 30 % of 12 (4 packets) is lost in 0.75 % of such windows, 30 % of 10 in 2.8 %. Judged
 * at every lost packet (the resend decision), that withheld resends of the forwarded layer about
 * once a minute, each a freeze (traced: 2 of 2 gaps at one freeze withheld, the frame's repair
 * 60-160 ms late). So a count must also be one that random loss of RANDOM_LOSS would reach with a
 * probability under FALSE_ALARM (binomial tail): 7 of 10, 8 of 16, 9 of 20, 15 of 50, and from
 * ~70 packets on the share decides. Under 7 % loss that flags 1 in 10^5 windows of 10-30 packets
 * (a 30 % share alone: 348 in 10^5). An overloaded link loses far more (a publisher sending 2.5
 * Mbit/s into 300 kbit/s, 7 of every 8 packets), so it still shows within the same packets.
 */

/** Random loss NACKs are expected to ride out (`bench:quality`'s `lossy`: 7 %). */
const RANDOM_LOSS = 0.1;
/**
 * How unlikely a count must be under RANDOM_LOSS to count as beyond it. 1e-5 would take a third
 * gap of 7 (~30 ms more) to see a collapse's onset beside 25 clean packets (unit test).
 */
const FALSE_ALARM = 1e-4;
/** Counts are tabulated up to this many packets; above it the share alone decides (the tail there is far below FALSE_ALARM at any share over 20 %). */
const TABULATED = 512;

/** minimumLost[n]: the fewest losses of n packets whose tail probability under RANDOM_LOSS is below FALSE_ALARM. */
const minimumLost = tabulate();

function tabulate(): Uint16Array {
  const table = new Uint16Array(TABULATED + 1);
  const logP = Math.log(RANDOM_LOSS);
  const logQ = Math.log(1 - RANDOM_LOSS);
  for (let n = 0; n <= TABULATED; n++) {
    // The tail P(X >= k) summed from k = n down, in log space (n up to 512 underflows otherwise).
    let logChoose = 0; // log C(n, n)
    let tail = 0;
    let k = n;
    for (; k >= 0; k--) {
      if (k < n) logChoose += Math.log((k + 1) / (n - k)); // C(n, k) = C(n, k + 1) * (k + 1) / (n - k)
      tail += Math.exp(logChoose + k * logP + (n - k) * logQ);
      if (tail >= FALSE_ALARM) break;
    }
    table[n] = k + 1;
  }
  return table;
}

/**
 * True when `lost` of `expected` packets is at least `share` of them and more than random loss of
 * RANDOM_LOSS would lose with a probability of FALSE_ALARM.
 */
export function lossBeyondRandom(expected: number, lost: number, share: number): boolean {
  if (expected <= 0 || lost < share * expected) return false;
  return expected > TABULATED || lost >= minimumLost[expected]!;
}
