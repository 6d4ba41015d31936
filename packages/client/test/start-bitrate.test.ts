import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withStartBitrate } from '../src/start-bitrate.ts';

const offer = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 45',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 H264/90000',
  'a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:45 AV1/90000',
  'a=fmtp:45 level-idx=5;profile=0;tier=0',
  '',
].join('\r\n');

describe('withStartBitrate', () => {
  test('every video codec starts at 1 Mbit/s: added to its format parameters, or a line of its own', () => {
    const { sdp, type } = withStartBitrate({ type: 'offer', sdp: offer });
    assert.equal(type, 'offer');
    const lines = sdp!.split('\r\n');
    assert.equal(lines[lines.indexOf('a=rtpmap:96 VP8/90000') + 1], 'a=fmtp:96 x-google-start-bitrate=1000');
    assert.ok(lines.includes('a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=1000'));
    assert.ok(lines.includes('a=fmtp:45 level-idx=5;profile=0;tier=0;x-google-start-bitrate=1000'));
  });

  test('audio, retransmission formats and line endings are left as they were; applying twice changes nothing more', () => {
    const once = withStartBitrate({ type: 'answer', sdp: offer });
    assert.ok(once.sdp!.includes('a=fmtp:111 minptime=10;useinbandfec=1\r\n'));
    assert.ok(once.sdp!.includes('a=fmtp:97 apt=96\r\n'));
    assert.equal(once.sdp!.split('\r\n').length, offer.split('\r\n').length + 1);
    assert.equal(withStartBitrate(once).sdp, once.sdp);
  });

  test('a rollback or a description without SDP is returned as is', () => {
    const rollback = { type: 'rollback' as const };
    assert.equal(withStartBitrate(rollback), rollback);
  });
});
