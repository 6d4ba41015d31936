/**
 * What an SFU worker and an MCU room's mixer process say to each other on their one loopback TCP
 * connection, besides the recording tap's frames (`recording/tracks/record-format.ts`: hello,
 * track descriptions, RTP) which carry the room's published audio to the mixer. Same framing,
 * record types of their own:
 *
 * worker -> mixer
 * - `listener` (JSON `ListenerRecord`): a participant now receives (or no longer receives) a mix.
 * - `inputEnded` (JSON `InputEndedRecord`): a published audio track fed to the mixer was
 *   unpublished; its publisher, if that was its last, hears the shared mix again.
 * mixer -> worker
 * - `output` (JSON `OutputRecord`, frame track = the output's number): the mix for a participant.
 * - `mixed` (one Opus RTP packet of an output, frame track = its number): its arrival field holds
 *   when the worker received the newest input audio in it (`performance.timeOrigin + now()` ms),
 *   so the worker measures what the mixer adds to the way through the server.
 */
export const MixRecordType = {
  listener: 16,
  output: 17,
  mixed: 18,
  inputEnded: 19,
} as const;

export interface ListenerRecord {
  participant: string;
  listening: boolean;
}

export interface OutputRecord {
  participant: string;
}

export interface InputEndedRecord {
  trackId: string;
}
