import type { Waveform } from "./bindings";
// Waveform peaks from the engine's analysis ((min, max) pairs, -128..127, about
// 1000 buckets) reduced to as many bars as fit, as fractions -1..1.

export interface Bar {
  lo: number;
  hi: number;
}

/** `n` bars; each the extreme of the buckets it covers. Empty input gives no bars. */
export function bars(peaks: readonly (readonly [number, number])[] | null | undefined, n: number): Bar[] {
  if (!peaks || peaks.length === 0 || n <= 0) return [];
  const count = Math.min(n, peaks.length);
  const out: Bar[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * peaks.length) / count);
    const to = Math.max(from + 1, Math.floor(((i + 1) * peaks.length) / count));
    let lo = 0;
    let hi = 0;
    for (let j = from; j < to; j++) {
      lo = Math.min(lo, peaks[j][0]);
      hi = Math.max(hi, peaks[j][1]);
    }
    out.push({ lo: Math.max(-1, lo / 128), hi: Math.min(1, hi / 127) });
  }
  return out;
}

/** Where a click at `x` on a bar `width` wide seeks to, in seconds. */
export function seekTime(x: number, width: number, duration: number): number {
  if (!(width > 0) || !(duration > 0) || !Number.isFinite(x)) return 0;
  return Math.min(duration, Math.max(0, (x / width) * duration));
}

/** What the details drawer says for an analysis status ("pending", "done", "failed: …"). */
export function waveformNote(wave: Pick<Waveform, "analysis" | "analysis_error"> | null | undefined): string | null {
  if (!wave) return null;
  switch (wave.analysis) {
    case "done":
      return null;
    case "pending":
      return "Analysing the audio…";
    case "failed": {
      const reason = wave.analysis_error;
      return `No waveform: the audio could not be decoded${reason ? ` (${reason})` : ""}.`;
    }
  }
}
