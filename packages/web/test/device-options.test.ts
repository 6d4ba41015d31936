import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceOptions, selectedDevice } from '../src/device-options.ts';

describe('deviceOptions', () => {
  it('lists each device once, numbering the ones without a label, and selects the one in use', () => {
    const options = deviceOptions(
      [
        { deviceId: 'a', label: 'Front camera' },
        { deviceId: 'b', label: '' },
        { deviceId: 'a', label: 'Front camera' },
      ],
      'Camera',
    );
    assert.deepEqual(options, [
      { value: 'a', label: 'Front camera' },
      { value: 'b', label: 'Camera 2' },
    ]);
    assert.equal(selectedDevice(options, 'b'), 'b');
    assert.equal(selectedDevice(options, 'gone'), 'a');
    assert.equal(selectedDevice([], undefined), undefined);
  });
});
