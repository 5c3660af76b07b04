//! Verify: authenticate every chunk and re-hash every track (active and
//! trashed), naming each damaged or missing chunk and the tracks it breaks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::catalog::{TrackChunk, TrackFilter, TrackId};
use crate::error::Result;
use crate::mutex::lock;
use crate::progress::{CancelToken, Progress};
use crate::store::{ChunkId, StoreError, hex};
use crate::vault::Vault;

/// What is wrong with a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ChunkDamage {
    /// Its file is not in the store.
    Missing,
    /// Its file fails authentication, cannot be read, or has the wrong length.
    Corrupt,
}

impl std::fmt::Display for ChunkDamage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChunkDamage::Missing => "missing",
            ChunkDamage::Corrupt => "corrupt",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DamagedChunk {
    pub id: String,
    pub reason: ChunkDamage,
    pub tracks: Vec<TrackId>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DamagedTrack {
    pub id: TrackId,
    pub file_name: String,
    pub reason: String,
    /// The damage is in the cloud's copy of a cloud-only track (checked with
    /// [`VerifyOptions::cloud`]), not on this device.
    #[serde(default)]
    pub cloud: bool,
}

/// A cloud-only track (see `sync::evict`): its evicted chunks are not on this
/// device, so a plain verify does not read them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CloudOnlyTrack {
    pub id: TrackId,
    pub file_name: String,
    /// True when its cloud copy was read back and checked ([`VerifyOptions::cloud`]).
    pub checked: bool,
}

/// How a verify runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerifyOptions {
    /// Also read the evicted chunks of cloud-only tracks from the remote and
    /// check them (downloads them; the bucket must be reachable).
    pub cloud: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifyReport {
    pub ok: bool,
    pub chunks_checked: u64,
    pub tracks_checked: u64,
    pub bytes_checked: u64,
    pub damaged_chunks: Vec<DamagedChunk>,
    pub damaged_tracks: Vec<DamagedTrack>,
    /// Cloud-only tracks: "cloud only, not checked locally" unless `checked`.
    pub cloud_only: Vec<CloudOnlyTrack>,
    pub cancelled: bool,
}

#[derive(Default)]
struct Findings {
    chunks_seen: BTreeSet<ChunkId>,
    damaged_chunks: BTreeMap<ChunkId, (ChunkDamage, BTreeSet<TrackId>)>,
    damaged_tracks: Vec<DamagedTrack>,
    cloud_only: Vec<CloudOnlyTrack>,
    bytes: u64,
    tracks: u64,
}

impl Vault {
    pub fn verify(&self, progress: &dyn Progress, cancel: &CancelToken) -> Result<VerifyReport> {
        self.verify_with(&VerifyOptions::default(), progress, cancel)
    }

    /// [`Vault::verify`], with the cloud copies of cloud-only tracks checked too
    /// when `options.cloud` says so.
    pub fn verify_with(
        &self,
        options: &VerifyOptions,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<VerifyReport> {
        if options.cloud {
            self.enable_cloud_reads();
        }
        // The work list comes from a read connection (one snapshot of the catalog),
        // so a verify never holds the writer: the library, search and playback go on.
        let (work, evicted): (Vec<(crate::catalog::Track, Vec<TrackChunk>)>, _) =
            self.read(|catalog| {
                catalog.in_read_transaction(|catalog| {
                    let tracks = catalog.tracks(TrackFilter::All)?;
                    let mut out = Vec::with_capacity(tracks.len());
                    for t in tracks {
                        let chunks = catalog.track_chunks(&t.id)?;
                        out.push((t, chunks));
                    }
                    let evicted = crate::catalog::cloud::evicted_chunks(catalog)?;
                    Ok::<_, crate::Error>((out, evicted))
                })
            })?;
        progress.start(
            work.len() as u64,
            work.iter().map(|(t, _)| t.size_bytes).sum(),
        );
        let findings = Mutex::new(Findings::default());
        let next = AtomicUsize::new(0);
        let workers = crate::workers::file_workers();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    while !cancel.is_cancelled() {
                        let Some((track, chunks)) = work.get(next.fetch_add(1, Ordering::SeqCst))
                        else {
                            return;
                        };
                        progress.item_started(std::path::Path::new(&track.file_name));
                        let mut sha = Sha256::new();
                        let mut problem = None;
                        let mut bytes = 0u64;
                        let cloud_only = chunks.iter().any(|c| evicted.contains(&c.id));
                        if cloud_only && !options.cloud {
                            // Not on this device by choice: neither damage nor checked.
                            let mut f = lock(&findings);
                            f.tracks += 1;
                            f.cloud_only.push(CloudOnlyTrack {
                                id: track.id.clone(),
                                file_name: track.file_name.clone(),
                                checked: false,
                            });
                            drop(f);
                            progress.advance(track.size_bytes);
                            progress.item_finished(std::path::Path::new(&track.file_name), true);
                            continue;
                        }
                        let mut cloud_problem = false;
                        let store = self.store();
                        if let Some(first) = chunks.first() {
                            store.prefetch(&first.id);
                        }
                        for (n, c) in chunks.iter().enumerate() {
                            if let Some(next) = chunks.get(n + 1) {
                                store.prefetch(&next.id);
                            }
                            if evicted.contains(&c.id) {
                                // The cloud's copy (options.cloud): a failure to read
                                // or authenticate it is the cloud's damage, never
                                // a local chunk to repair.
                                match store.read_track_chunk(c) {
                                    Ok(data) => {
                                        bytes += data.len() as u64;
                                        progress.advance(data.len() as u64);
                                        if problem.is_none() {
                                            sha.update(&data);
                                        }
                                    }
                                    Err(e) => {
                                        cloud_problem = true;
                                        problem.get_or_insert_with(|| format!("in the cloud: {e}"));
                                    }
                                }
                                lock(&findings).chunks_seen.insert(c.id);
                                continue;
                            }
                            let checked = match store.read_track_chunk(c) {
                                Ok(data) => Ok(data),
                                Err(StoreError::Missing { .. }) => Err(ChunkDamage::Missing),
                                Err(_) => Err(ChunkDamage::Corrupt),
                            };
                            let mut f = lock(&findings);
                            f.chunks_seen.insert(c.id);
                            match checked {
                                Ok(data) => {
                                    drop(f);
                                    bytes += data.len() as u64;
                                    progress.advance(data.len() as u64);
                                    if problem.is_none() {
                                        sha.update(&data);
                                    }
                                }
                                Err(reason) => {
                                    f.damaged_chunks
                                        .entry(c.id)
                                        .or_insert_with(|| (reason, BTreeSet::new()))
                                        .1
                                        .insert(track.id.clone());
                                    problem.get_or_insert_with(|| {
                                        format!("chunk {} is {reason}", c.id)
                                    });
                                }
                            }
                        }
                        if problem.is_none() && hex(&sha.finalize()) != track.sha256 {
                            problem = Some("content does not match its SHA-256 checksum".into());
                        }
                        if cloud_only {
                            lock(&findings).cloud_only.push(CloudOnlyTrack {
                                id: track.id.clone(),
                                file_name: track.file_name.clone(),
                                checked: true,
                            });
                        }
                        // Cover art is a chunk of its own: authenticate it too. Damaged
                        // art does not touch the audio, and the reason says so.
                        if let Some(art) = track.artwork_chunk {
                            let checked = match self.store().get(&art) {
                                Ok(_) => None,
                                Err(StoreError::Missing { .. }) => Some(ChunkDamage::Missing),
                                Err(_) => Some(ChunkDamage::Corrupt),
                            };
                            let mut f = lock(&findings);
                            f.chunks_seen.insert(art);
                            if let Some(reason) = checked {
                                f.damaged_chunks
                                    .entry(art)
                                    .or_insert_with(|| (reason, BTreeSet::new()))
                                    .1
                                    .insert(track.id.clone());
                                problem.get_or_insert_with(|| {
                                    format!("its cover art (chunk {art}) is {reason}; the audio is intact")
                                });
                            }
                        }
                        let mut f = lock(&findings);
                        f.bytes += bytes;
                        f.tracks += 1;
                        let ok = problem.is_none();
                        if let Some(reason) = problem {
                            f.damaged_tracks.push(DamagedTrack {
                                id: track.id.clone(),
                                file_name: track.file_name.clone(),
                                reason,
                                cloud: cloud_problem,
                            });
                        }
                        drop(f);
                        progress.item_finished(std::path::Path::new(&track.file_name), ok);
                    }
                });
            }
        });
        let mut f = findings.into_inner().unwrap_or_else(|p| p.into_inner());
        f.damaged_tracks.sort_by(|a, b| a.id.cmp(&b.id));
        let report = VerifyReport {
            ok: f.damaged_chunks.is_empty()
                && f.damaged_tracks.is_empty()
                && !cancel.is_cancelled(),
            chunks_checked: f.chunks_seen.len() as u64,
            tracks_checked: f.tracks,
            bytes_checked: f.bytes,
            damaged_chunks: f
                .damaged_chunks
                .into_iter()
                .map(|(id, (reason, tracks))| DamagedChunk {
                    id: id.to_hex(),
                    reason,
                    tracks: tracks.into_iter().collect(),
                })
                .collect(),
            damaged_tracks: f.damaged_tracks,
            cloud_only: {
                f.cloud_only.sort_by(|a, b| a.id.cmp(&b.id));
                f.cloud_only
            },
            cancelled: cancel.is_cancelled(),
        };
        self.catalog().log_activity(
            crate::catalog::LogKind::Verify,
            &if report.ok {
                format!("verified {} track(s): all intact", report.tracks_checked)
            } else {
                format!(
                    "verify found {} damaged track(s), {} damaged chunk(s)",
                    report.damaged_tracks.len(),
                    report.damaged_chunks.len()
                )
            },
        )?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::catalog::{LogKind, SearchQuery};
    use crate::ingest::ImportOptions;
    use crate::progress::NoProgress;
    use crate::secret::Passphrase;
    use crate::vault::CreateOptions;

    /// What a user waits for, at most, for a page or a search while a long job runs.
    const READ_BOUND: Duration = Duration::from_millis(100);

    fn new_vault(dir: &Path) -> Vault {
        let options = CreateOptions {
            kdf_memory_kib: 1024,
            kdf_iterations: 1,
            ..CreateOptions::default()
        };
        Vault::create(&dir.join("vault"), &Passphrase::new("pw"), &options).unwrap()
    }

    /// `n` valid PCM WAVs of `len` bytes of noise each (distinct content, so no
    /// dedup shortens the verify), named "Track <i>.wav".
    fn wavs(dir: &Path, n: usize, len: usize) -> PathBuf {
        let folder = dir.join("inbox");
        std::fs::create_dir_all(&folder).unwrap();
        for i in 0..n {
            let mut out = crate::test_support::pcm_wav_header(len as u32);
            let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            while out.len() < 44 + len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                out.extend_from_slice(&x.to_le_bytes());
            }
            out.truncate(44 + len);
            std::fs::write(folder.join(format!("Track {i}.wav")), out).unwrap();
        }
        folder
    }

    fn import(vault: &Vault, folder: PathBuf, n: usize) {
        let report = vault
            .import(
                &[folder],
                &ImportOptions::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();
        assert_eq!(report.imported, n, "{report:?}");
    }

    fn first_page() -> SearchQuery {
        SearchQuery {
            limit: Some(50),
            ..SearchQuery::default()
        }
    }

    fn search(text: &str) -> SearchQuery {
        SearchQuery {
            text: Some(text.into()),
            limit: Some(500),
            ..SearchQuery::default()
        }
    }

    /// Says when the verify has begun reading chunks, and paces it as a front end's
    /// progress sink does (the app sends each step over IPC): a few milliseconds a
    /// chunk, so the verify lasts long enough (~0.5 s here, from the page cache it
    /// would take ~0.1 s) that a read queued behind it would show.
    struct Started(AtomicBool);
    impl Progress for Started {
        fn advance(&self, _bytes: u64) {
            self.0.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(4));
        }
    }

    /// Issue #16's test: while a real verify of a corpus runs on other threads, the
    /// library's first page and a search come back within 100 ms each, with their
    /// contents. A read that queued behind the verify (on the catalog's writer, or
    /// behind a lock the verify takes) would take as long as the verify's hold.
    #[test]
    fn the_first_page_and_a_search_answer_within_100_ms_while_a_verify_runs() {
        let dir = tempfile::tempdir().unwrap();
        let vault = new_vault(dir.path());
        let n = 48;
        import(&vault, wavs(dir.path(), n, 3 << 20), n);
        let started = Started(AtomicBool::new(false));
        let done = AtomicBool::new(false);
        let mut latencies = Vec::new();
        let report = std::thread::scope(|scope| {
            let verify = scope.spawn(|| {
                let report = vault.verify(&started, &CancelToken::new());
                done.store(true, Ordering::SeqCst);
                report
            });
            let deadline = Instant::now() + Duration::from_secs(60);
            while !started.0.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Every pair timed here started while the verify ran; one that waited
            // for it counts with the whole wait.
            while !done.load(Ordering::SeqCst) {
                let t = Instant::now();
                let page = vault.search(&first_page()).unwrap();
                let page_took = t.elapsed();
                let t = Instant::now();
                let found = vault.search(&search("track")).unwrap();
                let search_took = t.elapsed();
                assert_eq!(page.tracks.len(), n.min(50));
                assert_eq!(found.tracks.len(), n);
                assert!(
                    found
                        .tracks
                        .iter()
                        .all(|t| t.file_name.starts_with("Track "))
                );
                latencies.push((page_took, search_took));
            }
            verify.join().unwrap()
        })
        .unwrap();
        assert!(report.ok, "{report:?}");
        assert_eq!(report.tracks_checked, n as u64);
        let slowest = latencies.iter().map(|(p, s)| *p.max(s)).max();
        eprintln!(
            "{} page+search pairs during the verify; slowest read {slowest:?}",
            latencies.len()
        );
        assert!(
            slowest.is_some_and(|s| s < READ_BOUND),
            "a read took {slowest:?} during a verify: {latencies:?}"
        );
        assert!(
            latencies.len() >= 3,
            "only {} reads ran during the verify: it ended too soon to show anything",
            latencies.len()
        );
    }

    /// The library reads on connections of their own: while another thread holds the
    /// catalog's writer inside an open write transaction (as a push's snapshot, GC or
    /// a merge does, for seconds at library scale), a page, a search, a track's
    /// details, its waveform, the stats and the activity log answer at once, and
    /// see the last commit, not the transaction in flight.
    #[test]
    fn reads_never_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let vault = new_vault(dir.path());
        import(&vault, wavs(dir.path(), 3, 64 << 10), 3);
        let id = vault.search(&first_page()).unwrap().tracks[0].id.clone();
        let holding = AtomicBool::new(false);
        let released = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let catalog = vault.catalog();
                catalog
                    .conn()
                    .execute_batch(
                        "BEGIN IMMEDIATE;
                         INSERT INTO activity (at, kind, message) VALUES (0, 'vault', 'in flight');",
                    )
                    .unwrap();
                holding.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1500));
                catalog.conn().execute_batch("ROLLBACK").unwrap();
                released.store(true, Ordering::SeqCst);
            });
            while !holding.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            let timed = |what: &str, f: &dyn Fn()| {
                let t = Instant::now();
                f();
                let took = t.elapsed();
                assert!(took < READ_BOUND, "{what} took {took:?} behind the writer");
            };
            timed("the first page", &|| {
                assert_eq!(vault.search(&first_page()).unwrap().tracks.len(), 3)
            });
            timed("a search", &|| {
                assert_eq!(vault.search(&search("track 1")).unwrap().tracks.len(), 1)
            });
            timed("a track's details", &|| {
                assert_eq!(vault.track_details(&id).unwrap().track.id, id)
            });
            timed("its waveform", &|| {
                assert!(vault.waveform(&id).unwrap().peaks.is_none())
            });
            timed("the stats", &|| {
                assert_eq!(vault.stats().unwrap().tracks, 3)
            });
            timed("the activity log", &|| {
                let log = vault.activity_log(100, None).unwrap();
                assert!(!log.is_empty());
                assert!(log.iter().all(|a| a.message != "in flight"), "{log:?}");
            });
            assert!(
                !released.load(Ordering::SeqCst),
                "the writer let go before the reads were done: nothing was shown"
            );
        });
    }

    /// A read connection refuses every write, so no read path can change what a
    /// user stored, even by mistake.
    #[test]
    fn a_read_connection_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let vault = new_vault(dir.path());
        let before = vault.activity_log(1000, None).unwrap().len();
        let wrote =
            vault.read(|catalog| Ok(catalog.log_activity(LogKind::Vault, "from a reader")?));
        assert!(wrote.is_err(), "a reader wrote: {wrote:?}");
        let deleted = vault.read(|catalog| {
            Ok(catalog
                .conn()
                .execute("DELETE FROM activity", [])
                .map_err(|e| catalog.err(e))?)
        });
        assert!(deleted.is_err(), "a reader deleted: {deleted:?}");
        assert_eq!(vault.activity_log(1000, None).unwrap().len(), before);
        assert!(before > 0);
    }
}
