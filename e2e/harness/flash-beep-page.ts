/**
 * A participant whose "camera" is a canvas and whose "microphone" is a WebAudio oscillator, both
 * published through the SDK (`localParticipant.publishTrack`): the sources the sync and composite
 * tests read back from recordings.
 * - `colour`: the canvas's fill (its tile in a composite is found by it);
 * - `toneHz`: the oscillator's frequency (its voice in a mix is found by it);
 * - `flash: true`: the canvas turns white for 100 ms once a second and the tone sounds only then
 *   (a beep), both scheduled from the AudioContext's clock, so a flash and its beep are one
 *   instant at the source; otherwise the tone sounds all along, or from when `setTone(page, true)`
 *   turns it on (`toneOn: false`: silent at first): a voice that starts and stops talking.
 */
import type { TestBrowser, TestPage } from './browsers.ts';
import type { ParleyWindow } from './participant.ts';

export interface FlashBeepOptions {
  colour: string;
  toneHz: number;
  flash: boolean;
  /** The token's grants (e.g. canRecord, to start a server recording from the SDK). */
  grants?: Record<string, boolean>;
  /** Without `flash`: whether the tone sounds from the start (default true); `setTone` changes it. */
  toneOn?: boolean;
  /** The room's topology policy when this join creates it (default `sfu`). */
  topology?: 'sfu' | 'auto';
}

/** The steady tone's gain (-13.5 dB RMS), and silence. */
const TONE_GAIN = 0.3;

/** Turns a steady (not flashing) participant's tone on or off at once: they start or stop "talking". */
export async function setTone(page: TestPage, on: boolean): Promise<void> {
  await page.evaluate((on) => (window as unknown as { __setTone: (on: boolean) => void }).__setTone(on), on);
}

/**
 * Turns the participant's canvas "camera" off (`unpublishTrack('camera')`, what
 * `setCameraEnabled(false)` does: the track stops) or on again: a new capture of the same canvas
 * published as a new track, as turning a camera on captures a new one.
 */
export async function setCanvasCamera(page: TestPage, on: boolean): Promise<void> {
  await page.evaluate((on) => (window as unknown as { __setCamera: (on: boolean) => Promise<void> }).__setCamera(on), on);
}

/**
 * When the page's first flash and beep are due, on this machine's clock (Date.now()): 1-2 s after
 * it joined, so a participant who joins again starts flashing that much after their tracks arrive.
 */
export async function firstFlashAt(page: TestPage): Promise<number> {
  return page.evaluate(() => (window as unknown as { __firstFlashAt: number }).__firstFlashAt, undefined);
}

export const FLASH_PERIOD_SECONDS = 1;
export const FLASH_SECONDS = 0.1;

export async function joinFlashBeep(browser: TestBrowser, serverUrl: string, room: string, identity: string, options: FlashBeepOptions): Promise<TestPage> {
  const page = await browser.newPage();
  await page.goto(`${serverUrl}/sdk/parley.js`);
  await page.evaluate(
    async ({ serverUrl, room, identity, colour, toneHz, flash, grants, period, length, toneOn, toneGain, topology }) => {
      const sdk = (await import(`${serverUrl}/sdk/parley.js`)) as typeof import('@parley/client');
      const audio = new AudioContext({ sampleRate: 48_000 });
      await audio.resume();
      const oscillator = audio.createOscillator();
      oscillator.frequency.value = toneHz;
      const gain = audio.createGain();
      const destination = audio.createMediaStreamDestination();
      oscillator.connect(gain).connect(destination);
      // The beeps are scheduled on the audio clock (sample-exact); the first one a whole second on.
      const origin = Math.ceil(audio.currentTime) + 1;
      (window as unknown as { __firstFlashAt: number }).__firstFlashAt = Date.now() + (origin - audio.currentTime) * 1000;
      if (flash) {
        gain.gain.value = 0;
        for (let k = 0; k < 600; k++) {
          gain.gain.setValueAtTime(0.5, origin + k * period);
          gain.gain.setValueAtTime(0, origin + k * period + length);
        }
      } else gain.gain.value = toneOn ? toneGain : 0;
      (window as unknown as { __setTone: (on: boolean) => void }).__setTone = (on) => gain.gain.setValueAtTime(on ? toneGain : 0, audio.currentTime);
      oscillator.start();

      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 240;
      const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
      // The picture follows the same audio clock: white while a beep sounds. A frame is captured
      // whenever the canvas changes (captureStream() without a rate), so a small moving mark
      // changes it on every animation frame and the white one is captured as soon as it is drawn.
      let tick = 0;
      const draw = () => {
        const at = audio.currentTime - origin;
        const white = flash && at >= 0 && at % period < length;
        ctx.fillStyle = white ? '#ffffff' : colour;
        ctx.fillRect(0, 0, 320, 240);
        ctx.fillStyle = white ? '#ffffff' : '#000000';
        ctx.fillRect((tick++ % 32) * 10, 230, 10, 10);
        requestAnimationFrame(draw);
      };
      draw();
      const parleyRoom = new sdk.Room({ qualityReports: false });
      (window as unknown as ParleyWindow).__parley = { room: parleyRoom, events: [], shown: {}, presented: {} };
      const token = await sdk.fetchDevToken(serverUrl, { room, identity, name: identity, roomConfig: { topology }, ...(grants ? { grants } : {}) });
      await parleyRoom.connect(serverUrl, token, { room });
      const video = canvas.captureStream().getVideoTracks()[0];
      const microphone = destination.stream.getAudioTracks()[0];
      if (!video || !microphone) throw new Error('no canvas or oscillator track');
      await parleyRoom.localParticipant.publishTrack('camera', video);
      await parleyRoom.localParticipant.publishTrack('microphone', microphone);
      (window as unknown as { __setCamera: (on: boolean) => Promise<void> }).__setCamera = async (on) => {
        if (!on) return parleyRoom.localParticipant.unpublishTrack('camera');
        const again = canvas.captureStream().getVideoTracks()[0];
        if (!again) throw new Error('no canvas track');
        await parleyRoom.localParticipant.publishTrack('camera', again);
      };
    },
    { serverUrl, room, identity, colour: options.colour, toneHz: options.toneHz, flash: options.flash, grants: options.grants, period: FLASH_PERIOD_SECONDS, length: FLASH_SECONDS, toneOn: options.toneOn ?? true, toneGain: TONE_GAIN, topology: options.topology ?? 'sfu' },
  );
  return page;
}
