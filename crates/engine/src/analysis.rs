//! "Import fast, analyse after": the full decode (waveform peaks, same-audio
//! fingerprint) runs after import over the stored bytes, as resumable background
//! work, and the same-audio duplicate report built on it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::catalog::{Catalog, CatalogError, TrackId, now_unix};
use crate::error::Result;
use crate::ingest::lock;
use crate::media;
use crate::progress::{CancelToken, Progress};
use crate::store::reader::TrackReader;
use crate::store::{ChunkId, unhex};
use crate::vault::Vault;

/// Bump when `media::analyze` changes what it computes: older rows are redone.
pub const ANALYZER_VERSION: i64 = 1;

#[derive(Debug, Clone, Default, Serialize)]
pub struct AnalyzeReport {
    pub analyzed: u64,
    pub failed: u64,
    pub pending: u64,
    pub cancelled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DuplicateTrack {
    pub id: TrackId,
    pub file_name: String,
    pub format: String,
    pub codec: Option<String>,
    pub size_bytes: u64,
}

/// Files imported as exact copies of a track (same SHA-256): stored once; the
/// copies are on the user's disk.
#[derive(Debug, Clone, Serialize)]
pub struct ExactCopyGroup {
    pub track: DuplicateTrack,
    pub copies: Vec<String>,
    /// What deleting the copies would free on the user's disk.
    pub reclaimable_bytes: u64,
}

/// Tracks that hold the same audio in other files (a WAV and its FLAC, a
/// re-tagged MP3 and its original).
#[derive(Debug, Clone, Serialize)]
pub struct SameAudioGroup {
    pub fingerprint_kind: String,
    /// The first track is the one to keep (the largest, so lossless over lossy).
    pub tracks: Vec<DuplicateTrack>,
    /// Vault bytes freed by purging all but the first track (shared chunks excluded).
    pub reclaimable_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DuplicatesReport {
    pub exact_copies: Vec<ExactCopyGroup>,
    pub same_audio: Vec<SameAudioGroup>,
    pub reclaimable_bytes: u64,
    /// Tracks whose audio could not be analysed (not part of any same-audio group).
    pub unanalyzed: u64,
}

/// One track waiting for analysis.
struct Pending {
    id: TrackId,
    sha256: Vec<u8>,
    file_name: String,
}

impl Catalog {
    fn pending_analysis(&self, limit: Option<u32>) -> Result<Vec<Pending>, CatalogError> {
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
                    Ok(Pending {
                        id: TrackId(r.get(0)?),
                        sha256: r.get(1)?,
                        file_name: r.get(2)?,
                    })
                },
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn save_analysis(
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

    /// 'pending', 'done' or 'failed: reason'.
    pub fn analysis_status(&self, id: &TrackId) -> Result<String, CatalogError> {
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
            None => "pending".into(),
            Some((s, None)) => s,
            Some((s, Some(e))) => format!("{s}: {e}"),
        })
    }
}

impl Vault {
    pub fn pending_analysis(&self) -> Result<u64> {
        Ok(self.catalog().pending_analysis(None)?.len() as u64)
    }

    /// Analyses every track still waiting, one worker per core. Each result is
    /// committed as it completes, so cancelling (or a crash) loses at most the
    /// tracks in flight.
    pub fn analyze_pending(
        &self,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<AnalyzeReport> {
        let pending = self.catalog().pending_analysis(None)?;
        progress.start(pending.len() as u64, 0);
        let next = AtomicUsize::new(0);
        let report = Mutex::new(AnalyzeReport::default());
        let fatal: Mutex<Option<crate::Error>> = Mutex::new(None);
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        std::thread::scope(|scope| {
            for _ in 0..workers.min(pending.len().max(1)) {
                scope.spawn(|| {
                    let catalog = match self.open_catalog() {
                        Ok(c) => c,
                        Err(e) => {
                            lock(&fatal).get_or_insert(e);
                            return;
                        }
                    };
                    while !cancel.is_cancelled() {
                        let Some(p) = pending.get(next.fetch_add(1, Ordering::SeqCst)) else {
                            return;
                        };
                        progress.item_started(Path::new(&p.file_name));
                        let result = self.analyze_track(&catalog, &p.id, &p.file_name, cancel);
                        // Maybe cut short by the cancel (a decoder may take a failed
                        // read for the end of the stream): no verdict on the track,
                        // which stays pending for the next run.
                        if cancel.is_cancelled() {
                            return;
                        }
                        if let Err(e) = catalog.save_analysis(&p.sha256, &result) {
                            lock(&fatal).get_or_insert(e.into());
                            return;
                        }
                        let mut r = lock(&report);
                        if result.is_ok() {
                            r.analyzed += 1;
                        } else {
                            r.failed += 1;
                        }
                        drop(r);
                        progress.item_finished(Path::new(&p.file_name), result.is_ok());
                    }
                });
            }
        });
        if let Some(e) = fatal.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        let mut report = report.into_inner().unwrap_or_else(|p| p.into_inner());
        report.cancelled = cancel.is_cancelled();
        report.pending = self.pending_analysis()?;
        if report.analyzed + report.failed > 0 {
            self.catalog().log_activity(
                "analyze",
                &format!(
                    "analysed {} track(s), {} could not be decoded",
                    report.analyzed, report.failed
                ),
            )?;
        }
        Ok(report)
    }

    fn analyze_track(
        &self,
        catalog: &Catalog,
        id: &TrackId,
        file_name: &str,
        cancel: &CancelToken,
    ) -> std::result::Result<media::Analysis, String> {
        let chunks = catalog.track_chunks(id).map_err(|e| e.to_string())?;
        let ext = Path::new(file_name)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let reader = TrackReader::new(self.store(), chunks);
        let size = reader.size();
        let mut reader = Cancellable {
            inner: reader,
            cancel,
        };
        media::analyze_reader(&mut reader, size, ext.as_deref()).map_err(|e| e.to_string())
    }
}

/// A stored track's reader that fails once `cancel` trips, so that a long
/// decode stops at its next read: the app's lock waits for the analysis in
/// flight before it drops the key.
struct Cancellable<'a, R> {
    inner: R,
    cancel: &'a CancelToken,
}

impl<R: Read> Read for Cancellable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for Cancellable<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl Vault {
    /// Exact-copy groups (from import history) and same-audio groups (from the
    /// fingerprints); finishes pending analysis first.
    pub fn duplicates(
        &self,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<DuplicatesReport> {
        let analyzed = self.analyze_pending(progress, cancel)?;
        let catalog = self.catalog();
        let conn = catalog.conn();
        let err = |e| catalog.err(e);
        let dup_track = |r: &rusqlite::Row<'_>| -> rusqlite::Result<DuplicateTrack> {
            Ok(DuplicateTrack {
                id: TrackId(r.get(0)?),
                file_name: r.get(1)?,
                format: r.get(2)?,
                codec: r.get(3)?,
                size_bytes: r.get::<_, i64>(4)? as u64,
            })
        };

        let mut report = DuplicatesReport {
            unanalyzed: analyzed.pending,
            ..DuplicatesReport::default()
        };
        let mut stmt = conn
            .prepare(
                "SELECT t.id, t.file_name, t.format, t.codec, t.size_bytes, i.path
                 FROM import_job_items i JOIN tracks t ON t.id = i.track_id
                 WHERE i.outcome = 'duplicate' AND t.state = 'active'
                   AND i.path IS NOT t.source_path
                 GROUP BY t.id, i.path ORDER BY t.id, i.path",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((dup_track(r)?, r.get::<_, String>(5)?)))
            .map_err(err)?;
        let mut exact: BTreeMap<TrackId, ExactCopyGroup> = BTreeMap::new();
        for row in rows {
            let (track, path) = row.map_err(err)?;
            let size = track.size_bytes;
            let group = exact.entry(track.id.clone()).or_insert(ExactCopyGroup {
                track,
                copies: Vec::new(),
                reclaimable_bytes: 0,
            });
            group.copies.push(path);
            group.reclaimable_bytes += size;
        }
        report.exact_copies = exact.into_values().collect();

        let mut stmt = conn
            .prepare(
                "SELECT t.id, t.file_name, t.format, t.codec, t.size_bytes, a.fingerprint, a.fingerprint_kind
                 FROM tracks t JOIN analysis a ON a.sha256 = t.sha256
                 WHERE t.state = 'active' AND a.fingerprint IN (
                     SELECT a2.fingerprint FROM tracks t2 JOIN analysis a2 ON a2.sha256 = t2.sha256
                     WHERE t2.state = 'active' AND a2.fingerprint IS NOT NULL
                     GROUP BY a2.fingerprint HAVING count(*) > 1)
                 ORDER BY a.fingerprint, t.size_bytes DESC, t.id",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    dup_track(r)?,
                    r.get::<_, Vec<u8>>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(err)?;
        let mut groups: BTreeMap<Vec<u8>, SameAudioGroup> = BTreeMap::new();
        for row in rows {
            let (track, fingerprint, kind) = row.map_err(err)?;
            groups
                .entry(fingerprint)
                .or_insert_with(|| SameAudioGroup {
                    fingerprint_kind: kind,
                    tracks: Vec::new(),
                    reclaimable_bytes: 0,
                })
                .tracks
                .push(track);
        }
        for mut group in groups.into_values() {
            let removable: Vec<TrackId> = group.tracks[1..].iter().map(|t| t.id.clone()).collect();
            group.reclaimable_bytes = exclusive_stored_bytes(&catalog, &removable)?;
            report.same_audio.push(group);
        }
        report.reclaimable_bytes = report
            .exact_copies
            .iter()
            .map(|g| g.reclaimable_bytes)
            .chain(report.same_audio.iter().map(|g| g.reclaimable_bytes))
            .sum();
        Ok(report)
    }
}

/// Stored bytes of the chunks that only `tracks` reference: what purging them frees.
fn exclusive_stored_bytes(catalog: &Catalog, tracks: &[TrackId]) -> Result<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_reader_stops_at_its_next_read() {
        let cancel = CancelToken::new();
        let mut r = Cancellable {
            inner: io::Cursor::new(vec![7u8; 64]),
            cancel: &cancel,
        };
        let mut buf = [0u8; 16];
        assert_eq!(r.read(&mut buf).ok(), Some(16));
        cancel.cancel();
        assert!(r.read(&mut buf).is_err());
        assert_eq!(r.seek(SeekFrom::Start(0)).ok(), Some(0));
    }

    /// Cancels the run as soon as a track starts: its decode fails (or ends
    /// early) because of the cancel, not because of the track.
    struct CancelOnStart<'a>(&'a CancelToken);

    impl Progress for CancelOnStart<'_> {
        fn item_started(&self, _path: &Path) {
            self.0.cancel();
        }
    }

    #[test]
    fn a_cancelled_decode_leaves_the_track_pending_not_failed() {
        use crate::{CreateOptions, ImportOptions, NoProgress, Passphrase};
        let dir = tempfile::tempdir().unwrap();
        let options = CreateOptions {
            kdf_memory_kib: 1024,
            kdf_iterations: 1,
            ..CreateOptions::default()
        };
        let vault =
            Vault::create(&dir.path().join("vault"), &Passphrase::new("pw"), &options).unwrap();
        let len = 4usize << 20;
        let mut wav = Vec::with_capacity(44 + len);
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + len as u32).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        for v in [16u32, 0x0002_0001, 44_100, 44_100 * 4, 0x0010_0004] {
            wav.extend_from_slice(&v.to_le_bytes());
        }
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(len as u32).to_le_bytes());
        wav.extend((0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let path = dir.path().join("long.wav");
        std::fs::write(&path, &wav).unwrap();
        let options = ImportOptions {
            source: "test".into(),
            workers: 1,
        };
        let imported = vault
            .import(&[path], &options, &NoProgress, &CancelToken::new())
            .unwrap();
        let id = imported.files[0].id.clone().unwrap();

        let cancel = CancelToken::new();
        let report = vault
            .analyze_pending(&CancelOnStart(&cancel), &cancel)
            .unwrap();
        assert!(report.cancelled);
        assert_eq!((report.analyzed, report.failed, report.pending), (0, 0, 1));
        assert_eq!(vault.catalog().analysis_status(&id).unwrap(), "pending");

        let report = vault
            .analyze_pending(&NoProgress, &CancelToken::new())
            .unwrap();
        assert_eq!((report.analyzed, report.pending), (1, 0));
        assert_eq!(vault.catalog().analysis_status(&id).unwrap(), "done");
    }
}
