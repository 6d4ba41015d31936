/**
 * The protocol's word lists as plain constants, without zod: the SFU worker process imports this
 * module alone (`@parley/protocol/vocabulary`), so its start does not load and compile the
 * schemas. The schemas in `messages.ts` are built from the same lists.
 */

/** The video codecs Parley negotiates, in its default order of preference. */
export const VIDEO_CODECS = ['vp8', 'vp9', 'h264', 'av1'] as const;
export type VideoCodecName = (typeof VIDEO_CODECS)[number];
