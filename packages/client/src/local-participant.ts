import type { Grants, TrackSource } from '@parley/protocol';
import { mediaError, ParleyError } from './errors.js';

/** How the room publishes what the local participant captures. */
export interface LocalPublisher {
  publish(source: TrackSource, track: MediaStreamTrack): Promise<void>;
  unpublish(source: TrackSource, track: MediaStreamTrack): Promise<void>;
}

export interface CaptureDefaults {
  video?: MediaTrackConstraints;
  audio?: MediaTrackConstraints;
}

const defaultVideo: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
const defaultAudio: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** This browser's participant: its identity once joined, and the camera and microphone it publishes. */
export class LocalParticipant {
  identity = '';
  name = '';
  grants: Grants | undefined;
  private readonly published = new Map<TrackSource, MediaStreamTrack>();
  /** The device each capture source uses once one was chosen. */
  private readonly devices = new Map<CaptureSource, string>();
  /** Bumped by stopAll(): a capture that finishes after it must not publish. */
  private epoch = 0;
  /** Serializes enable/disable calls so a fast toggle never leaves two cameras running. */
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly publisher: LocalPublisher,
    private readonly capture: CaptureDefaults = {},
  ) {}

  /** The source `track` is published as, if it is one of ours. */
  sourceOf(track: MediaStreamTrack): TrackSource | undefined {
    for (const [source, local] of this.tracks) if (local === track) return source;
    return undefined;
  }

  get tracks(): ReadonlyMap<TrackSource, MediaStreamTrack> {
    return this.published;
  }

  get isCameraEnabled(): boolean {
    return this.published.has('camera');
  }

  get isMicrophoneEnabled(): boolean {
    return this.published.has('microphone');
  }

  get isScreenShareEnabled(): boolean {
    return this.published.has('screen');
  }

  /**
   * Moves the published camera to another device. The new track replaces the old one on the same
   * senders (RTCRtpSender.replaceTrack): no renegotiation, the others see no gap and no new track.
   */
  switchCamera(deviceId: string): Promise<void> {
    return this.switchDevice('camera', deviceId);
  }

  /** Moves the published microphone to another device, like switchCamera. */
  switchMicrophone(deviceId: string): Promise<void> {
    return this.switchDevice('microphone', deviceId);
  }

  /**
   * Shares a screen, window or tab as its own track (source `screen`). Ending the share from the
   * browser's own UI ("Stop sharing") unpublishes it too.
   */
  startScreenShare(options: DisplayMediaStreamOptions = { video: { frameRate: { ideal: 15 } }, audio: false }): Promise<void> {
    return this.serialize(async () => {
      if (this.published.has('screen')) return;
      this.assertCanPublish();
      let stream: MediaStream;
      try {
        stream = await navigator.mediaDevices.getDisplayMedia(options);
      } catch (error) {
        throw mediaError(error, 'screen');
      }
      const track = stream.getVideoTracks()[0];
      if (!track) throw new ParleyError('MEDIA_FAILED', 'the screen capture gave no video track');
      track.addEventListener('ended', () => void this.unpublishTrack('screen'));
      this.published.set('screen', track);
      await this.publisher.publish('screen', track);
    });
  }

  stopScreenShare(): Promise<void> {
    return this.unpublishTrack('screen');
  }

  /**
   * Turns the camera on or off. `deviceId` picks the camera (e.g. chosen before joining); it is
   * remembered, like the last switchCamera, so turning the camera off and on reopens that one.
   */
  setCameraEnabled(enabled: boolean, deviceId?: string): Promise<void> {
    if (deviceId !== undefined) this.devices.set('camera', deviceId);
    return this.setSourceEnabled('camera', enabled, () => capture('camera', this.constraints('camera')), 'camera');
  }

  /** Turns the microphone on or off; `deviceId` as for setCameraEnabled. */
  setMicrophoneEnabled(enabled: boolean, deviceId?: string): Promise<void> {
    if (deviceId !== undefined) this.devices.set('microphone', deviceId);
    return this.setSourceEnabled('microphone', enabled, () => capture('microphone', this.constraints('microphone')), 'microphone');
  }

  private constraints(source: CaptureSource, deviceId = this.devices.get(source)): MediaTrackConstraints {
    const base = source === 'camera' ? (this.capture.video ?? defaultVideo) : (this.capture.audio ?? defaultAudio);
    return deviceId === undefined ? base : { ...base, deviceId: { exact: deviceId } };
  }

  /** Publishes a track the app captured itself (a canvas, a file, a custom device). */
  publishTrack(source: TrackSource, track: MediaStreamTrack): Promise<void> {
    return this.serialize(async () => {
      this.assertCanPublish();
      const previous = this.published.get(source);
      this.published.set(source, track);
      await this.publisher.publish(source, track);
      if (previous && previous !== track) previous.stop();
    });
  }

  unpublishTrack(source: TrackSource): Promise<void> {
    return this.serialize(async () => {
      const track = this.published.get(source);
      if (!track) return;
      this.published.delete(source);
      track.stop();
      await this.publisher.unpublish(source, track);
    });
  }

  /** @internal Stops every local track (on disconnect). */
  stopAll(): void {
    this.epoch += 1;
    for (const track of this.published.values()) track.stop();
    this.published.clear();
  }

  private setSourceEnabled(source: TrackSource, enabled: boolean, acquire: () => Promise<MediaStream>, what: string): Promise<void> {
    if (!enabled) return this.unpublishTrack(source);
    return this.serialize(async () => {
      if (this.published.has(source)) return;
      this.assertCanPublish();
      const epoch = this.epoch;
      const track = await firstTrack(acquire, what);
      if (epoch !== this.epoch) {
        // The room was left while the device was starting: release it at once.
        track.stop();
        throw new ParleyError('NOT_CONNECTED', `the room was left before the ${what} started`);
      }
      this.published.set(source, track);
      await this.publisher.publish(source, track);
    });
  }

  private switchDevice(source: CaptureSource, deviceId: string): Promise<void> {
    return this.serialize(async () => {
      const previous = this.published.get(source);
      if (!previous) throw new ParleyError('MEDIA_FAILED', `the ${source} is off: turn it on before switching devices`);
      const track = await firstTrack(() => capture(source, this.constraints(source, deviceId)), source);
      this.published.set(source, track);
      await this.publisher.publish(source, track);
      previous.stop();
      this.devices.set(source, deviceId);
    });
  }

  private assertCanPublish(): void {
    if (this.grants && !this.grants.canPublish) throw new ParleyError('PERMISSION_DENIED', 'this token cannot publish media');
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.pending.then(task, task);
    // The caller gets the error through `run`; the chain only has to go on.
    this.pending = run.catch(() => undefined);
    return run;
  }
}

/** The first track of a capture, with capture failures turned into ParleyErrors naming the device. */
type CaptureSource = 'camera' | 'microphone';

function capture(source: CaptureSource, constraints: MediaTrackConstraints): Promise<MediaStream> {
  return navigator.mediaDevices.getUserMedia(source === 'camera' ? { video: constraints } : { audio: constraints });
}

async function firstTrack(acquire: () => Promise<MediaStream>, what: string): Promise<MediaStreamTrack> {
  let stream: MediaStream;
  try {
    stream = await acquire();
  } catch (error) {
    throw mediaError(error, what);
  }
  const track = stream.getTracks()[0];
  if (!track) throw new ParleyError('MEDIA_FAILED', `the ${what} gave no track`);
  return track;
}
