import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sdpSendsMedia } from '../../src/signaling/sdp-policy.ts';

describe('sdpSendsMedia', () => {
  const sdp = (...sections: string[]) => ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', ...sections].join('\r\n') + '\r\n';
  test('sendrecv/sendonly audio or video sends; recvonly, inactive, rejected and data channels do not', () => {
    assert.equal(sdpSendsMedia(sdp('m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=sendonly')), true);
    assert.equal(sdpSendsMedia(sdp('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0')), true, 'no direction means sendrecv');
    assert.equal(sdpSendsMedia(sdp('m=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=recvonly', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=inactive')), false);
    assert.equal(sdpSendsMedia(sdp('m=video 0 UDP/TLS/RTP/SAVPF 96', 'a=sendrecv')), false);
    assert.equal(sdpSendsMedia(sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel')), false);
  });
});
