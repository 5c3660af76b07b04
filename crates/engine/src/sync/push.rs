//! Push, in this order: a lease announces the push (see `lease`); vault.json is
//! adopted from the remote or uploaded (see `keyfile`); the other devices' lines
//! this catalog has not merged are merged (see `merge`), so a manifest never
//! leaves out what its device could have seen; every chunk the remote lacks goes
//! up, packed; then the catalog snapshot through the same chunks (so successive
//! snapshots share what did not change); then the index of the new packs; then a
//! look at GC marks made meanwhile (their packs are uploaded again rather than
//! relied on); then the manifest, last, as the next number of this device's line.
//! A manifest on the remote thus always means everything it references is there,
//! and a push cut short at any point redoes only what is missing: finished packs
//! are recorded in the catalog as they land.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::lease::Lease;
use super::lines::Lines;
use super::merge::{self, MergeReport};
use super::objects::{self, INDEXES, Location, Manifest, ManifestChunk, Sealer};
use super::pull::in_parallel;
use super::refresh::{self as view, Depth, refresh};
use super::s3::S3Remote;
use super::{RemoteCredentials, Session, SyncError, SyncOptions, keyfile, state};
use crate::catalog::rows::SNAPSHOT_CHUNKER;
use crate::catalog::{SCHEMA_VERSION, now_unix, now_unix_millis};
use crate::error::{Error, Result};
use crate::progress::{CancelToken, Progress};
use crate::store::chunker::CutWriter;
use crate::store::{ChunkId, hex};
use crate::vault::Vault;

/// A pack is closed once it reaches this size: big enough that a large library is
/// not millions of objects, small enough that a retry resends little.
pub(crate) const PACK_TARGET: u64 = 8 << 20;

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushReport {
    /// True when the catalog and chunks were already on the remote: no request made.
    pub nothing_new: bool,
    pub remote: String,
    /// This device's id: its line of manifests is named after it.
    pub device: String,
    /// The new manifest's place in this device's line.
    pub seq: u64,
    /// Other devices' catalogs merged before the push (a push never writes a
    /// manifest that leaves out what it has seen of theirs).
    pub merged: MergeReport,
    /// This device's vault.json went up as the newest key file.
    pub vault_json_uploaded: bool,
    /// A newer vault.json from another device was adopted instead.
    pub vault_json_adopted: bool,
    pub packs_uploaded: u64,
    pub chunks_uploaded: u64,
    pub bytes_uploaded: u64,
    pub snapshot_bytes: u64,
    pub snapshot_chunks_uploaded: u64,
    pub manifest: Option<String>,
    pub tracks: u64,
    pub requests_put: u64,
    pub requests_get: u64,
    pub requests_list: u64,
    pub retries: u64,
    pub seconds: f64,
}

/// Where a pack's chunk comes from.
pub(crate) enum Source {
    /// A chunk file of the local store, with its stored size.
    Local(ChunkId, u64),
    /// A sealed chunk of the catalog snapshot in the push's spill file: (offset, length).
    Spilled(ChunkId, Arc<Spill>, u64, u64),
}

impl Source {
    fn id(&self) -> ChunkId {
        match self {
            Source::Local(id, _) | Source::Spilled(id, ..) => *id,
        }
    }
    fn size(&self) -> u64 {
        match self {
            Source::Local(_, n) => *n,
            Source::Spilled(_, _, _, length) => *length,
        }
    }
}

/// The sealed snapshot chunks a push has to upload, in a file under the vault's
/// `tmp/` until they are: ciphertext only, as in the chunk store, so a first push
/// of a large library holds none of its catalog in memory. Removed when the push
/// is done with it; a crash leaves a pid-named temp file that the next open of the
/// vault removes.
pub(crate) struct Spill {
    path: std::path::PathBuf,
    file: Mutex<std::fs::File>,
    len: u64,
}

impl Spill {
    fn create(vault: &Vault) -> Result<Spill> {
        let path = crate::store::durable::temp_path(&vault.root().join("tmp"))?;
        let file = crate::private::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Spill {
            path,
            file: Mutex::new(file),
            len: 0,
        })
    }

    /// Appends a sealed object; returns its (offset, length).
    fn append(&mut self, object: &[u8]) -> std::io::Result<(u64, u64)> {
        use std::io::Write;
        let at = self.len;
        crate::mutex::lock(&self.file).write_all(object)?;
        self.len += object.len() as u64;
        Ok((at, object.len() as u64))
    }

    fn read(&self, offset: u64, length: u64) -> Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = crate::mutex::lock(&self.file);
        let mut object = vec![0; length as usize];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut object))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(object)
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The catalog snapshot a push sends: cut, sealed and spilled as it was read
/// (see `state::write_snapshot_to`), never whole in memory.
struct Snapshot {
    generation: i64,
    schema_version: i64,
    tracks: u64,
    /// The SHA-256 of every track in it.
    shas: Vec<Vec<u8>>,
    /// Chunks it references that the remote lacks (audio in track order, then
    /// cover art), each once.
    missing: Vec<(ChunkId, u64)>,
    /// Packs holding the chunks it references that the remote has.
    packs: Vec<[u8; 32]>,
    /// The row stream's chunk ids in order, and its size.
    ids: Vec<ChunkId>,
    size: u64,
    /// Its chunks the remote lacks, sealed in the spill file.
    sources: Vec<Source>,
}

/// The manifest format a push writes: 3, the snapshot a row stream (2: a SQLite file).
pub(crate) const MANIFEST_FORMAT: u32 = 3;

/// How many times a push uploads again what a concurrent remote GC marked
/// before it gives up.
const MAX_ROUNDS: usize = 3;

impl Vault {
    /// Pushes to the configured remote: announces itself with a lease, adopts or
    /// uploads vault.json, merges the other devices' lines it has not merged, then
    /// uploads what the remote lacks and writes the next manifest of its own line.
    /// See the module docs for the order of work.
    pub fn push(
        &self,
        credentials: &RemoteCredentials,
        options: &SyncOptions,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<PushReport> {
        let started = Instant::now();
        let config = self.remote_config()?.ok_or(SyncError::NotConfigured)?;
        // Local GC may not delete chunk files while they are read for upload.
        let lock = self.lock_shared()?;
        let vault_json = std::fs::read(self.root().join("vault.json"))
            .map_err(|e| Error::io(self.root().join("vault.json"), e))?;
        let vault_json_hash = hex(&Sha256::digest(&vault_json));
        let device = self.catalog().device_id()?;
        {
            let catalog = self.catalog();
            let generation = state::sync_generation(&catalog)?;
            let pushed = state::get(&catalog, state::PUSHED_GENERATION)?;
            let (pending, _) = state::unsynced_chunks(&catalog)?;
            if pending == 0
                && pushed.as_deref() == Some(generation.to_string().as_str())
                && state::get(&catalog, state::PUSHED_VAULT_JSON)?.as_deref()
                    == Some(vault_json_hash.as_str())
            {
                return Ok(PushReport {
                    nothing_new: true,
                    remote: config.url(),
                    device,
                    seq: state::heads(&catalog)?
                        .get(&catalog.device_id()?)
                        .copied()
                        .unwrap_or(0),
                    seconds: started.elapsed().as_secs_f64(),
                    ..Default::default()
                });
            }
        }

        let _sync = self.lock_sync()?;
        let s = Session::open(self, credentials, options, cancel)?;
        let lease = s.block_on(Lease::take(&s.remote, &s.sealer, &device, "push"))?;
        let pushed = self.push_under_lease(&s, &lease, &device, progress);
        // Released whatever happened (a cancelled push too, so its lease does not
        // hold remote GC off for hours); only a crash leaves one to go stale.
        let released = s.block_on(lease.release(&s.remote.for_cleanup()));
        let mut report = pushed?;
        released?;
        drop(lock);
        // Tracks another device purged went in the merge; their chunks go now that
        // the shared lock is released (an import running meanwhile keeps them
        // until the next GC).
        if report.merged.tracks_purged > 0 {
            match self.gc() {
                Ok(_) | Err(Error::Busy(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let stats = s.remote.stats();
        report.requests_put = stats.puts.load(Ordering::Relaxed);
        report.requests_get = stats.gets.load(Ordering::Relaxed);
        report.requests_list = stats.lists.load(Ordering::Relaxed);
        report.retries = stats.retries.load(Ordering::Relaxed);
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    fn push_under_lease(
        &self,
        s: &Session,
        lease: &Lease,
        device: &str,
        progress: &dyn Progress,
    ) -> Result<PushReport> {
        let cancel = s.cancel;
        let mut report = PushReport {
            remote: s.config.url(),
            device: device.to_string(),
            ..Default::default()
        };
        let keys = keyfile::reconcile(self, &s.remote, &s.rt, true)?;
        report.vault_json_uploaded = keys.uploaded;
        report.vault_json_adopted = keys.adopted;
        report.merged = merge::merge_unmerged(s, progress, false)?.unwrap_or_default();
        report.vault_json_adopted |= report.merged.vault_json_adopted;
        let mut view = refresh(self, &s.remote, &s.rt, &s.sealer, Depth::Changes)?;

        let mut rounds = 0;
        let (snapshot, manifest) = loop {
            rounds += 1;
            let mut snapshot = self.snapshot()?;
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let missing: Vec<Source> = snapshot
                .missing
                .iter()
                .map(|(id, size)| Source::Local(*id, *size))
                .collect();
            report.tracks = snapshot.tracks;
            report.snapshot_bytes = snapshot.size;
            report.snapshot_chunks_uploaded += snapshot.sources.len() as u64;
            let mut all = missing;
            all.extend(std::mem::take(&mut snapshot.sources));
            let plans = plan_packs(all);
            progress.start(
                plans.len() as u64,
                plans.iter().flatten().map(Source::size).sum(),
            );
            let uploaded = upload_packs(self, s, Some(lease), plans, progress);
            // Whatever landed is indexed even when the push stops early, so other
            // devices can find it.
            let indexed = write_index(self, &s.remote, &s.rt, &s.sealer);
            let (packs, chunks, bytes) = uploaded?;
            indexed?;
            report.packs_uploaded += packs;
            report.chunks_uploaded += chunks;
            report.bytes_uploaded += bytes;
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let manifest = self.manifest(&snapshot, device)?;
            // A remote GC may have marked packs since the refresh; the manifest must
            // not lean on them. Their chunks go up again in new packs.
            let doomed = new_marks(s, &mut view.marks_seen)?;
            let relied: Vec<[u8; 32]> = manifest
                .packs
                .iter()
                .filter_map(|p| objects::id32_from_hex(p))
                .filter(|p| doomed.contains(p))
                .collect();
            if relied.is_empty() {
                break (snapshot, manifest);
            }
            state::forget_packs(&self.catalog(), &relied)?;
            if rounds >= MAX_ROUNDS {
                return Err(SyncError::Other(format!(
                    "a remote GC keeps marking packs this push relies on ({} this round); run the push again later",
                    relied.len()
                ))
                .into());
            }
        };

        // The next number of this device's line: past anything of it on the
        // remote or in this catalog (a catalog restored from an older copy must
        // not reuse a number).
        let lines = s.block_on(Lines::list(&s.remote))?;
        let own_remote = lines.newest(device).map_or(0, |e| e.seq);
        let heads = state::heads(&self.catalog())?;
        let seq = own_remote.max(heads.get(device).copied().unwrap_or(0)) + 1;
        let manifest = Manifest {
            seq,
            heads: heads.into_iter().filter(|(d, _)| d != device).collect(),
            ..manifest
        };
        let name = objects::manifest_name(device, seq);
        let body = serde_json::to_vec(&manifest)
            .map_err(|e| SyncError::Other(format!("cannot encode the manifest: {e}")))?;
        s.block_on(s.remote.put(&name, s.sealer.seal(&name, &body)?))?;

        let vault_json = std::fs::read(self.root().join("vault.json"))
            .map_err(|e| Error::io(self.root().join("vault.json"), e))?;
        let catalog = self.catalog();
        state::record_push(&catalog, device, seq, &snapshot.shas)?;
        state::set(
            &catalog,
            state::PUSHED_GENERATION,
            &snapshot.generation.to_string(),
        )?;
        state::set(
            &catalog,
            state::PUSHED_VAULT_JSON,
            &hex(&Sha256::digest(&vault_json)),
        )?;
        state::set(&catalog, state::LAST_PUSH_AT, &now_unix().to_string())?;
        state::set(&catalog, state::LAST_MANIFEST, &name)?;
        catalog.log_activity(
            crate::catalog::LogKind::Sync,
            &format!(
                "pushed to {}: {} packs, {} bytes, {} tracks in the catalog, manifest {} of this device's line",
                s.config.url(),
                report.packs_uploaded,
                report.bytes_uploaded,
                report.tracks,
                seq
            ),
        )?;
        report.seq = seq;
        report.manifest = Some(name);
        Ok(report)
    }

    /// Reads the catalog snapshot as a row stream, cut by CDC as it comes; each
    /// chunk the remote lacks is sealed into the spill file.
    fn snapshot(&self) -> Result<Snapshot> {
        let catalog = self.catalog();
        let store = self.store();
        let mut spill = Spill::create(self)?;
        let mut ids = Vec::new();
        let mut spilled = Vec::new();
        let mut size = 0u64;
        let mut seen = HashSet::new();
        let mut failure: Option<Error> = None;
        let written = {
            let mut writer = CutWriter::new(&SNAPSHOT_CHUNKER, |data: &[u8]| {
                let mut step = || -> Result<()> {
                    size += data.len() as u64;
                    let id = store.id_for(data);
                    ids.push(id);
                    if seen.insert(id) && !state::has_location(&catalog, &id)? {
                        let object = store.seal_object(&id, data)?;
                        let (offset, length) = spill
                            .append(&object)
                            .map_err(|e| Error::io(&spill.path, e))?;
                        spilled.push((id, offset, length));
                    }
                    Ok(())
                };
                step().map_err(|e| {
                    failure.get_or_insert(e);
                    std::io::Error::other("the snapshot's chunk could not be sealed")
                })
            });
            state::write_snapshot_to(&catalog, &mut writer)
                .map(|contents| (contents, writer.finish()))
        };
        if let Some(e) = failure {
            return Err(e);
        }
        let (contents, finished) = written?;
        finished.map_err(|e| Error::io("catalog snapshot", e))?;
        let spill = Arc::new(spill);
        Ok(Snapshot {
            generation: contents.generation,
            schema_version: contents.schema_version,
            tracks: contents.tracks,
            shas: contents.shas,
            missing: contents.missing,
            packs: contents.packs,
            ids,
            size,
            sources: spilled
                .into_iter()
                .map(|(id, offset, length)| Source::Spilled(id, Arc::clone(&spill), offset, length))
                .collect(),
        })
    }

    fn manifest(&self, snapshot: &Snapshot, device: &str) -> Result<Manifest> {
        let catalog = self.catalog();
        let mut packs = HashSet::new();
        let mut chunks = Vec::with_capacity(snapshot.ids.len());
        for id in &snapshot.ids {
            let loc = state::location(&catalog, id)?
                .ok_or_else(|| SyncError::Other(format!("snapshot chunk {id} was not uploaded")))?;
            packs.insert(loc.pack);
            chunks.push(ManifestChunk {
                id: id.to_hex(),
                pack: hex(&loc.pack),
                offset: loc.offset,
                length: loc.length,
            });
        }
        // Chunks that were on the remote at the snapshot: their packs, found then.
        packs.extend(snapshot.packs.iter().copied());
        // Chunks this push uploaded: one lookup each (what changed, not the library).
        for (id, _) in &snapshot.missing {
            let loc = state::location(&catalog, id)?
                .ok_or_else(|| SyncError::Other(format!("chunk {id} was not uploaded")))?;
            packs.insert(loc.pack);
        }
        let mut packs: Vec<String> = packs.iter().map(|p| hex(p)).collect();
        packs.sort();
        Ok(Manifest {
            format: MANIFEST_FORMAT,
            vault_id: self.vault_id().to_string(),
            device: device.to_string(),
            // Set by the caller, which knows the line's next number and the heads.
            seq: 0,
            heads: BTreeMap::new(),
            epoch: self.current_config()?.epoch,
            created_at_ms: now_unix_millis(),
            schema_version: snapshot.schema_version.min(SCHEMA_VERSION),
            snapshot_size: snapshot.size,
            snapshot: chunks,
            packs,
            tracks: snapshot.tracks,
        })
    }
}

/// Packs doomed by GC marks that appeared since `seen` (which it extends).
fn new_marks(s: &Session, seen: &mut HashSet<String>) -> Result<HashSet<[u8; 32]>> {
    let marks = s.block_on(s.remote.list(objects::GC_MARKS))?;
    let mut doomed = HashSet::new();
    for mark in marks {
        if !seen.insert(mark.name.clone()) {
            continue;
        }
        let Some(sealed) = s.block_on(s.remote.get(&mark.name))? else {
            continue;
        };
        let content: objects::GcMark = s.sealer.open_json(&mark.name, sealed)?;
        doomed.extend(
            content
                .packs
                .iter()
                .filter_map(|p| objects::id32_from_hex(p)),
        );
    }
    Ok(doomed)
}

pub(crate) fn plan_packs(sources: Vec<Source>) -> Vec<Vec<Source>> {
    let mut plans = Vec::new();
    let mut current = Vec::new();
    let mut size = 0;
    for s in sources {
        size += s.size();
        current.push(s);
        if size >= PACK_TARGET {
            plans.push(std::mem::take(&mut current));
            size = 0;
        }
    }
    if !current.is_empty() {
        plans.push(current);
    }
    plans
}

/// Uploads packs with `parallelism` workers; each finished pack is recorded in
/// the catalog at once. Returns (packs, chunks, bytes).
fn upload_packs(
    vault: &Vault,
    s: &Session,
    lease: Option<&Lease>,
    plans: Vec<Vec<Source>>,
    progress: &dyn Progress,
) -> Result<(u64, u64, u64)> {
    let (remote, rt, parallelism, cancel) = (&s.remote, &s.rt, s.parallelism, s.cancel);
    let totals = Mutex::new((0u64, 0u64, 0u64));
    let plans: Vec<Mutex<Option<Vec<Source>>>> =
        plans.into_iter().map(|p| Mutex::new(Some(p))).collect();
    in_parallel(plans.len(), parallelism, cancel, |i| {
        let Some(plan) = crate::mutex::lock(&plans[i]).take() else {
            return Ok(());
        };
        let (chunks, bytes) = upload_one(vault, remote, rt, plan)?;
        // Best effort: a lease that goes stale only makes GC stop waiting, and the
        // check before the manifest still holds.
        if let Some(lease) = lease {
            let _ = rt.block_on(lease.keep_alive(remote));
        }
        let mut t = crate::mutex::lock(&totals);
        t.0 += 1;
        t.1 += chunks;
        t.2 += bytes;
        drop(t);
        progress.advance(bytes);
        progress.item_finished(std::path::Path::new("pack"), true);
        Ok(())
    })?;
    let t = *crate::mutex::lock(&totals);
    Ok(t)
}

fn upload_one(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    plan: Vec<Source>,
) -> Result<(u64, u64)> {
    let pack: [u8; 32] = crate::keys::random_array()?;
    let mut body = Vec::with_capacity(plan.iter().map(Source::size).sum::<u64>() as usize);
    let mut entries = Vec::with_capacity(plan.len());
    for source in plan {
        let id = source.id();
        let object = match source {
            Source::Local(id, _) => vault.store().read_object(&id).map_err(|e| {
                SyncError::Other(format!(
                    "{e}: it was not pushed; run `audiovault verify --repair` or re-import the track"
                ))
            })?,
            Source::Spilled(_, spill, offset, length) => spill.read(offset, length)?,
        };
        entries.push(Location {
            chunk: id,
            pack,
            offset: body.len() as u64,
            length: object.len() as u64,
        });
        body.extend_from_slice(&object);
    }
    let size = body.len() as u64;
    rt.block_on(remote.put_pack(&objects::pack_name(&pack), body))?;
    state::record_packs(&vault.catalog(), &[(pack, size)], &entries, None)?;
    Ok((entries.len() as u64, size))
}

/// Writes one index object for this device's packs that none lists yet.
fn write_index(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    sealer: &Sealer,
) -> Result<()> {
    let state::PackList { packs, entries } = state::unindexed(&vault.catalog())?;
    let index = objects::IndexObject { packs, entries };
    if index.packs.is_empty() {
        return Ok(());
    }
    let device = state::device_id(&vault.catalog())?;
    let name = objects::numbered_name(
        INDEXES,
        &device,
        view::next_number(vault, INDEXES, &device)?,
    )?;
    let sealed = sealer.seal(&name, &index.encode())?;
    rt.block_on(remote.put(&name, sealed))?;
    let packs: Vec<[u8; 32]> = index.packs.iter().map(|(p, _)| *p).collect();
    state::mark_indexed(&vault.catalog(), &packs, &name)?;
    view::mark_read(vault, INDEXES, &name)?;
    Ok(())
}
