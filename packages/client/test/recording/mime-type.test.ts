import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseMimeType, RECORDING_MIME_TYPES } from '../../src/recording/mime-type.ts';

// What MediaRecorder.isTypeSupported answered in each browser here (docs/recording.md).
const chromium = new Set(['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm']);
const firefoxOffline = new Set(['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp8', 'video/webm']);

test('mime type: VP9 + Opus where supported, VP8 + Opus in Firefox, a preferred type first, none when nothing is', () => {
  assert.equal(RECORDING_MIME_TYPES[0], 'video/webm;codecs=vp9,opus');
  assert.equal(chooseMimeType((type) => chromium.has(type)), 'video/webm;codecs=vp9,opus');
  assert.equal(chooseMimeType((type) => firefoxOffline.has(type)), 'video/webm;codecs=vp8,opus');
  assert.equal(chooseMimeType((type) => firefoxOffline.has(type), 'video/webm;codecs=vp9,opus'), 'video/webm;codecs=vp8,opus');
  assert.equal(chooseMimeType((type) => chromium.has(type), 'video/webm;codecs=vp8'), 'video/webm;codecs=vp8');
  assert.equal(chooseMimeType((type) => type === 'video/webm'), 'video/webm');
  assert.equal(chooseMimeType(() => false), undefined);
  assert.equal(chooseMimeType(() => {
    throw new Error('isTypeSupported threw');
  }), undefined);
});
