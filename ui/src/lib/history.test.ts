import { describe, expect, it } from "vitest";
import type { ImportJob, ImportJobItem } from "./api";
import { jobSummary, othersThan, retryPaths, sourceLabel } from "./history";

const job = (over: Partial<ImportJob> = {}): ImportJob => ({
  id: 1,
  source: "app",
  status: "completed",
  started_at: "2026-12-06T10:00:00Z",
  finished_at: "2026-12-06T10:00:05Z",
  files_total: 0,
  imported: 0,
  duplicates: 0,
  rejected: 0,
  failed: 0,
  ...over,
});

const item = (path: string, outcome: ImportJobItem["outcome"]): ImportJobItem => ({
  path,
  outcome,
  reason: outcome === "rejected" ? "not an allowed audio extension" : null,
  track_id: null,
});

describe("history", () => {
  it("sums a job up with the counts that are not zero", () => {
    expect(jobSummary(job({ imported: 12, duplicates: 1, rejected: 2, failed: 1 }))).toBe(
      "12 imported, 1 duplicate, 3 not imported",
    );
    expect(jobSummary(job({ duplicates: 3 }))).toBe("3 duplicates");
    expect(jobSummary(job())).toBe("no files");
    expect(jobSummary(job({ status: "running" }))).toBe("running");
  });
  it("retries what was not imported, each file once, in order", () => {
    const items = [
      item("/a.wav", "imported"),
      item("/b.txt", "rejected"),
      item("/c.flac", "failed"),
      item("/b.txt", "rejected"),
      item("/d.mp3", "duplicate"),
    ];
    expect(retryPaths(items)).toEqual(["/b.txt", "/c.flac"]);
    expect(retryPaths([item("/a.wav", "imported")])).toEqual([]);
  });
  it("names every source", () => {
    expect(sourceLabel("cli")).toBe("Command line");
    expect(sourceLabel("watch")).toBe("Watched folder");
    expect(sourceLabel("app")).toBe("Drop or Add files");
  });
  it("keeping one track trashes the others of its group, never the one kept", () => {
    const group = [{ id: "a" }, { id: "b" }, { id: "c" }];
    expect(othersThan(group, "b")).toEqual(["a", "c"]);
    expect(othersThan(group, "zzz")).toEqual(["a", "b", "c"]);
    expect(othersThan([{ id: "a" }], "a")).toEqual([]);
  });
});
