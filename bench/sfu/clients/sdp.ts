// libdatachannel answers an offer by echoing it (codecs, feedback, header extensions, even the
// offerer's SSRCs and msid). The synthetic subscriber edits its answer to say only what it does:
// it receives VP8, sends NACK/PLI/REMB, and neither sends transport-cc feedback nor unwraps RTX.
// The synthetic publisher offers transport-cc as every browser does (libdatachannel's
// description API has no header extensions, so the offer's text is edited), and numbers its
// packets with the transport-wide sequence once the answer accepts it: an SFU then handles its
// packets as it handles a browser's, not on the copy path that adds the field.

const TRANSPORT_CC = /transport-cc|transport-wide-cc/;
export const TRANSPORT_WIDE_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
/** The id the publisher offers the transport-wide sequence under (Chromium offers it as 3). */
export const OFFERED_TRANSPORT_CC_ID = 3;
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

/** The offer with transport-cc in its video section: the extension and the feedback for each payload type. */
export function withTransportCc(offer: string, id = OFFERED_TRANSPORT_CC_ID): string {
  const out: string[] = [];
  let video = false;
  for (const line of offer.split(/\r?\n/)) {
    if (line.startsWith('m=')) video = line.startsWith('m=video');
    out.push(line);
    if (!video) continue;
    if (line.startsWith('m=video')) out.push(`a=extmap:${id} ${TRANSPORT_WIDE_CC_URI}`);
    const rtpmap = /^a=rtpmap:(\d+) /.exec(line);
    if (rtpmap) out.push(`a=rtcp-fb:${rtpmap[1]} transport-cc`);
  }
  return out.join('\r\n');
}

/** The id an answer gives the transport-wide sequence, or undefined when it did not accept it. */
export function transportCcIdOf(answer: string): number | undefined {
  for (const line of answer.split(/\r?\n/)) {
    const match = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
    if (match && match[2] === TRANSPORT_WIDE_CC_URI) return Number(match[1]);
  }
  return undefined;
}
