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

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rusqlite::{Connection, params};
use serde::Serialize;

use super::keyfile;
use super::lines::{Entry, Lines};
use super::objects::{self, Location, Manifest};
use super::pull::{fetch_chunks, fetch_plain, read_manifest};
use super::push::refresh;
use super::{Session, SyncError, state};
use crate::catalog::{Catalog, CatalogError, clock, now_unix};
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
                refresh(s.vault, &s.remote, &s.rt, &s.sealer)?;
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
        let plain = fetch_plain(s.vault, &s.remote, &s.rt, &locations)?;
        if plain.len() as u64 != manifest.snapshot_size {
            return Err(SyncError::CorruptObject {
                name: entry.name.clone(),
                reason: "the catalog snapshot has the wrong size".into(),
            }
            .into());
        }
        std::fs::write(&file.0, &plain).map_err(|e| Error::io(&file.0, e))?;
        drop(plain);
        match Catalog::open(&file.0) {
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
    attach(&catalog, &snap.0)?;
    let counted = count_incoming(&catalog, s.vault);
    detach(&catalog);
    let (new_tracks, new_bytes, state_changes, purges) = counted?;
    Ok(Incoming {
        device: entry.device.clone(),
        seq: entry.seq,
        pushed_at: (entry.modified > 0).then(|| crate::catalog::format_time(entry.modified)),
        new_tracks,
        new_bytes,
        state_changes,
        purges,
    })
}

fn count_incoming(catalog: &Catalog, vault: &crate::vault::Vault) -> Result<(u64, u64, u64, u64)> {
    let (new_tracks, needed) = plan(catalog, vault)?;
    let conn = catalog.conn();
    let err = state::sql(catalog);
    let mut size = conn
        .prepare_cached("SELECT stored_size FROM snap.chunks WHERE id = ?1")
        .map_err(&err)?;
    let mut new_bytes = 0u64;
    for id in &needed {
        let n: i64 = size.query_row([&id.0[..]], |r| r.get(0)).map_err(&err)?;
        new_bytes += n.max(0) as u64;
    }
    let state_changes: i64 = conn
        .query_row(
            "SELECT count(*) FROM main.tracks m JOIN snap.tracks s ON s.sha256 = m.sha256
             WHERE m.state != s.state
               AND (s.state_clock > m.state_clock
                    OR (s.state_clock = m.state_clock AND s.state = 'active'))",
            [],
            |r| r.get(0),
        )
        .map_err(&err)?;
    // Tracks here none of whose adds would stay alive once the snapshot's are joined.
    let purges: i64 = conn
        .query_row(
            "SELECT count(*) FROM main.tracks m
             WHERE EXISTS (SELECT 1 FROM main.content_adds a WHERE a.sha256 = m.sha256)
               AND NOT EXISTS (
                   SELECT 1 FROM (
                       SELECT device, clock, removed FROM main.content_adds WHERE sha256 = m.sha256
                       UNION ALL
                       SELECT device, clock, removed FROM snap.content_adds WHERE sha256 = m.sha256)
                   GROUP BY device, clock HAVING max(removed) = 0)",
            [],
            |r| r.get(0),
        )
        .map_err(&err)?;
    Ok((
        new_tracks.len() as u64,
        new_bytes,
        state_changes as u64,
        purges as u64,
    ))
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
    let (new_tracks, needed) = {
        let catalog = vault.catalog();
        attach(&catalog, &snap_path)?;
        let planned = plan(&catalog, vault);
        detach(&catalog);
        planned?
    };
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
    for (id, _) in &fetched.failed {
        unavailable.insert(*id);
    }
    // Everything the new tracks reference is durable before the commit, whether
    // fetched now or found (and authenticated) in the store.
    let referenced: Vec<ChunkId> = needed
        .iter()
        .copied()
        .chain(fetched.written.iter().copied())
        .collect();
    if !new_tracks.is_empty() {
        vault.store().make_durable(&referenced)?;
    }

    let mut heads = manifest.heads.clone();
    heads.insert(entry.device.clone(), entry.seq);
    let catalog = vault.catalog();
    attach(&catalog, &snap_path)?;
    let applied = apply(&catalog, &new_tracks, &unavailable, &heads, cloning);
    detach(&catalog);
    let mut report = applied?;
    report.manifests.push(entry.name.clone());
    report.chunks_fetched = fetched.written.len() as u64;
    report.bytes_fetched = fetched.bytes;
    catalog.log_activity(
        "sync",
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

/// Tracks of the snapshot whose content is alive after the join and missing here,
/// and the chunks they need that the local store does not hold intact.
fn plan(catalog: &Catalog, vault: &crate::vault::Vault) -> Result<(Vec<String>, Vec<ChunkId>)> {
    let conn = catalog.conn();
    let err = state::sql(catalog);
    let mut stmt = conn
        .prepare(
            "SELECT s.id FROM snap.tracks s
             WHERE NOT EXISTS (SELECT 1 FROM main.tracks m WHERE m.sha256 = s.sha256)
             AND NOT EXISTS (SELECT 1 FROM main.tracks m WHERE m.id = s.id)
             AND (
                 EXISTS (SELECT 1 FROM snap.content_adds a
                         WHERE a.sha256 = s.sha256 AND a.removed = 0
                         AND NOT EXISTS (SELECT 1 FROM main.content_adds b
                                         WHERE b.sha256 = a.sha256 AND b.device = a.device
                                         AND b.clock = a.clock AND b.removed = 1))
                 OR (NOT EXISTS (SELECT 1 FROM snap.content_adds a WHERE a.sha256 = s.sha256)
                     AND NOT EXISTS (SELECT 1 FROM main.content_adds b
                                     WHERE b.sha256 = s.sha256 AND b.removed = 1)))
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
            "SELECT tc.chunk_id, c.stored_size FROM snap.track_chunks tc
                 JOIN snap.chunks c ON c.id = tc.chunk_id WHERE tc.track_id = ?1
             UNION ALL SELECT t.artwork_id, c.stored_size FROM snap.tracks t
                 JOIN snap.chunks c ON c.id = t.artwork_id WHERE t.id = ?1",
        )
        .map_err(&err)?;
    for t in &new_tracks {
        let ids: Vec<(Vec<u8>, i64)> = chunks
            .query_map([t], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)?;
        for (raw, stored_size) in ids {
            let Some(id) = ChunkId::from_slice(&raw) else {
                continue;
            };
            // A chunk file is trusted only once its length is right and it
            // authenticates, never because it exists (a power cut can tear it).
            if seen.insert(id) && !vault.store().holds_intact(&id, Some(stored_size as u64)) {
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

/// The join, in one transaction (see the module docs).
fn apply(
    catalog: &Catalog,
    new_tracks: &[String],
    unavailable: &HashSet<ChunkId>,
    heads: &BTreeMap<String, u64>,
    cloning: bool,
) -> Result<MergeReport> {
    let conn = catalog.conn();
    let err = state::sql(catalog);
    let tx = conn.unchecked_transaction().map_err(&err)?;
    let mut report = MergeReport::default();

    let seen: i64 = tx
        .query_row(
            "SELECT max((SELECT value FROM snap.lamport WHERE id = 1),
                        ifnull((SELECT max(clock) FROM snap.content_adds), 0),
                        ifnull((SELECT max(state_clock) FROM snap.tracks), 0))",
            [],
            |r| r.get(0),
        )
        .map_err(&err)?;
    clock::observe(&tx, seen).map_err(&err)?;
    tx.execute_batch(
        "INSERT INTO main.content_adds (sha256, device, clock, removed)
             SELECT sha256, device, clock, removed FROM snap.content_adds WHERE true
             ON CONFLICT (sha256, device, clock) DO UPDATE SET removed = max(removed, excluded.removed);
         INSERT INTO main.tombstones (sha256, clock, purged_at)
             SELECT sha256, clock, purged_at FROM snap.tombstones WHERE true
             ON CONFLICT (sha256) DO UPDATE SET clock = excluded.clock, purged_at = excluded.purged_at
             WHERE excluded.clock > clock;",
    )
    .map_err(&err)?;

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
                report.failed.push(PullFailure {
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
            report.tracks_added += 1;
        }
    }

    // State: the larger stamp wins; between equal ones, 'active'.
    report.tracks_state_changed = tx
        .execute(
            "UPDATE main.tracks AS m SET state = s.state, trashed_at = s.trashed_at,
                 state_changed_at = s.state_changed_at, state_clock = s.state_clock
             FROM snap.tracks AS s
             WHERE m.sha256 = s.sha256 AND m.state != s.state
               AND (s.state_clock > m.state_clock
                    OR (s.state_clock = m.state_clock AND s.state = 'active'))",
            [],
        )
        .map_err(&err)? as u64;
    tx.execute(
        "UPDATE main.tracks AS m SET state_clock = s.state_clock, trashed_at = s.trashed_at,
             state_changed_at = s.state_changed_at
         FROM snap.tracks AS s
         WHERE m.sha256 = s.sha256 AND m.state = s.state AND s.state_clock > m.state_clock",
        [],
    )
    .map_err(&err)?;

    // Contents no longer alive: every add removed (a purge that saw them all).
    // Tracks with no adds at all (never the case for synced catalogs) are left be.
    let purged: Vec<Vec<u8>> = {
        let mut stmt = tx
            .prepare(
                "DELETE FROM main.tracks
                 WHERE EXISTS (SELECT 1 FROM main.content_adds a WHERE a.sha256 = tracks.sha256)
                   AND NOT EXISTS (SELECT 1 FROM main.content_adds a
                                   WHERE a.sha256 = tracks.sha256 AND a.removed = 0)
                 RETURNING sha256",
            )
            .map_err(&err)?;
        stmt.query_map([], |r| r.get(0))
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)?
    };
    report.tracks_purged = purged.len() as u64;
    for sha in &purged {
        tx.execute("DELETE FROM main.remote_contents WHERE sha256 = ?1", [sha])
            .map_err(&err)?;
    }

    // Derived data keyed by content: whatever we lack.
    tx.execute_batch(
        "INSERT OR IGNORE INTO main.analysis SELECT * FROM snap.analysis
             WHERE sha256 IN (SELECT sha256 FROM main.tracks);
         INSERT OR IGNORE INTO main.thumbnails SELECT * FROM snap.thumbnails
             WHERE artwork_id IN (SELECT artwork_id FROM main.tracks);
         INSERT OR IGNORE INTO main.remote_contents (sha256)
             SELECT s.sha256 FROM snap.tracks s
             WHERE EXISTS (SELECT 1 FROM main.tracks m WHERE m.sha256 = s.sha256);",
    )
    .map_err(&err)?;
    if cloning {
        tx.execute_batch("INSERT OR REPLACE INTO main.settings SELECT * FROM snap.settings;")
            .map_err(&err)?;
    }
    if report.failed.is_empty() {
        state::raise_heads(&tx, heads).map_err(&err)?;
    }
    tx.commit().map_err(&err)?;
    Ok(report)
}
