/**
 * What an SFU worker and an MCU room's mixer process say to each other on their one loopback TCP
 * connection, besides the recording tap's frames (`recording/tracks/record-format.ts`: hello,
 * track descriptions, RTP) which carry the room's published audio to the mixer. Same framing,
 * record types of their own:
 *
 * worker -> mixer
 * - `listener` (JSON `ListenerRecord`): a participant now receives (or no longer receives) a mix.
 * - `inputEnded` (JSON `InputEndedRecord`): a published track fed to the mixer was
 *   unpublished; its publisher, if that was its last, hears the shared mix again.
 * - `keyframe` (JSON `KeyframeRecord`): a listener's browser asks for a keyframe of its grid, or
 *   (with `tier`) its downlink allows another tier: the listener moves to that tier's grid at its
 *   next keyframe (asked for now).
 * - `speaker` (JSON `SpeakerRecord`): the room's active speaker changed (the grid features them).
 * mixer -> worker
 * - `output` (JSON `OutputRecord`, frame track = the output's number): the audio or video mix for
 *   a participant.
 * - `mixed` (one RTP packet of an output, Opus or VP8, frame track = its number, frame layer = the
 *   grid's tier for video): its arrival
 *   field holds when the worker received the newest input in it (`performance.timeOrigin + now()`
 *   ms), so the worker measures what the mixer adds to the way through the server.
 * - `keyframeRequest` (JSON `KeyframeRequestRecord`): the mixer lost a published video's picture.
 */
export const MixRecordType = {
  listener: 16,
  output: 17,
  mixed: 18,
  inputEnded: 19,
  keyframe: 20,
  keyframeRequest: 21,
  speaker: 22,
} as const;

export interface ListenerRecord {
  participant: string;
  listening: boolean;
  /** The grid tier a new listener starts on (absent: the lowest). */
  tier?: number;
}

export interface OutputRecord {
  participant: string;
  /** Absent: audio (what a mixer that makes no video sends). */
  kind?: 'audio' | 'video';
}

export interface KeyframeRecord {
  participant: string;
  /** The tier (index into `mcu.videoTiers`) the keyframe is wanted of; absent: of the grid it receives. */
  tier?: number;
}

export interface KeyframeRequestRecord {
  trackId: string;
}

export interface SpeakerRecord {
  participant: string | null;
}

export interface InputEndedRecord {
  trackId: string;
}
