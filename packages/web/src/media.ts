// Putting MediaStreamTracks into <video>/<audio> elements, and coping with autoplay rules.

/** The track an element currently plays, if any (elements here only ever get single-track streams). */
export function trackIn(element: HTMLMediaElement): MediaStreamTrack | undefined {
  const stream = element.srcObject;
  return stream instanceof MediaStream ? stream.getTracks()[0] : undefined;
}

/** Plays `track` in `element`, or empties the element when `track` is undefined. */
export function playTrack(element: HTMLMediaElement, track: MediaStreamTrack | undefined): void {
  if (trackIn(element) === track) return;
  element.srcObject = track ? new MediaStream([track]) : null;
  if (track) playWhenAllowed(element);
}

/**
 * Starts playback, and if the browser refuses because the user has not interacted with the page
 * yet (autoplay policy, mostly for audio after a reload), retries on the next click or key press.
 */
function playWhenAllowed(element: HTMLMediaElement): void {
  element.play().catch((error: unknown) => {
    // AbortError just means a newer srcObject replaced this one; nothing to do.
    if (!(error instanceof DOMException) || error.name !== 'NotAllowedError') return;
    const retry = new AbortController();
    const playAgain = (): void => {
      retry.abort();
      element.play().catch(() => undefined);
    };
    document.addEventListener('pointerdown', playAgain, { signal: retry.signal });
    document.addEventListener('keydown', playAgain, { signal: retry.signal });
  });
}
