//! Tracks, their chunk lists, chunks, import jobs and statistics: the SQL and
//! the row mapping for each live together here.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Catalog, CatalogError, clock, format_time, now_unix, now_unix_millis};
use crate::store::{ChunkId, ChunkStore, hex};

pub use crate::ids::TrackId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum TrackState {
    Active,
    Trashed,
}

impl TrackState {
    fn parse(s: &str) -> Self {
        if s == "trashed" {
            TrackState::Trashed
        } else {
            TrackState::Active
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Track {
    pub id: TrackId,
    pub sha256: String,
    pub file_name: String,
    /// The name's original bytes when it is not valid UTF-8 (restored on export).
    #[serde(skip)]
    pub file_name_raw: Option<Vec<u8>>,
    pub size_bytes: u64,
    pub format: String,
    pub imported_at: String,
    pub state: TrackState,
    pub trashed_at: Option<String>,
    pub chunk_count: u64,
    /// Encrypted bytes of the chunks this track references (shared chunks count in full).
    pub stored_bytes: u64,
    pub source_path: Option<String>,
    #[serde(skip)]
    pub source_mtime: Option<i64>,
    #[serde(flatten)]
    pub meta: TrackMetadata,
    /// The chunk holding the embedded cover art.
    #[serde(skip)]
    pub artwork_chunk: Option<ChunkId>,
    /// Set by the vault's read functions (see `crate::library`); `local` as read.
    pub location: super::remote::TrackLocation,
}

/// The metadata columns of `tracks` (migration 0003), each named once here: the
/// struct, the SELECT list, the reading of a row by column name and the UPDATE
/// all come from this list.
macro_rules! track_metadata {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        /// What the media module read from the file: technical metadata and tags.
        #[derive(Debug, Clone, Default, Serialize, PartialEq)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub struct TrackMetadata {
            $($(#[$doc])* pub $field: $ty,)*
            pub has_artwork: bool,
            pub artwork_mime: Option<String>,
            pub artwork_size: Option<u64>,
        }

        /// The columns above, in order.
        const METADATA_COLUMNS: &[&str] = &[$(stringify!($field)),*];

        impl TrackMetadata {
            fn read(r: &Row<'_>, has_artwork: bool) -> rusqlite::Result<TrackMetadata> {
                Ok(TrackMetadata {
                    $($field: r.get(stringify!($field))?,)*
                    has_artwork,
                    artwork_mime: r.get("artwork_mime")?,
                    artwork_size: r.get::<_, Option<i64>>("artwork_size")?.map(|v| v as u64),
                })
            }

            /// The values of [`METADATA_COLUMNS`], in order.
            fn values(&self) -> Vec<&dyn rusqlite::ToSql> {
                vec![$(&self.$field),*]
            }
        }
    };
}

crate::media::with_tag_fields!(track_metadata! {
    container: Option<String>,
    codec: Option<String>,
    duration_seconds: Option<f64>,
    sample_rate: Option<u32>,
    bit_depth: Option<u32>,
    channels: Option<u32>,
    bitrate: Option<u32>,
    decodable: Option<bool>,
    metadata_error: Option<String>,
});

/// Embedded cover art stored as one chunk.
pub struct NewArtwork {
    pub chunk: ChunkId,
    pub size: u64,
    pub stored_size: u64,
    pub mime_type: String,
    pub thumbnail: Option<crate::media::Thumbnail>,
}

pub use crate::store::TrackChunk;
use crate::store::ogg_pages::ChunkTransform;

/// One entry of a new track's chunk list.
#[derive(Debug, Clone, Copy)]
pub struct NewChunk {
    pub id: ChunkId,
    pub offset: u64,
    /// Plaintext bytes, stored and in the file (a transform keeps the length).
    pub length: u64,
    pub stored_size: u64,
    /// How the stored chunk turns back into the file's bytes (`None`: as stored).
    pub transform: Option<ChunkTransform>,
}

impl NewChunk {
    /// A chunk stored as the file's bytes.
    pub fn plain(id: ChunkId, offset: u64, length: u64, stored_size: u64) -> Self {
        NewChunk {
            id,
            offset,
            length,
            stored_size,
            transform: None,
        }
    }
}

/// A track ready to be committed by an import.
pub struct NewTrack<'a> {
    pub id: &'a TrackId,
    pub sha256: &'a [u8; 32],
    pub size_bytes: u64,
    pub file_name: &'a str,
    pub file_name_raw: Option<&'a [u8]>,
    pub source_path: &'a str,
    pub source_mtime: Option<i64>,
    pub format: &'a str,
    pub import_job_id: Option<i64>,
    pub chunks: &'a [NewChunk],
    pub meta: &'a TrackMetadata,
    pub other_tags: &'a [(String, String)],
    pub artwork: Option<&'a NewArtwork>,
    pub metadata_version: i64,
}

/// New metadata for a track (rescan).
pub(crate) struct MetadataUpdate<'a> {
    pub id: &'a TrackId,
    pub meta: &'a TrackMetadata,
    pub other_tags: &'a [(String, String)],
    pub artwork: Option<&'a NewArtwork>,
    pub metadata_version: i64,
}

/// What committing an import did.
pub enum CommitOutcome {
    Inserted,
    /// Another import committed the same content first.
    Duplicate(TrackId, TrackState),
    /// The vault size limit would be exceeded.
    OverQuota {
        stored: u64,
        new: u64,
        quota: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackFilter {
    Active,
    Trashed,
    All,
}

#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FormatStats {
    pub format: String,
    pub tracks: u64,
    pub logical_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Stats {
    /// Active tracks.
    pub tracks: u64,
    pub trashed: u64,
    /// Bytes of the active tracks as the user sees them.
    pub logical_bytes: u64,
    pub trashed_bytes: u64,
    /// Encrypted bytes on disk for every referenced chunk.
    pub stored_bytes: u64,
    /// Plaintext bytes of the distinct audio chunks (cover art is counted in
    /// `stored_bytes` only).
    pub unique_bytes: u64,
    /// What dedup saves: the tracks' bytes (active and trashed) minus the distinct chunks' bytes.
    /// The sum of `dedup_retag_bytes` and `dedup_other_bytes`.
    pub dedup_saved_bytes: u64,
    /// Of `dedup_saved_bytes`, what tracks share with an earlier track of the same
    /// format and duration (within half a second): re-tagged copies.
    pub dedup_retag_bytes: u64,
    /// The rest of `dedup_saved_bytes`: chunks shared by unrelated tracks, or
    /// repeated within one.
    pub dedup_other_bytes: u64,
    /// Bytes of the files imported as exact copies of a track (by SHA-256, from
    /// another path than the track's own; each path once): never stored at all,
    /// so not part of `dedup_saved_bytes`.
    pub dedup_exact_copies_bytes: u64,
    pub chunks: u64,
    pub quota_bytes: Option<u64>,
    pub quota_used_fraction: Option<f64>,
    pub by_format: Vec<FormatStats>,
    pub warnings: Vec<String>,
}

/// The SELECT list of a [`Track`] over `tracks t`, each column named so rows are
/// read by name (see [`track_from_row`]).
pub(crate) fn track_columns() -> &'static str {
    static COLUMNS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        let mut columns = vec![
            "t.id AS id, t.sha256 AS sha256, t.file_name AS file_name".to_string(),
            "t.file_name_raw AS file_name_raw, t.size_bytes AS size_bytes, t.format AS format"
                .to_string(),
            "t.imported_at AS imported_at, t.state AS state, t.trashed_at AS trashed_at"
                .to_string(),
            "t.source_path AS source_path, t.source_mtime AS source_mtime".to_string(),
            "(SELECT count(*) FROM track_chunks tc WHERE tc.track_id = t.id) AS chunk_count"
                .to_string(),
            "(SELECT coalesce(sum(c.stored_size), 0) FROM track_chunks tc
              JOIN chunks c ON c.id = tc.chunk_id WHERE tc.track_id = t.id) AS stored_bytes"
                .to_string(),
        ];
        columns.extend(METADATA_COLUMNS.iter().map(|c| format!("t.{c} AS {c}")));
        columns.push(
            "t.artwork_id AS artwork_id, t.artwork_mime AS artwork_mime, t.artwork_size AS artwork_size"
                .to_string(),
        );
        columns.join(", ")
    })
}

pub(crate) fn track_from_row(r: &Row<'_>) -> rusqlite::Result<Track> {
    let sha: Vec<u8> = r.get("sha256")?;
    let artwork_chunk = r
        .get::<_, Option<Vec<u8>>>("artwork_id")?
        .and_then(|raw| ChunkId::from_slice(&raw));
    Ok(Track {
        meta: TrackMetadata::read(r, artwork_chunk.is_some())?,
        artwork_chunk,
        id: TrackId(r.get("id")?),
        sha256: hex(&sha),
        file_name: r.get("file_name")?,
        file_name_raw: r.get("file_name_raw")?,
        size_bytes: r.get::<_, i64>("size_bytes")? as u64,
        format: r.get("format")?,
        imported_at: format_time(r.get("imported_at")?),
        state: TrackState::parse(&r.get::<_, String>("state")?),
        trashed_at: r.get::<_, Option<i64>>("trashed_at")?.map(format_time),
        source_path: r.get("source_path")?,
        source_mtime: r.get("source_mtime")?,
        chunk_count: r.get::<_, i64>("chunk_count")? as u64,
        stored_bytes: r.get::<_, i64>("stored_bytes")? as u64,
        location: Default::default(),
    })
}

impl Catalog {
    pub fn track(&self, id: &TrackId) -> Result<Option<Track>, CatalogError> {
        self.conn
            .query_row(
                &format!("SELECT {} FROM tracks t WHERE t.id = ?1", track_columns()),
                [id.as_str()],
                track_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Tracks whose id starts with `prefix` (at most `limit`).
    pub fn tracks_with_id_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<TrackId>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id FROM tracks WHERE id >= ?1 AND id < ?1 || '~' ORDER BY id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map(params![prefix, limit], |r| Ok(TrackId(r.get(0)?)))
            .map_err(|e| self.err(e))?;
        ids.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn tracks(&self, filter: TrackFilter) -> Result<Vec<Track>, CatalogError> {
        let condition = match filter {
            TrackFilter::Active => "WHERE t.state = 'active'",
            TrackFilter::Trashed => "WHERE t.state = 'trashed'",
            TrackFilter::All => "",
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM tracks t {condition} ORDER BY t.imported_at, t.id",
                track_columns()
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], track_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Active tracks whose file name contains `text` (case-insensitive).
    pub fn tracks_matching_name(&self, text: &str) -> Result<Vec<Track>, CatalogError> {
        let pattern = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM tracks t
                 WHERE t.state = 'active' AND t.file_name LIKE ?1 ESCAPE '\\'
                 ORDER BY t.imported_at, t.id",
                track_columns()
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([pattern], track_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn track_chunks(&self, id: &TrackId) -> Result<Vec<TrackChunk>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT chunk_id, offset, length, transform FROM track_chunks
                 WHERE track_id = ?1 ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id.as_str()], |r| {
                let raw: Vec<u8> = r.get(0)?;
                let transform: Option<Vec<u8>> = r.get(3)?;
                Ok((raw, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, transform))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        let bad_column = |index: usize, name: &str| {
            self.err(rusqlite::Error::InvalidColumnType(
                index,
                name.into(),
                rusqlite::types::Type::Blob,
            ))
        };
        for row in rows {
            let (raw, offset, length, transform) = row.map_err(|e| self.err(e))?;
            let id = ChunkId::from_slice(&raw).ok_or_else(|| bad_column(0, "chunk_id"))?;
            // A form this version does not write makes the track unreadable here,
            // never read as if it were plain bytes.
            let transform = match transform {
                None => None,
                Some(t) => {
                    Some(ChunkTransform::decode(&t).ok_or_else(|| bad_column(3, "transform"))?)
                }
            };
            out.push(TrackChunk {
                id,
                offset: offset as u64,
                length: length as u64,
                transform,
            });
        }
        Ok(out)
    }

    pub fn track_by_sha256(
        &self,
        sha256: &[u8; 32],
    ) -> Result<Option<(TrackId, TrackState)>, CatalogError> {
        self.conn
            .query_row(
                "SELECT id, state FROM tracks WHERE sha256 = ?1",
                [&sha256[..]],
                |r| {
                    Ok((
                        TrackId(r.get(0)?),
                        TrackState::parse(&r.get::<_, String>(1)?),
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Whether any track has this size: if none does, a file cannot be an exact
    /// duplicate and the import skips the separate hashing pass.
    pub fn any_track_with_size(&self, size: u64) -> Result<bool, CatalogError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM tracks WHERE size_bytes = ?1)",
                [size as i64],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    pub fn stored_bytes_total(&self) -> Result<u64, CatalogError> {
        self.conn
            .query_row(
                "SELECT coalesce(sum(stored_size), 0) FROM chunks",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|v| v as u64)
            .map_err(|e| self.err(e))
    }

    /// Commits one imported file: its chunks, the track and its chunk list, in one
    /// transaction. The caller has made the chunks durable first.
    pub fn commit_track(
        &mut self,
        t: &NewTrack<'_>,
        quota: Option<u64>,
    ) -> Result<CommitOutcome, CatalogError> {
        let mut outcomes = self.commit_tracks(std::slice::from_ref(t), quota)?;
        Ok(outcomes.remove(0))
    }

    /// Commits several imported files in one transaction: one WAL sync for the
    /// batch instead of one per file. Each file still gets its own outcome
    /// (a duplicate or a quota refusal leaves the others unaffected).
    pub fn commit_tracks(
        &mut self,
        tracks: &[NewTrack<'_>],
        quota: Option<u64>,
    ) -> Result<Vec<CommitOutcome>, CatalogError> {
        self.commit_tracks_with(tracks, quota, None)
    }

    /// [`Catalog::commit_tracks`] for an import batch whose chunks are not durable
    /// yet: one `syncfs`, inside the transaction, makes the chunks and the batch's
    /// records durable before the commit.
    pub(crate) fn commit_import_batch(
        &mut self,
        tracks: &[NewTrack<'_>],
        quota: Option<u64>,
        store: &ChunkStore,
        written: &[ChunkId],
    ) -> Result<Vec<CommitOutcome>, CatalogError> {
        self.commit_tracks_with(tracks, quota, Some((store, written)))
    }

    fn commit_tracks_with(
        &mut self,
        tracks: &[NewTrack<'_>],
        quota: Option<u64>,
        chunks: Option<(&ChunkStore, &[ChunkId])>,
    ) -> Result<Vec<CommitOutcome>, CatalogError> {
        let path = self.path.clone();
        let err = |source| CatalogError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .map_err(err)?;
        let mut outcomes = Vec::with_capacity(tracks.len());
        let stamp = clock::tick(&tx).map_err(err)?;
        let device = clock::device(&tx).map_err(err)?;
        for t in tracks {
            outcomes.push(commit_in_tx(&tx, t, quota, (&device, stamp)).map_err(err)?);
        }
        let sealed = match chunks {
            Some((store, written)) => self.seal_records_with_chunks(store, written)?,
            None => self.seal_records()?,
        };
        tx.commit().map_err(err)?;
        sealed.after_commit();
        Ok(outcomes)
    }

    /// Replaces a track's metadata (rescan after an extractor upgrade).
    pub fn update_metadata(
        &mut self,
        id: &TrackId,
        meta: &TrackMetadata,
        other_tags: &[(String, String)],
        artwork: Option<&NewArtwork>,
        metadata_version: i64,
    ) -> Result<(), CatalogError> {
        self.update_metadata_batch(
            &[MetadataUpdate {
                id,
                meta,
                other_tags,
                artwork,
                metadata_version,
            }],
            None,
        )
    }

    /// Replaces the metadata of several tracks in one transaction: one `syncfs`
    /// for their records (and for new artwork chunks, when given) instead of one
    /// per track.
    pub(crate) fn update_metadata_batch(
        &mut self,
        updates: &[MetadataUpdate<'_>],
        chunks: Option<(&ChunkStore, &[ChunkId])>,
    ) -> Result<(), CatalogError> {
        let path = self.path.clone();
        let err = |source| CatalogError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        for u in updates {
            if let Some(a) = u.artwork {
                tx.execute(
                    "INSERT OR IGNORE INTO chunks (id, size, stored_size, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![&a.chunk.0[..], a.size as i64, a.stored_size as i64, now_unix()],
                )
                .map_err(err)?;
            }
            write_metadata(
                &tx,
                u.id,
                u.meta,
                u.other_tags,
                u.artwork,
                u.metadata_version,
            )
            .map_err(err)?;
        }
        let sealed = match chunks {
            Some((store, written)) => self.seal_records_with_chunks(store, written)?,
            None => self.seal_records()?,
        };
        tx.commit().map_err(err)?;
        sealed.after_commit();
        Ok(())
    }

    /// Tracks whose metadata was read by an older extractor than `version`.
    pub fn tracks_needing_rescan(&self, version: i64) -> Result<Vec<TrackId>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM tracks WHERE metadata_version < ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([version], |r| Ok(TrackId(r.get(0)?)))
            .map_err(|e| self.err(e))?;
        ids.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn other_tags(&self, id: &TrackId) -> Result<Vec<(String, String)>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM track_tags WHERE track_id = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Inserts a track inside the caller's open transaction, without quota or
    /// duplicate checks: for building large synthetic catalogs in benchmarks.
    pub fn commit_track_unsynced(&self, t: &NewTrack<'_>) -> Result<(), CatalogError> {
        let now = now_unix();
        let e = |e| self.err(e);
        for NewChunk {
            id,
            length: len,
            stored_size: stored,
            ..
        } in t.chunks
        {
            self.conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO chunks (id, size, stored_size, created_at) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(e)?
                .execute(params![&id.0[..], *len as i64, *stored as i64, now])
                .map_err(e)?;
        }
        self.conn
            .prepare_cached(
                "INSERT INTO tracks (id, sha256, size_bytes, file_name, source_path, format, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(e)?
            .execute(params![
                t.id.as_str(),
                &t.sha256[..],
                t.size_bytes as i64,
                t.file_name,
                t.source_path,
                t.format,
                now
            ])
            .map_err(e)?;
        write_metadata(
            &self.conn,
            t.id,
            t.meta,
            t.other_tags,
            t.artwork,
            t.metadata_version,
        )
        .map_err(e)
    }

    /// Whether the catalog holds a thumbnail of this picture (an import need not make
    /// one again).
    pub fn has_thumbnail(&self, artwork: &ChunkId) -> Result<bool, CatalogError> {
        self.conn
            .prepare_cached("SELECT 1 FROM thumbnails WHERE artwork_id = ?1")
            .and_then(|mut s| s.exists([&artwork.0[..]]))
            .map_err(|e| self.err(e))
    }

    /// A track's cover-art thumbnail: (mime type, bytes).
    pub fn thumbnail(&self, id: &TrackId) -> Result<Option<(String, Vec<u8>)>, CatalogError> {
        self.conn
            .query_row(
                "SELECT th.mime_type, th.data FROM tracks t JOIN thumbnails th ON th.artwork_id = t.artwork_id
                 WHERE t.id = ?1",
                [id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Moves tracks to the trash; returns how many changed state.
    pub fn set_trashed(&self, ids: &[TrackId], trashed: bool) -> Result<usize, CatalogError> {
        let sql = if trashed {
            "UPDATE tracks SET state = 'trashed', trashed_at = ?2, state_changed_at = ?3, state_clock = ?4
             WHERE id = ?1 AND state = 'active'"
        } else {
            "UPDATE tracks SET state = 'active', trashed_at = NULL, state_changed_at = ?3, state_clock = ?4
             WHERE id = ?1 AND state = 'trashed'"
        };
        let e = |e| self.err(e);
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        // One stamp for the whole choice: a pull orders it against other devices'
        // choices by this, not by the wall-clock time kept for display.
        let stamp = clock::tick(&tx).map_err(e)?;
        let device = clock::device(&tx).map_err(e)?;
        let changed_at = now_unix_millis();
        let mut n = 0;
        for id in ids {
            let changed = tx
                .execute(sql, params![id.as_str(), now_unix(), changed_at, stamp])
                .map_err(e)?;
            // A restore is a new choice to keep the content: it survives a purge
            // made elsewhere that had not seen it.
            if changed > 0 && !trashed {
                let sha: Vec<u8> = tx
                    .query_row(
                        "SELECT sha256 FROM tracks WHERE id = ?1",
                        [id.as_str()],
                        |r| r.get(0),
                    )
                    .map_err(e)?;
                clock::add(&tx, &sha, &device, stamp).map_err(e)?;
            }
            n += changed;
        }
        let sealed = self.seal_records()?;
        tx.commit().map_err(e)?;
        sealed.after_commit();
        Ok(n)
    }

    /// Deletes trashed tracks trashed at or before `cutoff` (unix seconds).
    /// A purge removes every add of the content this catalog knows (and leaves a
    /// tombstone for display), so it reaches every device that syncs with this one
    /// and no older copy brings the track back.
    pub fn purge_trashed(&self, cutoff: i64) -> Result<Vec<TrackId>, CatalogError> {
        let e = |e| self.err(e);
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        let stamp = clock::tick(&tx).map_err(e)?;
        let ids: Vec<TrackId> = {
            let mut stmt = tx
                .prepare(
                    "DELETE FROM tracks WHERE state = 'trashed' AND trashed_at <= ?1
                     RETURNING id, sha256",
                )
                .map_err(e)?;
            let rows = stmt
                .query_map([cutoff], |r| {
                    Ok((TrackId(r.get(0)?), r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(e)?;
            let mut tomb = tx
                .prepare_cached(
                    "INSERT INTO tombstones (sha256, clock, purged_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (sha256) DO UPDATE SET clock = max(clock, excluded.clock),
                         purged_at = excluded.purged_at",
                )
                .map_err(e)?;
            let mut remove_adds = tx
                .prepare_cached("UPDATE content_adds SET removed = 1 WHERE sha256 = ?1")
                .map_err(e)?;
            let mut not_remote = tx
                .prepare_cached("DELETE FROM remote_contents WHERE sha256 = ?1")
                .map_err(e)?;
            let mut ids = Vec::new();
            for row in rows {
                let (id, sha) = row.map_err(e)?;
                tomb.execute(params![sha, stamp, now_unix()]).map_err(e)?;
                remove_adds.execute([&sha]).map_err(e)?;
                not_remote.execute([&sha]).map_err(e)?;
                ids.push(id);
            }
            ids
        };
        // The tombstone record is written (and durable) before the commit; the
        // purged tracks' records go after it.
        let sealed = self.seal_records()?;
        tx.commit().map_err(e)?;
        sealed.after_commit();
        Ok(ids)
    }

    /// Removes chunk rows no track references and returns them: their files can go.
    pub fn delete_unreferenced_chunks(&self) -> Result<Vec<ChunkId>, CatalogError> {
        self.conn
            .execute(
                "DELETE FROM thumbnails WHERE NOT EXISTS
                   (SELECT 1 FROM tracks t WHERE t.artwork_id = thumbnails.artwork_id)",
                [],
            )
            .map_err(|e| self.err(e))?;
        let mut stmt = self
            .conn
            .prepare(
                "DELETE FROM chunks WHERE NOT EXISTS
                   (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = chunks.id)
                   AND NOT EXISTS (SELECT 1 FROM tracks t WHERE t.artwork_id = chunks.id)
                 RETURNING id",
            )
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for raw in ids {
            if let Some(id) = ChunkId::from_slice(&raw.map_err(|e| self.err(e))?) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub fn chunk_ids(&self) -> Result<HashSet<ChunkId>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM chunks")
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        let mut out = HashSet::new();
        for raw in ids {
            if let Some(id) = ChunkId::from_slice(&raw.map_err(|e| self.err(e))?) {
                out.insert(id);
            }
        }
        Ok(out)
    }

    /// The vault's figures from the running totals (migration 0014): a few rows,
    /// whatever the size of the library.
    pub fn stats(&self, quota: Option<u64>) -> Result<Stats, CatalogError> {
        let e = |e| self.err(e);
        let [
            tracks,
            logical,
            trashed,
            trashed_bytes,
            chunks,
            unique,
            stored,
        ] = self
            .conn
            .prepare_cached(
                "SELECT active_tracks, active_bytes, trashed_tracks, trashed_bytes,
                        chunks, unique_bytes, stored_bytes
                 FROM totals WHERE id = 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([], |r| {
                    let mut t = [0i64; 7];
                    for (i, v) in t.iter_mut().enumerate() {
                        *v = r.get::<_, i64>(i)?.max(0);
                    }
                    Ok(t)
                })
            })
            .map_err(e)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT format, tracks, bytes FROM format_totals WHERE tracks > 0
                 ORDER BY bytes DESC, format",
            )
            .map_err(e)?;
        let by_format = stmt
            .query_map([], |r| {
                Ok(FormatStats {
                    format: r.get(0)?,
                    tracks: r.get::<_, i64>(1)?.max(0) as u64,
                    logical_bytes: r.get::<_, i64>(2)?.max(0) as u64,
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        let stored = stored as u64;
        let quota_used_fraction = quota.filter(|q| *q > 0).map(|q| stored as f64 / q as f64);
        let mut warnings = Vec::new();
        if let (Some(q), Some(f)) = (quota, quota_used_fraction)
            && f >= 0.9
        {
            warnings.push(format!(
                "the vault uses {:.0}% of its size limit ({stored} of {q} bytes)",
                f * 100.0
            ));
        }
        Ok(Stats {
            tracks: tracks as u64,
            trashed: trashed as u64,
            logical_bytes: logical as u64,
            trashed_bytes: trashed_bytes as u64,
            stored_bytes: stored,
            unique_bytes: unique as u64,
            dedup_saved_bytes: ((logical + trashed_bytes) - unique).max(0) as u64,
            dedup_retag_bytes: 0,
            dedup_other_bytes: 0,
            dedup_exact_copies_bytes: 0,
            chunks: chunks as u64,
            quota_bytes: quota,
            quota_used_fraction,
            by_format,
            warnings,
        })
    }

    /// The figures the running totals stand for, counted from the rows as `stats`
    /// did before migration 0014: (active tracks, their bytes, trashed tracks, their
    /// bytes, chunks, unique bytes, stored bytes, per format). Tests compare the two.
    #[cfg(test)]
    pub(crate) fn totals_by_scanning(&self) -> Result<([i64; 7], Vec<FormatStats>), CatalogError> {
        let e = |e| self.err(e);
        let (tracks, logical, trashed, trashed_bytes): (i64, i64, i64, i64) = self
            .conn
            .query_row(
                "SELECT
                   count(*) FILTER (WHERE state = 'active'),
                   coalesce(sum(size_bytes) FILTER (WHERE state = 'active'), 0),
                   count(*) FILTER (WHERE state = 'trashed'),
                   coalesce(sum(size_bytes) FILTER (WHERE state = 'trashed'), 0)
                 FROM tracks",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map_err(e)?;
        let (chunks, unique, stored): (i64, i64, i64) = self
            .conn
            .query_row(
                "SELECT count(*),
                   coalesce(sum(size) FILTER (WHERE EXISTS
                     (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = chunks.id)), 0),
                   coalesce(sum(stored_size), 0)
                 FROM chunks",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(e)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT format, count(*), sum(size_bytes) FROM tracks WHERE state = 'active'
                 GROUP BY format ORDER BY sum(size_bytes) DESC, format",
            )
            .map_err(e)?;
        let by_format = stmt
            .query_map([], |r| {
                Ok(FormatStats {
                    format: r.get(0)?,
                    tracks: r.get::<_, i64>(1)? as u64,
                    logical_bytes: r.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok((
            [
                tracks,
                logical,
                trashed,
                trashed_bytes,
                chunks,
                unique,
                stored,
            ],
            by_format,
        ))
    }

    /// Fills in where `stats.dedup_saved_bytes` comes from (re-tags or the rest)
    /// and what exact copies saved. A pass over the shared chunks' references and
    /// the import history: `stats` alone stays cheap for the import's own use.
    pub fn dedup_breakdown(&self, stats: &mut Stats) -> Result<(), CatalogError> {
        let e = |e| self.err(e);
        // Each shared chunk's first reference (earliest import) is the stored one;
        // every later reference is a saving, a re-tag's when its track and the
        // first one are the same format and duration.
        let retag: i64 = self
            .conn
            .query_row(
                "WITH shared AS (
                   SELECT chunk_id FROM track_chunks GROUP BY chunk_id HAVING count(*) > 1),
                 refs AS (
                   SELECT tc.chunk_id, tc.length, t.id, t.format, t.duration_seconds AS d,
                     row_number() OVER (PARTITION BY tc.chunk_id
                                        ORDER BY t.imported_at, t.id, tc.seq) AS rn
                   FROM shared s JOIN track_chunks tc ON tc.chunk_id = s.chunk_id
                   JOIN tracks t ON t.id = tc.track_id)
                 SELECT coalesce(sum(r.length), 0)
                 FROM refs r JOIN refs f ON f.chunk_id = r.chunk_id AND f.rn = 1
                 WHERE r.rn > 1 AND r.id <> f.id AND r.format = f.format
                   AND abs(r.d - f.d) < 0.5",
                [],
                |r| r.get(0),
            )
            .map_err(e)?;
        let exact: i64 = self
            .conn
            .query_row(
                "SELECT coalesce(sum(size_bytes), 0) FROM (
                   SELECT DISTINCT t.id, i.path, t.size_bytes
                   FROM import_job_items i JOIN tracks t ON t.id = i.track_id
                   WHERE i.outcome = 'duplicate' AND i.path IS NOT t.source_path)",
                [],
                |r| r.get(0),
            )
            .map_err(e)?;
        stats.dedup_retag_bytes = (retag.max(0) as u64).min(stats.dedup_saved_bytes);
        stats.dedup_other_bytes = stats.dedup_saved_bytes - stats.dedup_retag_bytes;
        stats.dedup_exact_copies_bytes = exact.max(0) as u64;
        Ok(())
    }

    pub fn start_import_job(&self, source: &str) -> Result<i64, CatalogError> {
        self.conn
            .execute(
                "INSERT INTO import_jobs (started_at, status, source, pid) VALUES (?1, 'running', ?2, ?3)",
                params![now_unix(), source, std::process::id() as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records a job's outcome and its per-file results in one transaction.
    pub fn finish_import_job(
        &mut self,
        job_id: i64,
        status: &str,
        items: &[(String, &'static str, Option<String>, Option<TrackId>)],
    ) -> Result<(), CatalogError> {
        let path = self.path.clone();
        let err = |source| CatalogError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let count = |o: &str| items.iter().filter(|i| i.1 == o).count() as i64;
        tx.execute(
            "UPDATE import_jobs SET status = ?2, finished_at = ?3, files_total = ?4, imported = ?5,
               duplicates = ?6, rejected = ?7, failed = ?8 WHERE id = ?1",
            params![
                job_id,
                status,
                now_unix(),
                items.len() as i64,
                count("imported"),
                count("duplicate"),
                count("rejected"),
                count("failed")
            ],
        )
        .map_err(err)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO import_job_items (job_id, seq, path, outcome, reason, track_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(err)?;
            for (seq, (path, outcome, reason, track)) in items.iter().enumerate() {
                stmt.execute(params![
                    job_id,
                    seq as i64,
                    path,
                    outcome,
                    reason,
                    track.as_ref().map(|t| t.as_str())
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }
}

fn write_metadata(
    tx: &rusqlite::Connection,
    id: &TrackId,
    m: &TrackMetadata,
    other_tags: &[(String, String)],
    artwork: Option<&NewArtwork>,
    metadata_version: i64,
) -> rusqlite::Result<()> {
    static UPDATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = UPDATE.get_or_init(|| {
        let set: Vec<String> = METADATA_COLUMNS
            .iter()
            .chain(&[
                "artwork_id",
                "artwork_mime",
                "artwork_size",
                "metadata_version",
            ])
            .enumerate()
            .map(|(i, c)| format!("{c} = ?{}", i + 2))
            .collect();
        format!("UPDATE tracks SET {} WHERE id = ?1", set.join(", "))
    });
    let artwork_id = artwork.map(|a| a.chunk.0.to_vec());
    let artwork_mime = artwork.map(|a| a.mime_type.clone());
    let artwork_size = artwork.map(|a| a.size as i64);
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&id.0];
    values.extend(m.values());
    values.extend([
        &artwork_id as &dyn rusqlite::ToSql,
        &artwork_mime,
        &artwork_size,
        &metadata_version,
    ]);
    tx.prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(values))?;
    if let Some(t) = artwork.and_then(|a| a.thumbnail.as_ref().map(|t| (a.chunk, t))) {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO thumbnails (artwork_id, mime_type, width, height, data)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            &t.0.0[..],
            t.1.mime_type,
            t.1.width,
            t.1.height,
            t.1.data
        ])?;
    }
    tx.prepare_cached("DELETE FROM track_tags WHERE track_id = ?1")?
        .execute([id.as_str()])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO track_tags (track_id, seq, key, value) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (seq, (k, v)) in other_tags.iter().enumerate() {
        insert.execute(params![id.as_str(), seq as i64, k, v])?;
    }
    Ok(())
}

/// One file's commit inside the caller's transaction.
fn commit_in_tx(
    tx: &rusqlite::Transaction<'_>,
    t: &NewTrack<'_>,
    quota: Option<u64>,
    (device, stamp): (&str, i64),
) -> rusqlite::Result<CommitOutcome> {
    // Cached statements: with the triggers on tracks (search, sync, records),
    // compiling these again for every file of a batch cost more than running them.
    let existing = tx
        .prepare_cached("SELECT id, state FROM tracks WHERE sha256 = ?1")?
        .query_row([&t.sha256[..]], |r| {
            Ok((
                TrackId(r.get(0)?),
                TrackState::parse(&r.get::<_, String>(1)?),
            ))
        })
        .optional()?;
    if let Some((id, state)) = existing {
        return Ok(CommitOutcome::Duplicate(id, state));
    }
    let now = now_unix();
    let mut new_stored = 0u64;
    {
        let mut known = tx.prepare_cached("SELECT 1 FROM chunks WHERE id = ?1")?;
        let mut seen = HashSet::new();
        for NewChunk {
            id,
            stored_size: stored,
            ..
        } in t.chunks
        {
            if seen.insert(*id) && !known.exists([&id.0[..]])? {
                new_stored += stored;
            }
        }
    }
    if let Some(quota) = quota {
        let stored: i64 = tx
            .prepare_cached("SELECT coalesce(sum(stored_size), 0) FROM chunks")?
            .query_row([], |r| r.get(0))?;
        if stored as u64 + new_stored > quota {
            return Ok(CommitOutcome::OverQuota {
                stored: stored as u64,
                new: new_stored,
                quota,
            });
        }
    }
    {
        let mut insert_chunk = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO chunks (id, size, stored_size, created_at) VALUES (?1, ?2, ?3, ?4)",
                )?;
        for NewChunk {
            id,
            length: len,
            stored_size: stored,
            ..
        } in t.chunks
        {
            insert_chunk.execute(params![&id.0[..], *len as i64, *stored as i64, now])?;
        }
        if let Some(a) = t.artwork {
            insert_chunk.execute(params![
                &a.chunk.0[..],
                a.size as i64,
                a.stored_size as i64,
                now
            ])?;
        }
        tx.prepare_cached(
            "INSERT INTO tracks (id, sha256, size_bytes, file_name, file_name_raw, source_path,
                                     source_mtime, format, imported_at, import_job_id,
                                     state_clock)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            t.id.as_str(),
            &t.sha256[..],
            t.size_bytes as i64,
            t.file_name,
            t.file_name_raw,
            t.source_path,
            t.source_mtime,
            t.format,
            now,
            t.import_job_id,
            stamp
        ])?;
        clock::add(tx, &t.sha256[..], device, stamp)?;
        write_metadata(
            tx,
            t.id,
            t.meta,
            t.other_tags,
            t.artwork,
            t.metadata_version,
        )?;
        let mut insert_ref = tx.prepare_cached(
            "INSERT INTO track_chunks (track_id, seq, chunk_id, offset, length, transform)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (seq, c) in t.chunks.iter().enumerate() {
            insert_ref.execute(params![
                t.id.as_str(),
                seq as i64,
                &c.id.0[..],
                c.offset as i64,
                c.length as i64,
                c.transform.map(|t| t.encode())
            ])?;
        }
    }
    Ok(CommitOutcome::Inserted)
}
