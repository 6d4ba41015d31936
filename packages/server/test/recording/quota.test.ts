import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QuotaLedger } from '../../src/recording/quota.ts';

test('quota ledger: per user and per server, reservations count until released, sizes replace', () => {
  const ledger = new QuotaLedger({ bytesPerUser: 100, bytesPerServer: 150 });
  ledger.set('rec_a', 'alice', 60);
  const first = ledger.reserve('alice', 40);
  assert.equal(first.ok, true, 'up to the user quota exactly');
  const second = ledger.reserve('alice', 1);
  assert.deepEqual(second.ok ? 'ok' : second.code, 'USER_QUOTA_EXCEEDED', 'a reservation in flight counts');
  if (first.ok) first.release();
  ledger.set('rec_a', 'alice', 100);
  assert.equal(ledger.used('alice'), 100);
  assert.equal(ledger.reserve('alice', 1).ok, false);
  const bob = ledger.reserve('bob', 51);
  assert.equal(bob.ok ? 'ok' : bob.code, 'SERVER_QUOTA_EXCEEDED', '100 + 51 > 150');
  assert.match(bob.ok ? '' : bob.message, /150/);
  assert.equal(ledger.reserve('bob', 50).ok, true);
  ledger.delete('rec_a');
  assert.equal(ledger.used('alice'), 0);
  assert.equal(ledger.used(), 50, 'only bob’s reservation is left');
});

test('quota ledger: a refused reservation changes nothing', () => {
  const ledger = new QuotaLedger({ bytesPerUser: 10, bytesPerServer: 10 });
  assert.equal(ledger.reserve('alice', 11).ok, false);
  assert.equal(ledger.used(), 0);
});
