// One tile of the call grid: a participant's video (or initials when there is none), their
// hidden audio, name, muted-microphone indicator, connection quality bars and the highlight
// while they speak.

import { hueFor, initialsOf, setAudioOutput, type ConnectionQuality, type TrackSource } from '@parley/client';
import { cloneTemplate, findPart } from './dom.js';
import { playTrack, trackIn } from './media.js';
import { qualityIndicator } from './quality-bars.js';

export interface TileOptions {
  identity: string;
  name: string;
  /** The self view: mirrored like a mirror, labelled "(you)", and never given audio (that would echo). */
  isLocal: boolean;
}

export class ParticipantTile {
  /** The grid cell to insert into the grid; the tile itself (data-testid="tile") is inside it. */
  readonly element: HTMLElement;
  readonly identity: string;
  readonly isLocal: boolean;
  private readonly tile: HTMLElement;
  private readonly cameraVideo: HTMLVideoElement;
  private readonly screenVideo: HTMLVideoElement;
  private readonly placeholder: HTMLElement;
  private readonly placeholderText: HTMLElement;
  private readonly initials: HTMLElement;
  private readonly nameLabel: HTMLElement;
  private readonly mutedIcon: HTMLElement;
  private readonly quality: HTMLElement;
  private readonly qualityLabel: HTMLElement;
  private readonly audioElements = new Map<TrackSource, HTMLAudioElement>();
  private cameraMuted = false;
  /** The participant announced a live camera (it may not have arrived yet). */
  private cameraAnnounced = false;
  /** The camera track shown has given its first frame (until then the tile says it is connecting). */
  private cameraFrameShown = false;
  /** The speaker chosen in the device picker; undefined for the browser's default. */
  private audioOutput: string | undefined;

  constructor(options: TileOptions) {
    this.identity = options.identity;
    this.isLocal = options.isLocal;
    this.element = cloneTemplate('tile-template');
    this.tile = findPart(this.element, 'tile', HTMLElement);
    this.cameraVideo = findPart(this.tile, 'camera', HTMLVideoElement);
    this.screenVideo = findPart(this.tile, 'screen', HTMLVideoElement);
    this.placeholder = findPart(this.tile, 'placeholder', HTMLElement);
    this.placeholderText = findPart(this.placeholder, 'placeholder-text', HTMLElement);
    this.initials = findPart(this.tile, 'initials', HTMLElement);
    this.nameLabel = findPart(this.tile, 'name', HTMLElement);
    this.mutedIcon = findPart(this.tile, 'muted', HTMLElement);
    this.quality = findPart(this.tile, 'quality', HTMLElement);
    this.qualityLabel = findPart(this.quality, 'quality-label', HTMLElement);

    this.tile.dataset['identity'] = options.identity;
    this.tile.dataset['local'] = String(options.isLocal);
    this.cameraVideo.classList.toggle('mirrored', options.isLocal);
    // The `muted` attribute of a cloned template does not reliably set the property; videos carry
    // no audio anyway (audio goes to separate <audio> elements), and muted video may always autoplay.
    this.cameraVideo.muted = true;
    this.screenVideo.muted = true;
    // The first frame: the element has a picture to show (readyState HAVE_CURRENT_DATA or more).
    const onFrame = () => {
      if (this.cameraFrameShown || this.cameraVideo.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || trackIn(this.cameraVideo) === undefined) return;
      this.cameraFrameShown = true;
      this.render();
    };
    for (const event of ['loadeddata', 'resize', 'playing'] as const) this.cameraVideo.addEventListener(event, onFrame);
    // A stable colour per person makes initials tiles easier to tell apart.
    this.tile.style.setProperty('--avatar-hue', String(hueFor(options.identity)));
    this.setName(options.name);
    this.render();
  }

  setName(name: string): void {
    const label = this.isLocal ? `${name} (you)` : name;
    this.nameLabel.textContent = label;
    this.initials.textContent = initialsOf(name);
    this.tile.setAttribute('aria-label', label);
  }

  setMicrophoneMuted(muted: boolean): void {
    this.mutedIcon.hidden = !muted;
    this.tile.dataset['micMuted'] = String(muted);
  }

  /** Shows the quality as bars (hidden until the first report). */
  setConnectionQuality(quality: ConnectionQuality | undefined): void {
    this.quality.hidden = quality === undefined;
    if (quality === undefined) return;
    const { bars, label } = qualityIndicator(quality);
    this.quality.dataset['bars'] = String(bars);
    this.quality.dataset['quality'] = quality;
    this.quality.title = label;
    this.qualityLabel.textContent = label;
  }

  setSpeaking(speaking: boolean): void {
    this.tile.classList.toggle('is-speaking', speaking);
    this.tile.dataset['speaking'] = String(speaking);
  }

  /** Plays this participant's sound on `deviceId` (the speaker picked in the device picker). */
  setAudioOutput(deviceId: string): Promise<void> {
    this.audioOutput = deviceId;
    const elements = [this.cameraVideo, this.screenVideo, ...this.audioElements.values()];
    return Promise.all(elements.map((element) => setAudioOutput(element, deviceId))).then(() => undefined);
  }

  /** Whether a shared screen is showing: the grid features such a tile. */
  get isShowingScreen(): boolean {
    return !this.screenVideo.hidden;
  }

  /**
   * What the participant announced of its camera: `undefined` none, else muted or not. A muted
   * camera keeps its track but shows the placeholder (the sender is sending black frames); a live
   * one not yet showing a frame shows "Connecting…", never "Camera off".
   */
  setCameraAnnounced(state: { muted: boolean } | undefined): void {
    this.cameraAnnounced = state !== undefined && !state.muted;
    this.cameraMuted = state?.muted ?? false;
    this.render();
  }

  showTrack(source: TrackSource, track: MediaStreamTrack): void {
    const element = this.mediaElementFor(source);
    if (source === 'camera' && trackIn(element) !== track) this.cameraFrameShown = this.isLocal;
    playTrack(element, track);
    this.render();
  }

  /**
   * Stops showing `source`. With `track`, only if that is still the track shown: an unsubscribe
   * for an old track that arrives late must not blank out its replacement.
   */
  removeTrack(source: TrackSource, track?: MediaStreamTrack): void {
    const element = this.mediaElementFor(source);
    if (track && trackIn(element) !== track) return;
    if (source === 'camera') this.cameraFrameShown = false;
    playTrack(element, undefined);
    this.render();
  }

  dispose(): void {
    playTrack(this.cameraVideo, undefined);
    playTrack(this.screenVideo, undefined);
    for (const audio of this.audioElements.values()) {
      playTrack(audio, undefined);
      audio.remove();
    }
    this.audioElements.clear();
    this.element.remove();
  }

  private mediaElementFor(source: TrackSource): HTMLMediaElement {
    if (source === 'camera') return this.cameraVideo;
    if (source === 'screen') return this.screenVideo;
    return this.audioElementFor(source);
  }

  private audioElementFor(source: TrackSource): HTMLAudioElement {
    let audio = this.audioElements.get(source);
    if (!audio) {
      audio = document.createElement('audio');
      audio.autoplay = true;
      audio.hidden = true;
      audio.dataset['source'] = source;
      this.tile.append(audio);
      this.audioElements.set(source, audio);
      // A speaker that has gone away since it was picked leaves the browser's default in use.
      if (this.audioOutput !== undefined) setAudioOutput(audio, this.audioOutput).catch(() => undefined);
    }
    return audio;
  }

  private render(): void {
    const hasCamera = trackIn(this.cameraVideo) !== undefined && !this.cameraMuted;
    const showsCamera = hasCamera && this.cameraFrameShown;
    const showsScreen = trackIn(this.screenVideo) !== undefined;
    const connecting = !showsCamera && !this.cameraMuted && (hasCamera || this.cameraAnnounced);
    this.cameraVideo.hidden = !showsCamera;
    this.screenVideo.hidden = !showsScreen;
    this.placeholder.hidden = showsCamera || showsScreen;
    this.placeholderText.textContent = connecting ? 'Connecting…' : 'Camera off';
    this.tile.dataset['camera'] = showsCamera ? 'on' : connecting ? 'connecting' : 'off';
    // While sharing, the screen fills the tile and the camera shrinks to a corner (see style.css).
    this.tile.classList.toggle('is-sharing-screen', showsScreen);
  }
}
