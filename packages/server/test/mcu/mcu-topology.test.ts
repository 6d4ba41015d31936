import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseServerMessage, RoomConfig, versioned, viaServer } from '@parley/protocol';
import { configFromEnv, resolveConfig } from '../../src/config/config.ts';
import { Room } from '../../src/rooms/room.ts';

test('the mcu topology is accepted wherever sfu is: PARLEY_TOPOLOGY, the config, a token roomConfig, the protocol', () => {
  assert.equal(resolveConfig(configFromEnv({ PARLEY_TOPOLOGY: 'mcu' })).rooms.topology, 'mcu');
  assert.equal(resolveConfig({ rooms: { topology: 'mcu' } }).rooms.topology, 'mcu');
  assert.equal(RoomConfig.parse({ topology: 'mcu' }).topology, 'mcu');
  const offer = parseServerMessage(
    JSON.stringify(versioned({ type: 'subscriberOffer', sdp: 'v=0', offerId: 1, tracks: [{ mid: '1', trackId: 'MIX_ann', participant: 'ann', source: 'mix', kind: 'audio' }] })),
  );
  assert.ok(offer.ok && offer.message.type === 'subscriberOffer' && offer.message.tracks[0]!.source === 'mix');
  assert.deepEqual(['p2p', 'sfu', 'mcu'].map((t) => viaServer(t as 'p2p')), [false, true, true]);
});

test('an mcu room is mcu from its first participant, never moves to P2P, and holds as many as an sfu room', () => {
  const room = new Room('r', { maxParticipants: 16, topology: 'mcu', p2pWhenTwo: true, videoCodecs: ['vp8'] });
  assert.equal(room.topology, 'mcu');
  assert.equal(room.desiredTopology(), 'mcu');
  assert.equal(room.capacity, 16);
});
