//! Cloud-only tracks ("free up space"): evicting the local chunks of tracks the
//! remote holds, reading them back from the bucket, and keeping them again.
//!
//! The evicted state is device-local (`evicted_chunks`, migration 0016): a chunk
//! listed there may have no file; the catalog keeps the track, its chunk list and
//! the chunk row. What makes it safe:
//! - Only chunks the remote is seen to hold are evicted: each is fetched from its
//!   pack by a ranged GET and authenticated (AEAD under its id) right before, and
//!   the pack must be referenced by the newest manifest of some device's line
//!   (remote GC never deletes a line's newest manifest, nor a pack a kept manifest
//!   references) and named by no GC mark. A remote that lost or damaged a pack
//!   refuses the eviction of its tracks; nothing is deleted for them.
//! - Mark first, delete after: the rows are committed (`synchronous = FULL`)
//!   before any file is deleted, under the vault's exclusive lock. A crash between
//!   leaves marked chunks whose files still exist: reads use the file while it is
//!   there, and the next evict, keep or GC rolls such a mark back (the file is
//!   intact: the chunk is local again) or removes a damaged leftover. So the
//!   catalog never says "local" for a chunk whose file is gone.
//! - Keep writes every fetched chunk (authenticated), makes them durable, and
//!   only then clears the marks.
//! - This device's later pushes keep referencing the packs: every chunk of its
//!   catalog with a remote location puts that pack in the manifest, evicted or not.
//!
//! Reading: [`CloudChunks`] is the chunk store's [`ChunkFallback`]. For a chunk
//! that is evicted and has no file it fetches the chunk's byte range from its pack
//! (a ranged GET), authenticates it, and keeps the encrypted object in a bounded
//! cache on disk (`cache/chunks/`, never plaintext; oldest first out).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::lines::Lines;
use super::objects::{self, GC_MARKS, GcMark};
use super::pull::read_manifest;
use super::s3::{RetryPolicy, S3Remote};
use super::{RemoteCredentials, Session, SyncError, SyncOptions, state};
use crate::catalog::cloud::{self, PlannedTrack};
use crate::catalog::remote::{Location, RemoteConfig};
use crate::catalog::{Catalog, CatalogKey, LogKind, TrackId};
use crate::error::{Error, Result};
use crate::progress::CancelToken;
use crate::store::{ChunkFallback, ChunkId, ChunkStore, StoreError};
use crate::vault::Vault;

/// Which tracks to evict.
#[derive(Debug, Clone)]
pub enum EvictSelection {
    Tracks(Vec<TrackId>),
    /// The active tracks of an album, by name (any case, any album artist).
    Album(String),
    /// Active tracks this device has not played for this many days (counted from
    /// the import for a track never played).
    NotPlayedDays(u32),
}

/// What happened to one track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum EvictState {
    /// Its chunks were deleted from this device (those no local track shares).
    Evicted,
    /// Already cloud only; nothing more to free.
    AlreadyCloud,
    /// Every chunk is shared with a track that stays on this device.
    Shared,
    /// Left on this device; `reason` says why.
    Refused,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EvictOutcome {
    pub id: TrackId,
    pub file_name: String,
    pub outcome: EvictState,
    pub reason: Option<String>,
    pub chunks_deleted: u64,
    pub bytes_freed: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EvictReport {
    pub remote: String,
    pub tracks: Vec<EvictOutcome>,
    pub evicted: u64,
    pub refused: u64,
    pub chunks_deleted: u64,
    pub bytes_freed: u64,
    /// Bytes downloaded to check the remote's copies before deleting.
    pub bytes_checked: u64,
    /// Leftovers of an eviction cut short, put right first.
    pub recovered_chunks: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum KeepState {
    /// Its chunks were fetched back; it is on this device again.
    Kept,
    /// Nothing of it was evicted.
    AlreadyLocal,
    /// Still cloud only; `reason` says why.
    Failed,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeepOutcome {
    pub id: TrackId,
    pub file_name: String,
    pub outcome: KeepState,
    pub reason: Option<String>,
    pub chunks_fetched: u64,
    pub bytes_fetched: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KeepReport {
    pub remote: String,
    pub tracks: Vec<KeepOutcome>,
    pub kept: u64,
    pub failed: u64,
    pub bytes_fetched: u64,
}

/// The remote's copy of chunks as an eviction sees it: packs kept by a line's
/// newest manifest, packs named by a GC mark.
struct RemoteView {
    kept: HashSet<[u8; 32]>,
    marked: HashSet<[u8; 32]>,
}

impl Vault {
    /// Frees the local space of the selected tracks: deletes the files of their
    /// chunks once the remote is seen to hold each (see the module's notes), and
    /// marks them cloud only. A chunk another local track needs stays.
    pub fn evict(
        &self,
        selection: &EvictSelection,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        cancel: &CancelToken,
    ) -> Result<EvictReport> {
        let _sync = self.lock_sync()?;
        let recovered_chunks = {
            let _lock = self.lock_exclusive()?;
            self.recover_evictions()?
        };
        let ids = self.selected_tracks(selection)?;
        let plans = self.read(|c| Ok(cloud::plan(c, &ids)?))?;
        let s = Session::open(self, credentials, options, cancel)?;
        let mut report = EvictReport {
            remote: s.config.url(),
            tracks: Vec::new(),
            evicted: 0,
            refused: 0,
            chunks_deleted: 0,
            bytes_freed: 0,
            bytes_checked: 0,
            recovered_chunks,
        };
        if ids.is_empty() {
            return Ok(report);
        }
        let view = remote_view(self, &s)?;
        // Per track: the chunks to delete, once the remote's copy of each checked.
        let mut accepted: Vec<(usize, Vec<ChunkId>)> = Vec::new();
        let mut checked: HashMap<ChunkId, std::result::Result<(), String>> = HashMap::new();
        for (i, plan) in plans.iter().enumerate() {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let outcome = |outcome, reason: Option<String>| EvictOutcome {
                id: plan.id.clone(),
                file_name: plan.file_name.clone(),
                outcome,
                reason,
                chunks_deleted: 0,
                bytes_freed: 0,
            };
            let todo: Vec<&cloud::PlannedChunk> = plan
                .chunks
                .iter()
                .filter(|c| !c.evicted && !c.shared_with_local)
                .collect();
            if todo.is_empty() {
                let state = if plan.chunks.iter().any(|c| c.evicted) {
                    EvictState::AlreadyCloud
                } else {
                    EvictState::Shared
                };
                report.tracks.push(outcome(state, None));
                continue;
            }
            if let Some(reason) = refusal(plan) {
                report
                    .tracks
                    .push(outcome(EvictState::Refused, Some(reason)));
                continue;
            }
            let mut problem = None;
            for c in &todo {
                let result = match checked.get(&c.id) {
                    Some(r) => r.clone(),
                    None => {
                        let r = check_remote_copy(self, &s, &view, c, &mut report.bytes_checked);
                        checked.insert(c.id, r.clone());
                        r
                    }
                };
                if let Err(reason) = result {
                    problem = Some(reason);
                    break;
                }
            }
            match problem {
                Some(reason) => report
                    .tracks
                    .push(outcome(EvictState::Refused, Some(reason))),
                None => {
                    accepted.push((i, todo.iter().map(|c| c.id).collect()));
                    report.tracks.push(outcome(EvictState::Evicted, None));
                }
            }
        }
        // Mark, make the marks durable, then delete: under the exclusive lock, so
        // no GC rolls a mark back between the two and no import is in flight.
        let all: BTreeSet<ChunkId> = accepted
            .iter()
            .flat_map(|(_, c)| c.iter().copied())
            .collect();
        let all: Vec<ChunkId> = all.into_iter().collect();
        if !all.is_empty() {
            let _lock = self.lock_exclusive()?;
            cloud::mark_evicted(&self.catalog(), &all)?;
            let mut freed: HashMap<ChunkId, u64> = HashMap::new();
            for id in &all {
                let path = self.store().path_of(id);
                let size = fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(0);
                self.store().remove(id)?;
                freed.insert(*id, size);
            }
            // Deletions need no flush for safety (a file that comes back is
            // harmless), but the space should be seen free when this returns.
            self.store().make_durable(&all)?;
            let mut counted: HashSet<ChunkId> = HashSet::new();
            for (i, chunks) in &accepted {
                let Some(out) = report.tracks.iter_mut().find(|t| t.id == plans[*i].id) else {
                    continue;
                };
                for c in chunks {
                    if counted.insert(*c) {
                        out.chunks_deleted += 1;
                        out.bytes_freed += freed.get(c).copied().unwrap_or(0);
                    }
                }
            }
        }
        report.evicted = report
            .tracks
            .iter()
            .filter(|t| t.outcome == EvictState::Evicted)
            .count() as u64;
        report.refused = report
            .tracks
            .iter()
            .filter(|t| t.outcome == EvictState::Refused)
            .count() as u64;
        report.chunks_deleted = report.tracks.iter().map(|t| t.chunks_deleted).sum();
        report.bytes_freed = report.tracks.iter().map(|t| t.bytes_freed).sum();
        self.catalog().log_activity(
            LogKind::Sync,
            &format!(
                "freed up space: {} track(s) now in the cloud only, {} bytes freed, {} refused",
                report.evicted, report.bytes_freed, report.refused
            ),
        )?;
        Ok(report)
    }

    /// Brings cloud-only tracks back onto this device: fetches their evicted
    /// chunks (each authenticated), makes them durable, then clears their state.
    pub fn keep(
        &self,
        ids: &[TrackId],
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        cancel: &CancelToken,
    ) -> Result<KeepReport> {
        let _sync = self.lock_sync()?;
        {
            let _lock = self.lock_exclusive()?;
            self.recover_evictions()?;
        }
        let plans = self.read(|c| Ok(cloud::plan(c, ids)?))?;
        for id in ids {
            if !plans.iter().any(|p| &p.id == id) {
                return Err(Error::TrackNotFound(id.to_string()));
            }
        }
        let s = Session::open(self, credentials, options, cancel)?;
        let mut report = KeepReport {
            remote: s.config.url(),
            tracks: Vec::new(),
            kept: 0,
            failed: 0,
            bytes_fetched: 0,
        };
        // Shared: GC (exclusive) cannot run while fetched chunks wait for their
        // marks to be cleared.
        let _lock = self.lock_shared()?;
        for plan in &plans {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let evicted: Vec<&cloud::PlannedChunk> =
                plan.chunks.iter().filter(|c| c.evicted).collect();
            let mut out = KeepOutcome {
                id: plan.id.clone(),
                file_name: plan.file_name.clone(),
                outcome: KeepState::AlreadyLocal,
                reason: None,
                chunks_fetched: 0,
                bytes_fetched: 0,
            };
            if evicted.is_empty() {
                report.tracks.push(out);
                continue;
            }
            let mut fetched = Vec::new();
            let mut problem = None;
            for c in &evicted {
                if self.store().holds_intact(&c.id, Some(c.stored_size)) {
                    fetched.push(c.id);
                    continue;
                }
                match fetch_object(&s.remote, &s.rt, &c.locations, self.store(), &c.id) {
                    Ok(object) => {
                        out.bytes_fetched += object.len() as u64;
                        out.chunks_fetched += 1;
                        if let Err(e) = self.store().put_object(&c.id, &object) {
                            problem = Some(e.to_string());
                            break;
                        }
                        fetched.push(c.id);
                    }
                    Err(reason) => {
                        problem = Some(reason);
                        break;
                    }
                }
            }
            match problem {
                Some(reason) => {
                    out.outcome = KeepState::Failed;
                    out.reason = Some(format!("{}: {reason}", plan.file_name));
                }
                None => {
                    self.store().make_durable(&fetched)?;
                    cloud::clear_evicted(&self.catalog(), &fetched)?;
                    out.outcome = KeepState::Kept;
                }
            }
            report.bytes_fetched += out.bytes_fetched;
            report.tracks.push(out);
        }
        report.kept = report
            .tracks
            .iter()
            .filter(|t| t.outcome == KeepState::Kept)
            .count() as u64;
        report.failed = report
            .tracks
            .iter()
            .filter(|t| t.outcome == KeepState::Failed)
            .count() as u64;
        self.catalog().log_activity(
            LogKind::Sync,
            &format!(
                "kept on this device: {} track(s) fetched back ({} bytes), {} failed",
                report.kept, report.bytes_fetched, report.failed
            ),
        )?;
        Ok(report)
    }

    /// The tracks a selection names, in its order.
    pub fn selected_tracks(&self, selection: &EvictSelection) -> Result<Vec<TrackId>> {
        match selection {
            EvictSelection::Tracks(ids) => {
                let known = self.read(|c| Ok(cloud::plan(c, ids)?))?;
                for id in ids {
                    if !known.iter().any(|p| &p.id == id) {
                        return Err(Error::TrackNotFound(id.to_string()));
                    }
                }
                Ok(ids.clone())
            }
            EvictSelection::Album(album) => {
                let ids = self.read(|c| Ok(cloud::album_track_ids(c, album)?))?;
                if ids.is_empty() {
                    return Err(Error::Invalid(format!(
                        "no active track is on an album named '{album}'"
                    )));
                }
                Ok(ids)
            }
            EvictSelection::NotPlayedDays(days) => {
                let cutoff = crate::catalog::now_unix() - i64::from(*days) * 86_400;
                self.read(|c| Ok(cloud::not_played_since(c, cutoff)?))
            }
        }
    }

    /// Lets this vault's chunk store read evicted chunks from the remote (the
    /// player, export, verify with its cloud option). Idempotent and cheap: the
    /// remote is reached only when such a chunk is read.
    pub fn enable_cloud_reads(&self) {
        if !self.store().has_fallback() {
            self.store().set_fallback(Arc::new(CloudChunks::new(self)));
        }
    }

    /// Tracks by location and the space eviction freed.
    pub fn location_totals(&self) -> Result<cloud::LocationTotals> {
        self.read(|c| Ok(cloud::location_totals(c)?))
    }
}

/// Why a track cannot be evicted before the remote is asked, if it cannot.
fn refusal(plan: &PlannedTrack) -> Option<String> {
    if !plan.in_a_manifest {
        return Some("not in the cloud yet: push first".into());
    }
    plan.chunks
        .iter()
        .find(|c| !c.evicted && c.locations.is_empty())
        .map(|c| format!("chunk {} is not on the remote yet: push first", c.id))
}

/// What the remote keeps: the packs of every line's newest manifest (never
/// deleted by remote GC) minus packs any GC mark names (a push treats those as
/// gone).
fn remote_view(vault: &Vault, s: &Session) -> Result<RemoteView> {
    let lines = s.block_on(Lines::list(&s.remote))?;
    let mut kept = HashSet::new();
    for entry in lines.heads() {
        let manifest = read_manifest(&s.remote, &s.rt, &s.sealer, &entry.name, vault.vault_id())?;
        kept.extend(
            manifest
                .packs
                .iter()
                .filter_map(|p| objects::id32_from_hex(p)),
        );
    }
    let mut marked = HashSet::new();
    for mark in s.block_on(s.remote.list(GC_MARKS))? {
        let Some(sealed) = s.block_on(s.remote.get(&mark.name))? else {
            continue;
        };
        let content: GcMark = s.sealer.open_json(&mark.name, sealed)?;
        marked.extend(
            content
                .packs
                .iter()
                .filter_map(|p| objects::id32_from_hex(p)),
        );
    }
    Ok(RemoteView { kept, marked })
}

/// Reads the chunk from a pack the remote keeps and authenticates it.
fn check_remote_copy(
    vault: &Vault,
    s: &Session,
    view: &RemoteView,
    chunk: &cloud::PlannedChunk,
    downloaded: &mut u64,
) -> std::result::Result<(), String> {
    let usable: Vec<Location> = chunk
        .locations
        .iter()
        .filter(|l| view.kept.contains(&l.pack) && !view.marked.contains(&l.pack))
        .copied()
        .collect();
    if usable.is_empty() {
        return Err(format!(
            "chunk {} lies in no pack that a kept manifest references (push first, or the remote lost it)",
            chunk.id
        ));
    }
    let object = fetch_object(&s.remote, &s.rt, &usable, vault.store(), &chunk.id)?;
    *downloaded += object.len() as u64;
    if object.len() as u64 != chunk.stored_size {
        return Err(format!(
            "the remote's copy of chunk {} is {} bytes where {} are stored here",
            chunk.id,
            object.len(),
            chunk.stored_size
        ));
    }
    Ok(())
}

/// The chunk's encrypted object from the first of `locations` that has it
/// intact (a ranged GET into its pack, authenticated).
fn fetch_object(
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    locations: &[Location],
    store: &ChunkStore,
    id: &ChunkId,
) -> std::result::Result<Vec<u8>, String> {
    if locations.is_empty() {
        return Err(format!("no known pack on the remote holds chunk {id}"));
    }
    let mut last = String::new();
    for l in locations {
        let name = objects::pack_name(&l.pack);
        match block_on(rt, remote.get_range(&name, Some((l.offset, l.length)))) {
            Ok(Some(object)) => match store.open(id, object.clone()) {
                Ok(_) => return Ok(object),
                Err(e) => last = format!("the remote's copy is damaged ({e})"),
            },
            Ok(None) => last = format!("pack {name} is gone from the remote"),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// Runs a future on `rt`, also from a thread that is itself inside a runtime
/// (where `block_on` would panic): then on a thread of its own.
fn block_on<F: std::future::Future + Send>(rt: &tokio::runtime::Runtime, f: F) -> F::Output
where
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|scope| {
            scope
                .spawn(|| rt.block_on(f))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    } else {
        rt.block_on(f)
    }
}

/// Access keys a front end holds in memory for its run (no keyring could take
/// them), by vault id: cloud reads use them after the environment's and the
/// keyring's, as push and pull do. Zeroed when replaced or at exit.
static HELD: Mutex<Option<HashMap<String, RemoteCredentials>>> = Mutex::new(None);

/// Lets cloud reads of this vault use keys held for this run (see [`HELD`]).
pub fn hold_credentials_for_reads(vault_id: &str, credentials: RemoteCredentials) {
    crate::mutex::lock(&HELD)
        .get_or_insert_with(HashMap::new)
        .insert(vault_id.to_string(), credentials);
}

fn held_for_reads(vault_id: &str) -> Option<RemoteCredentials> {
    crate::mutex::lock(&HELD).as_ref()?.get(vault_id).cloned()
}

/// Reads for the player and export give up sooner than a push: a stopped bucket
/// is an error the user sees within seconds.
fn read_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        attempt_timeout: Duration::from_secs(30),
    }
}

/// The cache's size cap: 256 MiB, or `AUDIOVAULT_CLOUD_CACHE_BYTES` (tests).
fn cache_cap() -> u64 {
    std::env::var("AUDIOVAULT_CLOUD_CACHE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256 << 20)
}

/// An evicted chunk's packs, with the remote's settings when no client exists yet.
type Evicted = (Vec<Location>, Option<RemoteConfig>);

struct Connected {
    rt: tokio::runtime::Runtime,
    remote: S3Remote,
}

/// The chunk store's source of evicted chunks (see the module's notes).
pub struct CloudChunks {
    root: PathBuf,
    catalog_key: CatalogKey,
    vault_id: String,
    reader: Mutex<Option<Catalog>>,
    connected: Mutex<Option<Arc<Connected>>>,
    cache: ObjectCache,
}

impl CloudChunks {
    fn new(vault: &Vault) -> CloudChunks {
        CloudChunks {
            root: vault.root().to_path_buf(),
            catalog_key: vault.catalog_key().clone(),
            vault_id: vault.vault_id().to_string(),
            reader: Mutex::new(None),
            connected: Mutex::new(None),
            cache: ObjectCache::new(vault.root().join("cache").join("chunks"), cache_cap()),
        }
    }

    /// The chunk's packs when it is evicted (`None`: not a chunk of a cloud-only
    /// track), with the remote's settings when no client exists yet.
    fn locations(&self, id: &ChunkId) -> std::result::Result<Option<Evicted>, String> {
        let mut reader = crate::mutex::lock(&self.reader);
        if reader.is_none() {
            *reader = Some(
                Catalog::open_reader(&self.root.join("catalog.db"), &self.catalog_key)
                    .map_err(|e| e.to_string())?,
            );
        }
        let Some(catalog) = reader.as_ref() else {
            return Ok(None);
        };
        let found = cloud::evicted_locations(catalog, id).and_then(|found| {
            let config = match &found {
                Some(_) if crate::mutex::lock(&self.connected).is_none() => {
                    state::load_config(catalog)?
                }
                _ => None,
            };
            Ok(found.map(|l| (l, config)))
        });
        if found.is_err() {
            // A connection whose read failed is not kept.
            *reader = None;
        }
        found.map_err(|e| e.to_string())
    }

    fn connect(&self, config: Option<RemoteConfig>) -> std::result::Result<Arc<Connected>, String> {
        let mut connected = crate::mutex::lock(&self.connected);
        if let Some(c) = connected.as_ref() {
            return Ok(c.clone());
        }
        let config = config.ok_or_else(|| "no remote is set up on this device".to_string())?;
        let credentials = RemoteCredentials::from_env()
            .or_else(|| RemoteCredentials::load(&self.vault_id).ok().flatten())
            .or_else(|| held_for_reads(&self.vault_id))
            .ok_or_else(|| SyncError::NoCredentials.to_string())?;
        let rt = super::runtime().map_err(|e| e.to_string())?;
        let remote = S3Remote::new(&config, &credentials, read_policy(), CancelToken::new());
        let c = Arc::new(Connected { rt, remote });
        *connected = Some(c.clone());
        Ok(c)
    }
}

impl ChunkFallback for CloudChunks {
    fn fetch(
        &self,
        store: &ChunkStore,
        id: &ChunkId,
    ) -> std::result::Result<Option<Vec<u8>>, StoreError> {
        let cloud_err = |reason: String| StoreError::Cloud { id: *id, reason };
        let Some((locations, config)) = self.locations(id).map_err(cloud_err)? else {
            return Ok(None);
        };
        if let Some(object) = self.cache.get(id) {
            match store.open(id, object) {
                Ok(plain) => return Ok(Some(plain)),
                // A damaged cache entry is dropped and fetched again.
                Err(_) => self.cache.remove(id),
            }
        }
        let connected = self.connect(config).map_err(cloud_err)?;
        let object = match fetch_object(&connected.remote, &connected.rt, &locations, store, id) {
            Ok(object) => object,
            Err(reason) => {
                // The next read makes a new client, with the remote's settings and
                // keys as they are then (a user may have just corrected them).
                *crate::mutex::lock(&self.connected) = None;
                return Err(cloud_err(reason));
            }
        };
        let plain = store.open(id, object.clone())?;
        self.cache.put(id, &object);
        Ok(Some(plain))
    }
}

/// Encrypted chunk objects as they came from the packs, on disk, up to a size
/// cap; the least recently used (by modification time, refreshed on a hit) go
/// first. Failures to cache are ignored: the cache only saves requests.
struct ObjectCache {
    dir: PathBuf,
    cap: u64,
    /// Bytes in the cache, once counted.
    total: Mutex<Option<u64>>,
}

impl ObjectCache {
    fn new(dir: PathBuf, cap: u64) -> ObjectCache {
        ObjectCache {
            dir,
            cap,
            total: Mutex::new(None),
        }
    }

    fn path(&self, id: &ChunkId) -> PathBuf {
        self.dir.join(id.to_hex())
    }

    fn get(&self, id: &ChunkId) -> Option<Vec<u8>> {
        let path = self.path(id);
        let object = fs::read(&path).ok()?;
        if let Ok(f) = fs::File::options().write(true).open(&path) {
            let _ = f.set_modified(SystemTime::now());
        }
        Some(object)
    }

    fn remove(&self, id: &ChunkId) {
        let path = self.path(id);
        if let Ok(m) = fs::metadata(&path)
            && fs::remove_file(&path).is_ok()
        {
            let mut total = crate::mutex::lock(&self.total);
            if let Some(t) = total.as_mut() {
                *t = t.saturating_sub(m.len());
            }
        }
    }

    fn put(&self, id: &ChunkId, object: &[u8]) {
        if self.cap == 0 || object.len() as u64 > self.cap {
            return;
        }
        if crate::private::create_dir_all(&self.dir).is_err() {
            return;
        }
        let mut total = crate::mutex::lock(&self.total);
        let mut now = match *total {
            Some(t) => t,
            None => entries(&self.dir).iter().map(|(_, len, _)| len).sum(),
        };
        if now + object.len() as u64 > self.cap {
            // Oldest first, down to 3/4 of the cap, so this is not done per insert.
            let mut all = entries(&self.dir);
            all.sort_by_key(|(_, _, modified)| *modified);
            let target = self.cap / 4 * 3;
            for (path, len, _) in all {
                if now + object.len() as u64 <= target {
                    break;
                }
                if fs::remove_file(&path).is_ok() {
                    now = now.saturating_sub(len);
                }
            }
        }
        let tmp = self.dir.join(format!(".{}.tmp", id.to_hex()));
        let written = crate::private::create_new(&tmp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, object))
            .and_then(|()| fs::rename(&tmp, self.path(id)));
        if written.is_ok() {
            now += object.len() as u64;
        } else {
            let _ = fs::remove_file(&tmp);
        }
        *total = Some(now);
    }
}

/// The cache's files: path, length, modification time.
fn entries(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(|e| {
        let e = e.ok()?;
        let m = e.metadata().ok()?;
        m.is_file().then(|| {
            (
                e.path(),
                m.len(),
                m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            )
        })
    })
    .collect()
}
