// The self-view on the join page: a camera-only getUserMedia stream, with the reason in words when
// it cannot start. It never captures audio; the SDK asks for the microphone when joining.

import { CAMERA_NEEDS_SECURE_PAGE, describeCameraError } from './errors.js';

export interface CameraPreview {
  /**
   * Starts the camera, the given device or the browser's default (no-op if that one already
   * runs; another device replaces it). Resolves false, with the reason shown, if it cannot.
   */
  start(deviceId?: string): Promise<boolean>;
  /** The device the preview shows, while it runs. */
  readonly deviceId: string | undefined;
  /** Stops the camera and releases the device, e.g. before the SDK opens it for the call. */
  stop(message?: string): void;
}

const CAMERA_OFF_MESSAGE = 'Your camera is off.';

export function createCameraPreview(video: HTMLVideoElement, messageElement: HTMLElement): CameraPreview {
  let stream: MediaStream | undefined;
  // Incremented by every start/stop, so a getUserMedia that resolves after the user already
  // switched the camera off (or left the page) releases its stream instead of showing it.
  let generation = 0;

  function showMessage(message: string | undefined): void {
    messageElement.textContent = message ?? '';
    messageElement.hidden = message === undefined;
    video.hidden = message !== undefined;
  }

  function release(): void {
    stream?.getTracks().forEach((track) => track.stop());
    stream = undefined;
    video.srcObject = null;
  }

  return {
    get deviceId() {
      return stream?.getVideoTracks()[0]?.getSettings().deviceId;
    },
    async start(deviceId?: string) {
      if (stream && (deviceId === undefined || stream.getVideoTracks()[0]?.getSettings().deviceId === deviceId)) return true;
      release();
      const attempt = ++generation;
      if (!navigator.mediaDevices?.getUserMedia) {
        showMessage(CAMERA_NEEDS_SECURE_PAGE);
        return false;
      }
      showMessage('Starting your camera…');
      try {
        const started = await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: 1280 }, height: { ideal: 720 }, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) },
          audio: false,
        });
        if (attempt !== generation) {
          started.getTracks().forEach((track) => track.stop());
          return false;
        }
        stream = started;
        video.muted = true;
        video.srcObject = started;
        showMessage(undefined);
        return true;
      } catch (error) {
        if (attempt === generation) showMessage(describeCameraError(error));
        return false;
      }
    },
    stop(message = CAMERA_OFF_MESSAGE) {
      generation++;
      release();
      showMessage(message);
    },
  };
}
