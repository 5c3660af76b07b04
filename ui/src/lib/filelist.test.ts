import { describe, expect, it } from "vitest";
import type { FileResult, ImportReport } from "./bindings";
import { FileList, MAX_ROWS } from "./filelist";

function report(files: Partial<FileResult>[], cancelled = false): ImportReport {
  return {
    job_id: 1,
    files: files.map((f) => ({ path: "", outcome: "imported", reason: null, id: null, size_bytes: null, new_bytes: null, sha256: null, ...f })),
    imported: 0,
    duplicates: 0,
    rejected: 0,
    failed: 0,
    cancelled,
    warnings: [],
  };
}

describe("FileList", () => {
  it("keeps the scan order and moves counts between states", () => {
    const l = new FileList();
    l.queue(["/a/1.wav", "/a/2.wav"]);
    l.start("/a/2.wav");
    expect(l.counts).toMatchObject({ queued: 1, importing: 1 });
    l.finish("/a/2.wav", true, "imported", null);
    l.finish("/a/1.wav", false, null, "could not read");
    expect(l.rows.map((r) => [r.path, r.state, r.reason])).toEqual([
      ["/a/1.wav", "failed", "could not read"],
      ["/a/2.wav", "imported", null],
    ]);
    expect(l.counts).toMatchObject({ queued: 0, importing: 0, imported: 1, failed: 1 });
  });

  it("a file it has not heard of is added, not lost", () => {
    const l = new FileList();
    l.finish("/late.wav", true, "duplicate", "already in the vault");
    expect(l.rows).toEqual([{ path: "/late.wav", name: "late.wav", state: "duplicate", reason: "already in the vault" }]);
  });

  it("the report settles every file; files never taken up were cancelled", () => {
    const l = new FileList();
    l.queue(["/a", "/b", "/c"]);
    l.start("/a");
    l.start("/b");
    l.settle(report([{ path: "/a", outcome: "rejected", reason: "empty file" }], true));
    expect(l.rows.map((r) => r.state)).toEqual(["rejected", "cancelled", "cancelled"]);
    expect(l.counts.cancelled).toBe(2);
    expect(l.visible(true).map((r) => r.path)).toEqual(["/a", "/b", "/c"]);
    expect(l.visible(false)).toHaveLength(3);
  });

  it("problems only hides imported and duplicate files", () => {
    const l = new FileList();
    l.queue(["/ok", "/dup", "/bad"]);
    l.settle(report([{ path: "/ok" }, { path: "/dup", outcome: "duplicate" }, { path: "/bad", outcome: "rejected", reason: "not audio" }]));
    expect(l.visible(true).map((r) => [r.path, r.reason])).toEqual([["/bad", "not audio"]]);
  });

  it("stays under its cap by dropping the oldest good rows, never a problem", () => {
    const l = new FileList();
    const paths = Array.from({ length: MAX_ROWS }, (_, i) => `/f/${i}`);
    l.queue(paths);
    for (let i = 0; i < MAX_ROWS; i++) l.finish(paths[i], i !== 5, i === 5 ? "rejected" : "imported", i === 5 ? "bad" : null);
    l.queue(["/f/extra"]);
    expect(l.size).toBeLessThanOrEqual(MAX_ROWS);
    expect(l.rows.some((r) => r.path === "/f/5" && r.state === "rejected")).toBe(true);
    expect(l.rows.at(-1)?.path).toBe("/f/extra");
    l.finish("/f/extra", true, "imported", null);
    expect(l.rows.at(-1)?.state).toBe("imported");
    expect(l.counts.imported + l.counts.rejected).toBe(l.size);
  });
});
