import { describe, expect, it } from "vitest";
import { albumGroup, artistGroup, filterGroups } from "./groups";

describe("groups", () => {
  it("labels albums and artists, untagged ones too", () => {
    const a = albumGroup({ album: "Hits", artist: "Ana", tracks: 3, duration_seconds: 600, year: 2001, artwork_track: "t1" });
    expect(a).toMatchObject({ title: "Hits", subtitle: "Ana · 2001 · 3 tracks · 10 min", album: "Hits", artist: "Ana", artworkTrack: "t1" });
    const none = albumGroup({ album: "", artist: "", tracks: 1, duration_seconds: 5, year: null, artwork_track: null });
    expect(none.title).toBe("Unknown album");
    expect(none.subtitle).toBe("Unknown artist · 1 track · 5 s");
    expect(none.album).toBe("");
    const ar = artistGroup({ artist: "Bo", albums: 2, tracks: 4, duration_seconds: 3700 });
    expect(ar).toMatchObject({ title: "Bo", subtitle: "2 albums · 4 tracks · 1 h 01 min", album: null });
  });

  it("two albums of one name by two artists are two groups", () => {
    const g1 = albumGroup({ album: "Hits", artist: "Ana", tracks: 1, duration_seconds: 1, year: null, artwork_track: null });
    const g2 = albumGroup({ album: "Hits", artist: "Bo", tracks: 1, duration_seconds: 1, year: null, artwork_track: null });
    expect(g1.key).not.toBe(g2.key);
  });

  it("filters by every word of title or artist", () => {
    const gs = [
      albumGroup({ album: "Blue Train", artist: "Coltrane", tracks: 1, duration_seconds: 1, year: null, artwork_track: null }),
      albumGroup({ album: "Kind of Blue", artist: "Davis", tracks: 1, duration_seconds: 1, year: null, artwork_track: null }),
    ];
    expect(filterGroups(gs, "blue").map((g) => g.title)).toEqual(["Blue Train", "Kind of Blue"]);
    expect(filterGroups(gs, "BLUE davis").map((g) => g.title)).toEqual(["Kind of Blue"]);
    expect(filterGroups(gs, "  ")).toHaveLength(2);
  });
});
