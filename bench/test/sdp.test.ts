import assert from 'node:assert/strict';
import { it } from 'node:test';
import { readPublishOffer } from '../../packages/server/src/sfu/sdp.ts';
import { OFFERED_TRANSPORT_CC_ID, receiveOnlyAnswer, TRANSPORT_WIDE_CC_URI, transportCcIdOf, withTransportCc } from '../sfu/clients/sdp.ts';

// An answer as libdatachannel writes it for Janus's subscriber offer (trimmed).
const echoedAnswer = [
  'v=0',
  'm=video 39898 UDP/TLS/RTP/SAVPF 96 97',
  'c=IN IP4 192.0.2.2',
  'a=mid:0',
  'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=recvonly',
  'a=ssrc-group:FID 2748935921 2359478437',
  'a=msid:janus janus0',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtcp-fb:96 transport-cc',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=ssrc:2748935921 cname:janus',
  'a=candidate:1 1 UDP 2114977791 192.0.2.2 39898 typ host',
  '',
].join('\r\n');

it('keeps only what the synthetic subscriber does: VP8 with NACK/PLI, no RTX, no transport-cc, no copied sender identity', () => {
  const answer = receiveOnlyAnswer(echoedAnswer);
  assert.equal(
    answer,
    [
      'v=0',
      'm=video 39898 UDP/TLS/RTP/SAVPF 96',
      'c=IN IP4 192.0.2.2',
      'a=mid:0',
      'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'a=recvonly',
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=candidate:1 1 UDP 2114977791 192.0.2.2 39898 typ host',
      '',
    ].join('\r\n'),
  );
});

// The synthetic publisher's offer as libdatachannel writes it (trimmed), before transport-cc is added.
const publisherOffer = [
  'v=0',
  'o=rtc 1 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=ssrc:305419896 cname:pub-cname',
  'a=rtcp-mux',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtcp-fb:96 goog-remb',
  '',
].join('\r\n');

it('the publisher offers transport-cc as a browser does: an SFU reads the extension id from it', () => {
  const offer = withTransportCc(publisherOffer);
  assert.ok(offer.includes(`\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=extmap:${OFFERED_TRANSPORT_CC_ID} ${TRANSPORT_WIDE_CC_URI}\r\n`));
  assert.ok(offer.includes('\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 transport-cc\r\n'));
  assert.equal(readPublishOffer(offer, ['vp8']).transportCcExtensionId, OFFERED_TRANSPORT_CC_ID);
  assert.equal(readPublishOffer(publisherOffer, ['vp8']).transportCcExtensionId, undefined);
});

it("the id an answer gives the transport-wide sequence, with or without a direction; none when it was not accepted", () => {
  assert.equal(transportCcIdOf(`v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=extmap:5 ${TRANSPORT_WIDE_CC_URI}\r\n`), 5);
  assert.equal(transportCcIdOf(`v=0\r\na=extmap:7/recvonly ${TRANSPORT_WIDE_CC_URI}\r\n`), 7);
  assert.equal(transportCcIdOf(publisherOffer), undefined);
  assert.equal(transportCcIdOf(receiveOnlyAnswer(echoedAnswer)), undefined);
});
