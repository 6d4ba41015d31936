import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { opusPacketSamples } from '../../../src/recording/tracks/containers.ts';

describe('containers', () => {
  test('Opus packet durations from the TOC byte', () => {
    assert.equal(opusPacketSamples(Buffer.from([0xf8])), 960, 'CELT FB 20 ms, one frame');
    assert.equal(opusPacketSamples(Buffer.from([0x79])), 1920, 'hybrid 20 ms, two frames');
    assert.equal(opusPacketSamples(Buffer.from([0x1b, 0x03])), 2880 * 3, 'SILK 60 ms, three frames (code 3)');
    assert.equal(opusPacketSamples(Buffer.alloc(0)), 0);
  });
});
