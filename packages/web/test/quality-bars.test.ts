import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_QUALITY_BARS, qualityIndicator } from '../src/quality-bars.ts';

describe('qualityIndicator', () => {
  it('maps excellent/good/poor/lost to 3/2/1/0 bars and says it in words', () => {
    assert.deepEqual(qualityIndicator('excellent'), { bars: 3, label: 'Connection: excellent' });
    assert.deepEqual(qualityIndicator('good'), { bars: 2, label: 'Connection: good' });
    assert.deepEqual(qualityIndicator('poor'), { bars: 1, label: 'Connection: poor' });
    assert.equal(qualityIndicator('lost').bars, 0);
    assert.match(qualityIndicator('lost').label, /lost/);
    assert.equal(MAX_QUALITY_BARS, 3);
  });
});
