/**
 * Tones in and out of a page joined with `SdkParticipant`: `publishTone` publishes a WebAudio
 * oscillator as the participant's microphone; `toneLevels` reads what the page receives on one
 * shown track (an AnalyserNode on it, 85 ms windows, power averaged over `reads` windows) as dB
 * per asked frequency, so a test tells which voices are in a mix and which are not.
 */
import type { SdkParticipant } from './participant.ts';

/** Frequency bins either side of a tone searched for its peak (11.7 Hz each at fftSize 4096). */
const PEAK_BINS = 2;

export async function publishTone(participant: SdkParticipant, hz: number, gain: number): Promise<void> {
  await participant.page.evaluate(
    async ({ hz, gain }) => {
      const audio = new AudioContext({ sampleRate: 48_000 });
      await audio.resume();
      const oscillator = audio.createOscillator();
      oscillator.frequency.value = hz;
      const level = audio.createGain();
      level.gain.value = gain;
      const destination = audio.createMediaStreamDestination();
      oscillator.connect(level).connect(destination);
      oscillator.start();
      const track = destination.stream.getAudioTracks()[0]!;
      const room = (window as unknown as { __parley: { room: import('@parley/client').Room } }).__parley.room;
      await room.localParticipant.publishTrack('microphone', track);
    },
    { hz, gain },
  );
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
      return power.map((p) => 10 * Math.log10(p / reads));
    },
    { key, frequencies: [...frequencies], reads, peakBins: PEAK_BINS },
  );
}
