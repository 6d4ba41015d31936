import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ntpToUnixMs, rtpToUnixMs } from '../../../src/recording/tracks/clock.ts';

describe('clock', () => {
  test('NTP to Unix time, and an RTP timestamp placed by a sender report across the 32-bit wrap', () => {
    assert.equal(ntpToUnixMs(2_208_988_800 + 1, 2 ** 31), 1500);
    const report = { ssrc: 1, ntpSeconds: 2_208_988_800 + 100, ntpFraction: 0, rtpTimestamp: 4294967000 };
    assert.equal(rtpToUnixMs(4294967000 + 9000 - 2 ** 32, report, 90_000), 100_100);
    assert.equal(rtpToUnixMs(4294967000 - 48_000, { ...report }, 48_000), 99_000);
  });
});
