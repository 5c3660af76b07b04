//! Merging other devices' catalogs into this one.
//!
//! A manifest's snapshot is a whole catalog. Merging it is a join, computed per
//! content (SHA-256), so the result is the same whatever order the lines are
//! merged in, however often, and whichever device does it:
//! - **adds** (`content_adds`): the union, where an add marked removed by any
//!   device stays removed. A content is alive while one of its adds is not
//!   removed. A purge removes the adds its device has seen; an import or restore
//!   that it had not seen survives it, and nothing brings a purged track back.
//! - **state** (active or trashed): the one with the larger Lamport stamp
//!   (`state_clock`); between equal stamps, 'active'.
//! - **the Lamport clock**: raised past every stamp merged, so the next local
//!   choice orders after everything seen.
//! - **tracks**: a content alive here that this catalog lacks is added with its
//!   chunks (fetched first, authenticated, made durable, then committed); a track
//!   whose content is no longer alive is deleted, with its exclusive chunks once
//!   local GC runs. Track rows of a content both sides have stay as they are
//!   (their metadata is derived from the same bytes).
//!
//! A manifest whose tracks could not all be brought over (a damaged remote) is
//! merged as far as it goes, but its line is not counted as merged, so the next
//! pull tries again.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::keyfile;
use super::lines::{Entry, Lines};
use super::objects::{self, Location, Manifest};
use super::pull::{
    CachedStream, fetch_chunks, fetch_plain, fetch_to_cache, prune_snapshot_cache, read_manifest,
    snapshot_cache,
};
use super::refresh::{Depth, refresh};
use super::{Session, SyncError, state};
use crate::catalog::{Catalog, CatalogError};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::store::{ChunkId, hex};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PullFailure {
    pub track_id: String,
    pub file_name: String,
    pub reason: String,
}

/// What merging the lines this device had not merged did.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MergeReport {
    /// The manifests merged, by name.
    pub manifests: Vec<String>,
    pub tracks_added: u64,
    pub tracks_state_changed: u64,
    /// Tracks deleted here because another device purged them.
    pub tracks_purged: u64,
    pub chunks_fetched: u64,
    pub bytes_fetched: u64,
    /// Tracks that could not be brought over, with the reason; their lines stay
    /// unmerged.
    pub failed: Vec<PullFailure>,
    /// A newer vault.json (a passphrase changed elsewhere) was adopted.
    pub vault_json_adopted: bool,
}

impl MergeReport {
    fn absorb(&mut self, one: MergeReport) {
        self.manifests.extend(one.manifests);
        self.tracks_added += one.tracks_added;
        self.tracks_state_changed += one.tracks_state_changed;
        self.tracks_purged += one.tracks_purged;
        self.chunks_fetched += one.chunks_fetched;
        self.bytes_fetched += one.bytes_fetched;
        self.failed.extend(one.failed);
    }
}

/// Merges the newest manifest of every line this catalog does not include yet.
/// `Ok(None)` when the remote has no catalog at all.
pub(crate) fn merge_unmerged(
    s: &Session,
    progress: &dyn Progress,
    cloning: bool,
) -> Result<Option<MergeReport>> {
    let mut report = MergeReport::default();
    let mut refreshed = false;
    // A manifest can vanish between the listing and its download (remote GC drops
    // a line's older manifests once a newer one exists): list again, a few times.
    let mut relists = 0;
    'listing: loop {
        let lines = s.block_on(Lines::list(&s.remote))?;
        if lines.is_empty() {
            return Ok(None);
        }
        let todo = lines.unmerged(&state::heads(&s.vault.catalog())?);
        for entry in todo {
            if s.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            // An earlier merge in this run may have included this line already.
            let heads = state::heads(&s.vault.catalog())?;
            if heads.get(&entry.device).is_some_and(|h| *h >= entry.seq) {
                continue;
            }
            if !refreshed {
                refresh(s.vault, &s.remote, &s.rt, &s.sealer, Depth::Changes)?;
                refreshed = true;
            }
            let manifest =
                match read_manifest(&s.remote, &s.rt, &s.sealer, &entry.name, s.vault.vault_id()) {
                    Ok(m) => m,
                    Err(Error::Sync(SyncError::ObjectNotFound(_))) if relists < 3 => {
                        relists += 1;
                        continue 'listing;
                    }
                    Err(e) => return Err(e),
                };
            check_manifest(&entry, &manifest)?;
            check_epoch(s, &manifest, &mut report)?;
            let one = merge_manifest(s, &entry, &manifest, progress, cloning)?;
            report.absorb(one);
        }
        return Ok(Some(report));
    }
}

/// A manifest is sealed with its name as associated data, so its name cannot
/// lie; its contents must agree with it.
fn check_manifest(entry: &Entry, manifest: &Manifest) -> Result<()> {
    let agrees =
        manifest.device == entry.device && (manifest.format < 2 || manifest.seq == entry.seq);
    if !agrees {
        return Err(SyncError::CorruptObject {
            name: entry.name.clone(),
            reason: "its contents do not match its name".into(),
        }
        .into());
    }
    Ok(())
}

/// A manifest pushed under a newer vault.json than ours: a passphrase changed
/// elsewhere. Adopt the newer key file; if the remote has none, it was rolled
/// back (or deleted), and merging would hide that.
fn check_epoch(s: &Session, manifest: &Manifest, report: &mut MergeReport) -> Result<()> {
    let ours = s.vault.current_config()?.epoch;
    if manifest.epoch <= ours {
        return Ok(());
    }
    let outcome = keyfile::reconcile(s.vault, &s.remote, &s.rt, false)?;
    report.vault_json_adopted |= outcome.adopted;
    let now = s.vault.current_config()?.epoch;
    if manifest.epoch > now {
        return Err(SyncError::KeyRolledBack {
            key_epoch: now,
            manifest_epoch: manifest.epoch,
        }
        .into());
    }
    Ok(())
}

/// A manifest's catalog snapshot rebuilt in tmp/ (removed when dropped, and by
/// the temp cleanup if the process dies) and migrated to this version's schema.
struct SnapshotFile(std::path::PathBuf);

impl SnapshotFile {
    fn fetch(s: &Session, entry: &Entry, manifest: &Manifest) -> Result<SnapshotFile> {
        let random: [u8; 8] = crate::keys::random_array()?;
        let file = SnapshotFile(s.vault.root().join("tmp").join(format!(
            "{}-{}-pull.db",
            std::process::id(),
            hex(&random)
        )));
        let locations = manifest
            .snapshot
            .iter()
            .map(|c| manifest_location(&entry.name, c))
            .collect::<Result<Vec<_>>>()?;
        let cache = snapshot_cache(s.vault, &entry.device);
        let wrong_size = || -> Error {
            SyncError::CorruptObject {
                name: entry.name.clone(),
                reason: "the catalog snapshot has the wrong size".into(),
            }
            .into()
        };
        if manifest.format >= 3 {
            // A row stream: fetched into the cache, then read chunk by chunk into an
            // encrypted database file, so neither the stream nor the catalog is ever
            // whole in memory, and nothing of it touches the disk in clear.
            fetch_to_cache(
                s.vault,
                &s.remote,
                &s.rt,
                &locations,
                s.parallelism,
                s.cancel,
                &cache,
            )?;
            let conn = crate::catalog::cipher::create_encrypted(&file.0, s.vault.catalog_key())?;
            let mut stream = CachedStream::new(s.vault, &s.remote, &s.rt, &cache, &locations);
            let decoded = crate::catalog::rows::decode_into(&conn, &mut stream);
            drop(conn);
            if let Some(e) = stream.failure.take() {
                return Err(e);
            }
            decoded?;
            if stream.total != manifest.snapshot_size {
                return Err(wrong_size());
            }
            // The cache keeps this snapshot's chunks only: one snapshot per line.
            prune_snapshot_cache(&cache, &locations.iter().map(|l| l.chunk).collect());
        } else {
            // A manifest of format 2: the snapshot is the database file itself.
            let plain = fetch_plain(
                s.vault,
                &s.remote,
                &s.rt,
                &locations,
                s.parallelism,
                s.cancel,
                Some(&cache),
            )?;
            if plain.len() as u64 != manifest.snapshot_size {
                return Err(wrong_size());
            }
            prune_snapshot_cache(&cache, &locations.iter().map(|l| l.chunk).collect());
            if crate::catalog::rows::is_rows(&plain) {
                let memory = crate::catalog::rows::decode(&plain)?;
                drop(plain);
                crate::catalog::cipher::write_encrypted_copy_of(
                    &memory,
                    &file.0,
                    s.vault.catalog_key(),
                )?;
            } else {
                crate::catalog::cipher::write_encrypted_copy(
                    &plain,
                    &file.0,
                    s.vault.catalog_key(),
                )?;
            }
        }
        match Catalog::open(&file.0, s.vault.catalog_key()) {
            Ok(c) => drop(c),
            Err(CatalogError::TooNew { found, known, .. }) => {
                return Err(SyncError::Other(format!(
                    "the remote catalog was pushed by a newer Audiovault (schema {found}, this one knows {known}): upgrade Audiovault"
                ))
                .into());
            }
            Err(e) => return Err(e.into()),
        }
        Ok(file)
    }
}

impl Drop for SnapshotFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What merging one manifest would change here, counted without changing
/// anything (its snapshot is fetched; no chunk is).
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Incoming {
    pub device: String,
    pub seq: u64,
    /// Server time the manifest was written (RFC 3339).
    pub pushed_at: Option<String>,
    pub new_tracks: u64,
    /// Bytes of audio and artwork those tracks would bring (chunks not held here).
    pub new_bytes: u64,
    pub state_changes: u64,
    pub purges: u64,
}

pub(crate) fn preview(s: &Session, entry: &Entry, manifest: &Manifest) -> Result<Incoming> {
    let snap = SnapshotFile::fetch(s, entry, manifest)?;
    let catalog = s.vault.catalog();
    let attached = catalog.attach_snapshot(&snap.0, s.vault.catalog_key())?;
    let crate::catalog::merge::MergePlan { new_tracks, chunks } = attached.plan()?;
    let (state_changes, purges) = attached.count_changes()?;
    drop(attached);
    let new_bytes = chunks
        .iter()
        .filter(|(id, size)| !s.vault.store().holds_intact(id, Some(*size)))
        .map(|(_, size)| size)
        .sum();
    Ok(Incoming {
        device: entry.device.clone(),
        seq: entry.seq,
        pushed_at: (entry.modified > 0).then(|| crate::catalog::format_time(entry.modified)),
        new_tracks: new_tracks.len() as u64,
        new_bytes,
        state_changes,
        purges,
    })
}

fn merge_manifest(
    s: &Session,
    entry: &Entry,
    manifest: &Manifest,
    progress: &dyn Progress,
    cloning: bool,
) -> Result<MergeReport> {
    let vault = s.vault;
    let snap = SnapshotFile::fetch(s, entry, manifest)?;
    let snap_path = snap.0.clone();
    let crate::catalog::merge::MergePlan { new_tracks, chunks } = vault
        .catalog()
        .attach_snapshot(&snap_path, vault.catalog_key())?
        .plan()?;
    // A chunk file is trusted only once its length is right and it authenticates,
    // never because it exists (a power cut can tear it).
    let needed: Vec<ChunkId> = chunks
        .iter()
        .filter(|(id, size)| !vault.store().holds_intact(id, Some(*size)))
        .map(|(id, _)| *id)
        .collect();
    let mut unavailable: HashSet<ChunkId> = HashSet::new();
    let mut fetch_list = Vec::new();
    {
        let catalog = vault.catalog();
        for id in &needed {
            match state::location(&catalog, id)? {
                Some(loc) => fetch_list.push(loc),
                None => {
                    unavailable.insert(*id);
                }
            }
        }
    }
    let fetched = fetch_chunks(
        vault,
        &s.remote,
        &s.rt,
        &fetch_list,
        s.parallelism,
        progress,
        s.cancel,
    )?;
    if s.cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    // Why each chunk could not be fetched (an archived pack says how to restore it).
    let mut reasons: HashMap<ChunkId, String> = HashMap::new();
    for (id, reason) in &fetched.failed {
        unavailable.insert(*id);
        reasons.insert(*id, reason.clone());
    }
    // Everything the new tracks reference is durable before the commit, whether
    // fetched now or found (and authenticated) in the store: a chunk found intact
    // may be another process's write that is not on the disk yet.
    if !new_tracks.is_empty() {
        let referenced: Vec<ChunkId> = chunks.iter().map(|(id, _)| *id).collect();
        vault.store().make_durable(&referenced)?;
    }

    let mut heads = manifest.heads.clone();
    heads.insert(entry.device.clone(), entry.seq);
    let catalog = vault.catalog();
    let outcome = catalog
        .attach_snapshot(&snap_path, vault.catalog_key())?
        .apply(&new_tracks, &unavailable, &heads, cloning)?;
    let mut report = MergeReport {
        tracks_added: outcome.tracks_added,
        tracks_state_changed: outcome.tracks_state_changed,
        tracks_purged: outcome.tracks_purged,
        failed: outcome
            .failed
            .into_iter()
            .map(|f| PullFailure {
                reason: match reasons.get(&f.chunk) {
                    Some(why) => format!(
                        "chunk {} could not be fetched from the remote: {why}",
                        f.chunk
                    ),
                    None => format!("chunk {} could not be fetched from the remote", f.chunk),
                },
                track_id: f.track_id,
                file_name: f.file_name,
            })
            .collect(),
        ..Default::default()
    };
    report.manifests.push(entry.name.clone());
    report.chunks_fetched = fetched.written.len() as u64;
    report.bytes_fetched = fetched.bytes;
    catalog.log_activity(
        crate::catalog::LogKind::Sync,
        &format!(
            "merged {}: {} tracks added, {} changed state, {} purged, {} could not be fetched",
            entry.name,
            report.tracks_added,
            report.tracks_state_changed,
            report.tracks_purged,
            report.failed.len()
        ),
    )?;
    Ok(report)
}

fn manifest_location(name: &str, c: &objects::ManifestChunk) -> Result<Location> {
    let bad = || SyncError::CorruptObject {
        name: name.to_string(),
        reason: "malformed chunk entry".into(),
    };
    Ok(Location {
        chunk: ChunkId::from_hex(&c.id).ok_or_else(bad)?,
        pack: objects::id32_from_hex(&c.pack).ok_or_else(bad)?,
        offset: c.offset,
        length: c.length,
    })
}
