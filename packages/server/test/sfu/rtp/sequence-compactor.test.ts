import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SequenceCompactor } from '../../../src/sfu/rtp/sequence-compactor.ts';
import { prng } from '../../seeded-random.ts';

/** Feeds packets (padding-only ones marked) and returns what each kept packet is numbered. */
function run(packets: readonly { sequence: number; padding?: boolean }[]): (number | undefined | 'dropped')[] {
  const compactor = new SequenceCompactor();
  return packets.map(({ sequence, padding }) => (padding && compactor.drop(sequence) ? 'dropped' : compactor.map(sequence)));
}

test('padding in order is left out and the numbers after it close up', () => {
  assert.deepEqual(run([{ sequence: 1 }, { sequence: 2, padding: true }, { sequence: 3 }, { sequence: 4, padding: true }, { sequence: 5, padding: true }, { sequence: 6 }]), [1, 'dropped', 2, 'dropped', 'dropped', 3]);
});

test('a late packet (a resend) gets the number it would have had, not one another packet holds', () => {
  // 11 is lost and comes back after padding 12 was dropped and 13 took number 12.
  assert.deepEqual(run([{ sequence: 10 }, { sequence: 12, padding: true }, { sequence: 13 }, { sequence: 11 }]), [10, 'dropped', 12, 11]);
});

test('late padding fills the number it holds; a copy of a dropped packet is not forwarded', () => {
  assert.deepEqual(run([{ sequence: 20 }, { sequence: 22 }, { sequence: 21, padding: true }]), [20, 22, 21]);
  assert.deepEqual(run([{ sequence: 30 }, { sequence: 31, padding: true }, { sequence: 32 }, { sequence: 31 }]), [30, 'dropped', 31, undefined]);
});

test('across the 65535 -> 0 wrap', () => {
  assert.deepEqual(run([{ sequence: 65534 }, { sequence: 65535, padding: true }, { sequence: 0 }, { sequence: 1, padding: true }, { sequence: 2 }]), [65534, 'dropped', 65535, 'dropped', 0]);
});

test('seeded streams (half padding, packets displaced by up to 6): kept packets keep their order and leave no hole', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const random = prng(seed);
    const start = Math.floor(random() * 65536);
    const packets = Array.from({ length: 2000 }, (_, i) => ({ sequence: (start + i) & 0xffff, padding: random() < 0.5, at: i + random() * 6 }));
    const arrivals = [...packets].sort((a, b) => a.at - b.at);
    const numbers = run(arrivals);
    const kept = arrivals.map((packet, i) => ({ index: packets.indexOf(packet), number: numbers[i] })).filter((k): k is { index: number; number: number } => typeof k.number === 'number');
    // Unwrap the output numbers relative to the first kept packet in source order.
    kept.sort((a, b) => a.index - b.index);
    const base = kept[0]!.number;
    const unwrapped = kept.map((k) => (k.number - base + 0x10000) & 0xffff);
    for (let i = 1; i < unwrapped.length; i++) assert.equal(unwrapped[i], unwrapped[i - 1]! + 1, `seed ${seed}: kept packets numbered in source order without holes`);
  }
});
