import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as sdpTransform from 'sdp-transform';
import { VIDEO_CODECS } from '@parley/protocol';
import { SubscriberExtensionId } from '../../src/sfu/rtp/header-extensions.ts';
import { acceptedMids, announce, readPublishOffer, SdpError, shapePublishAnswer, subscriberOffer, TRANSPORT_CC } from '../../src/sfu/sdp.ts';

/** Captured from the real browsers and libdatachannel by fixtures/capture-sdp.ts. */
const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}.sdp`, import.meta.url), 'utf8');
const ALL_CODECS = VIDEO_CODECS;

describe('readPublishOffer', () => {
  test('Chromium simulcast camera: VP8 first, three rids, the rid extension id', () => {
    const offer = readPublishOffer(fixture('chromium-video-simulcast-offer'), ALL_CODECS);
    assert.deepEqual(offer, {
      kind: 'video',
      mid: '0',
      rids: ['q', 'h', 'f'],
      ridExtensionId: 10,
      audioLevelExtensionId: undefined,
      transportCcExtensionId: 4,
      codec: { kind: 'video', name: 'vp8', payloadType: 96, clockRate: 90000, fmtp: '' },
    });
  });

  test('Chromium: the room preference picks the codec and the best format of it', () => {
    const sdp = fixture('chromium-video-simulcast-offer');
    const h264 = readPublishOffer(sdp, ['h264', 'vp8']).codec;
    // Of 102 (42001f), 104 (mode 0), 108 (42e01f), 114 (mode 0), 116 (4d001f), 39 (mode 0): constrained baseline, mode 1.
    assert.equal(h264.payloadType, 108);
    assert.equal(h264.fmtp, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f');
    const vp9 = readPublishOffer(sdp, ['vp9']).codec;
    assert.deepEqual([vp9.name, vp9.payloadType, vp9.fmtp], ['vp9', 98, 'profile-id=0'], 'profile 0, not 100 (profile 2)');
    const av1 = readPublishOffer(sdp, ['av1', 'vp8']).codec;
    assert.deepEqual([av1.name, av1.payloadType], ['av1', 45]);
  });

  test('Firefox simulcast camera: VP8, three rids, a direction-qualified extmap', () => {
    const offer = readPublishOffer(fixture('firefox-video-simulcast-offer'), ALL_CODECS);
    assert.equal(offer.kind, 'video');
    assert.equal(offer.mid, '0');
    assert.deepEqual(offer.rids, ['q', 'h', 'f']);
    assert.equal(offer.ridExtensionId, 9, 'a=extmap:9/sendonly ...rtp-stream-id');
    assert.equal(offer.transportCcExtensionId, 7, 'a=extmap:7 ...transport-wide-cc, with rtcp-fb transport-cc');
    assert.deepEqual(offer.codec, { kind: 'video', name: 'vp8', payloadType: 120, clockRate: 90000, fmtp: 'max-fs=12288;max-fr=60' });
    assert.equal(readPublishOffer(fixture('firefox-video-simulcast-offer'), ['av1', 'vp8']).codec.payloadType, 99);
  });

  test('microphones: Opus and the audio-level extension id', () => {
    const chromium = readPublishOffer(fixture('chromium-audio-offer'), ALL_CODECS);
    assert.deepEqual([chromium.kind, chromium.codec.name, chromium.codec.payloadType, chromium.codec.clockRate], ['audio', 'opus', 111, 48000]);
    assert.equal(chromium.audioLevelExtensionId, 1);
    assert.equal(chromium.transportCcExtensionId, 3);
    assert.deepEqual(chromium.rids, []);
    const withoutFeedback = readPublishOffer(fixture('chromium-audio-offer').replace(/a=rtcp-fb:111 transport-cc\r\n/, ''), ALL_CODECS);
    assert.equal(withoutFeedback.transportCcExtensionId, undefined, 'sequence numbers without transport-cc feedback are not used');
    const firefox = readPublishOffer(fixture('firefox-audio-offer'), ['h264']);
    assert.deepEqual([firefox.kind, firefox.codec.name, firefox.codec.payloadType], ['audio', 'opus', 109], 'video preference does not apply to audio');
    assert.equal(firefox.audioLevelExtensionId, 1);
  });

  const refused = (sdp: string, pattern: RegExp, preference: readonly (typeof ALL_CODECS)[number][] = ALL_CODECS) =>
    assert.throws(() => readPublishOffer(sdp, preference), (error: unknown) => error instanceof SdpError && pattern.test(error.message));

  test('refuses anything but exactly one m-line', () => {
    const chromium = fixture('chromium-video-simulcast-offer');
    const session = chromium.slice(0, chromium.indexOf('m=video'));
    refused(session, /exactly one m-line \(got 0\)/);
    refused('garbage', /exactly one m-line \(got 0\)/);
    refused(chromium + chromium.slice(chromium.indexOf('m=video')).replace('a=mid:0', 'a=mid:1'), /exactly one m-line \(got 2\)/);
  });

  test('refuses an m-line that does not send', () => {
    const chromium = fixture('chromium-video-simulcast-offer');
    refused(chromium.replace('a=sendonly', 'a=recvonly'), /does not send/);
    refused(chromium.replace('a=sendonly', 'a=inactive'), /does not send/);
    refused(chromium.replace(/^m=video \d+/m, 'm=video 0'), /does not send/);
  });

  test('refuses an offer without the room\'s codecs, naming them', () => {
    refused(fixture('firefox-video-simulcast-offer'), /none of the room's codecs \(h264\)/, ['h264']);
    const onlyMode0H264 = fixture('chromium-video-simulcast-offer').replace(/packetization-mode=1/g, 'packetization-mode=0');
    refused(onlyMode0H264, /none of the room's codecs \(h264\)/, ['h264']);
    const noOpus = fixture('chromium-audio-offer').replace(/opus\/48000\/2/g, 'L16/48000/2');
    refused(noOpus, /none of the room's codecs \(opus\)/);
  });

  test('refuses other m-line kinds and an m-line without a mid', () => {
    refused('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n', /cannot publish a application m-line/);
    refused(fixture('chromium-video-simulcast-offer').replace('a=mid:0\r\n', ''), /no a=mid/);
  });
});

describe('shapePublishAnswer', () => {
  const shape = (browser: 'chromium' | 'firefox', kind: 'video-simulcast' | 'audio', announced?: string) => {
    const offer = readPublishOffer(fixture(`${browser}-${kind}-offer`), ALL_CODECS);
    const engineAnswer = fixture(`${browser}-${kind}-engine-answer`);
    const sdp = shapePublishAnswer(engineAnswer, offer, announced);
    return { offer, engineAnswer, sdp, session: sdpTransform.parse(sdp) };
  };

  for (const browser of ['chromium', 'firefox'] as const) {
    test(`${browser} simulcast camera: one codec, receive-only, rids and simulcast received`, () => {
      const { offer, engineAnswer, sdp, session } = shape(browser, 'video-simulcast');
      assert.equal(session.media.length, 1);
      const [video] = session.media;
      const pt = offer.codec.payloadType;
      assert.equal(String(video!.payloads), String(pt));
      assert.deepEqual(video!.rtp.map((rtp) => [rtp.payload, rtp.codec]), [[pt, 'VP8']], 'no RTX, RED or ULPFEC');
      assert.equal(video!.direction, 'recvonly');
      assert.deepEqual(video!.rids, [
        { id: 'q', direction: 'recv' },
        { id: 'h', direction: 'recv' },
        { id: 'f', direction: 'recv' },
      ]);
      assert.match(sdp, /^a=simulcast:recv q;h;f\r$/m);
      assert.doesNotMatch(sdp, /a=rid:\w+ send|a=simulcast:send/);
      assert.deepEqual(
        video!.rtcpFb?.map((fb) => `${fb.type} ${fb.subtype ?? ''}`.trim()).sort(),
        ['ccm fir', 'goog-remb', 'nack', 'nack pli', 'transport-cc'],
        'feedback the SFU gives, transport-wide feedback among it',
      );
      assert.deepEqual(
        video!.ext?.map((ext) => ext.uri).sort(),
        ['http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', 'urn:ietf:params:rtp-hdrext:sdes:mid', 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id'],
      );
      assert.equal(video!.ext?.find((ext) => ext.uri.includes('transport-wide-cc'))?.value, offer.transportCcExtensionId, 'the id the SFU reads');
      assert.doesNotMatch(sdp, /a=msid|a=ssrc|a=rtcp-xr|a=group:LS/);
      assert.match(sdp, /^a=group:BUNDLE 0\r$/m);
      // What the browser needs to connect is kept verbatim.
      for (const line of ['a=fingerprint:', 'a=ice-ufrag:', 'a=ice-pwd:', 'a=setup:', 'a=candidate:', 'a=mid:0', 'a=rtcp-mux']) {
        const original = engineAnswer.split('\r\n').filter((l) => l.startsWith(line));
        assert.ok(original.length > 0, `the engine answer has ${line}`);
        for (const kept of original) assert.ok(sdp.includes(kept), `kept ${kept}`);
      }
    });

    test(`${browser} microphone: Opus only, audio level kept, no simulcast`, () => {
      const { session, sdp } = shape(browser, 'audio');
      const [audio] = session.media;
      assert.deepEqual(audio!.rtp.map((rtp) => rtp.codec), ['opus']);
      assert.equal(audio!.direction, 'recvonly');
      assert.equal(audio!.rids, undefined);
      assert.equal(audio!.simulcast, undefined);
      assert.ok(audio!.ext?.some((ext) => ext.uri === 'urn:ietf:params:rtp-hdrext:ssrc-audio-level'));
      assert.doesNotMatch(sdp, /a=msid|a=ssrc/);
    });
  }

  test('an announced address replaces the host candidates and the connection line', () => {
    const { sdp, session } = shape('chromium', 'video-simulcast', '203.0.113.7');
    assert.equal(session.media[0]!.connection?.ip, '203.0.113.7');
    const candidates = session.media[0]!.candidates ?? [];
    assert.ok(candidates.length > 0);
    for (const candidate of candidates) assert.equal(candidate.ip, '203.0.113.7');
    assert.doesNotMatch(sdp, /127\.0\.0\.1 \d+ typ host/);
  });
});

describe('announce', () => {
  const sdp = [
    'v=0',
    'o=rtc 1 0 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'm=video 40000 UDP/TLS/RTP/SAVPF 96',
    'c=IN IP4 10.0.0.5',
    'a=mid:0',
    'a=rtpmap:96 VP8/90000',
    'a=candidate:1 1 UDP 2114977791 10.0.0.5 40000 typ host',
    'a=candidate:2 1 UDP 1686052607 198.51.100.9 40000 typ srflx raddr 10.0.0.5 rport 40000',
    'm=audio 40000 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 10.0.0.5',
    'a=mid:1',
    'a=rtpmap:111 opus/48000/2',
    'a=candidate:1 1 UDP 2114977791 10.0.0.5 40000 typ host',
    '',
  ].join('\r\n');

  test('without an address the SDP is returned untouched', () => {
    assert.equal(announce(sdp, undefined), sdp);
  });

  test('IPv4: host candidates and c= lines of every m-line; other candidate types untouched', () => {
    const announced = sdpTransform.parse(announce(sdp, '203.0.113.7'));
    for (const media of announced.media) {
      assert.deepEqual(media.connection, { version: 4, ip: '203.0.113.7' });
      for (const candidate of media.candidates!.filter((c) => c.type === 'host')) assert.equal(candidate.ip, '203.0.113.7');
    }
    const srflx = announced.media[0]!.candidates!.find((c) => c.type === 'srflx')!;
    assert.equal(srflx.ip, '198.51.100.9');
    assert.equal(announced.media[0]!.candidates![0]!.port, 40000, 'ports stay');
  });

  test('IPv6 address: c=IN IP6', () => {
    const announced = announce(sdp, '2001:db8::7');
    assert.match(announced, /^c=IN IP6 2001:db8::7\r$/m);
    assert.match(announced, /typ host/);
    assert.doesNotMatch(announced, /10\.0\.0\.5 40000 typ host/);
  });
});

test('acceptedMids: a rejected m-line has port 0', () => {
  const answer = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\n';
  assert.deepEqual([...acceptedMids(answer)], [
    ['0', true],
    ['1', false],
  ]);
});

const ENGINE_OFFER = [
  'v=0',
  'o=rtc 1 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE anchor 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:anchor',
  'a=inactive',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 nack',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=sendonly',
  'a=rtpmap:111 opus/48000/2',
  '',
].join('\r\n');

describe('subscriberOffer', () => {
  test('every m-line offers the transport-wide sequence under one id and transport-cc feedback; audio its level', () => {
    const offer = sdpTransform.parse(subscriberOffer(ENGINE_OFFER, undefined));
    for (const section of offer.media) {
      assert.deepEqual(
        section.ext?.find((e) => e.uri === TRANSPORT_CC),
        { value: SubscriberExtensionId.transportSequence, uri: TRANSPORT_CC },
      );
      for (const rtpMap of section.rtp) assert.ok(section.rtcpFb?.some((fb) => fb.payload === rtpMap.payload && fb.type === 'transport-cc'));
    }
    assert.equal(offer.media[2]!.ext?.find((e) => e.value === SubscriberExtensionId.audioLevel)?.uri, 'urn:ietf:params:rtp-hdrext:ssrc-audio-level');
    assert.equal(offer.media[1]!.ext?.length, 1, 'video gets no audio level');
    assert.ok(offer.media[1]!.rtcpFb?.some((fb) => fb.type === 'nack'), "the engine's feedback stays");
  });

  test('video offers receiver reference times (rrtr), audio does not', () => {
    const offer = sdpTransform.parse(subscriberOffer(ENGINE_OFFER, undefined));
    assert.ok(offer.media[1]!.rtcpFb?.some((fb) => fb.payload === 96 && fb.type === 'rrtr'));
    assert.ok(!offer.media[2]!.rtcpFb?.some((fb) => fb.type === 'rrtr'));
  });

  test('applied twice, nothing is duplicated; the announced address still replaces the host', () => {
    const once = subscriberOffer(ENGINE_OFFER, '203.0.113.9');
    const twice = subscriberOffer(once, '203.0.113.9');
    assert.equal(twice, once);
    assert.match(once, /c=IN IP4 203\.0\.113\.9/);
  });

});
