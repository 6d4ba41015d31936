import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { codecNameOf, fmtpParameters, formatScore, MIXER_DECODES, publisherCodecs } from '../../src/sfu/codecs.ts';

describe('codecs', () => {
  test('codecNameOf knows the forwarded codecs, case-insensitively, and nothing else', () => {
    assert.equal(codecNameOf('VP8'), 'vp8');
    assert.equal(codecNameOf('vp9'), 'vp9');
    assert.equal(codecNameOf('H264'), 'h264');
    assert.equal(codecNameOf('AV1'), 'av1');
    assert.equal(codecNameOf('opus'), 'opus');
    assert.equal(codecNameOf('OPUS'), 'opus');
    for (const other of ['rtx', 'red', 'ulpfec', 'H265', 'PCMU', 'telephone-event', '']) assert.equal(codecNameOf(other), undefined, other);
  });

  test('fmtpParameters: lower-cased keys, trimmed values, values containing "="', () => {
    assert.deepEqual(
      [...fmtpParameters('level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f')],
      [
        ['level-asymmetry-allowed', '1'],
        ['packetization-mode', '1'],
        ['profile-level-id', '42e01f'],
      ],
    );
    assert.deepEqual([...fmtpParameters(' Profile-ID = 2 ;; useinbandfec')], [
      ['profile-id', '2'],
      ['useinbandfec', ''],
    ]);
    assert.equal(fmtpParameters('packetization-mode=1;sprop-parameter-sets=Z0IAH5WoFAFuQA==,aM4G4g==').get('sprop-parameter-sets'), 'Z0IAH5WoFAFuQA==,aM4G4g==');
    assert.equal(fmtpParameters('').size, 0);
  });

  test('formatScore prefers what every browser decodes and refuses what it cannot forward', () => {
    assert.equal(formatScore('h264', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'), 3, 'constrained baseline');
    assert.equal(formatScore('h264', 'packetization-mode=1;profile-level-id=42001f'), 2, 'baseline');
    assert.equal(formatScore('h264', 'packetization-mode=1;profile-level-id=4d001f'), 1, 'main');
    assert.equal(formatScore('h264', 'packetization-mode=1;profile-level-id=42E01F'), 3, 'hex case does not matter');
    assert.equal(formatScore('h264', 'packetization-mode=0;profile-level-id=42e01f'), -1, 'single NAL mode');
    assert.equal(formatScore('h264', 'profile-level-id=42e01f'), -1, 'mode 0 by default');
    assert.equal(formatScore('vp9', 'profile-id=0'), 1);
    assert.equal(formatScore('vp9', ''), 1, 'profile 0 by default');
    assert.equal(formatScore('vp9', 'profile-id=2'), -1);
    assert.equal(formatScore('av1', 'level-idx=5;profile=0;tier=0'), 1);
    assert.equal(formatScore('av1', 'profile=1'), -1);
    assert.equal(formatScore('vp8', 'max-fs=12288;max-fr=60'), 1);
    assert.equal(formatScore('opus', 'minptime=10;useinbandfec=1'), 1);
  });

  test("publisherCodecs: the room's preference that every receiver decodes, the mixer a receiver of VP8, VP9 and H.264; the whole preference when none fits", () => {
    const all = new Set(['vp8', 'vp9', 'h264', 'av1'] as const);
    const av1Only = new Set(['av1'] as const);
    const vp9Only = new Set(['vp9'] as const);
    assert.deepEqual(publisherCodecs(['h264', 'vp8', 'vp9'], [all, all]), ['h264', 'vp8', 'vp9']);
    assert.deepEqual(publisherCodecs(['h264', 'vp8', 'vp9'], [all, MIXER_DECODES]), ['h264', 'vp8', 'vp9'], 'a grid to feed: the mixer decodes H.264 too');
    assert.deepEqual(publisherCodecs(['av1', 'vp9', 'vp8'], [all, MIXER_DECODES]), ['vp9', 'vp8'], 'not AV1: in preference order after it');
    assert.deepEqual(publisherCodecs(['h264', 'vp9'], [vp9Only, MIXER_DECODES]), ['vp9'], 'what both decode');
    assert.deepEqual(publisherCodecs(['av1', 'vp8'], [av1Only, MIXER_DECODES]), ['av1', 'vp8'], 'nothing fits both: the whole preference');
    assert.deepEqual(publisherCodecs(['vp8'], []), ['vp8'], 'nobody receives yet');
  });
});
