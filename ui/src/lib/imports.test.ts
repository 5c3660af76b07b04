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
    b.apply({ event: "finished", path: "/m/b.txt", ok: false, done: 400 });
    b.apply({ event: "finished", path: "/m/a.flac", ok: true, done: 1000 });
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
    b.apply({ event: "finished", path: "p", ok: true, done: 0 });
    expect(b.fraction).toBe(0.25);
  });

  it("base names", () => {
    expect(baseName("/a/b/c.mp3")).toBe("c.mp3");
    expect(baseName("C:\\x\\y.wav")).toBe("y.wav");
    expect(baseName("/a/dir/")).toBe("dir");
  });
});
