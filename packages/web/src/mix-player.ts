/**
 * Plays an `mcu` room's mix: the one audio track the server makes for this participant (everyone
 * else's voices). It belongs to no tile, so it plays in an audio element of its own.
 */
export class MixPlayer {
  private readonly element: HTMLAudioElement;
  private track: MediaStreamTrack | undefined;

  constructor(parent: HTMLElement) {
    this.element = document.createElement('audio');
    this.element.autoplay = true;
    this.element.dataset.testid = 'mix-audio';
    parent.append(this.element);
  }

  play(track: MediaStreamTrack): void {
    this.track = track;
    this.element.srcObject = new MediaStream([track]);
    void this.element.play().catch(() => undefined);
  }

  /** `track` is gone; nothing happens if another one plays by now. */
  stop(track: MediaStreamTrack): void {
    if (this.track !== track) return;
    this.track = undefined;
    this.element.srcObject = null;
  }

  remove(): void {
    this.element.remove();
  }
}
