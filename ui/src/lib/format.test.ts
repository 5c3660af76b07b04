import { describe, expect, it } from "vitest";
import {
  emptyTrashQuestion,
  passphraseChangeProblem,
  verifySummary,
  displayTitle,
  eta,
  formatBytes,
  formatDuration,
  formatRate,
  formatTotalDuration,
  lockingLine,
  plural,
} from "./format";

describe("format", () => {
  it("durations", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(5.4)).toBe("0:05");
    expect(formatDuration(65)).toBe("1:05");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(null)).toBe("–");
    expect(formatDuration(NaN)).toBe("–");
  });
  it("total durations", () => {
    expect(formatTotalDuration(0)).toBe("0 min");
    expect(formatTotalDuration(45)).toBe("45 s");
    expect(formatTotalDuration(600)).toBe("10 min");
    expect(formatTotalDuration(7500)).toBe("2 h 05 min");
    expect(formatTotalDuration(90000)).toBe("1 d 1 h");
  });
  it("bytes", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1500)).toBe("1.50 KB");
    expect(formatBytes(25_300_000)).toBe("25.3 MB");
    expect(formatBytes(857_000_000)).toBe("857 MB");
    expect(formatBytes(undefined)).toBe("–");
  });
  it("rates", () => {
    expect(formatRate(44100, 16)).toBe("44.1 kHz / 16-bit");
    expect(formatRate(96000, 24)).toBe("96 kHz / 24-bit");
    expect(formatRate(48000, null)).toBe("48 kHz");
    expect(formatRate(null, 16)).toBe("–");
  });
  it("plural", () => {
    expect(plural(1, "track")).toBe("1 track");
    expect(plural(12345, "track")).toBe("12,345 tracks");
  });
  it("titles fall back to the file name", () => {
    expect(displayTitle({ title: "Song", file_name: "a.mp3" })).toBe("Song");
    expect(displayTitle({ title: null, file_name: "My Take.flac" })).toBe("My Take");
    expect(displayTitle({ title: "  ", file_name: ".hidden" })).toBe(".hidden");
  });
  it("eta", () => {
    expect(eta(0, 100, 1)).toBeNull();
    expect(eta(50, 100, 10)).toBeCloseTo(10);
    expect(eta(100, 100, 10)).toBeNull();
  });
});

describe("dialog texts", () => {
  it("the Empty Trash question names tracks and bytes", () => {
    expect(emptyTrashQuestion(3, 12_300_000)).toBe("Delete 3 tracks (12.3 MB) for good? This cannot be undone.");
    expect(emptyTrashQuestion(1, 999)).toBe("Delete 1 track (999 B) for good? This cannot be undone.");
    expect(emptyTrashQuestion(0, 0)).toBe("The Trash is empty.");
  });

  it("a verify summary counts damage", () => {
    const base = { ok: true, cancelled: false, tracks_checked: 30, bytes_checked: 5_000_000, damaged_tracks: [], damaged_chunks: [] };
    expect(verifySummary(base)).toBe("All 30 tracks intact: 5.00 MB authenticated and re-hashed.");
    expect(verifySummary({ ...base, ok: false, damaged_tracks: [{}], damaged_chunks: [{}, {}] })).toBe(
      "1 track damaged (2 chunks missing or corrupt) of 30 tracks checked.",
    );
    expect(verifySummary({ ...base, cancelled: true, tracks_checked: 4 })).toMatch(/cancelled after 4 tracks/);
    // Cloud-only tracks are said apart, never counted as checked here nor as damage.
    expect(verifySummary({ ...base, cloud_only: [{ checked: false }, { checked: false }, { checked: true }] })).toBe(
      "All 28 tracks intact: 5.00 MB authenticated and re-hashed. 2 tracks in the cloud only, not checked locally.",
    );
  });

  it("a passphrase change needs the current one and the new one twice", () => {
    expect(passphraseChangeProblem("", "a", "a")).toMatch(/current/);
    expect(passphraseChangeProblem("old", "", "")).toMatch(/new passphrase/);
    expect(passphraseChangeProblem("old", "new one", "new on")).toMatch(/differ/);
    expect(passphraseChangeProblem("same", "same", "same")).toMatch(/is the current/);
    expect(passphraseChangeProblem("old", "new one", "new one")).toBeNull();
  });
});

describe("locking line", () => {
  it("names what the lock stops", () => {
    expect(lockingLine(null, null)).toBe("");
    expect(lockingLine("push", null)).toBe("Stopping the push…");
    expect(lockingLine("pull", "Exporting 3 tracks")).toBe("Stopping the pull and the export…");
    expect(lockingLine(null, "Verifying the library")).toBe("Stopping the verification…");
    expect(lockingLine(null, "Something else")).toBe("Stopping the running work…");
  });
});
