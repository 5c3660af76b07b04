//! Pull and clone: merge every device's line of catalogs that this one does not
//! include yet (see `lines` and `merge`), fetching the chunks of the tracks that
//! come with them. Chunks are made durable before the transaction that references
//! them, as on import; fetched chunks stay on disk if the pull stops, so running it
//! again fetches only the rest.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

pub use super::merge::PullFailure;
use super::merge::{self, MergeReport};
use super::objects::{self, Location, Manifest, Sealer};
use super::s3::S3Remote;
use super::{
    RemoteConfig, RemoteCredentials, Session, SyncError, SyncOptions, keyfile, runtime, state,
};
use crate::catalog::now_unix;
use crate::error::{Error, Result};
use crate::progress::{CancelToken, Progress};
use crate::secret::Passphrase;
use crate::store::ChunkId;
use crate::vault::{LockedVault, Vault};

/// Ranges of one pack closer than this are fetched in one request.
const MERGE_GAP: u64 = 1 << 20;

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PullReport {
    /// True when every device's line was already merged.
    pub up_to_date: bool,
    pub remote: String,
    /// The last manifest merged.
    pub manifest: Option<String>,
    /// Every manifest merged, one per device line that had news.
    pub manifests_merged: Vec<String>,
    pub tracks_added: u64,
    pub tracks_state_changed: u64,
    /// Tracks deleted here because another device purged them.
    pub tracks_purged: u64,
    /// Chunk files of purged tracks removed by the local GC after the pull.
    pub chunks_removed: u64,
    pub chunks_fetched: u64,
    pub bytes_fetched: u64,
    /// A passphrase changed on another device: this device now opens with it.
    pub vault_json_adopted: bool,
    /// Tracks that could not be brought over, with the reason.
    pub failed: Vec<PullFailure>,
    pub seconds: f64,
}

impl PullReport {
    fn absorb(&mut self, merged: MergeReport) {
        self.up_to_date = merged.manifests.is_empty() && merged.failed.is_empty();
        self.manifest = merged.manifests.last().cloned();
        self.manifests_merged = merged.manifests;
        self.tracks_added = merged.tracks_added;
        self.tracks_state_changed = merged.tracks_state_changed;
        self.tracks_purged = merged.tracks_purged;
        self.chunks_fetched = merged.chunks_fetched;
        self.bytes_fetched = merged.bytes_fetched;
        self.vault_json_adopted |= merged.vault_json_adopted;
        self.failed = merged.failed;
    }
}

impl Vault {
    /// Merges every device's newest catalog on the remote that this one does not
    /// include yet, fetching the chunks of the tracks it adds, and adopts a newer
    /// vault.json (a passphrase changed on another device).
    pub fn pull(
        &self,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<PullReport> {
        self.pull_inner(credentials, options, progress, cancel, false)
    }

    fn pull_inner(
        &self,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        progress: &dyn Progress,
        cancel: &CancelToken,
        cloning: bool,
    ) -> Result<PullReport> {
        let started = Instant::now();
        let mut report = {
            let _sync = self.lock_sync()?;
            let _lock = self.lock_shared()?;
            let s = Session::open(self, credentials, options, cancel)?;
            let mut report = PullReport {
                remote: s.config.url(),
                ..Default::default()
            };
            report.vault_json_adopted = keyfile::reconcile(self, &s.remote, &s.rt, false)?.adopted;
            let merged = merge::merge_unmerged(&s, progress, cloning)?
                .ok_or(SyncError::NoCatalogOnRemote)?;
            report.absorb(merged);
            let catalog = self.catalog();
            state::set(&catalog, state::LAST_PULL_AT, &now_unix().to_string())?;
            if !report.up_to_date {
                catalog.log_activity(
                    crate::catalog::LogKind::Sync,
                    &format!(
                        "pulled from {}: {} manifests merged, {} tracks added, {} changed state, {} purged, {} could not be fetched",
                        s.config.url(),
                        report.manifests_merged.len(),
                        report.tracks_added,
                        report.tracks_state_changed,
                        report.tracks_purged,
                        report.failed.len()
                    ),
                )?;
            }
            report
        };
        // Purged tracks' chunks go once the shared lock is released; an import
        // running meanwhile keeps them until the next GC.
        if report.tracks_purged > 0 {
            match self.gc() {
                Ok(gc) => report.chunks_removed = gc.removed_chunks,
                Err(Error::Busy(_)) => {}
                Err(e) => return Err(e),
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }
}

/// Restores a vault from the remote into `root` (a new or empty folder, or one
/// where an earlier clone of the same remote stopped part way, which it resumes).
pub fn clone_vault(
    root: &Path,
    config: &RemoteConfig,
    credentials: &RemoteCredentials,
    passphrase: &Passphrase,
    options: &SyncOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<(Vault, PullReport)> {
    config.validate()?;
    let rt = runtime()?;
    let remote = S3Remote::new(config, credentials, options.retry, cancel.clone());
    rt.block_on(remote.head_bucket())?;
    // The passphrase is tried on the remote's key files before anything is
    // written here: a wrong one leaves the folder as it was.
    let (remote_config, remote_json, master) =
        keyfile::for_clone(&remote, &rt, &config.url(), passphrase)?;
    let remote_id = remote_config.vault_id.clone();
    drop(rt);

    let config_path = root.join("vault.json");
    let resuming = config_path.exists();
    let created_dir = !root.exists();
    if resuming {
        let existing = LockedVault::open(root)?;
        if existing.vault_id() != remote_id {
            return Err(SyncError::CloneTargetNotEmpty(root.display().to_string()).into());
        }
    } else {
        if root.exists() {
            let empty = std::fs::read_dir(root)
                .map_err(|e| Error::io(root, e))?
                .next()
                .is_none();
            if !empty {
                return Err(SyncError::CloneTargetNotEmpty(root.display().to_string()).into());
            }
        }
        crate::private::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        crate::vault::write_atomic(&config_path, &remote_json)?;
    }
    let vault = match LockedVault::open(root).and_then(|l| l.unlock_with_master(master)) {
        Ok(v) => v,
        Err(e) => {
            // Nothing half-made is left behind.
            if !resuming {
                let _ = std::fs::remove_file(&config_path);
                let _ = std::fs::remove_file(root.join("catalog.db"));
                let _ = std::fs::remove_file(root.join("catalog.db-wal"));
                let _ = std::fs::remove_file(root.join("catalog.db-shm"));
                if created_dir {
                    let _ = std::fs::remove_dir_all(root);
                }
            }
            return Err(e);
        }
    };
    vault.set_remote_config(config)?;
    let report = vault.pull_inner(credentials, options, progress, cancel, true)?;
    Ok((vault, report))
}

pub(crate) fn read_manifest(
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    sealer: &Sealer,
    name: &str,
    vault_id: &str,
) -> Result<Manifest> {
    let sealed = rt
        .block_on(remote.get(name))?
        .ok_or_else(|| SyncError::ObjectNotFound(name.to_string()))?;
    let manifest: Manifest = sealer.open_json(name, sealed)?;
    if manifest.vault_id != vault_id {
        return Err(SyncError::OtherVault {
            remote: manifest.vault_id,
            local: vault_id.to_string(),
        }
        .into());
    }
    Ok(manifest)
}

/// Consecutive snapshot chunks that lie back to back in one pack are read in one
/// ranged GET, up to this many bytes (a push writes a snapshot's new chunks next to
/// each other, so a snapshot is a handful of requests, not one per chunk).
const SNAPSHOT_RANGE_MAX: u64 = 16 << 20;

/// Runs of `locations` (in order) that one ranged GET reads: same pack, each chunk
/// starting where the previous one ends, at most [`SNAPSHOT_RANGE_MAX`] bytes.
pub(crate) fn contiguous_runs(locations: &[Location]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, loc) in locations.iter().enumerate() {
        if let Some(run) = runs.last_mut() {
            let (first, prev) = (&locations[run.start], &locations[run.end - 1]);
            if prev.pack == loc.pack
                && prev.offset + prev.length == loc.offset
                && loc.offset + loc.length - first.offset <= SNAPSHOT_RANGE_MAX
            {
                run.end = i + 1;
                continue;
            }
        }
        runs.push(i..i + 1);
    }
    runs
}

/// Where the catalog snapshot chunks of one device's line, as last fetched, are
/// kept: the next pull of that line fetches only the chunks that changed since.
/// They are stored as on the remote (encrypted, bound to their id) and checked
/// the same way when read, so a damaged or stale file is only a cache miss.
pub(crate) fn snapshot_cache(vault: &Vault, device: &str) -> PathBuf {
    vault.root().join(SNAPSHOT_CACHE).join(device)
}

/// The folder of [`snapshot_cache`]s, in the vault.
pub(crate) const SNAPSHOT_CACHE: &str = "sync-cache";

fn cached(vault: &Vault, dir: &Path, loc: &Location) -> Option<Vec<u8>> {
    let object = std::fs::read(dir.join(loc.chunk.to_hex())).ok()?;
    if object.len() as u64 != loc.length {
        return None;
    }
    vault.store().open(&loc.chunk, object).ok()
}

/// Keeps a fetched snapshot chunk for the next pull. Failing to is not an error:
/// the cache only saves a download (temp name, then rename, so a reader never
/// sees half a file; one torn by a crash fails authentication and is fetched).
fn remember(dir: &Path, id: &ChunkId, object: &[u8]) {
    let write = || -> std::io::Result<()> {
        crate::private::create_dir_all(dir)?;
        let tmp = dir.join(format!("{}.tmp", id.to_hex()));
        let mut f = crate::private::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        std::io::Write::write_all(&mut f, object)?;
        std::fs::rename(&tmp, dir.join(id.to_hex()))
    };
    let _ = write();
}

/// Drops the cached chunks the newest snapshot of the line no longer has, so the
/// cache stays one snapshot per line. Best effort, as the cache is.
pub(crate) fn prune_snapshot_cache(dir: &Path, keep: &HashSet<ChunkId>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let kept = name
            .to_str()
            .and_then(ChunkId::from_hex)
            .is_some_and(|id| keep.contains(&id));
        if !kept {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Downloads and decrypts chunks in order, in memory (the catalog snapshot, which
/// is opened from memory: it is never on the disk in clear). Chunks found in
/// `cache` (see [`snapshot_cache`]) are not downloaded; runs of adjacent chunks
/// are one request each, up to `parallelism` requests in flight; the result is
/// assembled in the manifest's order.
pub(crate) fn fetch_plain(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    locations: &[Location],
    parallelism: usize,
    cancel: &CancelToken,
    cache: Option<&Path>,
) -> Result<Vec<u8>> {
    let mut plain: Vec<Option<Vec<u8>>> = Vec::with_capacity(locations.len());
    let mut wanted: Vec<usize> = Vec::new();
    for (i, loc) in locations.iter().enumerate() {
        let hit = cache.and_then(|dir| cached(vault, dir, loc));
        if hit.is_none() {
            wanted.push(i);
        }
        plain.push(hit);
    }
    let todo: Vec<Location> = wanted.iter().map(|&i| locations[i]).collect();
    let runs = contiguous_runs(&todo);
    let parts: Vec<Mutex<Option<Vec<Vec<u8>>>>> = runs.iter().map(|_| Mutex::new(None)).collect();
    in_parallel(runs.len(), parallelism, cancel, |i| {
        let chunks = fetch_run(vault, remote, rt, &todo[runs[i].clone()], cache)?;
        *crate::mutex::lock(&parts[i]) = Some(chunks);
        Ok(())
    })?;
    let mut fetched = Vec::with_capacity(todo.len());
    for part in parts {
        let chunks = part
            .into_inner()
            .ok()
            .flatten()
            .ok_or_else(|| SyncError::Other("a snapshot download worker failed".into()))?;
        fetched.extend(chunks);
    }
    for (slot, chunk) in wanted.into_iter().zip(fetched) {
        plain[slot] = Some(chunk);
    }
    let mut out = Vec::new();
    for part in plain {
        let part =
            part.ok_or_else(|| SyncError::Other("a snapshot chunk was not downloaded".into()))?;
        out.extend_from_slice(&part);
    }
    Ok(out)
}

/// One run of adjacent chunks of one pack: one ranged GET, each chunk authenticated
/// and decrypted (and kept in `cache`).
fn fetch_run(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    run: &[Location],
    cache: Option<&Path>,
) -> Result<Vec<Vec<u8>>> {
    let (Some(first), Some(last)) = (run.first(), run.last()) else {
        return Ok(Vec::new());
    };
    let name = objects::pack_name(&first.pack);
    let start = first.offset;
    let range = (start, last.offset + last.length - start);
    let data = match rt.block_on(remote.get_range(&name, Some(range))) {
        Ok(Some(d)) => d,
        Ok(None) => return Err(SyncError::ObjectNotFound(name).into()),
        Err(SyncError::Cancelled) => return Err(Error::Cancelled),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::with_capacity(run.len());
    for loc in run {
        let from = (loc.offset - start) as usize;
        let object =
            data.get(from..from + loc.length as usize)
                .ok_or_else(|| SyncError::CorruptObject {
                    name: name.clone(),
                    reason: "shorter than the manifest says".into(),
                })?;
        out.push(vault.store().open(&loc.chunk, object.to_vec())?);
        if let Some(dir) = cache {
            remember(dir, &loc.chunk, object);
        }
    }
    Ok(out)
}

/// Makes sure every chunk of `locations` is in `cache` (sealed, as on the remote):
/// downloads those it lacks, runs of adjacent chunks one ranged GET each,
/// `parallelism` at once, each chunk authenticated on the way in; nothing is kept
/// in memory past its run. [`CachedStream`] then reads them in order.
pub(crate) fn fetch_to_cache(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    locations: &[Location],
    parallelism: usize,
    cancel: &CancelToken,
    cache: &Path,
) -> Result<()> {
    // A file of the right size counts as cached: the stream authenticates every chunk
    // as it reads it and fetches a damaged one on its own, so nothing is decrypted twice.
    let todo: Vec<Location> = locations
        .iter()
        .filter(|loc| {
            std::fs::metadata(cache.join(loc.chunk.to_hex()))
                .map_or(true, |m| m.len() != loc.length)
        })
        .copied()
        .collect();
    let runs = contiguous_runs(&todo);
    in_parallel(runs.len(), parallelism, cancel, |i| {
        fetch_run(vault, remote, rt, &todo[runs[i].clone()], Some(cache)).map(drop)
    })
}

/// Runs `work(0..n)` on up to `parallelism` threads, each taking the next index;
/// the first error stops the others from taking more, and is returned.
pub(crate) fn in_parallel(
    n: usize,
    parallelism: usize,
    cancel: &CancelToken,
    work: impl Fn(usize) -> Result<()> + Sync,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..parallelism.clamp(1, n.max(1)) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) && !cancel.is_cancelled() {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        return;
                    }
                    if let Err(e) = work(i) {
                        stop.store(true, Ordering::Relaxed);
                        crate::mutex::lock(&first_error).get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = crate::mutex::lock(&first_error).take() {
        return Err(e);
    }
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    Ok(())
}

/// A snapshot's plaintext, read chunk by chunk in the manifest's order from the
/// cache [`fetch_to_cache`] filled (one chunk in memory at a time). A chunk the
/// cache could not keep (a full disk) is fetched on its own.
pub(crate) struct CachedStream<'a> {
    vault: &'a Vault,
    remote: &'a S3Remote,
    rt: &'a tokio::runtime::Runtime,
    cache: &'a Path,
    locations: &'a [Location],
    next: usize,
    current: zeroize::Zeroizing<Vec<u8>>,
    at: usize,
    /// Bytes handed out so far.
    pub total: u64,
    /// Why the stream stopped, when a chunk could not be had.
    pub failure: Option<Error>,
}

impl<'a> CachedStream<'a> {
    pub(crate) fn new(
        vault: &'a Vault,
        remote: &'a S3Remote,
        rt: &'a tokio::runtime::Runtime,
        cache: &'a Path,
        locations: &'a [Location],
    ) -> Self {
        CachedStream {
            vault,
            remote,
            rt,
            cache,
            locations,
            next: 0,
            current: zeroize::Zeroizing::new(Vec::new()),
            at: 0,
            total: 0,
            failure: None,
        }
    }
}

impl std::io::Read for CachedStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            let Some(loc) = self.locations.get(self.next) else {
                return Ok(0);
            };
            let plain = match cached(self.vault, self.cache, loc) {
                Some(p) => p,
                None => match fetch_run(
                    self.vault,
                    self.remote,
                    self.rt,
                    std::slice::from_ref(loc),
                    None,
                )
                .map(|mut chunks| chunks.pop())
                {
                    Ok(Some(p)) => p,
                    Ok(None) => Vec::new(),
                    Err(e) => {
                        let text = e.to_string();
                        self.failure = Some(e);
                        return Err(std::io::Error::other(text));
                    }
                },
            };
            self.current = zeroize::Zeroizing::new(plain);
            self.at = 0;
            self.next += 1;
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        self.total += n as u64;
        Ok(n)
    }
}

pub(crate) struct Fetched {
    pub written: Vec<ChunkId>,
    pub bytes: u64,
    /// Chunks that could not be fetched (missing or damaged on the remote).
    pub failed: Vec<(ChunkId, String)>,
}

/// Fetches chunks into the local store: grouped by pack, nearby ranges merged into
/// one request, every chunk authenticated before it is written. Not yet durable.
pub(crate) fn fetch_chunks(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    locations: &[Location],
    parallelism: usize,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Fetched> {
    let mut by_pack: BTreeMap<[u8; 32], Vec<Location>> = BTreeMap::new();
    for loc in locations {
        by_pack.entry(loc.pack).or_default().push(*loc);
    }
    let mut requests: Vec<Vec<Location>> = Vec::new();
    for (_, mut locs) in by_pack {
        locs.sort_by_key(|l| l.offset);
        let mut group: Vec<Location> = Vec::new();
        for l in locs {
            if let Some(last) = group.last()
                && l.offset > last.offset + last.length + MERGE_GAP
            {
                requests.push(std::mem::take(&mut group));
            }
            group.push(l);
        }
        if !group.is_empty() {
            requests.push(group);
        }
    }
    // One item per request, as `fetch_group` reports them.
    progress.start(
        requests.len() as u64,
        locations.iter().map(|l| l.length).sum(),
    );
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let result = Mutex::new(Fetched {
        written: Vec::new(),
        bytes: 0,
        failed: Vec::new(),
    });
    std::thread::scope(|scope| {
        for _ in 0..parallelism.min(requests.len()) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) && !cancel.is_cancelled() {
                    let Some(group) = requests.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        return;
                    };
                    if let Err(e) = fetch_group(vault, remote, rt, group, &result, progress) {
                        stop.store(true, Ordering::Relaxed);
                        crate::mutex::lock(&first_error).get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = crate::mutex::lock(&first_error).take() {
        // What did arrive stays: make it durable so a rerun need not fetch it again.
        let written = std::mem::take(&mut crate::mutex::lock(&result).written);
        let _ = vault.store().make_durable(&written);
        return Err(e);
    }
    result
        .into_inner()
        .map_err(|_| SyncError::Other("a download worker failed".into()).into())
}

fn fetch_group(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    group: &[Location],
    result: &Mutex<Fetched>,
    progress: &dyn Progress,
) -> Result<()> {
    let (Some(first), Some(last)) = (group.first(), group.last()) else {
        return Ok(());
    };
    let start = first.offset;
    let end = last.offset + last.length;
    let name = objects::pack_name(&first.pack);
    let data = match rt.block_on(remote.get_range(&name, Some((start, end - start)))) {
        Ok(Some(d)) => d,
        Ok(None) => {
            let mut r = crate::mutex::lock(result);
            for l in group {
                r.failed
                    .push((l.chunk, format!("pack {name} is missing on the remote")));
            }
            return Ok(());
        }
        Err(SyncError::Cancelled) => return Err(Error::Cancelled),
        // Archived by the bucket (a lifecycle rule to Glacier or Deep Archive): the
        // tracks it holds are named in the report with how to restore it; the rest
        // of the pull goes on.
        Err(e @ SyncError::Archived { .. }) => {
            let mut r = crate::mutex::lock(result);
            for l in group {
                r.failed.push((l.chunk, e.to_string()));
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    for l in group {
        let from = (l.offset - start) as usize;
        let object = &data[from..from + l.length as usize];
        let outcome = vault.store().put_object(&l.chunk, object);
        let mut r = crate::mutex::lock(result);
        match outcome {
            Ok(()) => {
                r.written.push(l.chunk);
                r.bytes += l.length;
            }
            Err(crate::store::StoreError::Corrupt { reason, .. }) => {
                r.failed
                    .push((l.chunk, format!("damaged on the remote ({reason})")));
            }
            Err(e) => return Err(e.into()),
        }
        drop(r);
        progress.advance(l.length);
    }
    progress.item_finished(Path::new(&name), true);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(pack: u8, offset: u64, length: u64) -> Location {
        Location {
            chunk: ChunkId([offset as u8; 32]),
            pack: [pack; 32],
            offset,
            length,
        }
    }

    /// A snapshot's chunks were fetched one request each, in sequence: adjacent
    /// chunks of one pack are now one request, and only they.
    #[test]
    fn snapshot_chunks_back_to_back_in_a_pack_are_one_request() {
        let mib = 1 << 20;
        let locations = [
            loc(1, 0, mib),
            loc(1, mib, mib),
            loc(1, 2 * mib, 10),
            // a gap: a new request
            loc(1, 2 * mib + 20, 5),
            // another pack
            loc(2, 0, 7),
            loc(2, 7, 7),
            // back in the first pack, out of order: a new request
            loc(1, 0, mib),
        ];
        assert_eq!(contiguous_runs(&locations), vec![0..3, 3..4, 4..6, 6..7]);
        // A run stops at SNAPSHOT_RANGE_MAX bytes.
        let big: Vec<Location> = (0..40).map(|i| loc(3, i * mib, mib)).collect();
        let runs = contiguous_runs(&big);
        assert_eq!(runs.len(), 3);
        assert!(
            runs.iter()
                .all(|r| r.len() as u64 * mib <= SNAPSHOT_RANGE_MAX)
        );
        assert_eq!(runs.iter().map(|r| r.len()).sum::<usize>(), 40);
        assert!(contiguous_runs(&[]).is_empty());
    }
}
