import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withOfferedReceiverReferenceTime } from '../../src/sfu/subscriber-answer.ts';

const sdp = (...lines: string[]) => [...lines, ''].join('\r\n');

// What Chromium 156 answers to the SFU's subscriber offer: rrtr is not among its feedback types.
const answer = sdp(
  'v=0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 100',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 transport-cc',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:100 H264/90000',
  'a=rtcp-fb:100 nack',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
);

describe('withOfferedReceiverReferenceTime', () => {
  test('adds rrtr after the nack line of each payload type the offer had it for, and nowhere else', () => {
    const offer = sdp('v=0', 'm=video 9 UDP/TLS/RTP/SAVPF 96 100', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 rrtr', 'a=rtcp-fb:100 nack');
    const lines = withOfferedReceiverReferenceTime(answer, offer).split('\r\n');
    assert.equal(lines[lines.indexOf('a=rtcp-fb:96 nack') + 1], 'a=rtcp-fb:96 rrtr');
    assert.equal(lines.filter((line) => line.endsWith(' rrtr')).length, 1, 'not for 100, not for audio');
    assert.equal(lines.at(-1), '', 'the SDP still ends with CRLF');
  });

  test('an offer without rrtr (or an answer that has it already) leaves the answer as it is', () => {
    assert.equal(withOfferedReceiverReferenceTime(answer, sdp('v=0', 'a=rtcp-fb:96 nack')), answer);
    const withRrtr = answer.replace('a=rtcp-fb:96 nack\r\n', 'a=rtcp-fb:96 nack\r\na=rtcp-fb:96 rrtr\r\n');
    assert.equal(withOfferedReceiverReferenceTime(withRrtr, sdp('a=rtcp-fb:96 rrtr')), withRrtr);
  });
});
