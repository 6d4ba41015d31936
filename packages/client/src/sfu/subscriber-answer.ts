/**
 * What the SDK changes in its answer to the SFU's subscriber offer, before setting it.
 *
 * `rrtr` (RFC 3611 receiver reference time): a subscriber's connection only receives, so the
 * browser has no round-trip time for it (no sender reports of its own to be answered), and
 * libwebrtc then asks again for a lost packet every 100 ms, its default. Under 7 % loss a resend
 * lost again costs ~200 ms of frozen picture that way. With `rrtr` in the local description,
 * Chromium sends reference times, the SFU answers each (DLRR), and NACKs repeat once per real round
 * trip. Chromium does not put `rrtr` in answers by itself (it is not among its default feedback
 * types), so the SDK adds it for each payload type the SFU offered it for; browsers that do not
 * implement it ignore the line.
 */
export function withOfferedReceiverReferenceTime(answerSdp: string, offerSdp: string): string {
  const offered = new Set<string>();
  for (const match of offerSdp.matchAll(/^a=rtcp-fb:(\d+) rrtr\r?$/gm)) offered.add(match[1]!);
  if (offered.size === 0) return answerSdp;
  const lines = answerSdp.split('\r\n');
  const present = new Set(lines.filter((line) => / rrtr$/.test(line)).map((line) => line.slice('a=rtcp-fb:'.length).split(' ')[0]));
  const out: string[] = [];
  for (const line of lines) {
    out.push(line);
    const nack = /^a=rtcp-fb:(\d+) nack$/.exec(line);
    if (nack && offered.has(nack[1]!) && !present.has(nack[1]!)) out.push(`a=rtcp-fb:${nack[1]} rrtr`);
  }
  return out.join('\r\n');
}
