//! Keeping the remote healthy: repairing local chunks from it, verifying what it
//! holds, and remote GC.
//!
//! Remote GC deletes in two phases. A run marks packs that no kept manifest
//! references and that are older than the grace period (a `gc/` object); a later
//! run, once the mark itself is older than the grace period, deletes those still
//! unreferenced. Why nothing reachable is lost:
//! - Retention keeps the newest manifest of every device's line, and a line's
//!   newest manifest holds the whole library of its device (what it merged from
//!   other lines included), so a pack any device still has a track in stays
//!   referenced.
//! - A push in flight relies on packs its manifest will reference only once it is
//!   written. Deletion waits while another device holds a live lease, and the
//!   leases are surveyed before the manifests are read (see `lease`); pushes treat
//!   marked packs as gone and look again for new marks before their manifest.
//! - Ages are the server's LastModified against the server time of this run's own
//!   lease, so a device with a wrong clock neither rushes nor stalls deletion.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::lease::{Lease, lease_device};
use super::lines::Lines;
use super::objects::{self, CATALOGS, GC_MARKS, GONE, GcMark, INDEXES, PACKS, Sealer};
use super::pull::{fetch_chunks, read_manifest};
use super::refresh::{self as view, Depth, refresh};
use super::s3::S3Remote;
use super::{RemoteCredentials, Session, SyncError, SyncOptions, runtime, state};
use crate::catalog::now_unix_millis;
use crate::error::{Error, Result};
use crate::progress::{CancelToken, NoProgress, Progress};
use crate::store::ChunkId;
use crate::vault::Vault;
use crate::verify::VerifyReport;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RepairedChunk {
    pub id: String,
    pub tracks: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RepairReport {
    pub repaired: Vec<RepairedChunk>,
    /// Chunks that could not be repaired, with the reason.
    pub unrepairable: Vec<UnrepairableChunk>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UnrepairableChunk {
    pub id: String,
    pub reason: String,
    pub tracks: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteVerifyReport {
    pub ok: bool,
    pub remote: String,
    /// Percentage of packs checked (100 unless sampled).
    pub sample_percent: f64,
    pub packs_total: u64,
    pub packs_checked: u64,
    pub chunks_checked: u64,
    pub bytes_checked: u64,
    /// Bytes of the checked packs that belong to a known chunk: equal to
    /// `bytes_checked` when no pack holds anything twice or anything unknown.
    pub chunk_bytes_checked: u64,
    pub manifests_checked: u64,
    pub indexes_checked: u64,
    pub damaged: Vec<DamagedObject>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DamagedObject {
    pub object: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct RemoteGcOptions {
    /// How old an unreferenced pack must be before it is marked, and how old a
    /// mark must be before its packs are deleted.
    pub grace: Duration,
    /// Newest manifests kept of every device's line (at least one: a device's
    /// newest manifest is never deleted).
    pub keep_last: usize,
    /// Besides those, the newest manifest of each of this many recent days.
    pub keep_daily: u32,
    pub dry_run: bool,
}

impl Default for RemoteGcOptions {
    fn default() -> Self {
        RemoteGcOptions {
            grace: Duration::from_secs(24 * 3600),
            keep_last: 10,
            keep_daily: 30,
            dry_run: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteGcReport {
    pub remote: String,
    pub manifests_kept: u64,
    pub manifests_deleted: u64,
    pub packs_total: u64,
    pub packs_referenced: u64,
    /// Packs newly marked for deletion in this run (deleted by a later run).
    pub packs_marked: u64,
    pub packs_deleted: u64,
    pub bytes_deleted: u64,
    pub indexes_deleted: u64,
    /// Packs whose deletion is due but waits, because another device's push (or
    /// GC) was in flight.
    pub deletions_deferred: u64,
    /// Devices with a live lease when this run looked.
    pub pushes_in_flight: Vec<String>,
    pub dry_run: bool,
}

/// A track still damaged after a repair, and why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UnrepairedTrack {
    pub id: crate::catalog::TrackId,
    pub file_name: String,
    pub reason: String,
}

/// What verifying, repairing from the remote and verifying again did: the
/// command line's `verify --repair` and the app's Repair from cloud.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RepairOutcome {
    pub before: VerifyReport,
    /// Null when nothing needed repairing (or the first verify was cancelled).
    pub repair: Option<RepairReport>,
    pub after: VerifyReport,
    /// Damaged before, whole after.
    pub repaired_tracks: Vec<crate::verify::DamagedTrack>,
    /// Still damaged, with the reason the remote could not help.
    pub unrepaired_tracks: Vec<UnrepairedTrack>,
    pub cancelled: bool,
}

impl Vault {
    /// Verifies every track; when something is damaged, fetches the damaged and
    /// missing chunks from the remote, then verifies again, so what it says is
    /// whole has been read back and checked.
    /// The credentials are asked for only when something needs repairing.
    pub fn verify_and_repair(
        &self,
        credentials: impl FnOnce() -> Result<RemoteCredentials>,
        options: &SyncOptions,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<RepairOutcome> {
        let before = self.verify(progress, cancel)?;
        if before.ok || before.cancelled {
            return Ok(RepairOutcome {
                cancelled: before.cancelled,
                after: before.clone(),
                before,
                repair: None,
                repaired_tracks: Vec::new(),
                unrepaired_tracks: Vec::new(),
            });
        }
        let repair = self.repair_from_remote(&credentials()?, options, &before, cancel)?;
        let after = self.verify(progress, cancel)?;
        let still: HashMap<&str, &crate::verify::DamagedTrack> = after
            .damaged_tracks
            .iter()
            .map(|t| (t.id.as_str(), t))
            .collect();
        let mut why: HashMap<&str, &str> = HashMap::new();
        for u in &repair.unrepairable {
            for t in &u.tracks {
                why.entry(t.as_str()).or_insert(u.reason.as_str());
            }
        }
        let mut outcome = RepairOutcome {
            cancelled: after.cancelled,
            repaired_tracks: Vec::new(),
            unrepaired_tracks: Vec::new(),
            before: before.clone(),
            repair: Some(repair.clone()),
            after: after.clone(),
        };
        for t in &before.damaged_tracks {
            match still.get(t.id.as_str()) {
                None if !after.cancelled => outcome.repaired_tracks.push(t.clone()),
                None => {}
                Some(now) => outcome.unrepaired_tracks.push(UnrepairedTrack {
                    id: t.id.clone(),
                    file_name: t.file_name.clone(),
                    reason: why
                        .get(t.id.as_str())
                        .map_or_else(|| now.reason.clone(), |r| r.to_string()),
                }),
            }
        }
        Ok(outcome)
    }

    /// Fetches the damaged or missing chunks a verify report names from the
    /// remote, authenticates them, and puts them back.
    pub fn repair_from_remote(
        &self,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        verify: &VerifyReport,
        cancel: &CancelToken,
    ) -> Result<RepairReport> {
        let mut report = RepairReport::default();
        if verify.damaged_chunks.is_empty() {
            return Ok(report);
        }
        let config = self.remote_config()?.ok_or(SyncError::NotConfigured)?;
        let _lock = self.lock_shared()?;
        let rt = runtime()?;
        let remote = S3Remote::new(&config, credentials, options.retry, cancel.clone())
            .with_bandwidth(
                options
                    .bandwidth
                    .unwrap_or(super::Bandwidth::of(&self.settings()?)),
            );
        let sealer = Sealer::new(self.master_key(), self.vault_id());
        refresh(self, &remote, &rt, &sealer, Depth::Full)?;
        let mut locations = Vec::new();
        let mut tracks_of: HashMap<ChunkId, Vec<String>> = HashMap::new();
        for damaged in &verify.damaged_chunks {
            let tracks: Vec<String> = damaged.tracks.iter().map(|t| t.to_string()).collect();
            let Some(id) = ChunkId::from_hex(&damaged.id) else {
                continue;
            };
            match state::location(&self.catalog(), &id)? {
                Some(loc) => {
                    tracks_of.insert(id, tracks);
                    locations.push(loc);
                }
                None => report.unrepairable.push(UnrepairableChunk {
                    id: damaged.id.clone(),
                    reason: "not on the remote (never pushed)".into(),
                    tracks,
                }),
            }
        }
        // A damaged local file is replaced by the authenticated copy; a failed
        // fetch leaves it as it was, so nothing is lost either way.
        let parallelism = options.parallelism.unwrap_or(config.parallelism).max(1) as usize;
        let fetched = fetch_chunks(
            self,
            &remote,
            &rt,
            &locations,
            parallelism,
            &NoProgress,
            cancel,
        )?;
        self.store().make_durable(&fetched.written)?;
        for id in &fetched.written {
            report.repaired.push(RepairedChunk {
                id: id.to_hex(),
                tracks: tracks_of.get(id).cloned().unwrap_or_default(),
            });
        }
        for (id, reason) in fetched.failed {
            report.unrepairable.push(UnrepairableChunk {
                id: id.to_hex(),
                reason,
                tracks: tracks_of.get(&id).cloned().unwrap_or_default(),
            });
        }
        self.catalog().log_activity(
            crate::catalog::LogKind::Verify,
            &format!(
                "repaired {} chunks from {}; {} could not be repaired",
                report.repaired.len(),
                config.url(),
                report.unrepairable.len()
            ),
        )?;
        Ok(report)
    }

    /// Downloads and authenticates the remote's packs (all, or a random sample of
    /// `sample_percent`), its manifests and its indexes.
    pub fn verify_remote(
        &self,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        sample_percent: Option<f64>,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<RemoteVerifyReport> {
        let started = Instant::now();
        let config = self.remote_config()?.ok_or(SyncError::NotConfigured)?;
        let rt = runtime()?;
        let remote = S3Remote::new(&config, credentials, options.retry, cancel.clone())
            .with_bandwidth(
                options
                    .bandwidth
                    .unwrap_or(super::Bandwidth::of(&self.settings()?)),
            );
        let sealer = Sealer::new(self.master_key(), self.vault_id());
        let mut report = RemoteVerifyReport {
            remote: config.url(),
            sample_percent: sample_percent.unwrap_or(100.0).clamp(0.0, 100.0),
            ..Default::default()
        };
        refresh(self, &remote, &rt, &sealer, Depth::Full)?;
        let (packs, manifests, indexes) = rt.block_on(async {
            Ok::<_, SyncError>((
                remote.list(PACKS).await?,
                remote.list(CATALOGS).await?,
                remote.list(INDEXES).await?,
            ))
        })?;
        let existing: HashSet<String> = packs.iter().map(|p| p.name.clone()).collect();
        for m in &manifests {
            match read_manifest(&remote, &rt, &sealer, &m.name, self.vault_id()) {
                Ok(manifest) => {
                    for p in &manifest.packs {
                        let name = format!("{PACKS}{p}");
                        if !existing.contains(&name) {
                            report.damaged.push(DamagedObject {
                                object: name,
                                reason: format!("missing, referenced by {}", m.name),
                            });
                        }
                    }
                }
                Err(e) => report.damaged.push(DamagedObject {
                    object: m.name.clone(),
                    reason: e.to_string(),
                }),
            }
            report.manifests_checked += 1;
        }
        for i in &indexes {
            let checked = rt
                .block_on(remote.get(&i.name))
                .map_err(Error::from)
                .and_then(|o| o.ok_or_else(|| SyncError::ObjectNotFound(i.name.clone()).into()))
                .and_then(|sealed| Ok(sealer.open(&i.name, sealed)?))
                .and_then(|plain| Ok(objects::IndexObject::decode(&i.name, &plain)?));
            if let Err(e) = checked {
                report.damaged.push(DamagedObject {
                    object: i.name.clone(),
                    reason: e.to_string(),
                });
            }
            report.indexes_checked += 1;
        }
        // Which chunks each pack should hold, by our index knowledge.
        let chunks_in = state::locations_by_pack(&self.catalog())?;
        report.packs_total = packs.len() as u64;
        let chosen: Vec<&super::s3::Listed> = packs
            .iter()
            .filter(|_| sample(report.sample_percent))
            .collect();
        progress.start(chosen.len() as u64, chosen.iter().map(|p| p.size).sum());
        for p in chosen {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let Some(id) = objects::pack_id_from_name(&p.name) else {
                continue;
            };
            let data = match rt.block_on(remote.get(&p.name))? {
                Some(d) => d,
                None => {
                    report.damaged.push(DamagedObject {
                        object: p.name.clone(),
                        reason: "vanished while verifying".into(),
                    });
                    continue;
                }
            };
            report.packs_checked += 1;
            report.bytes_checked += data.len() as u64;
            for loc in chunks_in.get(&id).map(Vec::as_slice).unwrap_or_default() {
                let end = loc.offset + loc.length;
                let verdict = match data.get(loc.offset as usize..end as usize) {
                    Some(object) => self
                        .store()
                        .open(&loc.chunk, object.to_vec())
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                    None => Err("the pack is shorter than its index says".into()),
                };
                report.chunks_checked += 1;
                report.chunk_bytes_checked += loc.length;
                if let Err(reason) = verdict {
                    report.damaged.push(DamagedObject {
                        object: p.name.clone(),
                        reason: format!("chunk {}: {reason}", loc.chunk),
                    });
                }
            }
            progress.advance(data.len() as u64);
            progress.item_finished(std::path::Path::new(&p.name), true);
        }
        report.ok = report.damaged.is_empty();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Remote GC: applies the manifest retention policy, deletes packs marked by an
    /// earlier run that are still unreferenced, and marks newly unreferenced ones.
    /// Every age is the server's clock; deletion waits while another device's push
    /// or GC holds a live lease (see `lease` for why that is enough).
    pub fn gc_remote(
        &self,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        gc: &RemoteGcOptions,
        cancel: &CancelToken,
    ) -> Result<RemoteGcReport> {
        let _sync = self.lock_sync()?;
        let s = Session::open(self, credentials, options, cancel)?;
        let device = state::device_id(&self.catalog())?;
        let lease = s.block_on(Lease::take(&s.remote, &s.sealer, &device, "gc"))?;
        let collected = self.gc_under_lease(&s, &lease, &device, gc);
        let released = s.block_on(lease.release(&s.remote.for_cleanup()));
        let report = collected?;
        released?;
        Ok(report)
    }

    fn gc_under_lease(
        &self,
        s: &Session,
        lease: &Lease,
        device: &str,
        gc: &RemoteGcOptions,
    ) -> Result<RemoteGcReport> {
        let (remote, rt, sealer, cancel) = (&s.remote, &s.rt, &s.sealer, s.cancel);
        let grace = gc.grace.as_secs() as i64;
        let mut report = RemoteGcReport {
            remote: s.config.url(),
            dry_run: gc.dry_run,
            ..Default::default()
        };
        // The leases first, then the manifests: a push that finished before this
        // look has its manifest read below; one that starts after it reads the
        // marks below, which already exist, and keeps off their packs.
        let survey = rt.block_on(lease.survey(remote))?;
        let server_now = survey.server_now;
        report.pushes_in_flight = survey
            .live_others
            .iter()
            .map(|l| lease_device(l).to_string())
            .collect();

        // Other devices' gone records and this device's own (a catalog restored from
        // an older copy), so the next gone record is numbered past them. Not a full
        // refresh: GC lists every pack itself below.
        refresh(self, remote, rt, sealer, Depth::Changes)?;
        let lines = rt.block_on(Lines::list(remote))?;
        let (keep, drop_names) = retention(&lines, gc.keep_last, gc.keep_daily, server_now);
        report.manifests_kept = keep.len() as u64;
        if !gc.dry_run {
            for name in &drop_names {
                rt.block_on(remote.delete(name))?;
            }
        }
        report.manifests_deleted = drop_names.len() as u64;

        let mut referenced: HashSet<String> = HashSet::new();
        for name in &keep {
            let manifest = read_manifest(remote, rt, sealer, name, self.vault_id())?;
            referenced.extend(manifest.packs.into_iter().map(|p| format!("{PACKS}{p}")));
        }
        // Listed after the manifests: a pack that appears in between is young.
        let packs = rt.block_on(remote.list(PACKS))?;
        report.packs_total = packs.len() as u64;
        report.packs_referenced = packs
            .iter()
            .filter(|p| referenced.contains(&p.name))
            .count() as u64;
        let sizes: HashMap<&str, u64> = packs.iter().map(|p| (p.name.as_str(), p.size)).collect();

        // Phase two: marks past their grace period, by the server's clock.
        let marks = rt.block_on(remote.list(GC_MARKS))?;
        let mut already_marked: HashSet<String> = HashSet::new();
        let mut deleted_packs: Vec<[u8; 32]> = Vec::new();
        for mark in &marks {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let Some(sealed) = rt.block_on(remote.get(&mark.name))? else {
                continue;
            };
            let content: GcMark = sealer.open_json(&mark.name, sealed)?;
            let due = server_now - mark.modified >= grace;
            if !due || !survey.live_others.is_empty() {
                if due {
                    report.deletions_deferred += content.packs.len() as u64;
                }
                already_marked.extend(content.packs.iter().map(|p| format!("{PACKS}{p}")));
                continue;
            }
            let doomed: Vec<&String> = content
                .packs
                .iter()
                .filter(|p| {
                    let name = format!("{PACKS}{p}");
                    !referenced.contains(&name) && sizes.contains_key(name.as_str())
                })
                .collect();
            if !gc.dry_run && !doomed.is_empty() {
                // The record goes up before the first deletion: a device that misses
                // the mark (away for the whole grace period) learns of the deletion
                // from it, without listing every pack.
                write_gone(self, s, device, &doomed)?;
            }
            for p in doomed {
                let name = format!("{PACKS}{p}");
                if !gc.dry_run {
                    rt.block_on(remote.delete(&name))?;
                }
                report.packs_deleted += 1;
                report.bytes_deleted += sizes.get(name.as_str()).copied().unwrap_or(0);
                if let Some(id) = objects::pack_id_from_name(&name) {
                    deleted_packs.push(id);
                }
            }
            if !gc.dry_run {
                rt.block_on(remote.delete(&mark.name))?;
            }
        }

        // Phase one: mark what is unreferenced and older than the grace period.
        let deleted_names: HashSet<String> = deleted_packs.iter().map(objects::pack_name).collect();
        let candidates: BTreeSet<String> = packs
            .iter()
            .filter(|p| {
                !referenced.contains(&p.name)
                    && !already_marked.contains(&p.name)
                    && !deleted_names.contains(&p.name)
                    && server_now - p.modified >= grace
            })
            .filter_map(|p| p.name.strip_prefix(PACKS).map(str::to_string))
            .collect();
        report.packs_marked = candidates.len() as u64;
        if !candidates.is_empty() && !gc.dry_run {
            let random: [u8; 4] = crate::keys::random_array()?;
            let name = format!(
                "{}-{}",
                objects::timed_name(GC_MARKS, server_now * 1000, device),
                crate::store::hex(&random)
            );
            let mark = GcMark {
                marked_at_ms: now_unix_millis(),
                packs: candidates.into_iter().collect(),
            };
            let body = serde_json::to_vec(&mark)
                .map_err(|e| SyncError::Other(format!("cannot encode a GC mark: {e}")))?;
            rt.block_on(remote.put(&name, sealer.seal(&name, &body)?))?;
        }

        if !gc.dry_run {
            for stale in &survey.stale {
                rt.block_on(remote.delete(stale))?;
            }
            {
                let catalog = self.catalog();
                state::forget_packs(&catalog, &deleted_packs)?;
            }
            // Our knowledge of the remote now drives index cleanup: read every index
            // so that indexes whose packs are all gone can be removed.
            refresh(self, remote, rt, sealer, Depth::Changes)?;
            let orphans = {
                let catalog = self.catalog();
                state::orphan_indexes(&catalog)?
            };
            for index in orphans {
                rt.block_on(remote.delete(&index))?;
                let catalog = self.catalog();
                state::forget_index(&catalog, &index)?;
                report.indexes_deleted += 1;
            }
            self.catalog().log_activity(
                crate::catalog::LogKind::Sync,
                &format!(
                    "remote GC on {}: {} manifests deleted, {} packs marked, {} packs deleted ({} bytes), {} deletions waiting for a push in flight",
                    s.config.url(),
                    report.manifests_deleted,
                    report.packs_marked,
                    report.packs_deleted,
                    report.bytes_deleted,
                    report.deletions_deferred
                ),
            )?;
        }
        Ok(report)
    }
}

/// Writes the permanent record of the packs this GC is about to delete, and
/// forgets them here.
fn write_gone(vault: &Vault, s: &Session, device: &str, packs: &[&String]) -> Result<()> {
    let name = objects::numbered_name(GONE, device, view::next_number(vault, GONE, device)?)?;
    let record = objects::GoneRecord {
        deleted_at_ms: now_unix_millis(),
        packs: packs.iter().map(|p| p.to_string()).collect(),
    };
    let body = serde_json::to_vec(&record)
        .map_err(|e| SyncError::Other(format!("cannot encode a gone record: {e}")))?;
    s.block_on(s.remote.put(&name, s.sealer.seal(&name, &body)?))?;
    let ids: Vec<[u8; 32]> = packs
        .iter()
        .filter_map(|p| objects::id32_from_hex(p))
        .collect();
    state::record_gone(&vault.catalog(), &ids)?;
    view::mark_read(vault, GONE, &name)?;
    Ok(())
}

/// Which manifests to keep: the newest `keep_last` (at least one) of every
/// device's line — a line's newest manifest holds everything the line has, so no
/// device's library is ever left unreferenced — plus the newest manifest of each
/// of the last `keep_daily` days, by the server's clock.
fn retention(
    lines: &Lines,
    keep_last: usize,
    keep_daily: u32,
    server_now: i64,
) -> (Vec<String>, Vec<String>) {
    const DAY: i64 = 86_400;
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for entries in lines.by_device.values() {
        for e in entries.iter().rev().take(keep_last.max(1)) {
            keep.insert(e.name.clone());
        }
    }
    let mut by_time: Vec<&super::lines::Entry> = lines.all().collect();
    by_time.sort_by(|a, b| (b.modified, &b.name).cmp(&(a.modified, &a.name)));
    let mut days_kept = HashSet::new();
    for e in by_time {
        let recent = server_now - e.modified < keep_daily as i64 * DAY;
        if recent && days_kept.insert(e.modified.div_euclid(DAY)) {
            keep.insert(e.name.clone());
        }
    }
    let dropped = lines
        .all()
        .filter(|e| !keep.contains(&e.name))
        .map(|e| e.name.clone())
        .collect();
    (keep.into_iter().collect(), dropped)
}

fn sample(percent: f64) -> bool {
    if percent >= 100.0 {
        return true;
    }
    let r = crate::keys::random_array::<8>()
        .map(u64::from_le_bytes)
        .unwrap_or(0);
    (r % 10_000) as f64 / 100.0 < percent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::s3::Listed;

    fn listed(device: &str, seq: u64, modified: i64) -> Listed {
        Listed {
            name: objects::manifest_name(device, seq),
            size: 1,
            modified,
        }
    }

    #[test]
    fn retention_keeps_every_lines_newest_then_last_n_and_one_per_recent_day() {
        let day = 86_400;
        let now = 100 * day + day / 2;
        // Device a: three pushes a day for 40 days; device b: one push, 60 days ago.
        let mut all: Vec<Listed> = Vec::new();
        let mut seq = 0;
        for d in (0..40).rev() {
            for k in (0..3).rev() {
                seq += 1;
                all.push(listed("aa", seq, now - d * day - k * 60));
            }
        }
        all.push(listed("bb", 1, now - 60 * day));
        let lines = Lines::from_listing(all);
        let (keep, dropped) = retention(&lines, 10, 30, now);
        assert_eq!(keep.len() + dropped.len(), 121);
        // b's only manifest is kept although it is older than any policy reaches.
        assert!(keep.contains(&objects::manifest_name("bb", 1)));
        // a: the 10 newest (days 0–3), then one for each other recent day (4–29).
        assert_eq!(keep.len(), 1 + 10 + 26);
        assert!(keep.contains(&objects::manifest_name("aa", 120)));
        assert!(dropped.contains(&objects::manifest_name("aa", 1)));
        // keep_last 0 still keeps each line's newest.
        let (keep, _) = retention(&lines, 0, 0, now);
        assert_eq!(
            keep,
            vec![
                objects::manifest_name("bb", 1),
                objects::manifest_name("aa", 120)
            ]
        );
    }
}
