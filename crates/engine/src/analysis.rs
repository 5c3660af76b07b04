//! "Import fast, analyse after": the full decode (waveform peaks, same-audio
//! fingerprint) runs after import over the stored bytes, as resumable background
//! work, and the same-audio duplicate report built on it.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

pub use crate::catalog::DuplicateTrack;
use crate::catalog::{Catalog, TrackId};
use crate::error::Result;
use crate::media;
use crate::mutex::lock;
use crate::progress::{CancelToken, Progress};
use crate::store::reader::TrackReader;
use crate::vault::Vault;

pub use crate::media::ANALYZER_VERSION;

#[derive(Debug, Clone, Default, Serialize)]
pub struct AnalyzeReport {
    pub analyzed: u64,
    pub failed: u64,
    pub pending: u64,
    pub cancelled: bool,
}

/// Files imported as exact copies of a track (same SHA-256): stored once; the
/// copies are on the user's disk.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExactCopyGroup {
    pub track: DuplicateTrack,
    pub copies: Vec<String>,
    /// What deleting the copies would free on the user's disk.
    pub reclaimable_bytes: u64,
}

/// Tracks that hold the same audio in other files (a WAV and its FLAC, a
/// re-tagged MP3 and its original).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SameAudioGroup {
    pub fingerprint_kind: String,
    /// The first track is the one to keep (the largest, so lossless over lossy).
    pub tracks: Vec<DuplicateTrack>,
    /// Vault bytes freed by purging all but the first track (shared chunks excluded).
    pub reclaimable_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicatesReport {
    pub exact_copies: Vec<ExactCopyGroup>,
    pub same_audio: Vec<SameAudioGroup>,
    pub reclaimable_bytes: u64,
    /// Tracks whose audio could not be analysed (not part of any same-audio group).
    pub unanalyzed: u64,
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
        if !pending.is_empty() {
            // A cloud-only track waiting for analysis is read from the bucket.
            self.enable_cloud_reads();
        }
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
                crate::catalog::LogKind::Analyze,
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
        let mut report = DuplicatesReport {
            unanalyzed: analyzed.pending,
            ..DuplicatesReport::default()
        };
        let rows = catalog.exact_copy_rows()?;
        let mut exact: BTreeMap<TrackId, ExactCopyGroup> = BTreeMap::new();
        for (track, path) in rows {
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

        let rows = catalog.same_audio_rows()?;
        let mut groups: BTreeMap<Vec<u8>, SameAudioGroup> = BTreeMap::new();
        for (track, fingerprint, kind) in rows {
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
            group.reclaimable_bytes = catalog.exclusive_stored_bytes(&removable)?;
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
        let mut wav = crate::test_support::pcm_wav_header(len as u32);
        wav.extend((0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let path = dir.path().join("long.wav");
        std::fs::write(&path, &wav).unwrap();
        let options = ImportOptions {
            source: crate::ingest::ImportSource::Cli,
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
        assert_eq!(
            vault.catalog().analysis_status(&id).unwrap().0,
            crate::catalog::AnalysisState::Pending
        );

        let report = vault
            .analyze_pending(&NoProgress, &CancelToken::new())
            .unwrap();
        assert_eq!((report.analyzed, report.pending), (1, 0));
        assert_eq!(
            vault.catalog().analysis_status(&id).unwrap().0,
            crate::catalog::AnalysisState::Done
        );
    }
}
