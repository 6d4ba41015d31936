import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hueFor, initialsOf } from '../src/avatar.ts';

describe('initialsOf', () => {
  it('takes the first letters of the first and last word', () => {
    assert.equal(initialsOf('Ada Lovelace'), 'AL');
    assert.equal(initialsOf('grace'), 'G');
    assert.equal(initialsOf('  Jean  Claude van Damme '), 'JD');
    assert.equal(initialsOf('🦊 fox'), '🦊F');
    assert.equal(initialsOf(''), '');
  });
});

describe('hueFor', () => {
  it('is stable and within 0-359', () => {
    assert.equal(hueFor('guest-abc'), hueFor('guest-abc'));
    for (const id of ['a', 'guest-123', 'x'.repeat(200)]) {
      const hue = hueFor(id);
      assert.ok(hue >= 0 && hue < 360);
    }
  });
});
