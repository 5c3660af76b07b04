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
    pub cancelled: bool,
}

#[derive(Default)]
struct Findings {
    chunks_seen: BTreeSet<ChunkId>,
    damaged_chunks: BTreeMap<ChunkId, (ChunkDamage, BTreeSet<TrackId>)>,
    damaged_tracks: Vec<DamagedTrack>,
    bytes: u64,
    tracks: u64,
}

impl Vault {
    pub fn verify(&self, progress: &dyn Progress, cancel: &CancelToken) -> Result<VerifyReport> {
        let work: Vec<(crate::catalog::Track, Vec<TrackChunk>)> = {
            let catalog = self.catalog();
            let tracks = catalog.tracks(TrackFilter::All)?;
            let mut out = Vec::with_capacity(tracks.len());
            for t in tracks {
                let chunks = catalog.track_chunks(&t.id)?;
                out.push((t, chunks));
            }
            out
        };
        progress.start(
            work.len() as u64,
            work.iter().map(|(t, _)| t.size_bytes).sum(),
        );
        let findings = Mutex::new(Findings::default());
        let next = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
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
                        for c in chunks {
                            let checked = match self.store().read_track_chunk(c) {
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
