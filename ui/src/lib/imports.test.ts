import { describe, expect, it } from "vitest";
import { Batch, baseName } from "./imports.svelte";

describe("Batch", () => {
  it("follows a batch from start to finish", () => {
    const b = new Batch("Importing", 0);
    b.apply({ event: "start", items: 2, bytes: 1000 });
    b.apply({ event: "item", path: "/m/a.flac" });
    b.apply({ event: "item", path: "/m/b.txt" });
    b.apply({ event: "bytes", done: 400 });
    expect(b.fraction).toBeCloseTo(0.4);
    b.apply({ event: "finished", path: "/m/b.txt", ok: false, done: 400, outcome: null, reason: null });
    b.apply({ event: "finished", path: "/m/a.flac", ok: true, done: 1000, outcome: null, reason: null });
    expect(b.finished).toBe(2);
    expect(b.failed).toBe(1);
    expect(b.rows.map((r) => [r.name, r.state])).toEqual([
      ["a.flac", "ok"],
      ["b.txt", "failed"],
    ]);
    expect(b.fraction).toBe(1);
    expect(b.rate(2000)).toBe(500);
  });

  it("byte counts never go backwards", () => {
    const b = new Batch("x");
    b.apply({ event: "bytes", done: 50 });
    b.apply({ event: "bytes", done: 10 });
    expect(b.done).toBe(50);
  });

  it("counts items when sizes are unknown", () => {
    const b = new Batch("x");
    b.apply({ event: "start", items: 4, bytes: 0 });
    b.apply({ event: "finished", path: "p", ok: true, done: 0, outcome: null, reason: null });
    expect(b.fraction).toBe(0.25);
  });

  it("an import's per-file list follows queued, importing and each outcome", () => {
    const b = new Batch("Importing", 0);
    b.apply({ event: "queued", paths: ["/m/a.flac", "/m/b.flac", "/m/c.txt"] });
    b.apply({ event: "start", items: 3, bytes: 300 });
    expect(b.files.rows.map((r) => r.state)).toEqual(["queued", "queued", "queued"]);
    const v0 = b.filesVersion;
    b.apply({ event: "item", path: "/m/a.flac" });
    expect(b.filesVersion).toBeGreaterThan(v0);
    expect(b.files.rows[0].state).toBe("importing");
    b.apply({ event: "finished", path: "/m/a.flac", ok: true, done: 100, outcome: "duplicate", reason: "already in the vault as track 1f" });
    b.apply({ event: "item", path: "/m/c.txt" });
    b.apply({ event: "finished", path: "/m/c.txt", ok: false, done: 100, outcome: "rejected", reason: "not an allowed audio extension" });
    expect(b.files.rows.map((r) => [r.name, r.state, r.reason])).toEqual([
      ["a.flac", "duplicate", "already in the vault as track 1f"],
      ["b.flac", "queued", null],
      ["c.txt", "rejected", "not an allowed audio extension"],
    ]);
    expect(b.files.counts.queued).toBe(1);
    expect(b.files.counts.duplicate).toBe(1);
  });

  it("export and verify rows do not start a per-file list", () => {
    const b = new Batch("Exporting", 0);
    b.apply({ event: "item", path: "/x/a.flac" });
    b.apply({ event: "finished", path: "/x/a.flac", ok: true, done: 1, outcome: null, reason: null });
    expect(b.files.size).toBe(0);
    expect(b.rows.length).toBe(1);
  });

  it("base names", () => {
    expect(baseName("/a/b/c.mp3")).toBe("c.mp3");
    expect(baseName("C:\\x\\y.wav")).toBe("y.wav");
    expect(baseName("/a/dir/")).toBe("dir");
  });
});
