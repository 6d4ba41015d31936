// libdatachannel answers an offer by echoing it (codecs, feedback, header extensions, even the
// offerer's SSRCs and msid). The synthetic subscriber edits its answer to say only what it does:
// it receives VP8, sends NACK/PLI/REMB, and neither sends transport-cc feedback nor unwraps RTX.

const TRANSPORT_CC = /transport-cc|transport-wide-cc/;
const SENDER_IDENTITY = /^a=(ssrc|ssrc-group|msid):/;

export function receiveOnlyAnswer(sdp: string): string {
  const lines = sdp.split(/\r?\n/);
  const rtxPayloadTypes = new Set(
    lines.flatMap((line) => {
      const match = /^a=rtpmap:(\d+) rtx\//i.exec(line);
      return match ? [match[1]!] : [];
    }),
  );
  return lines
    .filter((line) => !TRANSPORT_CC.test(line) && !SENDER_IDENTITY.test(line) && !describesPayloadType(line, rtxPayloadTypes))
    .map((line) => (line.startsWith('m=') ? withoutFormats(line, rtxPayloadTypes) : line))
    .join('\r\n');
}

function describesPayloadType(line: string, payloadTypes: Set<string>): boolean {
  const match = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(line);
  return match !== null && payloadTypes.has(match[2]!);
}

function withoutFormats(mediaLine: string, payloadTypes: Set<string>): string {
  const [media, port, proto, ...formats] = mediaLine.split(' ');
  return [media, port, proto, ...formats.filter((format) => !payloadTypes.has(format))].join(' ');
}
