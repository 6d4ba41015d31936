import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServerMessage } from '@parley/protocol';
import { defaultGrants } from '../../src/index.ts';
import { Participant, type EncodedMessage, type ParticipantLink } from '../../src/rooms/participant.ts';
import { Room } from '../../src/rooms/room.ts';

/** A link that keeps what the room sent it. */
function recordingLink(): ParticipantLink & { encoded: EncodedMessage[]; sent: number } {
  const link = {
    encoded: [] as EncodedMessage[],
    sent: 0,
    send: () => void (link.sent += 1),
    sendEncoded: (message: EncodedMessage) => void link.encoded.push(message),
    terminate: () => undefined,
    drop: () => undefined,
  };
  return link;
}

describe('room broadcast', () => {
  test("an arrival is serialized once: every other participant's link gets the same bytes, the newcomer none", () => {
    const room = new Room('r', { maxParticipants: 16, topology: 'sfu', p2pWhenTwo: false, videoCodecs: ['vp8'] });
    const links = ['ann', 'ben', 'cat', 'dan'].map((identity) => {
      const link = recordingLink();
      assert.deepEqual(room.admit(new Participant({ identity, name: identity, grants: defaultGrants, link })), { ok: true });
      return link;
    });
    const [ann, ben, cat, dan] = links as [ReturnType<typeof recordingLink>, ReturnType<typeof recordingLink>, ReturnType<typeof recordingLink>, ReturnType<typeof recordingLink>];
    const danArrival = [ann, ben, cat].map((link) => link.encoded.at(-1)!);
    assert.equal(new Set(danArrival).size, 1, 'one encoding for the three');
    const message = JSON.parse(danArrival[0]!.bytes.toString('utf8')) as ServerMessage;
    assert.equal(message.type === 'participantJoined' && message.participant.identity, 'dan');
    assert.equal(typeof message.v, 'number', 'stamped with the protocol version, as send() does');
    assert.equal(dan.encoded.length, 0, 'the newcomer is not told about itself');
    assert.deepEqual([ann.encoded.length, ben.encoded.length, cat.encoded.length], [3, 2, 1], 'each told of every later arrival');
    assert.equal(links.reduce((sum, link) => sum + link.sent, 0), 0, 'nothing serialized per recipient');
  });
});

describe('room topology', () => {
  test('an `auto` room held on the SFU (a server recording) wants the SFU at any size; released, it goes back to P2P at two when so configured', () => {
    const room = new Room('r', { maxParticipants: 16, topology: 'auto', p2pWhenTwo: true, videoCodecs: ['vp8'] });
    for (const identity of ['ann', 'ben']) room.admit(new Participant({ identity, name: identity, grants: defaultGrants, link: recordingLink() }));
    assert.equal(room.desiredTopology(), 'p2p');
    room.sfuHolds += 1;
    assert.equal(room.desiredTopology(), 'sfu', 'held: the SFU, though only two are in it');
    room.topology = 'sfu';
    room.remove(room.get('ben')!, 'left');
    assert.equal(room.desiredTopology(), 'sfu', 'held: the SFU, though one is left');
    room.sfuHolds -= 1;
    assert.equal(room.desiredTopology(), 'p2p', 'released: back to P2P');
    const p2pRoom = new Room('q', { maxParticipants: 2, topology: 'p2p', p2pWhenTwo: false, videoCodecs: ['vp8'] });
    p2pRoom.sfuHolds += 1;
    assert.equal(p2pRoom.desiredTopology(), 'p2p', 'a `p2p` room is never moved');
  });
});
