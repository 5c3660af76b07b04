// The Albums and Artists views: one list shape for both, and their labels.
import type { AlbumSummary, ArtistSummary } from "./bindings";
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

export function albumGroup(a: AlbumSummary): Group {
  const bits = [a.artist || "Unknown artist", a.year ? String(a.year) : null, plural(a.tracks, "track"), formatTotalDuration(a.duration_seconds)];
  return {
    key: `${a.album}\u0000${a.artist}`,
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
