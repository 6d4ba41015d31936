// The "Devices" panel of the call: which camera, microphone and speaker to use. Cameras and
// microphones are switched on the fly (the others see no gap); the speaker applies to every
// remote participant's sound, and its list is hidden where the browser cannot choose one
// (HTMLMediaElement.setSinkId is missing in some browsers).

import { listMediaDevices, type LocalParticipant } from '@parley/client';
import { deviceOptions, selectedDevice, type DeviceOption } from './device-options.js';
import { findPart } from './dom.js';

export interface DevicePickerOptions {
  panel: HTMLElement;
  localParticipant: LocalParticipant;
  /** The user picked a speaker: play every remote participant's sound there. */
  onSpeakerChanged(deviceId: string): Promise<void>;
  onError(error: unknown): void;
}

export interface DevicePicker {
  /** Re-reads the devices and which ones are in use (on opening, after a device came or went). */
  refresh(): Promise<void>;
  dispose(): void;
}

export function canChooseSpeaker(): boolean {
  return 'setSinkId' in HTMLMediaElement.prototype;
}

export function createDevicePicker(options: DevicePickerOptions): DevicePicker {
  const { panel, localParticipant: local } = options;
  const camera = findPart(panel, 'camera-select', HTMLSelectElement);
  const microphone = findPart(panel, 'microphone-select', HTMLSelectElement);
  const speaker = findPart(panel, 'speaker-select', HTMLSelectElement);
  const cameraHint = findPart(panel, 'camera-hint', HTMLElement);
  const microphoneHint = findPart(panel, 'microphone-hint', HTMLElement);
  findPart(panel, 'speaker-field', HTMLElement).hidden = !canChooseSpeaker();
  let chosenSpeaker: string | undefined;

  async function refresh(): Promise<void> {
    let devices;
    try {
      devices = await listMediaDevices();
    } catch (error) {
      options.onError(error);
      return;
    }
    fillDeviceSelect(camera, deviceOptions(devices.cameras, 'Camera'), local.tracks.get('camera')?.getSettings().deviceId);
    fillDeviceSelect(microphone, deviceOptions(devices.microphones, 'Microphone'), local.tracks.get('microphone')?.getSettings().deviceId);
    fillDeviceSelect(speaker, deviceOptions(devices.speakers, 'Speaker'), chosenSpeaker);
    // Switching needs a running device; turning it on again reopens the one last chosen.
    setSwitchable(camera, cameraHint, local.isCameraEnabled, 'Turn your camera on to switch cameras.');
    setSwitchable(microphone, microphoneHint, local.isMicrophoneEnabled, 'Turn your microphone on to switch microphones.');
  }

  function onChange(select: HTMLSelectElement, apply: (deviceId: string) => Promise<void>): void {
    select.addEventListener('change', () => {
      select.setAttribute('aria-busy', 'true');
      apply(select.value)
        .catch(options.onError)
        .finally(() => {
          select.removeAttribute('aria-busy');
          void refresh();
        });
    });
  }

  onChange(camera, (deviceId) => local.switchCamera(deviceId));
  onChange(microphone, (deviceId) => local.switchMicrophone(deviceId));
  onChange(speaker, (deviceId) => {
    chosenSpeaker = deviceId;
    return options.onSpeakerChanged(deviceId);
  });

  // Headsets plugged in or out during the call show up at once.
  const onDeviceChange = (): void => void refresh();
  navigator.mediaDevices?.addEventListener('devicechange', onDeviceChange);

  return {
    refresh,
    dispose: () => navigator.mediaDevices?.removeEventListener('devicechange', onDeviceChange),
  };
}

/** Lists `choices` in `select`, with the device in use (else the browser's default) selected. */
export function fillDeviceSelect(select: HTMLSelectElement, choices: DeviceOption[], inUse: string | undefined): void {
  select.replaceChildren(...choices.map((choice) => new Option(choice.label, choice.value)));
  select.value = selectedDevice(choices, inUse) ?? '';
}

function setSwitchable(select: HTMLSelectElement, hint: HTMLElement, running: boolean, offHint: string): void {
  select.disabled = !running || select.options.length === 0;
  hint.textContent = running ? '' : offHint;
  hint.hidden = running;
}
