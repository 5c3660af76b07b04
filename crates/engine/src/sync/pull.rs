//! Pull and clone: read the newest manifest, rebuild its catalog snapshot from
//! the remote's chunks, fetch the chunks of tracks this device lacks, then merge
//! the snapshot into the local catalog in one transaction. Chunks are made durable
//! before the transaction that references them, as on import; fetched chunks stay
//! on disk if the pull stops, so running it again fetches only the rest.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::objects::{self, CATALOGS, Location, Manifest, Sealer};
use super::push::refresh;
use super::s3::S3Remote;
use super::{RemoteConfig, RemoteCredentials, SyncError, SyncOptions, runtime, state};
use crate::catalog::{Catalog, CatalogError, now_unix};
use crate::error::{Error, Result};
use crate::progress::{CancelToken, Progress};
use crate::secret::Passphrase;
use crate::store::{ChunkId, hex};
use crate::vault::{LockedVault, Vault};

/// Ranges of one pack closer than this are fetched in one request.
const MERGE_GAP: u64 = 1 << 20;

#[derive(Debug, Clone, Default, Serialize)]
pub struct PullReport {
    /// True when the newest manifest was already merged.
    pub up_to_date: bool,
    pub remote: String,
    pub manifest: Option<String>,
    pub tracks_added: u64,
    pub tracks_state_changed: u64,
    pub chunks_fetched: u64,
    pub bytes_fetched: u64,
    /// Tracks that could not be brought over, with the reason.
    pub failed: Vec<PullFailure>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PullFailure {
    pub track_id: String,
    pub file_name: String,
    pub reason: String,
}

impl Vault {
    /// Merges the newest catalog on the remote into this one and fetches the
    /// chunks of the tracks it adds.
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
        let config = self.remote_config()?.ok_or(SyncError::NotConfigured)?;
        let _lock = self.lock_shared()?;
        let rt = runtime()?;
        let remote = S3Remote::new(&config, credentials, options.retry, cancel.clone());
        let sealer = Sealer::new(self.master_key(), self.vault_id());
        let parallelism = options.parallelism.unwrap_or(config.parallelism).max(1) as usize;
        let mut report = PullReport {
            remote: config.url(),
            ..Default::default()
        };

        let manifests = rt.block_on(remote.list(CATALOGS))?;
        let Some(newest) = manifests.iter().map(|m| m.name.clone()).max() else {
            return Err(SyncError::NoCatalogOnRemote.into());
        };
        report.manifest = Some(newest.clone());
        if !cloning
            && state::get(&self.catalog(), state::MERGED_MANIFEST)?.as_deref() == Some(&newest)
        {
            report.up_to_date = true;
            state::set(
                &self.catalog(),
                state::LAST_PULL_AT,
                &now_unix().to_string(),
            )?;
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
        refresh(self, &remote, &rt, &sealer)?;
        let manifest = read_manifest(&remote, &rt, &sealer, &newest, self.vault_id())?;

        // Rebuild the snapshot in tmp/ (cleaned if we die) and bring it to our schema.
        let random: [u8; 8] = crate::keys::random_array()?;
        let snap_path = self.root().join("tmp").join(format!(
            "{}-{}-pull.db",
            std::process::id(),
            hex(&random)
        ));
        let _cleanup = RemoveOnDrop(snap_path.clone());
        let locations = manifest
            .snapshot
            .iter()
            .map(|c| manifest_location(&newest, c))
            .collect::<Result<Vec<_>>>()?;
        let plain = fetch_plain(self, &remote, &rt, &locations)?;
        if plain.len() as u64 != manifest.snapshot_size {
            return Err(SyncError::CorruptObject {
                name: newest.clone(),
                reason: "the catalog snapshot has the wrong size".into(),
            }
            .into());
        }
        std::fs::write(&snap_path, &plain).map_err(|e| Error::io(&snap_path, e))?;
        drop(plain);
        match Catalog::open(&snap_path) {
            Ok(c) => drop(c),
            Err(CatalogError::TooNew { found, known, .. }) => {
                return Err(SyncError::Other(format!(
                    "the remote catalog was pushed by a newer Audiovault (schema {found}, this one knows {known}): upgrade Audiovault"
                ))
                .into());
            }
            Err(e) => return Err(e.into()),
        }

        // Which tracks are new here, and which of their chunks we lack.
        let (new_tracks, needed) = {
            let catalog = self.catalog();
            attach(&catalog, &snap_path)?;
            let result = plan_merge(&catalog, self);
            detach(&catalog);
            result?
        };
        let mut unavailable: HashSet<ChunkId> = HashSet::new();
        let mut fetch_list = Vec::new();
        {
            let catalog = self.catalog();
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
            self,
            &remote,
            &rt,
            &fetch_list,
            parallelism,
            progress,
            cancel,
        )?;
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        for (id, _) in &fetched.failed {
            unavailable.insert(*id);
        }
        report.chunks_fetched = fetched.written.len() as u64;
        report.bytes_fetched = fetched.bytes;
        self.store().make_durable(&fetched.written)?;

        let catalog = self.catalog();
        attach(&catalog, &snap_path)?;
        let merged = merge(&catalog, &new_tracks, &unavailable, cloning);
        detach(&catalog);
        let (added, changed, failed) = merged?;
        report.tracks_added = added;
        report.tracks_state_changed = changed;
        report.failed = failed;
        state::set(&catalog, state::MERGED_MANIFEST, &newest)?;
        state::set(&catalog, state::LAST_PULL_AT, &now_unix().to_string())?;
        catalog.log_activity(
            "sync",
            &format!(
                "pulled from {}: {} tracks added, {} changed state, {} could not be fetched",
                config.url(),
                added,
                changed,
                report.failed.len()
            ),
        )?;
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
    let remote_json = rt
        .block_on(remote.get(objects::VAULT_JSON))?
        .ok_or_else(|| SyncError::NoVaultOnRemote(config.url()))?;
    let remote_id = objects::vault_id_of(&remote_json).ok_or_else(|| SyncError::CorruptObject {
        name: objects::VAULT_JSON.into(),
        reason: "not a vault description".into(),
    })?;
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
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        crate::vault::write_atomic(&config_path, &remote_json)?;
    }
    let vault = match LockedVault::open(root).and_then(|l| l.unlock(passphrase)) {
        Ok(v) => v,
        Err(e) => {
            // A wrong passphrase must not leave a half-made vault behind.
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

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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
    let manifest: Manifest = serde_json::from_slice(&sealer.open(name, sealed)?).map_err(|e| {
        SyncError::CorruptObject {
            name: name.to_string(),
            reason: e.to_string(),
        }
    })?;
    if manifest.vault_id != vault_id {
        return Err(SyncError::OtherVault {
            remote: manifest.vault_id,
            local: vault_id.to_string(),
        }
        .into());
    }
    Ok(manifest)
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

/// Downloads and decrypts chunks in order, in memory (the catalog snapshot).
fn fetch_plain(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    locations: &[Location],
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for loc in locations {
        let object = rt
            .block_on(remote.get_range(
                &objects::pack_name(&loc.pack),
                Some((loc.offset, loc.length)),
            ))?
            .ok_or_else(|| SyncError::ObjectNotFound(objects::pack_name(&loc.pack)))?;
        out.extend_from_slice(&vault.store().open(&loc.chunk, object)?);
    }
    Ok(out)
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
                        crate::ingest::lock(&first_error).get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = crate::ingest::lock(&first_error).take() {
        // What did arrive stays: make it durable so a rerun need not fetch it again.
        let written = std::mem::take(&mut crate::ingest::lock(&result).written);
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
            let mut r = crate::ingest::lock(result);
            for l in group {
                r.failed
                    .push((l.chunk, format!("pack {name} is missing on the remote")));
            }
            return Ok(());
        }
        Err(SyncError::Cancelled) => return Err(Error::Cancelled),
        Err(e) => return Err(e.into()),
    };
    for l in group {
        let from = (l.offset - start) as usize;
        let object = &data[from..from + l.length as usize];
        let outcome = vault.store().put_object(&l.chunk, object);
        let mut r = crate::ingest::lock(result);
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

fn attach(catalog: &Catalog, path: &Path) -> Result<()> {
    catalog
        .conn()
        .execute(
            "ATTACH DATABASE ?1 AS snap",
            [path.to_string_lossy().as_ref()],
        )
        .map_err(state::sql(catalog))?;
    Ok(())
}

fn detach(catalog: &Catalog) {
    let _ = catalog.conn().execute("DETACH DATABASE snap", []);
}

/// Tracks in the snapshot whose content this catalog lacks, and the chunks they
/// need that are not in the local store.
fn plan_merge(catalog: &Catalog, vault: &Vault) -> Result<(Vec<String>, Vec<ChunkId>)> {
    let conn = catalog.conn();
    let err = state::sql(catalog);
    let mut stmt = conn
        .prepare(
            "SELECT s.id FROM snap.tracks s
             WHERE NOT EXISTS (SELECT 1 FROM main.tracks m WHERE m.sha256 = s.sha256)
             AND NOT EXISTS (SELECT 1 FROM main.tracks m WHERE m.id = s.id)
             ORDER BY s.rowid",
        )
        .map_err(&err)?;
    let new_tracks: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(&err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(&err)?;
    let mut needed = Vec::new();
    let mut seen = HashSet::new();
    let mut chunks = conn
        .prepare(
            "SELECT chunk_id FROM snap.track_chunks WHERE track_id = ?1
             UNION ALL SELECT artwork_id FROM snap.tracks WHERE id = ?1 AND artwork_id IS NOT NULL",
        )
        .map_err(&err)?;
    for t in &new_tracks {
        let ids: Vec<Vec<u8>> = chunks
            .query_map([t], |r| r.get(0))
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)?;
        for id in ids.iter().filter_map(|b| ChunkId::from_slice(b)) {
            if seen.insert(id) && !vault.store().contains(&id) {
                needed.push(id);
            }
        }
    }
    Ok((new_tracks, needed))
}

/// Column names of a table in `main`, for INSERT … SELECT between schemas that
/// match (the snapshot was migrated to ours).
fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA main.table_info({table})"))?;
    stmt.query_map([], |r| r.get::<_, String>(1))?.collect()
}

/// Inserts the new tracks whose chunks are all here, and adopts state changes
/// (trash, restore) that are newer on the remote. One transaction.
fn merge(
    catalog: &Catalog,
    new_tracks: &[String],
    unavailable: &HashSet<ChunkId>,
    cloning: bool,
) -> Result<(u64, u64, Vec<PullFailure>)> {
    let conn = catalog.conn();
    let err = state::sql(catalog);
    let tx = conn.unchecked_transaction().map_err(&err)?;
    let track_cols = columns(&tx, "tracks").map_err(&err)?;
    let select_cols: Vec<String> = track_cols
        .iter()
        .map(|c| {
            if c == "import_job_id" {
                "NULL".to_string()
            } else {
                format!("s.\"{c}\"")
            }
        })
        .collect();
    let insert_track = format!(
        "INSERT INTO main.tracks ({}) SELECT {} FROM snap.tracks s WHERE s.id = ?1",
        track_cols
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        select_cols.join(", ")
    );
    let mut failed = Vec::new();
    let mut added = 0u64;
    {
        let mut chunk_ids = tx
            .prepare(
                "SELECT chunk_id FROM snap.track_chunks WHERE track_id = ?1
                 UNION ALL SELECT artwork_id FROM snap.tracks WHERE id = ?1 AND artwork_id IS NOT NULL",
            )
            .map_err(&err)?;
        let mut name = tx
            .prepare("SELECT file_name FROM snap.tracks WHERE id = ?1")
            .map_err(&err)?;
        for t in new_tracks {
            let ids: Vec<Vec<u8>> = chunk_ids
                .query_map([t], |r| r.get(0))
                .map_err(&err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(&err)?;
            if let Some(bad) = ids
                .iter()
                .filter_map(|b| ChunkId::from_slice(b))
                .find(|id| unavailable.contains(id))
            {
                failed.push(PullFailure {
                    track_id: t.clone(),
                    file_name: name.query_row([t], |r| r.get(0)).map_err(&err)?,
                    reason: format!("chunk {bad} could not be fetched from the remote"),
                });
                continue;
            }
            tx.execute(
                "INSERT OR IGNORE INTO main.chunks (id, size, stored_size, created_at)
                 SELECT c.id, c.size, c.stored_size, ?2 FROM snap.chunks c
                 WHERE c.id IN (SELECT chunk_id FROM snap.track_chunks WHERE track_id = ?1
                                UNION SELECT artwork_id FROM snap.tracks WHERE id = ?1)",
                params![t, now_unix()],
            )
            .map_err(&err)?;
            tx.execute(&insert_track, [t]).map_err(&err)?;
            tx.execute(
                "INSERT INTO main.track_chunks SELECT * FROM snap.track_chunks WHERE track_id = ?1",
                [t],
            )
            .map_err(&err)?;
            tx.execute(
                "INSERT INTO main.track_tags SELECT * FROM snap.track_tags WHERE track_id = ?1",
                [t],
            )
            .map_err(&err)?;
            added += 1;
        }
    }
    // Derived data keyed by content: whatever we lack.
    tx.execute_batch(
        "INSERT OR IGNORE INTO main.analysis SELECT * FROM snap.analysis
             WHERE sha256 IN (SELECT sha256 FROM main.tracks);
         INSERT OR IGNORE INTO main.thumbnails SELECT * FROM snap.thumbnails
             WHERE artwork_id IN (SELECT artwork_id FROM main.tracks);",
    )
    .map_err(&err)?;
    // The newer choice wins, whichever device made it.
    let changed = tx
        .execute(
            "UPDATE main.tracks AS m SET state = s.state, trashed_at = s.trashed_at,
                 state_changed_at = s.state_changed_at
             FROM snap.tracks AS s
             WHERE m.sha256 = s.sha256 AND m.state != s.state
               AND ifnull(s.state_changed_at, 0) > ifnull(m.state_changed_at, 0)",
            [],
        )
        .map_err(&err)? as u64;
    if cloning {
        tx.execute_batch("INSERT OR REPLACE INTO main.settings SELECT * FROM snap.settings;")
            .map_err(&err)?;
    }
    tx.commit().map_err(&err)?;
    Ok((added, changed, failed))
}
