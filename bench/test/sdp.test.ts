import assert from 'node:assert/strict';
import { it } from 'node:test';
import { receiveOnlyAnswer } from '../sfu/clients/sdp.ts';

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
