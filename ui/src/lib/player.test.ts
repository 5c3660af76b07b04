import { describe, expect, it } from "vitest";
import { canPlay, isInterruption } from "./player.svelte";

describe("canPlay", () => {
  it("accepts a type the web view knows by another name", () => {
    const audio = { canPlayType: (t: string) => (t === "audio/aiff" ? "maybe" : "") };
    expect(canPlay(audio, "audio/x-aiff")).toBe(true);
    expect(canPlay(audio, "audio/flac")).toBe(false);
    expect(canPlay({ canPlayType: () => "" }, "application/octet-stream")).toBe(false);
  });
});

describe("isInterruption", () => {
  it("is a pause or a new track cutting a play() short, not a failure", () => {
    expect(isInterruption(new DOMException("The operation was aborted.", "AbortError"))).toBe(true);
    expect(isInterruption(new DOMException("no supported source", "NotSupportedError"))).toBe(false);
    expect(isInterruption(new Error("network"))).toBe(false);
    expect(isInterruption("AbortError")).toBe(false);
    expect(isInterruption(null)).toBe(false);
  });
});
