/**
 * Tones in and out of a page joined with `SdkParticipant`: `publishTone` publishes a steady tone
 * as the participant's microphone (`setToneGain` makes it louder or quieter: a voice that starts
 * or stops speaking); `toneLevels` reads what the page receives on one shown track
 * (an AnalyserNode on it, 85 ms windows, power averaged over `reads` windows) as dB per asked
 * frequency, so a test tells which voices are in a mix and which are not; `recordedToneLevels`
 * does the same from a recording, for Firefox (no WebAudio headless).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toneLevelDb } from './av-sync.ts';
import type { ParleyWindow, SdkParticipant } from './participant.ts';

/** Frequency bins either side of a tone searched for its peak (11.7 Hz each at fftSize 4096). */
const PEAK_BINS = 2;

/**
 * Publishes a steady tone as the participant's microphone. WebAudio in Chromium; in Firefox, whose
 * AudioContext never starts headless (no audio device: it stays `suspended`), a 10 s WAV of the
 * tone made in the page and looped in a media element, captured with `mozCaptureStream()` (decoded
 * straight into the media graph, no audio device needed).
 */
export async function publishTone(participant: SdkParticipant, hz: number, gain: number, via: 'webAudio' | 'mediaElement'): Promise<void> {
  await participant.page.evaluate(
    async ({ hz, gain, via }) => {
      let track: MediaStreamTrack;
      if (via === 'webAudio') {
        const scope = window as unknown as ToneScope;
        // A tone published again (after leaving) replaces the last one: its context would play on unheard.
        void scope.__parleyTone?.context.close();
        const audio = new AudioContext({ sampleRate: 48_000 });
        await audio.resume();
        const oscillator = audio.createOscillator();
        oscillator.frequency.value = hz;
        const level = audio.createGain();
        level.gain.value = gain;
        const destination = audio.createMediaStreamDestination();
        oscillator.connect(level).connect(destination);
        oscillator.start();
        scope.__parleyTone = { context: audio, gain: level };
        track = destination.stream.getAudioTracks()[0]!;
      } else {
        // A whole number of periods in 10 s, so the loop has no seam.
        const rate = 48_000;
        const count = rate * 10;
        const wav = new DataView(new ArrayBuffer(44 + count * 2));
        const text = (offset: number, value: string) => [...value].forEach((c, i) => wav.setUint8(offset + i, c.charCodeAt(0)));
        text(0, 'RIFF');
        wav.setUint32(4, 36 + count * 2, true);
        text(8, 'WAVEfmt ');
        wav.setUint32(16, 16, true);
        wav.setUint16(20, 1, true);
        wav.setUint16(22, 1, true);
        wav.setUint32(24, rate, true);
        wav.setUint32(28, rate * 2, true);
        wav.setUint16(32, 2, true);
        wav.setUint16(34, 16, true);
        text(36, 'data');
        wav.setUint32(40, count * 2, true);
        for (let i = 0; i < count; i++) wav.setInt16(44 + i * 2, Math.round(32767 * gain * Math.sin((2 * Math.PI * hz * i) / rate)), true);
        const element = document.createElement('audio');
        element.src = URL.createObjectURL(new Blob([wav.buffer], { type: 'audio/wav' }));
        element.loop = true;
        document.body.append(element);
        await element.play();
        const capturing = element as HTMLAudioElement & { mozCaptureStream?: () => MediaStream; captureStream?: () => MediaStream };
        track = (capturing.mozCaptureStream?.() ?? capturing.captureStream!()).getAudioTracks()[0]!;
      }
      const room = (window as unknown as { __parley: { room: import('@parley/client').Room } }).__parley.room;
      await room.localParticipant.publishTrack('microphone', track);
    },
    { hz, gain, via },
  );
}

interface ToneScope {
  __parleyTone?: { context: AudioContext; gain: GainNode };
}

/** Sets the gain of the tone `publishTone` published with WebAudio; answers when (epoch ms, the page's clock). */
export async function setToneGain(participant: SdkParticipant, gain: number): Promise<number> {
  return participant.page.evaluate((gain) => {
    const tone = (window as unknown as ToneScope).__parleyTone;
    if (!tone) throw new Error('the page publishes no WebAudio tone');
    tone.gain.gain.value = gain;
    return performance.timeOrigin + performance.now();
  }, gain);
}

/** dB (relative, as the browser's analyser gives it) at each frequency in what `key` (`identity:source`) plays. */
export async function toneLevels(participant: SdkParticipant, key: string, frequencies: readonly number[], reads = 6): Promise<number[]> {
  return participant.page.evaluate(
    async ({ key, frequencies, reads, peakBins }) => {
      type Probe = { track: MediaStreamTrack; context: AudioContext; analyser: AnalyserNode };
      const page = window as unknown as { __parley: { shown: Record<string, MediaStreamTrack> }; __toneProbes?: Record<string, Probe> };
      const track = page.__parley.shown[key];
      if (!track) throw new Error(`the page shows no ${key}`);
      const probes = (page.__toneProbes ??= {});
      let probe = probes[key];
      if (!probe || probe.track !== track) {
        const context = new AudioContext({ sampleRate: 48_000 });
        await context.resume();
        const analyser = context.createAnalyser();
        analyser.fftSize = 4096;
        analyser.smoothingTimeConstant = 0;
        context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
        probe = probes[key] = { track, context, analyser };
      }
      const bins = new Float32Array(probe.analyser.frequencyBinCount);
      const binHz = probe.context.sampleRate / probe.analyser.fftSize;
      const power = frequencies.map(() => 0);
      for (let read = 0; read < reads; read++) {
        probe.analyser.getFloatFrequencyData(bins);
        frequencies.forEach((hz, i) => {
          const centre = Math.round(hz / binHz);
          let peak = -Infinity;
          for (let bin = centre - peakBins; bin <= centre + peakBins; bin++) peak = Math.max(peak, bins[bin] ?? -Infinity);
          power[i]! += 10 ** (peak / 10);
        });
        await new Promise((resolve) => setTimeout(resolve, 90));
      }
      // Digital silence would be -Infinity: held at -140 dB so a floor stays a number to compare with.
      return power.map((p) => Math.max(-140, 10 * Math.log10(p / reads)));
    },
    { key, frequencies: [...frequencies], reads, peakBins: PEAK_BINS },
  );
}

/**
 * The same levels from a recording of what `key` plays (MediaRecorder in the page for `ms`, then
 * ffmpeg's band-pass and RMS here): for a browser whose WebAudio cannot run headless (Firefox:
 * no audio device, so an AudioContext never starts).
 */
export async function recordedToneLevels(participant: SdkParticipant, key: string, frequencies: readonly number[], ms = 2000): Promise<number[]> {
  const base64 = await participant.page.evaluate(
    async ({ key, ms }) => {
      const track = (window as unknown as { __parley: { shown: Record<string, MediaStreamTrack> } }).__parley.shown[key];
      if (!track) throw new Error(`the page shows no ${key}`);
      const recorder = new MediaRecorder(new MediaStream([track]));
      const chunks: Blob[] = [];
      recorder.ondataavailable = (event) => chunks.push(event.data);
      const stopped = new Promise((resolve) => (recorder.onstop = resolve));
      recorder.start();
      await new Promise((resolve) => setTimeout(resolve, ms));
      recorder.stop();
      await stopped;
      const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
      let binary = '';
      for (const byte of bytes) binary += String.fromCharCode(byte);
      return btoa(binary);
    },
    { key, ms },
  );
  const directory = await mkdtemp(join(tmpdir(), 'parley-tone-'));
  try {
    const file = join(directory, 'mix.media');
    await writeFile(file, Buffer.from(base64, 'base64'));
    return await Promise.all(frequencies.map(async (hz) => Math.max(-140, await toneLevelDb(file, hz))));
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * How long the page's browser holds received audio before playing it (its jitter buffer), over
 * the last ~`windowMs`: what a receiver adds to any change of what it hears, on top of the
 * server. Chromium only (Firefox's inbound-rtp has no jitterBufferEmittedCount).
 */
export function audioJitterBufferMs(participant: SdkParticipant, windowMs = 500): Promise<number> {
  return jitterBufferMs(participant, 'audio', windowMs);
}

/** The same for received video (frames held before decoding): what a receiver adds to any change of what it sees. */
export function videoJitterBufferMs(participant: SdkParticipant, windowMs = 500): Promise<number> {
  return jitterBufferMs(participant, 'video', windowMs);
}

async function jitterBufferMs(participant: SdkParticipant, kind: 'audio' | 'video', windowMs: number): Promise<number> {
  return participant.page.evaluate(
    async ({ kind, windowMs }) => {
      const room = (window as unknown as ParleyWindow).__parley.room;
      const sample = async () => {
        const subscriber = (await room.debugState()).sfu?.subscriber;
        if (!subscriber) throw new Error('no receiving SFU connection');
        let delay = 0;
        let emitted = 0;
        for (const stream of subscriber.rtp) {
          if (stream.direction !== 'inbound' || stream.kind !== kind) continue;
          delay += stream.jitterBufferDelay ?? 0;
          emitted += stream.jitterBufferEmittedCount ?? 0;
        }
        return { delay, emitted };
      };
      const first = await sample();
      await new Promise((resolve) => setTimeout(resolve, windowMs));
      const second = await sample();
      return second.emitted > first.emitted ? ((second.delay - first.delay) / (second.emitted - first.emitted)) * 1000 : 0;
    },
    { kind, windowMs },
  );
}
