// The Albums and Artists views: one list shape for both, and their labels.
import type { AlbumSummary, ArtistSummary, Track } from "./bindings";
import { formatTotalDuration, plural } from "./format";

export interface Group {
  /** Stable key: album + artist, or artist. */
  key: string;
  title: string;
  subtitle: string;
  /** For group_tracks: the album (null for an artist) and the artist. */
  album: string | null;
  artist: string;
  artworkTrack: string | null;
}

/** An album's key: its name ("" without one) and its (album) artist. */
function albumKey(album: string, artist: string): string {
  return `${album}\u0000${artist}`;
}

export function albumGroup(a: AlbumSummary): Group {
  const bits = [a.artist || "Unknown artist", a.year ? String(a.year) : null, plural(a.tracks, "track"), formatTotalDuration(a.duration_seconds)];
  return {
    key: albumKey(a.album, a.artist),
    title: a.album || "Unknown album",
    subtitle: bits.filter(Boolean).join(" · "),
    album: a.album,
    artist: a.artist,
    artworkTrack: a.artwork_track,
  };
}

export function artistGroup(a: ArtistSummary): Group {
  return {
    key: a.artist,
    title: a.artist || "Unknown artist",
    subtitle: `${plural(a.albums, "album")} · ${plural(a.tracks, "track")} · ${formatTotalDuration(a.duration_seconds)}`,
    album: null,
    artist: a.artist,
    artworkTrack: null,
  };
}

/** Groups whose title or subtitle contains every word of `text` (any case). */
export function filterGroups(groups: Group[], text: string): Group[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return groups;
  return groups.filter((g) => {
    const hay = `${g.title} ${g.artist}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/**
 * The key of the album a track belongs to, as the catalog's `albums` groups it:
 * its album ("" without one) with its album artist, else its artist, else "".
 */
export function trackAlbumKey(t: Pick<Track, "album" | "album_artist" | "artist">): string {
  return albumKey(t.album ?? "", t.album_artist ?? t.artist ?? "");
}

/**
 * An artist's albums: those holding any of the artist's tracks (`group_tracks`
 * with no album), so an album whose album artist is someone else (a duet, a
 * compilation) counts too. Named albums keep the catalog's order; the one of the
 * artist's tracks without an album comes last.
 */
export function artistAlbums(albums: AlbumSummary[], artistTracks: Pick<Track, "album" | "album_artist" | "artist">[]): AlbumSummary[] {
  const keys = new Set(artistTracks.map(trackAlbumKey));
  const mine = albums.filter((a) => keys.has(albumKey(a.album, a.artist)));
  return [...mine.filter((a) => a.album), ...mine.filter((a) => !a.album)];
}
