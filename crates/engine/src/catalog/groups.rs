//! Grouped views of the library's active tracks: albums and artists, and the
//! tracks of one of them. An album is its name with its album artist (else its
//! artist), so "Greatest Hits" by two artists is two albums; untagged tracks
//! group under an empty name.

use rusqlite::params;
use serde::Serialize;

use super::tracks::{track_columns, track_from_row};
use super::{Catalog, CatalogError, Track, TrackId};

/// The album artist, else the track artist, else "".
const ALBUM_ARTIST: &str = "ifnull(t.album_artist, ifnull(t.artist, ''))";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AlbumSummary {
    /// "" for tracks without an album tag.
    pub album: String,
    pub artist: String,
    pub tracks: u64,
    pub duration_seconds: f64,
    pub year: Option<i32>,
    /// A track of the album with cover art (for a thumbnail).
    pub artwork_track: Option<TrackId>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ArtistSummary {
    /// "" for tracks without an artist tag.
    pub artist: String,
    pub albums: u64,
    pub tracks: u64,
    pub duration_seconds: f64,
}

impl Catalog {
    /// Every album of the active tracks, by name then artist (any case).
    pub fn albums(&self) -> Result<Vec<AlbumSummary>, CatalogError> {
        let sql = format!(
            "SELECT ifnull(t.album, ''), {ALBUM_ARTIST}, count(*), total(t.duration_seconds),
                    max(t.year), max(CASE WHEN t.artwork_id IS NOT NULL THEN t.id END)
             FROM tracks t WHERE t.state = 'active'
             GROUP BY 1, 2 ORDER BY 1 COLLATE NOCASE, 2 COLLATE NOCASE"
        );
        let mut stmt = self.conn().prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AlbumSummary {
                    album: r.get(0)?,
                    artist: r.get(1)?,
                    tracks: r.get::<_, i64>(2)? as u64,
                    duration_seconds: r.get(3)?,
                    year: r.get(4)?,
                    artwork_track: r.get::<_, Option<String>>(5)?.map(TrackId),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Every track artist of the active tracks, with how many albums they appear on.
    pub fn artists(&self) -> Result<Vec<ArtistSummary>, CatalogError> {
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT ifnull(t.artist, ''), count(DISTINCT ifnull(t.album, '')), count(*),
                        total(t.duration_seconds)
                 FROM tracks t WHERE t.state = 'active'
                 GROUP BY 1 ORDER BY 1 COLLATE NOCASE",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ArtistSummary {
                    artist: r.get(0)?,
                    albums: r.get::<_, i64>(1)? as u64,
                    tracks: r.get::<_, i64>(2)? as u64,
                    duration_seconds: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The active tracks of one album (as [`Catalog::albums`] names it), in disc
    /// and track order.
    pub fn album_tracks(&self, album: &str, artist: &str) -> Result<Vec<Track>, CatalogError> {
        let track_columns = track_columns();
        let sql = format!(
            "SELECT {track_columns} FROM tracks t
             WHERE t.state = 'active' AND ifnull(t.album, '') = ?1 AND {ALBUM_ARTIST} = ?2
             ORDER BY ifnull(t.disc_number, 0), ifnull(t.track_number, 0), t.file_name COLLATE NOCASE"
        );
        self.grouped_tracks(&sql, params![album, artist])
    }

    /// The active tracks of one artist, by album, then disc and track.
    pub fn artist_tracks(&self, artist: &str) -> Result<Vec<Track>, CatalogError> {
        let track_columns = track_columns();
        let sql = format!(
            "SELECT {track_columns} FROM tracks t
             WHERE t.state = 'active' AND ifnull(t.artist, '') = ?1
             ORDER BY ifnull(t.album, '') COLLATE NOCASE, ifnull(t.disc_number, 0),
                      ifnull(t.track_number, 0), t.file_name COLLATE NOCASE"
        );
        self.grouped_tracks(&sql, params![artist])
    }

    fn grouped_tracks(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Track>, CatalogError> {
        let mut stmt = self.conn().prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params, track_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{NewTrack, TrackMetadata};
    use crate::store::ChunkId;

    /// (title, artist, album artist, album, track number, duration); the last is trashed.
    type Row = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        u32,
        f64,
    );
    const ROWS: &[Row] = &[
        ("B side", "Ana", None, Some("Hits"), 2, 100.0),
        ("A side", "Ana", None, Some("Hits"), 1, 50.0),
        ("Duet", "Ana & Bo", Some("Ana"), Some("Hits"), 3, 10.0),
        ("Other hits", "Bo", None, Some("Hits"), 1, 20.0),
        ("Loose", "Bo", None, None, 0, 5.0),
        ("Gone", "Cy", None, Some("Trashed"), 1, 1.0),
    ];

    fn catalog(dir: &std::path::Path) -> Catalog {
        let mut catalog =
            Catalog::open(&dir.join("catalog.db"), &crate::catalog::test_key()).unwrap();
        for (i, r) in ROWS.iter().enumerate() {
            let id = TrackId(format!("{:016x}", i + 1));
            let mut sha = [0u8; 32];
            sha[0] = i as u8 + 1;
            let meta = TrackMetadata {
                title: Some(r.0.into()),
                artist: Some(r.1.into()),
                album_artist: r.2.map(Into::into),
                album: r.3.map(Into::into),
                track_number: (r.4 > 0).then_some(r.4),
                duration_seconds: Some(r.5),
                ..TrackMetadata::default()
            };
            catalog
                .commit_track(
                    &NewTrack {
                        id: &id,
                        sha256: &sha,
                        size_bytes: 100,
                        file_name: r.0,
                        file_name_raw: None,
                        source_path: r.0,
                        source_mtime: None,
                        format: "flac",
                        import_job_id: None,
                        chunks: &[crate::catalog::NewChunk::plain(
                            ChunkId([i as u8 + 1; 32]),
                            0,
                            100,
                            129,
                        )],
                        meta: &meta,
                        other_tags: &[],
                        artwork: None,
                        metadata_version: 1,
                    },
                    None,
                )
                .unwrap();
        }
        catalog
            .set_trashed(&[TrackId(format!("{:016x}", ROWS.len()))], true)
            .unwrap();
        catalog
    }

    #[test]
    fn albums_group_by_name_and_album_artist_without_the_trash() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let albums: Vec<(String, String, u64, f64)> = c
            .albums()
            .unwrap()
            .into_iter()
            .map(|a| (a.album, a.artist, a.tracks, a.duration_seconds))
            .collect();
        assert_eq!(
            albums,
            vec![
                ("".into(), "Bo".into(), 1, 5.0),
                ("Hits".into(), "Ana".into(), 3, 160.0),
                ("Hits".into(), "Bo".into(), 1, 20.0),
            ]
        );
        let titles: Vec<String> = c
            .album_tracks("Hits", "Ana")
            .unwrap()
            .into_iter()
            .map(|t| t.meta.title.unwrap_or_default())
            .collect();
        assert_eq!(titles, ["A side", "B side", "Duet"]);
        assert_eq!(c.album_tracks("", "Bo").unwrap().len(), 1);
        assert!(c.album_tracks("Trashed", "Cy").unwrap().is_empty());
    }

    #[test]
    fn artists_count_albums_and_tracks() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let artists: Vec<(String, u64, u64)> = c
            .artists()
            .unwrap()
            .into_iter()
            .map(|a| (a.artist, a.albums, a.tracks))
            .collect();
        assert_eq!(
            artists,
            vec![
                ("Ana".into(), 1, 2),
                ("Ana & Bo".into(), 1, 1),
                ("Bo".into(), 2, 2),
            ]
        );
        let titles: Vec<String> = c
            .artist_tracks("Bo")
            .unwrap()
            .into_iter()
            .map(|t| t.meta.title.unwrap_or_default())
            .collect();
        assert_eq!(titles, ["Loose", "Other hits"]);
    }
}
