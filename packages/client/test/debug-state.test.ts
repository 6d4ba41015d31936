import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { roomDebugState, type DebuggedConnection, type RoomParts } from '../src/debug-state.ts';

function connection(reports: Array<Record<string, unknown>>, sdp = { local: 'v=0 local', remote: 'v=0 remote' }): DebuggedConnection {
  const report = new Map(reports.map((r) => [String(r['id']), r])) as unknown as RTCStatsReport;
  return {
    signalingState: 'stable',
    iceConnectionState: 'connected',
    connectionState: 'connected',
    localDescription: { type: 'offer', sdp: sdp.local } as RTCSessionDescription,
    remoteDescription: { type: 'answer', sdp: sdp.remote } as RTCSessionDescription,
    getStats: () => Promise.resolve(report),
    getConfiguration: () => ({ iceServers: [{ urls: 'stun:example.test' }, { urls: ['turn:example.test?transport=udp'], username: '1700000000:ann', credential: 'x' }] }),
  };
}

function parts(overrides: Partial<RoomParts> = {}): RoomParts {
  return { state: 'connected', topology: 'p2p', localIdentity: 'ann', cameraProfile: 'high', links: [], sfu: undefined, ...overrides };
}

describe('room.debugState()', () => {
  test('a direct link: states, SDPs, the track each source sends, raw RTP counters and the selected remote candidate', async () => {
    const pc = connection([
      { id: 'in1', type: 'inbound-rtp', kind: 'video', mid: '1', ssrc: 11, packetsReceived: 100, packetsLost: 2, bytesReceived: 9000, framesDecoded: 30, keyFramesDecoded: 1, pliCount: 0, jitterBufferDelay: 1.2, jitterBufferEmittedCount: 24 },
      { id: 'out1', type: 'outbound-rtp', kind: 'audio', mid: '0', ssrc: 12, packetsSent: 50, bytesSent: 4000 },
      { id: 'pair', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'lc', remoteCandidateId: 'rc' },
      { id: 'lc', type: 'local-candidate', address: '192.0.2.9', port: 50000, candidateType: 'relay', relayProtocol: 'tcp' },
      { id: 'rc', type: 'remote-candidate', address: '10.0.0.2', port: 4000, candidateType: 'host' },
    ]);
    const link = { pc, remoteIdentity: 'bob', encoderRestarts: 2, senderOf: (source: string) => (source === 'camera' ? { track: { id: 'cam-track' } } : undefined) };
    const state = await roomDebugState(parts({ links: [link] }));
    assert.equal(state.links.length, 1);
    const [debugLink] = state.links;
    assert.equal(debugLink!.remoteIdentity, 'bob');
    assert.deepEqual(debugLink!.senders, { camera: 'cam-track' });
    assert.equal(debugLink!.encoderRestarts, 2);
    assert.equal(debugLink!.localSdp, 'v=0 local');
    assert.equal(debugLink!.remoteSdp, 'v=0 remote');
    assert.deepEqual(debugLink!.selectedRemoteCandidate, { address: '10.0.0.2', port: 4000, candidateType: 'host', relayProtocol: undefined });
    assert.deepEqual(debugLink!.selectedLocalCandidate, { address: '192.0.2.9', port: 50000, candidateType: 'relay', relayProtocol: 'tcp' });
    assert.deepEqual(debugLink!.localCandidates.map((c) => c.port), [50000]);
    assert.equal(debugLink!.turnUsername, '1700000000:ann');
    assert.deepEqual(
      debugLink!.rtp.map((r) => [r.id, r.direction, r.kind, r.packets, r.bytes, r.frames]),
      [
        ['in1', 'inbound', 'video', 100, 9000, 30],
        ['out1', 'outbound', 'audio', 50, 4000, undefined],
      ],
    );
    assert.deepEqual(
      debugLink!.rtp.map((r) => [r.jitterBufferDelay, r.jitterBufferEmittedCount]),
      [
        [1.2, 24],
        [undefined, undefined],
      ],
    );
    assert.equal(state.sfu, undefined);
    // Plain data: it survives JSON (what crosses from a test page to the test process).
    assert.deepEqual(JSON.parse(JSON.stringify(state)), JSON.parse(JSON.stringify(await roomDebugState(parts({ links: [link] })))));
  });

  test('stats: false reads no getStats(): states and SDPs only, no RTP counters, no selected candidate', async () => {
    let calls = 0;
    const pc = { ...connection([{ id: 'in1', type: 'inbound-rtp', kind: 'video', packetsReceived: 1 }]), getStats: () => (calls++, Promise.resolve(new Map() as unknown as RTCStatsReport)) };
    const state = await roomDebugState(parts({ links: [{ pc, remoteIdentity: 'bob', encoderRestarts: 0, senderOf: () => undefined }] }), { stats: false });
    assert.equal(calls, 0);
    assert.equal(state.links[0]!.connectionState, 'connected');
    assert.equal(state.links[0]!.remoteSdp, 'v=0 remote');
    assert.deepEqual(state.links[0]!.rtp, []);
    assert.equal(state.links[0]!.selectedRemoteCandidate, undefined);
    await roomDebugState(parts({ links: [{ pc, remoteIdentity: 'bob', encoderRestarts: 0, senderOf: () => undefined }] }));
    assert.equal(calls, 1, 'the default reads stats');
  });

  test("the selected pair: the transport's pick (Chromium), else the pair marked selected (Firefox), else a nominated one that succeeded", async () => {
    const candidates = [
      { id: 'l1', type: 'local-candidate', port: 1, candidateType: 'host' },
      { id: 'l2', type: 'local-candidate', port: 2, candidateType: 'relay', relayProtocol: 'udp' },
      { id: 'r', type: 'remote-candidate', port: 9, candidateType: 'host' },
    ];
    const pairs = (marks: Record<string, unknown>) => [
      { id: 'p1', type: 'candidate-pair', state: 'succeeded', nominated: true, localCandidateId: 'l1', remoteCandidateId: 'r' },
      { id: 'p2', type: 'candidate-pair', state: 'succeeded', nominated: false, localCandidateId: 'l2', remoteCandidateId: 'r', ...marks },
    ];
    const localPort = async (reports: Array<Record<string, unknown>>) => (await roomDebugState(parts({ links: [{ pc: connection(reports), remoteIdentity: 'bob', encoderRestarts: 0, senderOf: () => undefined }] }))).links[0]!.selectedLocalCandidate?.port;
    assert.equal(await localPort([...candidates, ...pairs({}), { id: 't', type: 'transport', selectedCandidatePairId: 'p2' }]), 2);
    assert.equal(await localPort([...candidates, ...pairs({ selected: true })]), 2);
    assert.equal(await localPort([...candidates, ...pairs({})]), 1);
  });

  test('ids stay with a connection and a replaced one gets a new id', async () => {
    const first = { pc: connection([]), remoteIdentity: 'bob', encoderRestarts: 0, senderOf: () => undefined };
    const [a, b] = await Promise.all([roomDebugState(parts({ links: [first] })), roomDebugState(parts({ links: [first] }))]);
    assert.equal(a.links[0]!.id, b.links[0]!.id);
    const replaced = await roomDebugState(parts({ links: [{ ...first, pc: connection([]) }] }));
    assert.notEqual(replaced.links[0]!.id, a.links[0]!.id);
  });

  test('the SFU: publications by source with the SFU track id and the sender track, and the receiving connection', async () => {
    const sfu = {
      publications: new Map([['camera' as const, { pc: connection([]), trackId: 'T1', sender: { track: { id: 'cam-track' } } }]]),
      subscriber: connection([{ id: 'in', type: 'inbound-rtp', mediaType: 'audio', bytesReceived: 10 }]),
    };
    const state = await roomDebugState(parts({ topology: 'sfu', sfu }));
    assert.deepEqual(
      state.sfu?.publications.map((p) => [p.source, p.trackId, p.senderTrackId]),
      [['camera', 'T1', 'cam-track']],
    );
    assert.equal(state.sfu?.subscriber?.rtp[0]?.kind, 'audio', 'the older `mediaType` name is read as the kind');
    const again = await roomDebugState(parts({ topology: 'sfu', sfu }));
    assert.equal(again.sfu?.id, state.sfu?.id);
    assert.notEqual((await roomDebugState(parts({ topology: 'sfu', sfu: { ...sfu } }))).sfu?.id, state.sfu?.id, 'a new SFU session has a new id');
  });
});
