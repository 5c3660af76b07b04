//! Rows of deep analysis (migration 0004): the queue of tracks whose content has
//! no analysis row (or an older analyzer's), waveforms and fingerprints, and the
//! queries the duplicates report is built on.

use std::collections::{HashMap, HashSet};

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Catalog, CatalogError, TrackId, now_unix};
use crate::media::{self, ANALYZER_VERSION};
use crate::store::{ChunkId, unhex};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicateTrack {
    pub id: TrackId,
    pub file_name: String,
    pub format: String,
    pub codec: Option<String>,
    pub size_bytes: u64,
}

/// Where a track's deep analysis (waveform, fingerprint) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AnalysisState {
    /// Not analysed yet (or by an older analyzer): in the queue.
    Pending,
    Done,
    /// The audio could not be decoded; the reason is given beside.
    Failed,
}

fn duplicate_track(r: &Row<'_>) -> rusqlite::Result<DuplicateTrack> {
    Ok(DuplicateTrack {
        id: TrackId(r.get(0)?),
        file_name: r.get(1)?,
        format: r.get(2)?,
        codec: r.get(3)?,
        size_bytes: r.get::<_, i64>(4)? as u64,
    })
}

/// One track waiting for analysis.
pub(crate) struct PendingAnalysis {
    pub id: TrackId,
    pub sha256: Vec<u8>,
    pub file_name: String,
}

impl Catalog {
    pub(crate) fn pending_analysis(
        &self,
        limit: Option<u32>,
    ) -> Result<Vec<PendingAnalysis>, CatalogError> {
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT t.id, t.sha256, t.file_name FROM tracks t
                 LEFT JOIN analysis a ON a.sha256 = t.sha256
                 WHERE t.state = 'active' AND (a.sha256 IS NULL OR a.analyzer_version < ?1)
                 ORDER BY t.imported_at DESC, t.id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![ANALYZER_VERSION, limit.map_or(-1, i64::from)],
                |r| {
                    Ok(PendingAnalysis {
                        id: TrackId(r.get(0)?),
                        sha256: r.get(1)?,
                        file_name: r.get(2)?,
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub(crate) fn save_analysis(
        &self,
        sha256: &[u8],
        result: &std::result::Result<media::Analysis, String>,
    ) -> Result<(), CatalogError> {
        let (status, waveform, kind, fingerprint, duration, error) = match result {
            Ok(a) => {
                let wave: Vec<u8> = a
                    .waveform
                    .iter()
                    .flat_map(|(lo, hi)| [*lo as u8, *hi as u8])
                    .collect();
                let kind = match a.fingerprint.kind {
                    media::FingerprintKind::DecodedPcm => "decoded_pcm",
                    media::FingerprintKind::CodedPackets => "coded_packets",
                };
                (
                    "done",
                    Some(wave),
                    Some(kind),
                    unhex(&a.fingerprint.sha256),
                    Some(a.duration_seconds),
                    None,
                )
            }
            Err(e) => ("failed", None, None, None, None, Some(e.clone())),
        };
        self.conn()
            .execute(
                "INSERT INTO analysis (sha256, analyzer_version, analyzed_at, status, waveform,
                   fingerprint_kind, fingerprint, decoded_duration, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (sha256) DO UPDATE SET analyzer_version = excluded.analyzer_version,
                   analyzed_at = excluded.analyzed_at, status = excluded.status,
                   waveform = excluded.waveform, fingerprint_kind = excluded.fingerprint_kind,
                   fingerprint = excluded.fingerprint, decoded_duration = excluded.decoded_duration,
                   error = excluded.error",
                params![
                    sha256,
                    ANALYZER_VERSION,
                    now_unix(),
                    status,
                    waveform,
                    kind,
                    fingerprint,
                    duration,
                    error
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The waveform of a track, once analysed: (min, max) pairs.
    pub fn waveform(&self, id: &TrackId) -> Result<Option<Vec<(i8, i8)>>, CatalogError> {
        let blob: Option<Option<Vec<u8>>> = self
            .conn()
            .query_row(
                "SELECT a.waveform FROM tracks t JOIN analysis a ON a.sha256 = t.sha256 WHERE t.id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(blob.flatten().map(|b| {
            b.chunks_exact(2)
                .map(|p| (p[0] as i8, p[1] as i8))
                .collect()
        }))
    }

    /// Where the track's deep analysis stands, with the decoder's reason when it failed.
    pub fn analysis_status(
        &self,
        id: &TrackId,
    ) -> Result<(AnalysisState, Option<String>), CatalogError> {
        let row: Option<(String, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT a.status, a.error FROM tracks t JOIN analysis a ON a.sha256 = t.sha256
                 WHERE t.id = ?1 AND a.analyzer_version >= ?2",
                params![id.as_str(), ANALYZER_VERSION],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(match row {
            None => (AnalysisState::Pending, None),
            Some((s, error)) if s == "failed" => (AnalysisState::Failed, error),
            Some(_) => (AnalysisState::Done, None),
        })
    }

    /// Files imported as copies of an active track (an import item that was a
    /// duplicate, from another path than the track's own): (track, copy's path).
    pub(crate) fn exact_copy_rows(&self) -> Result<Vec<(DuplicateTrack, String)>, CatalogError> {
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT t.id, t.file_name, t.format, t.codec, t.size_bytes, i.path
                 FROM import_job_items i JOIN tracks t ON t.id = i.track_id
                 WHERE i.outcome = 'duplicate' AND t.state = 'active'
                   AND i.path IS NOT t.source_path
                 GROUP BY t.id, i.path ORDER BY t.id, i.path",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((duplicate_track(r)?, r.get::<_, String>(5)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Active tracks that share a fingerprint with another, grouped by it (the
    /// largest first in each): (track, fingerprint, fingerprint kind).
    pub(crate) fn same_audio_rows(
        &self,
    ) -> Result<Vec<(DuplicateTrack, Vec<u8>, String)>, CatalogError> {
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT t.id, t.file_name, t.format, t.codec, t.size_bytes, a.fingerprint, a.fingerprint_kind
                 FROM tracks t JOIN analysis a ON a.sha256 = t.sha256
                 WHERE t.state = 'active' AND a.fingerprint IN (
                     SELECT a2.fingerprint FROM tracks t2 JOIN analysis a2 ON a2.sha256 = t2.sha256
                     WHERE t2.state = 'active' AND a2.fingerprint IS NOT NULL
                     GROUP BY a2.fingerprint HAVING count(*) > 1)
                 ORDER BY a.fingerprint, t.size_bytes DESC, t.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    duplicate_track(r)?,
                    r.get::<_, Vec<u8>>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Stored bytes of the chunks that only `tracks` reference: what purging them frees.
    pub(crate) fn exclusive_stored_bytes(&self, tracks: &[TrackId]) -> Result<u64, CatalogError> {
        let catalog = self;
        let set: HashSet<&str> = tracks.iter().map(|t| t.as_str()).collect();
        let mut per_chunk: HashMap<ChunkId, (u64, bool)> = HashMap::new();
        let mut ids_stmt = catalog
            .conn()
            .prepare_cached(
                "SELECT tc.chunk_id, o.track_id, c.stored_size FROM track_chunks tc
             JOIN track_chunks o ON o.chunk_id = tc.chunk_id
             JOIN chunks c ON c.id = tc.chunk_id
             WHERE tc.track_id = ?1",
            )
            .map_err(|e| catalog.err(e))?;
        for t in tracks {
            let mut rows = ids_stmt.query([t.as_str()]).map_err(|e| catalog.err(e))?;
            while let Some(r) = rows.next().map_err(|e| catalog.err(e))? {
                let raw: Vec<u8> = r.get(0).map_err(|e| catalog.err(e))?;
                let other: String = r.get(1).map_err(|e| catalog.err(e))?;
                let size: i64 = r.get(2).map_err(|e| catalog.err(e))?;
                let Some(id) = ChunkId::from_slice(&raw) else {
                    continue;
                };
                let entry = per_chunk.entry(id).or_insert((size as u64, true));
                if !set.contains(other.as_str()) {
                    entry.1 = false;
                }
            }
        }
        Ok(per_chunk
            .values()
            .filter(|(_, exclusive)| *exclusive)
            .map(|(size, _)| size)
            .sum())
    }
}
