import { describe, expect, it } from "vitest";
import { FORMATS } from "./bindings";
import { dialogExtensions, formatName, knownFormat, mimeAliases, playsHere } from "./formats";

describe("formats", () => {
  it("come from the engine's table", () => {
    const ids = FORMATS.map((f) => f.id);
    for (const id of ["wav", "aiff", "flac", "m4a", "aac", "mp3", "ogg", "opus"]) expect(ids).toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
  });
  it("names formats, and unknown ones by their id", () => {
    expect(formatName("m4a")).toBe("AAC / ALAC (MP4)");
    expect(formatName("flac")).toBe("FLAC");
    expect(formatName("xyz")).toBe("XYZ");
  });
  it("says which formats the player plays here, from the table", () => {
    expect(playsHere("flac")).toBe(true);
    expect(playsHere("wma")).toBe(false);
    expect(playsHere("dff")).toBe(false);
    // A format the table does not know is tried, not refused.
    expect(playsHere("xyz")).toBe(true);
    expect(playsHere("flac", [])).toBe(true);
    expect(knownFormat("tta")).toBe(true);
    expect(knownFormat("xyz")).toBe(false);
  });
  it("knows a MIME type's aliases", () => {
    expect(mimeAliases("audio/x-aiff")).toEqual(["audio/aiff"]);
    // AAC/ALAC and M4B audiobooks share audio/mp4: every name either is known by.
    expect(mimeAliases("audio/mp4")).toEqual(["audio/x-m4a", "audio/aac", "audio/x-m4b"]);
    expect(mimeAliases("application/octet-stream")).toEqual([]);
  });
  it("offers the vault's allowed extensions in the file dialog, else the defaults", () => {
    expect(dialogExtensions(["wav", "wv"])).toEqual(["wav", "wv"]);
    const defaults = dialogExtensions(null);
    expect(defaults).toEqual([
      "wav", "wave", "aif", "aiff", "aifc", "flac", "m4a", "mp4", "alac", "m4b", "3gp", "3ga", "3g2", "aac", "mp3",
      "ogg", "oga", "opus", "spx", "wv", "ape", "mpc", "mpp", "tta", "tak", "ofr", "ofs", "dsf", "dff", "ac3", "eac3",
      "ec3", "wma",
    ]);
    expect(dialogExtensions([])).toEqual(defaults);
  });
});
