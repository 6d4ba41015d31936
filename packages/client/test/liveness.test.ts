import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CHECK_EVERY_MS, Liveness, PING_EVERY_MS, SILENT_LIMIT_MS, type LivenessVerdict } from '../src/liveness.ts';

/** Checks every `every` ms from 0 to `until`; `heard(now)` is the newest message's time then. */
function run(liveness: Liveness, until: number, heard: (now: number) => number, every = CHECK_EVERY_MS): Array<{ at: number; verdict: LivenessVerdict }> {
  const verdicts: Array<{ at: number; verdict: LivenessVerdict }> = [];
  for (let now = every; now <= until; now += every) verdicts.push({ at: now, verdict: liveness.check(now, heard(now)) });
  return verdicts;
}

describe('Liveness: the signaling connection judged by what arrives', () => {
  test('a ping every PING_EVERY_MS; a connection whose pongs come back is never dead', () => {
    const liveness = new Liveness(0);
    // Each pong 200 ms after its ping.
    const verdicts = run(liveness, 60_000, (now) => Math.max(0, Math.floor((now - 200) / PING_EVERY_MS) * PING_EVERY_MS + 200));
    assert.deepEqual(verdicts.filter((v) => v.verdict === 'ping').map((v) => v.at).slice(0, 3), [PING_EVERY_MS, 2 * PING_EVERY_MS, 3 * PING_EVERY_MS]);
    assert.equal(verdicts.filter((v) => v.verdict === 'dead').length, 0);
  });

  test('nothing arrives: dead at the check that reaches SILENT_LIMIT_MS (three pings unanswered), not before', () => {
    const liveness = new Liveness(0);
    const verdicts = run(liveness, 12_000, () => 0);
    const dead = verdicts.find((v) => v.verdict === 'dead');
    assert.equal(dead?.at, SILENT_LIMIT_MS);
    assert.equal(verdicts.filter((v) => v.verdict === 'ping' && v.at < SILENT_LIMIT_MS).length, 2, 'pings at 3 and 6 s; the one due at 9 s is the verdict');
  });

  test('any message counts, not only the pong: a connection busy with events is alive', () => {
    const liveness = new Liveness(0);
    const verdicts = run(liveness, 30_000, (now) => now - 500);
    assert.equal(verdicts.some((v) => v.verdict === 'dead'), false);
  });

  test('a page whose timers run 5 s late (busy, throttled) counts ~1 s of silence per check, so a live connection survives it', () => {
    const liveness = new Liveness(0);
    // The pongs wait in the page's queue behind the late timers: nothing is seen for 20 s of wall time.
    const verdicts = run(liveness, 20_000, () => 0, 5000);
    assert.equal(verdicts.some((v) => v.verdict === 'dead'), false, `4 late checks: silence ${liveness.silence} ms`);
    assert.ok(liveness.silence <= 4 * (CHECK_EVERY_MS + 100));
    // Then the queue drains: the messages heard reset the count.
    assert.equal(liveness.check(20_050, 20_040), 'fine');
    assert.equal(liveness.silence, 10);
  });

  test('a page that stays slow still gives up a dead connection, after SILENT_LIMIT_MS of its running time', () => {
    const liveness = new Liveness(0);
    const verdicts = run(liveness, 60_000, () => 0, 3000);
    const dead = verdicts.find((v) => v.verdict === 'dead');
    assert.ok(dead, 'given up within a minute');
    assert.ok(dead.at >= 3000 * Math.ceil(SILENT_LIMIT_MS / (CHECK_EVERY_MS + 100)), `not before ${SILENT_LIMIT_MS} ms of counted silence (at ${dead.at})`);
  });
});
