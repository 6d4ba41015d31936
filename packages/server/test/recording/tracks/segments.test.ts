/** Joining a track's segments (one per SFU worker it was recorded on) and placing the restarts as gaps. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TrackDescription } from '../../../src/recording/tracks/record-format.ts';
import { groupSegments, placeSegments } from '../../../src/recording/tracks/segments.ts';

const track = (participant: string, source: string, kind: 'audio' | 'video', trackId = `${participant}-${source}`): TrackDescription => ({
  trackId, participant, source, kind, codec: kind === 'audio' ? 'opus' : 'vp8', payloadType: 96, clockRate: kind === 'audio' ? 48_000 : 90_000, rids: [],
});
const names = (groups: Array<Array<{ segment: number; track: number }>>) => groups.map((group) => group.map((f) => `s${f.segment}-t${f.track}`).join('+'));

describe('groupSegments', () => {
  test('a track republished on the new worker (new track id, another track number) joins its first segment', () => {
    const files = [
      { segment: 2, track: 1, description: track('bob', 'microphone', 'audio', 'b-mic-2') },
      { segment: 1, track: 2, description: track('alice', 'microphone', 'audio') },
      { segment: 1, track: 1, description: track('alice', 'camera', 'video') },
      { segment: 2, track: 2, description: track('alice', 'camera', 'video', 'a-cam-2') },
      { segment: 2, track: 3, description: track('alice', 'microphone', 'audio', 'a-mic-2') },
      { segment: 1, track: 3, description: track('bob', 'microphone', 'audio') },
    ];
    assert.deepEqual(names(groupSegments(files)), ['s1-t1+s2-t2', 's1-t2+s2-t3', 's1-t3+s2-t1']);
  });

  test('what was published only after the restart is a track of its own; two restarts give three segments', () => {
    const files = [
      { segment: 1, track: 1, description: track('alice', 'camera', 'video') },
      { segment: 2, track: 1, description: track('alice', 'camera', 'video') },
      { segment: 2, track: 2, description: track('alice', 'screen', 'video') },
      { segment: 3, track: 1, description: track('alice', 'camera', 'video') },
    ];
    assert.deepEqual(names(groupSegments(files)), ['s1-t1+s2-t1+s3-t1', 's2-t2']);
  });

  test('one segment never joins twice: a source unpublished and published again within a segment stays two tracks', () => {
    const files = [
      { segment: 1, track: 1, description: track('alice', 'camera', 'video') },
      { segment: 1, track: 2, description: track('alice', 'camera', 'video') },
      { segment: 2, track: 1, description: track('alice', 'camera', 'video') },
    ];
    assert.deepEqual(names(groupSegments(files)), ['s1-t1+s2-t1', 's1-t2']);
    // Same source, other kind or participant: never joined.
    const other = [
      { segment: 1, track: 1, description: track('alice', 'camera', 'video') },
      { segment: 2, track: 1, description: track('bob', 'camera', 'video') },
    ];
    assert.deepEqual(names(groupSegments(other)), ['s1-t1', 's2-t1']);
  });
});

describe('placeSegments', () => {
  test('the second segment starts at its arrival time on the SFU clock: the restart is a gap', () => {
    // 6 s of video, the worker killed, media back 2.5 s later for 5 s more.
    const placed = placeSegments([{ firstArrivalMs: 1_000_000, durationTicks: 6 * 90_000 }, { firstArrivalMs: 1_008_500, durationTicks: 5 * 90_000 }], 90_000);
    assert.deepEqual(placed, [{ offsetTicks: 0, gapTicks: 0 }, { offsetTicks: 8.5 * 90_000, gapTicks: 2.5 * 90_000 }]);
  });

  test('a segment arriving before its predecessor ends (clocks a frame apart) starts at that end: timestamps only go up', () => {
    const placed = placeSegments([{ firstArrivalMs: 0, durationTicks: 48_000 }, { firstArrivalMs: 990, durationTicks: 960 }, { firstArrivalMs: 3_000, durationTicks: 960 }], 48_000);
    assert.deepEqual(placed, [{ offsetTicks: 0, gapTicks: 0 }, { offsetTicks: 48_000, gapTicks: 0 }, { offsetTicks: 144_000, gapTicks: 144_000 - 48_960 }]);
  });

  test('one segment: at 0, no gap; none: nothing', () => {
    assert.deepEqual(placeSegments([{ firstArrivalMs: 5, durationTicks: 10 }], 90_000), [{ offsetTicks: 0, gapTicks: 0 }]);
    assert.deepEqual(placeSegments([], 90_000), []);
  });
});
