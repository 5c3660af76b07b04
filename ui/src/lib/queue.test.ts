import { describe, expect, it } from "vitest";
import { ImportQueue } from "./queue";

describe("ImportQueue", () => {
  it("hands batches out in the order they were dropped", () => {
    const q = new ImportQueue();
    expect(q.push(["/a", "/b"])).toBe(1);
    expect(q.push(["/c"])).toBe(2);
    expect(q.paths).toBe(3);
    expect(q.next()).toEqual(["/a", "/b"]);
    expect(q.next()).toEqual(["/c"]);
    expect(q.next()).toBeNull();
    expect(q.length).toBe(0);
  });

  it("ignores an empty drop and keeps its own copy of the paths", () => {
    const q = new ImportQueue();
    expect(q.push([])).toBe(0);
    const paths = ["/x"];
    q.push(paths);
    paths.push("/y");
    expect(q.next()).toEqual(["/x"]);
    q.push(["/z"]);
    q.clear();
    expect(q.next()).toBeNull();
  });
});
