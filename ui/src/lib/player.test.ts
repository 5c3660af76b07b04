import { describe, expect, it } from "vitest";
import { canPlay } from "./player.svelte";

describe("canPlay", () => {
  it("accepts a type the web view knows by another name", () => {
    const audio = { canPlayType: (t: string) => (t === "audio/aiff" ? "maybe" : "") };
    expect(canPlay(audio, "audio/x-aiff")).toBe(true);
    expect(canPlay(audio, "audio/flac")).toBe(false);
    expect(canPlay({ canPlayType: () => "" }, "application/octet-stream")).toBe(false);
  });
});
