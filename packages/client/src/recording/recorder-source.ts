/**
 * What tus-js-client reads an upload from: the recorder's chunks as they come. `slice(start)`
 * answers whatever is recorded past `start` (up to `end`) as soon as there is some, so each PATCH
 * carries the chunks recorded since the last one instead of waiting for a fixed size. Bytes
 * before `start` are dropped: tus slices only from the offset the server acknowledged, so those
 * are on the server's disk; everything after stays here until acknowledged, for resending after
 * a network drop or a server restart.
 */
export class RecorderSource {
  /** tus-js-client reads `size` only without uploadLengthDeferred; a recording's length is not known. */
  readonly size = Number.NaN;
  private chunks: Blob[] = [];
  /** Offset of `chunks[0]`'s first byte in the upload. */
  private bufferStart = 0;
  private buffered = 0;
  private ended = false;
  private wake: (() => void) | undefined;

  /** `startOffset`: the upload's offset of the first chunk pushed (a resumed upload's kept chunks). */
  constructor(startOffset = 0) {
    this.bufferStart = startOffset;
  }

  /** Bytes recorded so far (acknowledged or not). */
  get recordedBytes(): number {
    return this.bufferStart + this.buffered;
  }

  push(chunk: Blob): void {
    if (this.ended) throw new Error('the recording source has ended');
    if (chunk.size === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.size;
    this.wake?.();
  }

  /** No more chunks: the next slice past the end answers `done`. */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async slice(start: number, end: number): Promise<{ value: Blob | null; done: boolean }> {
    if (start < this.bufferStart) throw new Error(`bytes from ${start} were dropped (the server acknowledged up to ${this.bufferStart})`);
    this.dropBefore(start);
    while (this.recordedBytes <= start && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    this.dropBefore(start);
    if (this.recordedBytes <= start) return { value: null, done: true };
    const all = new Blob(this.chunks);
    const from = start - this.bufferStart;
    const value = all.slice(from, Math.min(all.size, from + (end - start)));
    // The last bytes of an ended recording: say so, and tus declares the length with them.
    const done = this.ended && start + value.size === this.recordedBytes;
    return { value, done };
  }

  private dropBefore(offset: number): void {
    while (this.chunks.length > 0) {
      const first = this.chunks[0];
      if (!first || this.bufferStart + first.size > offset) break;
      this.chunks.shift();
      this.bufferStart += first.size;
      this.buffered -= first.size;
    }
    const first = this.chunks[0];
    if (first && offset > this.bufferStart) {
      this.chunks[0] = first.slice(offset - this.bufferStart);
      this.buffered -= offset - this.bufferStart;
      this.bufferStart = offset;
    }
  }

  close(): void {
    // Kept open across tus retries: the upload object calls close() only when it is finished or aborted.
  }
}
