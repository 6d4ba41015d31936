/**
 * MediaRecorder formats in the order Parley prefers them. VP9 + Opus is the design's choice
 * (Chromium records it); offline Firefox ESR records VP8 only; the last entries let the
 * browser pick its own codecs inside WebM. Only WebM: the server remuxes WebM.
 */
export const RECORDING_MIME_TYPES = ['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'] as const;

/** The default video bitrate of a recording (2.5 Mbit/s) and its chunk interval (1 s). */
export const DEFAULT_RECORDING_BITS_PER_SECOND = 2_500_000;
export const DEFAULT_TIMESLICE_MS = 1000;

/**
 * The first of `preferred` (then Parley's list) that `isTypeSupported` accepts; undefined when
 * the browser records none of them. `hasAudio` false leaves out the `,opus` forms' need: a
 * stream without audio still records with them, so the order stays the same.
 */
export function chooseMimeType(isTypeSupported: (type: string) => boolean, preferred?: string): string | undefined {
  const candidates = preferred === undefined ? RECORDING_MIME_TYPES : [preferred, ...RECORDING_MIME_TYPES];
  return candidates.find((type) => {
    try {
      return isTypeSupported(type);
    } catch {
      return false;
    }
  });
}
