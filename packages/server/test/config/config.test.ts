import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configFromEnv, ConfigError, mergeConfig, resolveConfig, type ServerConfigInput } from '../../src/index.ts';
import { isLoopbackHost } from '../../src/config/hosts.ts';
import { TEST_SECRET } from '../helpers.ts';

describe('configuration', () => {
  const key = { k: TEST_SECRET };
  test('plain HTTP off loopback is refused unless TLS or a TLS proxy is stated', () => {
    assert.throws(() => resolveConfig({ host: '0.0.0.0', apiKeys: key }), (e: unknown) => e instanceof ConfigError && /refusing to serve plain HTTP on 0\.0\.0\.0/.test(e.message));
    assert.equal(resolveConfig({ host: '0.0.0.0', apiKeys: key, behindTlsProxy: true }).host, '0.0.0.0');
    assert.equal(resolveConfig({ host: '192.0.2.2', apiKeys: key, tls: { selfSigned: true } }).tls.selfSigned, true);
  });

  test('dev mode is on by default only on loopback without keys; production needs a key', () => {
    assert.equal(resolveConfig({}).devMode, true);
    assert.equal(resolveConfig({ apiKeys: key }).devMode, false);
    assert.throws(() => resolveConfig({ host: '0.0.0.0', behindTlsProxy: true }), /no API key configured/);
    assert.equal(resolveConfig({ apiKeys: key }).apiKeys.devkey, undefined, 'the dev key is not valid outside dev mode');
  });

  test('invalid values are refused with the field named', () => {
    assert.throws(() => resolveConfig({ port: 70000 }), /port/);
    assert.throws(() => resolveConfig({ apiKeys: { k: 'short' } }), /32 characters/);
    assert.throws(() => resolveConfig({ tls: { certFile: 'a.pem' } }), /go together/);
    assert.throws(() => resolveConfig({ ice: { turnUrls: ['turn:x'] } }), /turnSecret/);
    assert.throws(() => resolveConfig({ bogus: 1 } as never), /bogus|Unrecognized/);
  });

  test("the MCU grid budget: 8 by default, PARLEY_MCU_MAX_GRIDS sets it, 0 or a fraction is refused", () => {
    assert.equal(resolveConfig({}).mcu.maxGrids, 8);
    assert.equal(resolveConfig(configFromEnv({ PARLEY_MCU_MAX_GRIDS: '3' })).mcu.maxGrids, 3);
    assert.throws(() => resolveConfig(configFromEnv({ PARLEY_MCU_MAX_GRIDS: '0' })), /maxGrids/);
    assert.throws(() => resolveConfig(configFromEnv({ PARLEY_MCU_MAX_GRIDS: '2.5' })), /maxGrids/);
  });

  test('the MCU grid tiers: 640x360@15, 960x540@20, 1280x720@30 by default; PARLEY_MCU_VIDEO_TIERS sets them; videoBitrateKbps is the lowest one\'s; bitrates must climb', () => {
    assert.deepEqual(resolveConfig({}).mcu.videoTiers.map((t) => `${t.width}x${t.height}@${t.fps}:${t.bitrateKbps}`), ['640x360@15:600', '960x540@20:1200', '1280x720@30:2500']);
    assert.deepEqual(resolveConfig(configFromEnv({ PARLEY_MCU_VIDEO_TIERS: '320x180@15:200, 640x360@30:800' })).mcu.videoTiers, [
      { width: 320, height: 180, fps: 15, bitrateKbps: 200 },
      { width: 640, height: 360, fps: 30, bitrateKbps: 800 },
    ]);
    assert.equal(resolveConfig({ mcu: { videoBitrateKbps: 400 } }).mcu.videoTiers[0]!.bitrateKbps, 400);
    assert.throws(() => configFromEnv({ PARLEY_MCU_VIDEO_TIERS: '640x360' }), /WIDTHxHEIGHT@FPS:KBPS/);
    assert.throws(() => resolveConfig(configFromEnv({ PARLEY_MCU_VIDEO_TIERS: '641x360@15:600' })), /videoTiers/);
    assert.throws(() => resolveConfig(configFromEnv({ PARLEY_MCU_VIDEO_TIERS: '640x360@15:600,1280x720@30:600' })), /higher bitrate/);
  });

  test('a __proto__ key in a config file is refused, not merged into the prototype', () => {
    const fromFile = JSON.parse('{"__proto__": {"dev": true, "host": "0.0.0.0"}}') as ServerConfigInput;
    assert.throws(() => resolveConfig(mergeConfig(fromFile, { apiKeys: key })), /Unrecognized key|__proto__/);
    assert.deepEqual(mergeConfig({ rooms: { maxParticipants: 4 } }, { rooms: { maxParticipants: 8 } }, { port: 1 }), { rooms: { maxParticipants: 8 }, port: 1 });
  });

  test('loopback detection', () => {
    assert.deepEqual(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '0.0.0.0', '192.0.2.2', '::', 'example.com'].map(isLoopbackHost), [true, true, true, true, true, false, false, false, false]);
  });
});
