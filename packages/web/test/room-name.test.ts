import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inviteLink, randomRoomName, ROOM_NAME_PATTERN, roomFromSearch, roomNameProblem, roomPath } from '../src/room-name.ts';

describe('roomNameProblem', () => {
  it('accepts names the server accepts', () => {
    for (const name of ['a', 'blue-otter-42', 'Team_1.standup~x', '9', 'x'.repeat(128)]) {
      assert.equal(roomNameProblem(name), undefined, name);
    }
  });

  it('explains each kind of bad name in words', () => {
    assert.match(roomNameProblem('') ?? '', /enter a room name/);
    assert.match(roomNameProblem('x'.repeat(129)) ?? '', /at most 128/);
    assert.match(roomNameProblem('-team') ?? '', /start with a letter or a digit/);
    assert.match(roomNameProblem('team standup') ?? '', /spaces/);
    assert.match(roomNameProblem('team/standup') ?? '', /only use letters, digits/);
  });
});

describe('randomRoomName', () => {
  it('makes valid, readable names like blue-otter-42', () => {
    for (let i = 0; i < 50; i++) {
      const name = randomRoomName();
      assert.match(name, /^[a-z]+-[a-z]+-\d{2}$/);
      assert.match(name, ROOM_NAME_PATTERN);
    }
  });
});

describe('room URLs', () => {
  it('reads ?room= and ignores blanks', () => {
    assert.equal(roomFromSearch('?room=blue-otter-42'), 'blue-otter-42');
    assert.equal(roomFromSearch('?room=%20'), undefined);
    assert.equal(roomFromSearch(''), undefined);
  });

  it('builds the join path and invite link', () => {
    assert.equal(roomPath('blue-otter-42'), '/?room=blue-otter-42');
    assert.equal(inviteLink('https://call.example.com', 'a.b~c'), 'https://call.example.com/?room=a.b%7Ec');
    assert.equal(roomFromSearch(roomPath('a.b~c').slice(1)), 'a.b~c');
  });
});
