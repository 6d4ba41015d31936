/**
 * Fuzzed STUN/TURN input (seeded, so a failure replays): random bytes, truncations and bit flips of
 * valid signed requests, ChannelData with lying lengths, over UDP and TCP to a live server. It
 * must never throw (no warning logged, the process survives), never allocate, and keep serving.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { readChannelNumber, readErrorCode, readRequestedFamily, readRequestedTransport, readUint32, readXorAddress } from '../../src/turn/attributes.ts';
import { checkIntegrity, fingerprintMatches, longTermKey, seal } from '../../src/turn/integrity.ts';
import { Attr, decodeStun, StunClass, StunMethod, StunWriter } from '../../src/turn/stun-message.ts';
import { TurnServer } from '../../src/turn/turn-server.ts';
import { attr, REALM, restCredentials, SECRET, TurnTestClient, turnOptions } from './turn-client.ts';

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 0x5eed7;

/**
 * Messages of every kind to mutate. Allocate is signed by an attacker who lacks the secret:
 * bytes after MESSAGE-INTEGRITY are not protected, so a mutation there can leave a genuinely
 * signed request valid; what must hold is that nobody without the key gets an allocation.
 * The other requests carry valid signatures (they reach the allocation checks and get 437).
 */
function seeds(nonce: string): Buffer[] {
  const credentials = restCredentials(SECRET, 'fuzzer');
  const key = longTermKey(credentials.username, REALM, credentials.password);
  const attackerKey = longTermKey(credentials.username, REALM, 'guessed-password');
  const signed = (method: number, attributes: Array<(w: StunWriter) => void>, signingKey = key) => {
    const writer = new StunWriter(method, StunClass.Request, randomBytes(12));
    for (const add of attributes) add(writer);
    writer.text(Attr.Username, credentials.username).text(Attr.Realm, REALM).text(Attr.Nonce, nonce);
    return Buffer.from(seal(writer, signingKey));
  };
  const peer = { address: '127.0.0.1', port: 9, family: 4 as const };
  const send = new StunWriter(StunMethod.Send, StunClass.Indication, randomBytes(12));
  attr.peer(peer)(send);
  attr.data(Buffer.from('fuzz payload'))(send);
  const channelData = Buffer.from([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
  return [
    signed(StunMethod.Allocate, [attr.transport(), attr.lifetime(600)], attackerKey),
    signed(StunMethod.CreatePermission, [attr.peer(peer)]),
    signed(StunMethod.ChannelBind, [attr.channel(0x4000), attr.peer(peer)]),
    signed(StunMethod.Refresh, [attr.lifetime(0)]),
    Buffer.from(seal(send, undefined)),
    channelData,
  ];
}

/**
 * `framed`: keep the first four bytes (type and length) so a TCP stream stays in step; a stream
 * whose framing is broken is a different case (the server closes it), fuzzed separately.
 */
function mutate(valid: Buffer, random: () => number, framed = false): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  const copy = Buffer.from(valid);
  if (framed) {
    for (let i = 0, n = 1 + pick(4); i < n; i++) copy[4 + pick(copy.length - 4)] = random() < 0.5 ? pick(256) : copy[4 + pick(copy.length - 4)]! ^ (1 << pick(8));
    return copy;
  }
  switch (pick(5)) {
    case 0: // flip one to three bits anywhere, the header included
      for (let i = 0, n = 1 + pick(3); i < n; i++) copy[pick(copy.length)]! ^= 1 << pick(8);
      return copy;
    case 1: // truncate
      return copy.subarray(0, pick(copy.length));
    case 2: // random bytes over a random span
      for (let i = pick(copy.length), end = Math.min(copy.length, i + 1 + pick(8)); i < end; i++) copy[i] = pick(256);
      return copy;
    case 3: // a lying length field (message or attribute)
      copy.writeUInt16BE(pick(0x10000), copy.length > 24 && random() < 0.5 ? 22 : 2);
      return copy;
    default: // pure noise, sometimes behind a STUN-looking header
      return Buffer.concat([random() < 0.5 ? copy.subarray(0, 8) : Buffer.alloc(0), Buffer.from(Array.from({ length: pick(120) }, () => pick(256)))]);
  }
}

describe('TURN fuzzing', () => {
  let server: TurnServer;
  const warnings: string[] = [];
  before(async () => {
    server = await TurnServer.start(turnOptions({ logger: createLogger({ level: 'warn', write: (line) => warnings.push(line) }) }));
  });
  after(async () => {
    await server.close();
  });

  test('the decoder and every attribute reader: 20000 mutated and random inputs never throw', () => {
    const random = prng(SEED);
    const valid = seeds('0000000000' + 'x'.repeat(22));
    const key = Buffer.alloc(16);
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(valid[i % valid.length]!, random);
      const message = decodeStun(input);
      if (message === undefined) continue;
      fingerprintMatches(message);
      checkIntegrity(message, key);
      message.unknownRequired();
      for (let index = 0; index < message.types.length; index++) readXorAddress(message, message.types[index]!, index);
      readErrorCode(message);
      readUint32(message, Attr.Lifetime);
      readChannelNumber(message);
      readRequestedTransport(message);
      readRequestedFamily(message);
    }
  });

  for (const transport of ['udp', 'tcp'] as const) {
    test(`${transport}: 4000 fuzzed packets from one client never throw out of the server and never allocate`, async () => {
      const random = prng(SEED + (transport === 'udp' ? 1 : 2));
      const open = () => (transport === 'udp' ? TurnTestClient.udp('127.0.0.1', server.addresses.udp) : TurnTestClient.stream('tcp', '127.0.0.1', server.addresses.tcp));
      const connect = async () => {
        const client = await open();
        await client.request(StunMethod.Allocate, [attr.transport()]); // the challenge: a valid nonce for this client
        return { client, valid: seeds(client.nonce!) };
      };
      let { client, valid } = await connect();
      let reconnects = 0;
      for (let i = 0; i < 4000; i++) {
        if (client.closed) {
          // The server drops a TCP stream that stops looking like STUN; carry on with a new one.
          ({ client, valid } = await connect());
          reconnects++;
        }
        const breakFraming = transport === 'tcp' && i % 500 === 499;
        client.sendRaw(breakFraming ? mutate(valid[0]!, random).fill(0xff, 0, 1) : mutate(valid[i % valid.length]!, random, transport === 'tcp'));
        if (breakFraming) await client.until(() => client.closed, 'the server closes a stream that is not STUN');
        if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      if (client.closed) ({ client } = await connect());
      assert.equal((await client.request(StunMethod.Binding, [])).cls, StunClass.SuccessResponse, 'still serving');
      // Broken framing (every 500th packet, and mutated magic cookies) closes streams.
      if (transport === 'tcp') assert.ok(reconnects >= 7, `streams with broken framing were closed (${reconnects})`);
      assert.equal(server.metrics.allocationsTotal, 0, 'no mutated request allocated');
      assert.ok(server.metrics.authFailures > 0, 'mutated requests reached the credential check');
      assert.deepEqual(warnings, [], 'no request handler failed');
      client.close();
      // The same client, unmutated, still allocates: the fuzzing did not just fail to reach the server.
      const fresh = await open();
      try {
        const allocated = await fresh.authenticated(StunMethod.Allocate, [attr.transport()], restCredentials(SECRET, 'fuzzer'));
        assert.equal(allocated.cls, StunClass.SuccessResponse);
        assert.equal(server.metrics.allocationsTotal, 1);
        await fresh.request(StunMethod.Refresh, [attr.lifetime(0)], restCredentials(SECRET, 'fuzzer'));
        server.metrics.allocationsTotal = 0;
        server.metrics.authFailures = 0;
      } finally {
        fresh.close();
      }
    });
  }
});
