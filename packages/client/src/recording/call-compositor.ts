/**
 * The call as the user sees it, as one stream for MediaRecorder: every video tile drawn into a
 * canvas grid (25 fps, 1280x720) and every audio track mixed with WebAudio. The tracks are asked
 * for at each frame, so people joining, leaving or turning their camera off show up as they do.
 */
export class CallCompositor {
  readonly stream: MediaStream;
  private readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly audio: AudioContext;
  private readonly mix: MediaStreamAudioDestinationNode;
  private readonly videos = new Map<MediaStreamTrack, HTMLVideoElement>();
  private readonly sources = new Map<MediaStreamTrack, MediaStreamAudioSourceNode>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly tracks: () => { video: MediaStreamTrack[]; audio: MediaStreamTrack[] }, size = { width: 1280, height: 720 }, fps = 25) {
    this.canvas = document.createElement('canvas');
    this.canvas.width = size.width;
    this.canvas.height = size.height;
    const context = this.canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas context');
    this.context = context;
    this.audio = new AudioContext();
    this.mix = this.audio.createMediaStreamDestination();
    // Suspended until a user gesture in some browsers (Firefox); startRecording from a click resumes it.
    void this.audio.resume().catch(() => undefined);
    // A silent source keeps the audio track running while nobody has a microphone on.
    const silence = this.audio.createConstantSource();
    silence.offset.value = 0;
    silence.connect(this.mix);
    silence.start();
    const video = this.canvas.captureStream(fps).getVideoTracks()[0];
    const audio = this.mix.stream.getAudioTracks()[0];
    this.stream = new MediaStream([...(video ? [video] : []), ...(audio ? [audio] : [])]);
    this.draw();
    this.timer = setInterval(() => this.draw(), 1000 / fps);
  }

  private draw(): void {
    const { video, audio } = this.tracks();
    this.sync(video, audio);
    const { width, height } = this.canvas;
    const ctx = this.context;
    ctx.fillStyle = '#111';
    ctx.fillRect(0, 0, width, height);
    const live = video.filter((track) => track.readyState === 'live');
    const columns = Math.max(1, Math.ceil(Math.sqrt(live.length)));
    const rows = Math.max(1, Math.ceil(live.length / columns));
    const tileW = width / columns;
    const tileH = height / rows;
    live.forEach((track, index) => {
      const element = this.videos.get(track);
      if (!element || element.videoWidth === 0) return;
      const scale = Math.min(tileW / element.videoWidth, tileH / element.videoHeight);
      const w = element.videoWidth * scale;
      const h = element.videoHeight * scale;
      const x = (index % columns) * tileW + (tileW - w) / 2;
      const y = Math.floor(index / columns) * tileH + (tileH - h) / 2;
      ctx.drawImage(element, x, y, w, h);
    });
  }

  /** Elements and audio sources for new tracks; those of tracks gone are released. */
  private sync(video: MediaStreamTrack[], audio: MediaStreamTrack[]): void {
    for (const track of video) {
      if (this.videos.has(track)) continue;
      const element = document.createElement('video');
      element.muted = true;
      element.playsInline = true;
      element.srcObject = new MediaStream([track]);
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
      const node = this.audio.createMediaStreamSource(new MediaStream([track]));
      node.connect(this.mix);
      this.sources.set(track, node);
    }
    for (const [track, node] of this.sources) {
      if (audio.includes(track)) continue;
      node.disconnect();
      this.sources.delete(track);
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const element of this.videos.values()) element.srcObject = null;
    this.videos.clear();
    for (const node of this.sources.values()) node.disconnect();
    this.sources.clear();
    for (const track of this.stream.getTracks()) track.stop();
    void this.audio.close().catch(() => undefined);
  }
}
