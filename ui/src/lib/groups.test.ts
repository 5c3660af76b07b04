import { describe, expect, it } from "vitest";
import type { AlbumSummary } from "./bindings";
import { albumGroup, artistAlbums, artistGroup, filterGroups, trackAlbumKey } from "./groups";

function album(name: string, artist: string): AlbumSummary {
  return { album: name, artist, tracks: 1, duration_seconds: 1, year: null, artwork_track: null };
}

function track(artist: string | null, album: string | null, albumArtist: string | null = null) {
  return { artist, album, album_artist: albumArtist };
}

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

  it("keys a track's album like the catalog: album artist, else artist, else nothing", () => {
    expect(trackAlbumKey(track("Ana", "Hits"))).toBe(albumGroup(album("Hits", "Ana")).key);
    expect(trackAlbumKey(track("Ana & Bo", "Hits", "Ana"))).toBe(albumGroup(album("Hits", "Ana")).key);
    expect(trackAlbumKey(track("Bo", null))).toBe(albumGroup(album("", "Bo")).key);
    expect(trackAlbumKey(track(null, null))).toBe(albumGroup(album("", "")).key);
    // An empty album artist tag is a value, as in the catalog's ifnull.
    expect(trackAlbumKey(track("Bo", "Hits", ""))).toBe(albumGroup(album("Hits", "")).key);
    expect(trackAlbumKey(track("Bo", "Hits"))).not.toBe(albumGroup(album("Hits", "Ana")).key);
  });

  it("an artist's albums are the ones holding its tracks, the album-less one last", () => {
    // The catalog's order: by name, then artist; "" (no album) first.
    const albums = [album("", "Ana"), album("", "Bo"), album("Duets", "Various"), album("Hits", "Ana"), album("Hits", "Bo"), album("Zed", "Ana")];
    const ana = [track("Ana", "Hits"), track("Ana", "Zed"), track("Ana", null), track("Ana", "Duets", "Various")];
    expect(artistAlbums(albums, ana).map((a) => `${a.album}/${a.artist}`)).toEqual(["Duets/Various", "Hits/Ana", "Zed/Ana", "/Ana"]);
    // A guest on Ana's album (tagged with her as album artist) leads to it, not to Bo's "Hits".
    expect(artistAlbums(albums, [track("Ana & Bo", "Hits", "Ana")])).toEqual([album("Hits", "Ana")]);
    expect(artistAlbums(albums, [track("Bo", "Hits")]).map((a) => a.artist)).toEqual(["Bo"]);
    expect(artistAlbums(albums, [])).toEqual([]);
    expect(artistAlbums([], ana)).toEqual([]);
  });
});
