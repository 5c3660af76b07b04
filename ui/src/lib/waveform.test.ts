import { describe, expect, it } from "vitest";
import { bars, seekTime, waveformNote } from "./waveform";

describe("bars", () => {
  it("keeps the extremes of the buckets each bar covers", () => {
    const peaks: [number, number][] = [
      [-10, 20],
      [-128, 5],
      [0, 127],
      [-64, 64],
    ];
    const b = bars(peaks, 2);
    expect(b).toEqual([
      { lo: -1, hi: 20 / 127 },
      { lo: -0.5, hi: 1 },
    ]);
  });

  it("never makes more bars than buckets, nor any from nothing", () => {
    expect(bars([[-1, 1]], 300)).toHaveLength(1);
    expect(bars(Array.from({ length: 1000 }, () => [-5, 5] as [number, number]), 240)).toHaveLength(240);
    expect(bars([], 10)).toEqual([]);
    expect(bars(null, 10)).toEqual([]);
    expect(bars([[-1, 1]], 0)).toEqual([]);
  });

  it("covers every bucket when the count does not divide evenly", () => {
    const peaks = Array.from({ length: 10 }, (_, i) => [0, i] as [number, number]);
    const b = bars(peaks, 3);
    expect(b).toHaveLength(3);
    expect(b[2].hi).toBeCloseTo(9 / 127);
  });
});

describe("seekTime", () => {
  it("maps a click to seconds, clamped", () => {
    expect(seekTime(50, 200, 120)).toBe(30);
    expect(seekTime(-5, 200, 120)).toBe(0);
    expect(seekTime(500, 200, 120)).toBe(120);
    expect(seekTime(10, 0, 120)).toBe(0);
    expect(seekTime(10, 100, 0)).toBe(0);
  });
});

describe("waveformNote", () => {
  it("says what a status means", () => {
    expect(waveformNote({ analysis: "done", analysis_error: null })).toBeNull();
    expect(waveformNote({ analysis: "pending", analysis_error: null })).toMatch(/Analysing/);
    expect(waveformNote({ analysis: "failed", analysis_error: "no decoder" })).toBe(
      "No waveform: the audio could not be decoded (no decoder).",
    );
    expect(waveformNote(null)).toBeNull();
  });
});
