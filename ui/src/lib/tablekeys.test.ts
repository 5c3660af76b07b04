import { describe, expect, it } from "vitest";
import { moveIndex, selectionAfterMove } from "./tablekeys";

describe("moveIndex", () => {
  it("steps and clamps at both ends", () => {
    expect(moveIndex("ArrowDown", 3, 10, 20)).toBe(4);
    expect(moveIndex("ArrowDown", 9, 10, 20)).toBe(9);
    expect(moveIndex("ArrowUp", 3, 10, 20)).toBe(2);
    expect(moveIndex("ArrowUp", 0, 10, 20)).toBe(0);
  });

  it("jumps with Home and End", () => {
    expect(moveIndex("Home", 7, 10, 20)).toBe(0);
    expect(moveIndex("End", 2, 10, 20)).toBe(9);
  });

  it("pages by one screen less a row, clamped", () => {
    expect(moveIndex("PageDown", 0, 100, 12)).toBe(11);
    expect(moveIndex("PageDown", 95, 100, 12)).toBe(99);
    expect(moveIndex("PageUp", 50, 100, 12)).toBe(39);
    expect(moveIndex("PageUp", 5, 100, 12)).toBe(0);
    // A screen of one row still moves.
    expect(moveIndex("PageDown", 0, 100, 1)).toBe(1);
  });

  it("lands on the first row (or the last, going up) when nothing is focused", () => {
    expect(moveIndex("ArrowDown", null, 10, 20)).toBe(0);
    expect(moveIndex("PageDown", null, 10, 20)).toBe(0);
    expect(moveIndex("ArrowUp", null, 10, 20)).toBe(9);
    // A focus that scrolled out of the loaded rows (a new search) counts as none.
    expect(moveIndex("ArrowDown", 42, 10, 20)).toBe(0);
  });

  it("ignores other keys and empty tables", () => {
    expect(moveIndex("a", 3, 10, 20)).toBeNull();
    expect(moveIndex("Enter", 3, 10, 20)).toBeNull();
    expect(moveIndex("ArrowDown", 0, 0, 20)).toBeNull();
  });
});

describe("selectionAfterMove", () => {
  const ids = ["a", "b", "c", "d", "e"];
  it("selects the one row moved to", () => {
    expect([...selectionAfterMove(ids, 2, 0, false)]).toEqual(["c"]);
  });
  it("extends from the anchor either way with Shift", () => {
    expect([...selectionAfterMove(ids, 3, 1, true)]).toEqual(["b", "c", "d"]);
    expect([...selectionAfterMove(ids, 0, 2, true)]).toEqual(["a", "b", "c"]);
  });
  it("falls back to one row when there is no anchor", () => {
    expect([...selectionAfterMove(ids, 4, null, true)]).toEqual(["e"]);
  });
});
