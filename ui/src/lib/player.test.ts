import { describe, expect, it } from "vitest";
import { canPlay, isInterruption, needsFreshUrl } from "./player.svelte";
import { throttle } from "./api";

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

describe("needsFreshUrl", () => {
  it("asks for a new URL shortly before the old one expires, never without one", () => {
    const exp = 1_000_000;
    expect(needsFreshUrl(exp, exp - 60_000)).toBe(false);
    expect(needsFreshUrl(exp, exp - 10_000)).toBe(true);
    expect(needsFreshUrl(exp, exp + 1)).toBe(true);
    expect(needsFreshUrl(0, exp)).toBe(false);
  });
});

describe("throttle", () => {
  it("reports at once, then at most once per period", () => {
    let t = 0;
    let calls = 0;
    const report = throttle(() => calls++, 5000, () => t);
    report();
    report();
    expect(calls).toBe(1);
    t = 4999;
    report();
    expect(calls).toBe(1);
    t = 5000;
    report();
    expect(calls).toBe(2);
  });
});
