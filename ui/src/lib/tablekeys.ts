// Keyboard movement in the track table: which row the focus goes to for a key,
// given the focused row, the rows loaded and how many fit on screen. Pure, so the
// rules (clamping, Home/End, paging, the first press) are tested without a DOM.

export const MOVE_KEYS = new Set(["ArrowDown", "ArrowUp", "Home", "End", "PageDown", "PageUp"]);

/**
 * The row index the focus moves to, or null when the key does not move it (not a
 * movement key, or no rows). With no row focused yet, any movement key lands on
 * the first row (End: the last), the way a list box behaves on first use.
 */
export function moveIndex(key: string, current: number | null, count: number, page: number): number | null {
  if (!MOVE_KEYS.has(key) || count <= 0) return null;
  const last = count - 1;
  const step = Math.max(1, page - 1);
  if (key === "Home") return 0;
  if (key === "End") return last;
  if (current === null || current < 0 || current > last) return key === "ArrowUp" || key === "PageUp" ? last : 0;
  switch (key) {
    case "ArrowDown":
      return Math.min(last, current + 1);
    case "ArrowUp":
      return Math.max(0, current - 1);
    case "PageDown":
      return Math.min(last, current + step);
    case "PageUp":
      return Math.max(0, current - step);
  }
  return null;
}

/** The selection after moving to `index`: one row, or (Shift) the range from the anchor. */
export function selectionAfterMove(ids: string[], index: number, anchor: number | null, extend: boolean): Set<string> {
  if (extend && anchor !== null && anchor >= 0 && anchor < ids.length) {
    const [a, b] = anchor < index ? [anchor, index] : [index, anchor];
    return new Set(ids.slice(a, b + 1));
  }
  return new Set(ids[index] === undefined ? [] : [ids[index]]);
}
