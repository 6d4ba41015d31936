/** Cameras, microphones and speakers this browser offers (labels need a granted permission). */
export interface MediaDevices {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export async function listMediaDevices(): Promise<MediaDevices> {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: devices.filter((d) => d.kind === 'videoinput'),
    microphones: devices.filter((d) => d.kind === 'audioinput'),
    speakers: devices.filter((d) => d.kind === 'audiooutput'),
  };
}

/**
 * Plays `element`'s audio on another output device where the browser supports it
 * (HTMLMediaElement.setSinkId); returns false where it does not.
 */
export async function setAudioOutput(element: HTMLMediaElement, deviceId: string): Promise<boolean> {
  const sink = element as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (typeof sink.setSinkId !== 'function') return false;
  await sink.setSinkId(deviceId);
  return true;
}
