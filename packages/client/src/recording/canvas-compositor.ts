import { DEFAULT_CANVAS_SIZE, fitInto, gridTiles, placeholderText, type Size } from './canvas-layout.js';
import { FrameClock, type FrameClockKind } from './frame-clock.js';

export interface CompositorTracks {
  video: MediaStreamTrack[];
  audio: MediaStreamTrack[];
}

export interface CompositorOptions {
  /** Default 1280x720. */
  size?: Size;
  /** Default 25. */
  fps?: number;
  /**
   * Whose recording this is: while no video is drawn (the camera off, or a new camera's first
   * frame not there yet) the canvas shows this name and "Camera off" instead of an empty frame.
   * Without it (the `call` recording) an empty canvas is the dark background.
   */
  placeholderName?: () => string;
}

const BACKGROUND = '#111';
const PLACEHOLDER_BACKGROUND = '#1f2937';
const PLACEHOLDER_TITLE = '#f9fafb';
const PLACEHOLDER_SUBTITLE = '#9ca3af';

/**
 * Media tracks made into one stream for MediaRecorder, which records the tracks of the stream it
 * was given and cannot take a track added later: every video drawn into a canvas grid and every
 * audio track mixed with WebAudio. `tracks` is asked at every frame, so whatever is published now
 * is what is recorded: a camera turned off and on again (a new track), a switched microphone,
 * people joining and leaving. Used for the `call` recording (every tile, everyone's audio) and
 * the `self` one (this participant's camera, or the placeholder, and microphone).
 */
export class CanvasCompositor {
  readonly stream: MediaStream;
  /** The canvas's track: the video the recording gets whichever audio it takes. */
  readonly video: MediaStreamTrack;
  private readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly audio: AudioContext;
  private readonly mix: MediaStreamAudioDestinationNode;
  private readonly videos = new Map<MediaStreamTrack, HTMLVideoElement>();
  private readonly sources = new Map<MediaStreamTrack, { node: MediaStreamAudioSourceNode; element: HTMLAudioElement }>();
  private readonly clock: FrameClock;
  /** Waiting for a frame in which every live video had a picture (firstFrames). */
  private waitingForPictures: Array<() => void> = [];

  constructor(
    private readonly tracks: () => CompositorTracks,
    private readonly options: CompositorOptions = {},
  ) {
    const size = options.size ?? DEFAULT_CANVAS_SIZE;
    const fps = options.fps ?? 25;
    this.canvas = document.createElement('canvas');
    this.canvas.width = size.width;
    this.canvas.height = size.height;
    const context = this.canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas context');
    this.context = context;
    this.audio = new AudioContext();
    this.mix = this.audio.createMediaStreamDestination();
    // Suspended until a user gesture in some browsers (Firefox); startRecording from a click
    // resumes it. Firefox with no audio output device never runs it (audioRunning).
    void this.audio.resume().catch(() => undefined);
    // A silent source keeps the audio track running while nobody has a microphone on.
    const silence = this.audio.createConstantSource();
    silence.offset.value = 0;
    silence.connect(this.mix);
    silence.start();
    const video = this.canvas.captureStream(fps).getVideoTracks()[0];
    if (!video) throw new Error('the canvas gave no video track');
    this.video = video;
    const audio = this.mix.stream.getAudioTracks()[0];
    this.stream = new MediaStream([video, ...(audio ? [audio] : [])]);
    this.draw();
    // The page's setInterval while the page is visible, a Worker's clock while it is hidden: a
    // hidden tab's timers wake about once a second in Chromium, and a recording drawn by them had
    // 1.0 fps while hidden; the Worker's clock keeps 25 fps there (frame-clock.ts, docs/recording.md).
    this.clock = new FrameClock(1000 / fps, () => this.draw());
  }

  /** What drives the drawing now: a Worker's clock (the page hidden), or the page's timer. */
  get clockKind(): FrameClockKind {
    return this.clock.kind;
  }

  /** The mixed audio's track. */
  get mixedAudio(): MediaStreamTrack | undefined {
    return this.mix.stream.getAudioTracks()[0];
  }

  /**
   * Whether the mix produces audio: true once the AudioContext runs, false if it does not within
   * `timeoutMs`. A suspended context gives a track without data, and MediaRecorder (Firefox)
   * waits for the first data of every track before it records anything.
   */
  audioRunning(timeoutMs: number): Promise<boolean> {
    if (this.audio.state === 'running') return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (running: boolean) => {
        clearTimeout(timer);
        this.audio.removeEventListener('statechange', changed);
        resolve(running);
      };
      const changed = () => {
        if (this.audio.state === 'running') done(true);
      };
      const timer = setTimeout(() => done(this.audio.state === 'running'), timeoutMs);
      this.audio.addEventListener('statechange', changed);
    });
  }

  /**
   * Resolves once a frame was drawn with a picture of every live video (a camera's first frame
   * takes a few tens of milliseconds to reach its element), or after `timeoutMs`: started after
   * it, a recording does not begin with an empty tile or the placeholder.
   */
  firstFrames(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waitingForPictures = this.waitingForPictures.filter((waiter) => waiter !== done);
        resolve();
      };
      this.waitingForPictures.push(done);
    });
  }

  private draw(): void {
    const { video, audio } = this.tracks();
    this.sync(video, audio);
    const { width, height } = this.canvas;
    const ctx = this.context;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, width, height);
    const live = video.filter((track) => track.readyState === 'live');
    const tiles = gridTiles(live.length, { width, height });
    let drawn = 0;
    live.forEach((track, index) => {
      const element = this.videos.get(track);
      const tile = tiles[index];
      if (!element || !tile || element.videoWidth === 0 || element.videoHeight === 0) return;
      const at = fitInto({ width: element.videoWidth, height: element.videoHeight }, tile);
      ctx.drawImage(element, at.x, at.y, at.width, at.height);
      drawn += 1;
    });
    if (drawn === 0 && this.options.placeholderName) this.drawPlaceholder(this.options.placeholderName());
    if (drawn === live.length) for (const waiter of [...this.waitingForPictures]) waiter();
  }

  private drawPlaceholder(name: string): void {
    const { width, height } = this.canvas;
    const ctx = this.context;
    const text = placeholderText(name, { width, height });
    ctx.fillStyle = PLACEHOLDER_BACKGROUND;
    ctx.fillRect(0, 0, width, height);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    const gap = text.titlePx * 0.35;
    if (text.title !== '') {
      ctx.fillStyle = PLACEHOLDER_TITLE;
      ctx.font = `600 ${text.titlePx}px sans-serif`;
      ctx.fillText(text.title, width / 2, height / 2 - text.subtitlePx / 2 - gap / 2, width * 0.9);
    }
    ctx.fillStyle = PLACEHOLDER_SUBTITLE;
    ctx.font = `${text.subtitlePx}px sans-serif`;
    ctx.fillText(text.subtitle, width / 2, height / 2 + (text.title === '' ? 0 : text.titlePx / 2 + gap / 2), width * 0.9);
  }

  /** Elements and audio sources for new tracks; those of tracks gone are released. */
  private sync(video: MediaStreamTrack[], audio: MediaStreamTrack[]): void {
    for (const track of video) {
      if (this.videos.has(track)) continue;
      const element = document.createElement('video');
      element.muted = true;
      element.playsInline = true;
      element.srcObject = new MediaStream([track]);
      // Muted, so autoplay allows it; a rejection (close() emptied it before it played) leaves nothing to do.
      void element.play().catch(() => undefined);
      this.videos.set(track, element);
    }
    for (const [track, element] of this.videos) {
      if (video.includes(track)) continue;
      element.srcObject = null;
      this.videos.delete(track);
    }
    for (const track of audio) {
      if (this.sources.has(track) || track.readyState !== 'live') continue;
      const stream = new MediaStream([track]);
      const node = this.audio.createMediaStreamSource(stream);
      node.connect(this.mix);
      // Chromium hands WebAudio nothing but silence from a remote (WebRTC) track that no media
      // element plays: a `call` recording of an app that does not play the others' audio itself
      // had none of their voices (e2e/recording.test.ts, the auto move). A muted element playing
      // the same stream makes the track deliver its audio; it is harmless for local tracks.
      const element = document.createElement('audio');
      element.muted = true;
      element.srcObject = stream;
      void element.play().catch(() => undefined);
      this.sources.set(track, { node, element });
    }
    for (const [track, source] of this.sources) {
      if (audio.includes(track)) continue;
      source.node.disconnect();
      source.element.srcObject = null;
      this.sources.delete(track);
    }
  }

  /** Stops drawing and mixing, and the compositor's own tracks (never the tracks it was fed). */
  close(): void {
    this.clock.stop();
    for (const waiter of [...this.waitingForPictures]) waiter();
    for (const element of this.videos.values()) element.srcObject = null;
    this.videos.clear();
    for (const { node, element } of this.sources.values()) {
      node.disconnect();
      element.srcObject = null;
    }
    this.sources.clear();
    for (const track of this.stream.getTracks()) track.stop();
    // Rejects only when the context is closed already.
    void this.audio.close().catch(() => undefined);
  }
}
