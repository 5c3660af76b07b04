//! `doctor`: is the vault whole? Checks the catalog, the chunks, the records that
//! can rebuild the catalog, the disk, the keyring, vault.json and the remote; with
//! `repair`, mends what the vault folder itself can mend:
//!
//! - a missing, cut-short or damaged `catalog.db` is rebuilt from the records
//!   (built in `tmp/`, then swapped in; the damaged file and its `-wal`/`-shm` are
//!   moved aside, never deleted, and a stale log is never replayed onto the
//!   rebuilt file);
//! - missing, damaged or out-of-date records are written again from a healthy
//!   catalog; records of tracks the catalog does not have are removed;
//! - chunk files that no catalog row or record references are removed;
//! - files and folders that others can read are made private again (files 0600,
//!   folders 0700).
//!
//! Missing or torn chunks cannot be mended from here: `verify --repair` fetches
//! them from the remote. Doctor works from [`VaultKeys`], so it runs when the
//! catalog cannot be opened at all.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::records::Value;
use serde::Serialize;

use crate::catalog::{self, Catalog, CatalogError, TrackId};
use crate::error::{Error, Result};
use crate::keys::{KeyError, KeyStore};
use crate::progress::CancelToken;
use crate::records::{RecordError, RecordName, RecordPayload, RecordStore};
use crate::store::{ChunkId, ChunkStore, clean_tmp, hex};
use crate::sync::{RemoteConfig, RemoteCredentials, S3Remote, SyncOptions};
use crate::vault::{Authenticity, VaultKeys};

/// Tracks or files named per check at most; the counts are always whole.
const NAMED: usize = 50;

#[derive(Debug, Clone)]
pub struct DoctorOptions {
    /// Mend what can be mended (see the module docs).
    pub repair: bool,
    /// Free space under this on the vault's file system is a warning.
    pub min_free_bytes: u64,
    /// Reach the remote, when one is set up.
    pub check_remote: bool,
    pub sync: SyncOptions,
    /// Stops the work at its next step (a record, a phase, the remote's
    /// requests) with [`Error::Cancelled`]. A rebuilt catalog is swapped in
    /// whole or not at all.
    pub cancel: CancelToken,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        DoctorOptions {
            repair: false,
            min_free_bytes: 1 << 30,
            check_remote: true,
            sync: SyncOptions::default(),
            cancel: CancelToken::new(),
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    CatalogIntegrity,
    Chunks,
    Records,
    DiskSpace,
    Keyring,
    VaultJson,
    Remote,
    UnmergedManifests,
    /// Files and folders of the vault that others can read (a warning).
    Permissions,
}

impl CheckName {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::CatalogIntegrity => "catalog_integrity",
            CheckName::Chunks => "chunks",
            CheckName::Records => "records",
            CheckName::DiskSpace => "disk_space",
            CheckName::Keyring => "keyring",
            CheckName::VaultJson => "vault_json",
            CheckName::Remote => "remote",
            CheckName::UnmergedManifests => "unmerged_manifests",
            CheckName::Permissions => "permissions",
        }
    }
}

/// What a failed check means: `error` is damage to the vault (the report is not
/// ok), `warning` is something to look at that loses nothing (low disk space, no
/// keyring, a remote out of reach, orphan chunk files).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: CheckName,
    pub ok: bool,
    pub level: Level,
    pub detail: String,
    /// What the finding is about: tracks as "file name (id)", records, files (at
    /// most 50).
    pub affected: Vec<String>,
}

impl Check {
    fn pass(check: CheckName, detail: impl Into<String>) -> Check {
        Check {
            check,
            ok: true,
            level: Level::Error,
            detail: detail.into(),
            affected: Vec::new(),
        }
    }

    fn fail(check: CheckName, level: Level, detail: impl Into<String>) -> Check {
        Check {
            check,
            ok: false,
            level,
            detail: detail.into(),
            affected: Vec::new(),
        }
    }

    fn naming(mut self, affected: impl IntoIterator<Item = String>) -> Check {
        self.affected = affected.into_iter().take(NAMED).collect();
        self
    }

    /// Failed in a way that makes the vault's report not ok.
    pub fn is_error(&self) -> bool {
        !self.ok && self.level == Level::Error
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairAction {
    CatalogRebuilt,
    RecordsWritten,
    RecordsRemoved,
    OrphanChunksRemoved,
    PermissionsTightened,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct Repair {
    pub action: RepairAction,
    pub detail: String,
    /// Files the repair made or moved aside (the damaged catalog among them).
    pub paths: Vec<PathBuf>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// No check failed at error level (after the repairs, with `repair`).
    pub ok: bool,
    pub checks: Vec<Check>,
    pub repaired: Vec<Repair>,
}

impl VaultKeys {
    /// Checks the vault, and with `options.repair` mends it (see the module
    /// docs). Needs no catalog: it runs from the key alone. Takes the vault lock
    /// exclusively (records and chunks of an import in flight would look like
    /// leftovers), so it refuses while an import runs.
    pub fn doctor(&self, options: &DoctorOptions, keys: &dyn KeyStore) -> Result<DoctorReport> {
        let _lock = crate::vault::lock_exclusive(self.root())?;
        // A copied vault may lack its empty folders; a rebuild is made in tmp/.
        let tmp = self.root().join("tmp");
        crate::private::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        clean_tmp(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let doctor = Doctor {
            keys: self,
            options,
            key_store: keys,
            store: ChunkStore::new(self.root(), self.master_key(), self.vault_id()),
            records: Arc::new(RecordStore::new(
                self.root(),
                self.master_key(),
                self.vault_id(),
            )),
            catalog_path: self.root().join("catalog.db"),
            catalog_key: self.catalog_key(),
        };
        // A catalog made before encryption is encrypted first (as the first
        // unlock does); one that cannot be (damaged) is examined as it is.
        match crate::vault::encrypt_legacy_catalog_locked(self.root(), &doctor.catalog_key) {
            Ok(()) | Err(Error::CatalogDamaged { .. }) => {}
            Err(e) => return Err(e),
        }
        let mut repaired = Vec::new();
        doctor.cancelled()?;
        if options.repair {
            doctor.repair(&mut repaired)?;
            // Last, so whatever the repairs above made is covered too.
            doctor.repair_permissions(&mut repaired)?;
        }
        let checks = doctor.examine()?.checks(&doctor)?;
        doctor.cancelled()?;
        Ok(DoctorReport {
            ok: !checks.iter().any(Check::is_error),
            checks,
            repaired,
        })
    }
}

struct Doctor<'a> {
    keys: &'a VaultKeys,
    options: &'a DoctorOptions,
    key_store: &'a dyn KeyStore,
    store: ChunkStore,
    records: Arc<RecordStore>,
    catalog_path: PathBuf,
    catalog_key: catalog::CatalogKey,
}

enum CatalogState {
    Healthy(Box<Catalog>),
    Missing,
    Damaged(String),
    /// Written by a newer Audiovault: never "repaired".
    TooNew(String),
}

/// What a readable track record says, kept small: the doctor streams records.
struct RecordInfo {
    file_name: Option<String>,
    chunks: Vec<(ChunkId, u64)>,
}

enum RecordStatus {
    Readable(RecordInfo),
    Unreadable(String),
    TooNew(String),
}

/// The state of the vault folder, read once per pass.
struct Examination {
    catalog: CatalogState,
    /// Track ids and names of a healthy catalog.
    catalog_tracks: Option<HashMap<TrackId, String>>,
    track_records: BTreeMap<TrackId, RecordStatus>,
    /// The settings and tombstones records: `None` when missing.
    whole_records: Vec<(RecordName, Option<RecordStatus>)>,
    /// Records that differ from what the healthy catalog would write.
    stale: Vec<RecordName>,
    /// Records the catalog marked but did not write yet.
    pending: u64,
    /// Chunks the library references (the catalog's, or the records' when the
    /// catalog is unusable), with their stored sizes and tracks.
    uses: HashMap<ChunkId, catalog::records::ChunkUse>,
    /// Every chunk row of a healthy catalog.
    catalog_rows: HashSet<ChunkId>,
    disk: HashMap<ChunkId, u64>,
    settings: Option<RecordPayload>,
}

impl Doctor<'_> {
    /// `Err(Cancelled)` once the options' token is tripped.
    fn cancelled(&self) -> Result<()> {
        if self.options.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    fn inspect_catalog(&self) -> CatalogState {
        let path = &self.catalog_path;
        match fs::metadata(path) {
            Err(_) => return CatalogState::Missing,
            Ok(m) if m.len() == 0 => return CatalogState::Damaged("it is empty".into()),
            Ok(_) => {}
        }
        if let Some(reason) = catalog::file_damage(path) {
            return CatalogState::Damaged(reason);
        }
        match catalog::integrity_problems(path, &self.catalog_key) {
            Err(e) => return CatalogState::Damaged(format!("it cannot be read: {e}")),
            Ok(problems) if !problems.is_empty() => {
                let mut reason = problems
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ");
                if problems.len() > 3 {
                    reason.push_str(&format!(" (and {} more)", problems.len() - 3));
                }
                return CatalogState::Damaged(format!("SQLite's integrity check: {reason}"));
            }
            Ok(_) => {}
        }
        match Catalog::open_existing(path, &self.catalog_key) {
            Ok(mut c) => {
                c.attach_records(self.records.clone());
                CatalogState::Healthy(Box::new(c))
            }
            Err(e @ CatalogError::TooNew { .. }) => CatalogState::TooNew(e.to_string()),
            Err(e) => CatalogState::Damaged(e.to_string()),
        }
    }

    fn read_record(
        &self,
        name: &RecordName,
    ) -> Result<Option<(RecordStatus, Option<RecordPayload>)>> {
        match self.records.read(name) {
            Ok(None) => Ok(None),
            Ok(Some(p)) => Ok(Some((RecordStatus::Readable(record_info(&p)), Some(p)))),
            Err(e @ RecordError::TooNew { .. }) => {
                Ok(Some((RecordStatus::TooNew(e.to_string()), None)))
            }
            Err(e @ RecordError::Damaged { .. }) => {
                Ok(Some((RecordStatus::Unreadable(e.to_string()), None)))
            }
            Err(e) => Err(CatalogError::from(e).into()),
        }
    }

    fn examine(&self) -> Result<Examination> {
        let catalog = self.inspect_catalog();
        let healthy = match &catalog {
            CatalogState::Healthy(c) => Some(c.as_ref()),
            _ => None,
        };
        let catalog_tracks = healthy.map(Catalog::track_names).transpose()?;
        let mut track_records = BTreeMap::new();
        let mut stale = Vec::new();
        for id in self.records.track_ids().map_err(CatalogError::from)? {
            self.cancelled()?;
            let name = RecordName::Track(id.clone());
            let Some((status, payload)) = self.read_record(&name)? else {
                continue;
            };
            if let (Some(c), Some(p), Some(tracks)) = (healthy, &payload, &catalog_tracks)
                && tracks.contains_key(&id)
                && !c
                    .render_record(&name)?
                    .is_some_and(|now| p.says_the_same_as(&now))
            {
                stale.push(name);
            }
            track_records.insert(id, status);
        }
        let mut whole_records = Vec::new();
        let mut settings = None;
        for name in [RecordName::Settings, RecordName::Tombstones] {
            let read = self.read_record(&name)?;
            if let (Some(c), Some((_, Some(p)))) = (healthy, &read)
                && !c
                    .render_record(&name)?
                    .is_some_and(|now| p.says_the_same_as(&now))
            {
                stale.push(name.clone());
            }
            if name == RecordName::Settings {
                settings = match healthy {
                    Some(c) => c.render_record(&name)?,
                    None => read.as_ref().and_then(|(_, p)| p.clone()),
                };
            }
            whole_records.push((name, read.map(|(status, _)| status)));
        }
        let (uses, catalog_rows, pending) = match healthy {
            Some(c) => (c.chunk_uses()?, c.chunk_ids()?, c.records_pending()?),
            None => (uses_from_records(&track_records), HashSet::new(), 0),
        };
        let disk = self.store.list()?.into_iter().collect();
        Ok(Examination {
            catalog,
            catalog_tracks,
            track_records,
            whole_records,
            stale,
            pending,
            uses,
            catalog_rows,
            disk,
            settings,
        })
    }

    /// Files and folders of the vault that are not private, made private.
    fn repair_permissions(&self, repaired: &mut Vec<Repair>) -> Result<()> {
        let root = self.keys.root();
        let shared = crate::private::not_private(root).map_err(|e| Error::io(root, e))?;
        if !shared.is_empty() {
            let paths: Vec<PathBuf> = shared.iter().map(|(p, _)| p.clone()).collect();
            let changed = crate::private::make_private(&paths).map_err(|e| Error::io(root, e))?;
            repaired.push(Repair {
                action: RepairAction::PermissionsTightened,
                detail: format!(
                    "made {changed} file(s) and folder(s) private again (files 0600, folders 0700)"
                ),
                paths: Vec::new(),
            });
        }
        Ok(())
    }

    fn repair(&self, repaired: &mut Vec<Repair>) -> Result<()> {
        let mut exam = self.examine()?;
        let mut rebuilt = false;
        if matches!(
            exam.catalog,
            CatalogState::Missing | CatalogState::Damaged(_)
        ) && exam.can_rebuild()
        {
            repaired.push(self.rebuild(&exam)?);
            rebuilt = true;
            exam = self.examine()?;
        }
        self.cancelled()?;
        let (CatalogState::Healthy(catalog), Some(tracks)) = (&exam.catalog, &exam.catalog_tracks)
        else {
            return Ok(());
        };
        let too_new = exam
            .track_records
            .values()
            .any(|s| matches!(s, RecordStatus::TooNew(_)));

        // Records: what the catalog has but the records lack, cannot read, or say
        // differently, written again from the catalog (with anything still marked).
        let mut rewrite: BTreeSet<RecordName> = exam.stale.iter().cloned().collect();
        for id in tracks.keys() {
            if !matches!(exam.track_records.get(id), Some(RecordStatus::Readable(_))) {
                rewrite.insert(RecordName::Track(id.clone()));
            }
        }
        for (name, status) in &exam.whole_records {
            if !matches!(status, Some(RecordStatus::Readable(_))) {
                rewrite.insert(name.clone());
            }
        }
        if !rewrite.is_empty() || exam.pending > 0 {
            let names: Vec<RecordName> = rewrite.into_iter().collect();
            catalog.rewrite_records(&names)?;
            repaired.push(Repair {
                action: RepairAction::RecordsWritten,
                detail: format!(
                    "wrote {} record(s) again from the catalog{}",
                    names.len(),
                    if exam.pending > 0 {
                        format!(", and {} change(s) not written yet", exam.pending)
                    } else {
                        String::new()
                    }
                ),
                paths: Vec::new(),
            });
        }
        if too_new || rebuilt {
            // A newer Audiovault wrote some records, or the catalog was just
            // rebuilt: records it could not put back and their chunks are the only
            // trace of those tracks, so no record or chunk file is removed now.
            return Ok(());
        }

        self.cancelled()?;
        // Records of tracks the catalog does not have: an import cut short between
        // its records and its commit, or a purge after its commit. The healthy
        // catalog is the truth (as for `gc`, which removes them too).
        let extra: Vec<&TrackId> = exam
            .track_records
            .keys()
            .filter(|id| !tracks.contains_key(*id))
            .collect();
        // A record that cannot be read is never deleted: it is moved aside to
        // records/damaged/, where nothing reads it.
        let mut set_aside = Vec::new();
        for id in &extra {
            let name = RecordName::Track((*id).clone());
            if matches!(exam.track_records.get(*id), Some(RecordStatus::Readable(_))) {
                self.records.remove(&name).map_err(CatalogError::from)?;
            } else {
                set_aside.push(self.records.set_aside(&name).map_err(CatalogError::from)?);
            }
        }
        if !extra.is_empty() {
            repaired.push(Repair {
                action: RepairAction::RecordsRemoved,
                detail: format!(
                    "{} record(s) of tracks the catalog does not have (an import or purge cut short): {} removed, {} unreadable one(s) moved aside to records/damaged/",
                    extra.len(),
                    extra.len() - set_aside.len(),
                    set_aside.len()
                ),
                paths: set_aside,
            });
        }
        self.cancelled()?;
        // Orphan chunk files: referenced by no catalog row and by no record that
        // is left (those of catalog tracks).
        let mut kept: HashSet<ChunkId> = exam.catalog_rows.clone();
        for (id, status) in &exam.track_records {
            if let (true, RecordStatus::Readable(info)) = (tracks.contains_key(id), status) {
                kept.extend(info.chunks.iter().map(|(c, _)| *c));
            }
        }
        let mut removed = 0u64;
        let mut bytes = 0u64;
        for (chunk, size) in &exam.disk {
            if !kept.contains(chunk) {
                self.store.remove(chunk)?;
                removed += 1;
                bytes += size;
            }
        }
        if removed > 0 {
            repaired.push(Repair {
                action: RepairAction::OrphanChunksRemoved,
                detail: format!(
                    "removed {removed} chunk file(s) that no catalog row or record references ({bytes} bytes)"
                ),
                paths: Vec::new(),
            });
        }
        Ok(())
    }

    /// Builds a new catalog from the records in `tmp/`, then swaps it in.
    fn rebuild(&self, exam: &Examination) -> Result<Repair> {
        if let Some(reason) = exam.too_new_reason() {
            return Err(Error::Invalid(format!(
                "the catalog cannot be rebuilt: {reason}"
            )));
        }
        let suffix: [u8; 8] = crate::keys::random_array()?;
        let built = self.keys.root().join("tmp").join(format!(
            "{}-{}-rebuild.db",
            std::process::id(),
            hex(&suffix)
        ));
        let _cleanup = RemoveOnDrop(vec![
            built.clone(),
            sibling(&built, "-wal"),
            sibling(&built, "-shm"),
            sibling(&built, "-journal"),
        ]);
        crate::private::precreate(&built).map_err(|e| Error::io(&built, e))?;
        let mut catalog = Catalog::open(&built, &self.catalog_key)?;
        // A whole record that cannot be read counts as absent: the defaults
        // (no setting, no tombstone) are what a rebuild can honestly offer.
        let read_whole = |name: &RecordName| self.records.read(name).unwrap_or_default();
        let settings = read_whole(&RecordName::Settings);
        let tombstones = read_whole(&RecordName::Tombstones);
        // A cancel ends the records early; the half-built file is then dropped
        // below, before anything is swapped.
        let mut tracks = exam
            .track_records
            .iter()
            .take_while(|_| !self.options.cancel.is_cancelled())
            .filter(|(_, s)| matches!(s, RecordStatus::Readable(_)))
            .filter_map(
                |(id, _)| match self.records.read(&RecordName::Track(id.clone())) {
                    Ok(Some(p)) => Some((id.clone(), p)),
                    _ => None,
                },
            );
        let outcome =
            catalog.rebuild_from_records(settings.as_ref(), tombstones.as_ref(), &mut tracks)?;
        // Derived data is computed again: thumbnails now (they are small and the
        // lists show them), analysis by the queue (no analysis row = pending).
        for art in &outcome.artwork {
            if self.options.cancel.is_cancelled() {
                break;
            }
            if let Ok(picture) = self.store.get(art)
                && let Ok(thumbnail) = crate::media::thumbnail(&picture)
            {
                catalog.put_thumbnail(art, &thumbnail)?;
            }
        }
        catalog.log_activity(
            crate::catalog::LogKind::Doctor,
            &format!(
                "catalog rebuilt from the vault's records: {} track(s), {} tombstone(s)",
                outcome.tracks, outcome.tombstones
            ),
        )?;
        catalog.detach_log()?;
        drop(catalog);
        self.cancelled()?;
        fs::File::open(&built)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&built, e))?;
        let moved = self.swap_in(&built)?;
        let mut detail = format!(
            "rebuilt catalog.db from the vault's records: {} track(s) ({} in the trash), {} tombstone(s), the settings{}",
            outcome.tracks,
            outcome.trashed,
            outcome.tombstones,
            if settings.is_some() {
                ""
            } else {
                " (no settings record: defaults)"
            }
        );
        if !moved.is_empty() {
            detail.push_str(&format!(
                "; the damaged catalog was moved aside to {}",
                moved
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !outcome.purged.is_empty() {
            detail.push_str(&format!(
                "; {} purged track(s) left out (their records outlived a purge)",
                outcome.purged.len()
            ));
        }
        // Every add of their content was removed by a purge: their records were
        // due to go.
        for id in &outcome.purged {
            self.records
                .remove(&RecordName::Track(id.clone()))
                .map_err(CatalogError::from)?;
        }
        let mut kept_aside = Vec::new();
        for (id, _) in &outcome.refused {
            kept_aside.push(
                self.records
                    .set_aside(&RecordName::Track(id.clone()))
                    .map_err(CatalogError::from)?,
            );
        }
        if !outcome.refused.is_empty() {
            detail.push_str(&format!(
                "; {} record(s) could not be put back and were moved to records/damaged/: {}",
                outcome.refused.len(),
                outcome
                    .refused
                    .iter()
                    .take(5)
                    .map(|(id, why)| format!("{id}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        detail.push_str(
            "; waveforms and fingerprints will be computed again (`audiovault analyze`, or the app in the background)",
        );
        Ok(Repair {
            action: RepairAction::CatalogRebuilt,
            detail,
            paths: moved.into_iter().chain(kept_aside).collect(),
        })
    }

    /// Moves the damaged catalog and its log aside (renamed, never deleted), then
    /// renames the rebuilt file into place. The log goes first: SQLite would
    /// replay a `catalog.db-wal` left beside the new file onto it.
    fn swap_in(&self, built: &Path) -> Result<Vec<PathBuf>> {
        let db = &self.catalog_path;
        let stamp = catalog::now_unix_millis();
        let aside = |p: &Path| PathBuf::from(format!("{}.damaged-{stamp}", p.display()));
        let mut moved = Vec::new();
        for suffix in ["-wal", "-shm", "-journal"] {
            let log = sibling(db, suffix);
            if log.exists() {
                let to = aside(&log);
                fs::rename(&log, &to).map_err(|e| Error::io(&log, e))?;
                moved.push(to);
            }
        }
        if db.exists() {
            let to = aside(db);
            // A second name first, so there is never a moment without catalog.db.
            if fs::hard_link(db, &to).is_err() {
                fs::rename(db, &to).map_err(|e| Error::io(db, e))?;
            }
            moved.push(to);
        }
        fs::rename(built, db).map_err(|e| Error::io(db, e))?;
        fs::File::open(self.keys.root())
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(self.keys.root(), e))?;
        Ok(moved)
    }

    /// Files and folders of the vault folder that others can read or enter.
    fn permissions(&self) -> Check {
        let root = self.keys.root();
        match crate::private::not_private(root) {
            Ok(shared) if shared.is_empty() => Check::pass(
                CheckName::Permissions,
                "the vault folder is private: folders 0700, files 0600",
            ),
            Ok(shared) => {
                let readable = shared.iter().filter(|(_, m)| m & 0o044 != 0).count();
                Check::fail(
                    CheckName::Permissions,
                    Level::Warning,
                    format!(
                        "{} file(s) and folder(s) of the vault are not private ({readable} readable by other users of this computer); `audiovault doctor --repair` makes them private",
                        shared.len()
                    ),
                )
                .naming(
                    shared
                        .iter()
                        .map(|(p, m)| format!("{} ({m:o})", p.display())),
                )
            }
            Err(e) => Check::fail(
                CheckName::Permissions,
                Level::Warning,
                format!("the vault folder's permissions could not be read: {e}"),
            ),
        }
    }

    fn disk_space(&self) -> Check {
        match free_bytes(self.keys.root()) {
            Ok(free) if free >= self.options.min_free_bytes => Check::pass(
                CheckName::DiskSpace,
                format!("{} free on the vault's disk", human_bytes(free)),
            ),
            Ok(free) => Check::fail(
                CheckName::DiskSpace,
                Level::Warning,
                format!(
                    "only {} free on the vault's disk (under {}): imports and repairs may fail",
                    human_bytes(free),
                    human_bytes(self.options.min_free_bytes)
                ),
            ),
            Err(e) => Check::fail(
                CheckName::DiskSpace,
                Level::Warning,
                format!("the free space could not be read: {e}"),
            ),
        }
    }

    fn keyring(&self) -> Check {
        match self.key_store.load(self.keys.vault_id()) {
            Ok(Some(_)) => Check::pass(
                CheckName::Keyring,
                "the OS keyring is reachable and remembers this vault's key",
            ),
            Ok(None) => Check::pass(
                CheckName::Keyring,
                "the OS keyring is reachable (no key remembered for this vault)",
            ),
            Err(KeyError::KeyringUnavailable(reason)) => Check::fail(
                CheckName::Keyring,
                Level::Warning,
                format!(
                    "no OS keyring is available ({reason}): the vault opens with its passphrase only"
                ),
            ),
            Err(e) => Check::fail(
                CheckName::Keyring,
                Level::Warning,
                format!("the OS keyring did not answer as expected: {e}"),
            ),
        }
    }

    /// vault.json authenticates under the unlocked key: its MAC (format 2, with
    /// the epoch of the last passphrase change) and its key check.
    fn check_vault_json_authenticity(&self) -> Check {
        let config = self.keys.config();
        if !self.keys.matches_key_check() {
            return Check::fail(
                CheckName::VaultJson,
                Level::Error,
                "vault.json's key check does not match the unlocked key: it was altered or belongs to another vault",
            );
        }
        match config.authenticate(self.keys.master_key()) {
            Authenticity::Verified => Check::pass(
                CheckName::VaultJson,
                format!(
                    "vault.json authenticates under the vault's key (epoch {})",
                    config.epoch
                ),
            ),
            Authenticity::Legacy => Check::fail(
                CheckName::VaultJson,
                Level::Warning,
                "vault.json has no MAC yet (written by an older Audiovault); opening the vault adds it",
            ),
            Authenticity::Forged => Check::fail(
                CheckName::VaultJson,
                Level::Error,
                "vault.json fails authentication: it was altered, or it belongs to another vault; restore it from a backup or clone the vault again",
            ),
        }
    }

    /// The remote's checks, when one is set up: `remote` and `unmerged_manifests`.
    fn remote_checks(
        &self,
        settings: Option<&RecordPayload>,
        heads: Option<&BTreeMap<String, u64>>,
    ) -> Vec<Check> {
        let Some(config) = settings.and_then(remote_config) else {
            return Vec::new();
        };
        let url = config.url();
        if !self.options.check_remote {
            return vec![
                Check::pass(CheckName::Remote, format!("{url}: not checked (offline)")),
                Check::pass(
                    CheckName::UnmergedManifests,
                    format!("{url}: not checked (offline)"),
                ),
            ];
        }
        let credentials = RemoteCredentials::from_env()
            .or_else(|| RemoteCredentials::load(self.keys.vault_id()).ok().flatten());
        let Some(credentials) = credentials else {
            let why = format!(
                "{url}: no credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or store them with `audiovault remote set`)"
            );
            return vec![
                Check::fail(CheckName::Remote, Level::Warning, why.clone()),
                Check::fail(CheckName::UnmergedManifests, Level::Warning, why),
            ];
        };
        let listed = crate::sync::runtime().and_then(|rt| {
            let remote = S3Remote::new(
                &config,
                &credentials,
                self.options.sync.retry,
                self.options.cancel.clone(),
            );
            rt.block_on(async {
                remote.head_bucket().await?;
                crate::sync::lines::Lines::list(&remote).await
            })
            .map_err(Error::from)
        });
        let lines = match listed {
            Ok(lines) => lines,
            Err(e) => {
                let why = format!("{url}: {e}");
                return vec![
                    Check::fail(CheckName::Remote, Level::Warning, why.clone()),
                    Check::fail(CheckName::UnmergedManifests, Level::Warning, why),
                ];
            }
        };
        vec![
            Check::pass(CheckName::Remote, format!("{url} is reachable")),
            unmerged_manifests(&url, &lines, heads),
        ]
    }
}

impl Examination {
    fn can_rebuild(&self) -> bool {
        self.track_records
            .values()
            .any(|s| matches!(s, RecordStatus::Readable(_)))
            || self
                .whole_records
                .iter()
                .any(|(_, s)| matches!(s, Some(RecordStatus::Readable(_))))
    }

    fn too_new_reason(&self) -> Option<String> {
        self.track_records
            .values()
            .chain(self.whole_records.iter().filter_map(|(_, s)| s.as_ref()))
            .find_map(|s| match s {
                RecordStatus::TooNew(reason) => Some(reason.clone()),
                _ => None,
            })
    }

    /// "file name (id)", from the catalog or the record.
    fn track_label(&self, id: &TrackId) -> String {
        let name = self
            .catalog_tracks
            .as_ref()
            .and_then(|t| t.get(id).cloned())
            .or_else(|| match self.track_records.get(id) {
                Some(RecordStatus::Readable(info)) => info.file_name.clone(),
                _ => None,
            });
        match name {
            Some(name) => format!("{name} ({id})"),
            None => id.to_string(),
        }
    }

    fn checks(&self, doctor: &Doctor<'_>) -> Result<Vec<Check>> {
        let mut checks = vec![
            self.catalog_check(),
            self.chunks_check(),
            self.records_check(),
            doctor.disk_space(),
            doctor.keyring(),
            doctor.check_vault_json_authenticity(),
            doctor.permissions(),
        ];
        let heads = match &self.catalog {
            CatalogState::Healthy(catalog) => crate::catalog::remote::heads(catalog).ok(),
            _ => None,
        };
        checks.extend(doctor.remote_checks(self.settings.as_ref(), heads.as_ref()));
        Ok(checks)
    }

    fn readable_track_records(&self) -> usize {
        self.track_records
            .values()
            .filter(|s| matches!(s, RecordStatus::Readable(_)))
            .count()
    }

    fn catalog_check(&self) -> Check {
        let rebuild_hint = || {
            if self.can_rebuild() {
                format!(
                    "; `audiovault doctor --repair` rebuilds it from the vault's records ({} track record(s))",
                    self.readable_track_records()
                )
            } else {
                "; there are no records to rebuild it from (a vault made before records, or records lost): restore catalog.db from a backup, or `audiovault clone` the vault from its remote".into()
            }
        };
        match &self.catalog {
            CatalogState::Healthy(_) => Check::pass(
                CheckName::CatalogIntegrity,
                format!(
                    "catalog.db passes SQLite's integrity check ({} track(s))",
                    self.catalog_tracks.as_ref().map_or(0, HashMap::len)
                ),
            ),
            CatalogState::Missing => Check::fail(
                CheckName::CatalogIntegrity,
                Level::Error,
                format!("catalog.db is missing{}", rebuild_hint()),
            ),
            CatalogState::Damaged(reason) => Check::fail(
                CheckName::CatalogIntegrity,
                Level::Error,
                format!("catalog.db is damaged: {reason}{}", rebuild_hint()),
            ),
            CatalogState::TooNew(reason) => {
                Check::fail(CheckName::CatalogIntegrity, Level::Error, reason.clone())
            }
        }
    }

    fn chunks_check(&self) -> Check {
        let mut missing = Vec::new();
        let mut torn = Vec::new();
        for (chunk, used) in &self.uses {
            match self.disk.get(chunk) {
                None => missing.push(chunk),
                Some(size) if *size != used.stored_size => torn.push(chunk),
                Some(_) => {}
            }
        }
        let record_refs: HashSet<ChunkId> = self
            .track_records
            .values()
            .filter_map(|s| match s {
                RecordStatus::Readable(info) => Some(info.chunks.iter().map(|(c, _)| *c)),
                _ => None,
            })
            .flatten()
            .collect();
        let orphans: Vec<&ChunkId> = self
            .disk
            .keys()
            .filter(|c| {
                !self.uses.contains_key(c)
                    && !self.catalog_rows.contains(c)
                    && !record_refs.contains(c)
            })
            .collect();
        let source = if self.catalog_tracks.is_some() {
            "the catalog"
        } else {
            "the records"
        };
        if missing.is_empty() && torn.is_empty() && orphans.is_empty() {
            return Check::pass(
                CheckName::Chunks,
                format!(
                    "{} chunk file(s) referenced by {source}, each present with its recorded size; no orphan files",
                    self.uses.len()
                ),
            );
        }
        let affected: BTreeSet<String> = missing
            .iter()
            .chain(&torn)
            .flat_map(|c| self.uses[*c].tracks.iter())
            .map(|t| self.track_label(t))
            .collect();
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("{} missing", missing.len()));
        }
        if !torn.is_empty() {
            parts.push(format!(
                "{} torn (the file's length differs from the recorded size)",
                torn.len()
            ));
        }
        let damaged = !parts.is_empty();
        if damaged {
            parts.push(format!(
                "{} track(s) affected; `audiovault verify --repair` fetches damaged chunks from the remote",
                affected.len()
            ));
        }
        if !orphans.is_empty() {
            parts.push(format!(
                "{} orphan file(s) that no catalog row or record references ({} bytes; `audiovault doctor --repair` removes them)",
                orphans.len(),
                orphans.iter().map(|c| self.disk[*c]).sum::<u64>()
            ));
        }
        let mut named: Vec<String> = affected.into_iter().collect();
        named.extend(orphans.iter().map(|c| format!("orphan chunk {c}")));
        Check::fail(
            CheckName::Chunks,
            if damaged {
                Level::Error
            } else {
                Level::Warning
            },
            format!(
                "{} of {} referenced chunk(s): {}",
                source,
                self.uses.len(),
                parts.join("; ")
            ),
        )
        .naming(named)
    }

    fn records_check(&self) -> Check {
        let unreadable: Vec<&TrackId> = self
            .track_records
            .iter()
            .filter(|(_, s)| !matches!(s, RecordStatus::Readable(_)))
            .map(|(id, _)| id)
            .collect();
        let mut parts = Vec::new();
        let mut named = BTreeSet::new();
        for (name, status) in &self.whole_records {
            match status {
                None => parts.push(format!("the {name} record is missing")),
                Some(RecordStatus::Unreadable(reason)) | Some(RecordStatus::TooNew(reason)) => {
                    parts.push(reason.clone())
                }
                Some(RecordStatus::Readable(_)) => {}
            }
        }
        let total = self.track_records.len();
        let Some(tracks) = &self.catalog_tracks else {
            if !unreadable.is_empty() {
                parts.push(format!(
                    "{} of {total} track record(s) fail authentication or cannot be read (a torn write, damage)",
                    unreadable.len()
                ));
                named.extend(unreadable.iter().map(|id| format!("record {id}")));
            }
            return if parts.is_empty() {
                Check::pass(
                    CheckName::Records,
                    format!(
                        "{total} track record(s), the tombstones and the settings authenticate"
                    ),
                )
            } else {
                Check::fail(CheckName::Records, Level::Error, parts.join("; ")).naming(named)
            };
        };
        let missing: Vec<&TrackId> = tracks
            .keys()
            .filter(|id| !self.track_records.contains_key(*id))
            .collect();
        let extra: Vec<&TrackId> = self
            .track_records
            .keys()
            .filter(|id| !tracks.contains_key(*id))
            .collect();
        let stale_tracks: Vec<&TrackId> = self
            .stale
            .iter()
            .filter_map(|n| match n {
                RecordName::Track(id) => Some(id),
                _ => None,
            })
            .collect();
        if !missing.is_empty() {
            parts.push(format!("{} track(s) have no record", missing.len()));
        }
        if !unreadable.is_empty() {
            parts.push(format!(
                "{} record(s) fail authentication or cannot be read (a torn write, damage)",
                unreadable.len()
            ));
        }
        if !stale_tracks.is_empty() {
            parts.push(format!(
                "{} track record(s) differ from the catalog",
                stale_tracks.len()
            ));
        }
        for name in self
            .stale
            .iter()
            .filter(|n| !matches!(n, RecordName::Track(_)))
        {
            parts.push(format!("the {name} record differs from the catalog"));
        }
        if self.pending > 0 {
            parts.push(format!(
                "{} change(s) not written to records yet (an interrupted write; opening the vault writes them)",
                self.pending
            ));
        }
        if !extra.is_empty() {
            parts.push(format!(
                "{} record(s) of tracks the catalog does not have (an import or purge cut short; `gc` or `doctor --repair` removes them)",
                extra.len()
            ));
        }
        named.extend(
            missing
                .iter()
                .chain(&unreadable)
                .chain(&stale_tracks)
                .filter(|id| tracks.contains_key(**id))
                .map(|id| self.track_label(id)),
        );
        named.extend(extra.iter().map(|id| format!("record {id}")));
        if parts.is_empty() {
            Check::pass(
                CheckName::Records,
                format!(
                    "{} track record(s), the tombstones and the settings match the catalog",
                    tracks.len()
                ),
            )
        } else {
            Check::fail(
                CheckName::Records,
                Level::Error,
                format!(
                    "{}; `audiovault doctor --repair` writes them again from the catalog",
                    parts.join("; ")
                ),
            )
            .naming(named)
        }
    }
}

fn record_info(p: &RecordPayload) -> RecordInfo {
    let file_name = p.table("tracks").and_then(|t| match t.get(0, "file_name") {
        Some(Value::Text(s)) => Some(s.clone()),
        _ => None,
    });
    let chunks = p
        .table("chunks")
        .map(|t| {
            (0..t.rows.len())
                .filter_map(|row| match (t.get(row, "id"), t.get(row, "stored_size")) {
                    (Some(Value::Blob(id)), Some(Value::Integer(size))) => {
                        ChunkId::from_slice(id).map(|c| (c, (*size).max(0) as u64))
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    RecordInfo { file_name, chunks }
}

fn uses_from_records(
    records: &BTreeMap<TrackId, RecordStatus>,
) -> HashMap<ChunkId, catalog::records::ChunkUse> {
    let mut uses: HashMap<ChunkId, catalog::records::ChunkUse> = HashMap::new();
    for (id, status) in records {
        if let RecordStatus::Readable(info) = status {
            for (chunk, stored_size) in &info.chunks {
                uses.entry(*chunk)
                    .or_insert_with(|| catalog::records::ChunkUse {
                        stored_size: *stored_size,
                        tracks: Vec::new(),
                    })
                    .tracks
                    .push(id.clone());
            }
        }
    }
    uses
}

/// Other devices' pushes this catalog has not merged: nothing is at risk (every
/// device's newest catalog stays on the remote), but this device does not show
/// them yet and its next push merges them first.
fn unmerged_manifests(
    url: &str,
    lines: &crate::sync::lines::Lines,
    heads: Option<&BTreeMap<String, u64>>,
) -> Check {
    let Some(heads) = heads else {
        return Check::fail(
            CheckName::UnmergedManifests,
            Level::Warning,
            format!("{url}: not checked: the catalog cannot be read"),
        );
    };
    let pending = lines.unmerged(heads);
    if pending.is_empty() {
        return Check::pass(
            CheckName::UnmergedManifests,
            format!(
                "{url}: every device's latest push is merged here ({} device(s))",
                lines.by_device.len()
            ),
        );
    }
    let mut check = Check::fail(
        CheckName::UnmergedManifests,
        Level::Warning,
        format!(
            "{url}: {} device(s) pushed changes this device has not merged yet: run `audiovault pull`",
            pending.len()
        ),
    );
    check.affected = pending
        .iter()
        .map(|e| format!("device {} (push {})", e.device, e.seq))
        .collect();
    check
}

/// The remote set up in a settings record (as the catalog would write it).
fn remote_config(settings: &RecordPayload) -> Option<RemoteConfig> {
    let t = settings.table("remote_config")?;
    let text = |c: &str| match t.get(0, c) {
        Some(Value::Text(s)) => Some(s.clone()),
        _ => None,
    };
    let int = |c: &str| match t.get(0, c) {
        Some(Value::Integer(i)) => Some(*i),
        _ => None,
    };
    Some(RemoteConfig {
        endpoint: text("endpoint"),
        region: text("region")?,
        bucket: text("bucket")?,
        prefix: text("prefix").unwrap_or_default(),
        path_style: int("path_style") == Some(1),
        parallelism: int("parallelism")
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(8),
    })
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

struct RemoveOnDrop(Vec<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(unix)]
fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("the vault path holds a NUL byte"))?;
    // SAFETY: statvfs writes into the zeroed struct we own; `c` is a valid C string.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut stat) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok(stat.f_bavail as u64 * stat.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_path: &Path) -> std::io::Result<u64> {
    Err(std::io::Error::other("not measured on this platform"))
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::catalog::{TrackFilter, TrackState};
    use crate::ingest::ImportOptions;
    use crate::progress::NoProgress;
    use crate::secret::Passphrase;
    use crate::vault::{CreateOptions, LockedVault, Vault};

    /// No keyring at all, so the checks never reach the OS's.
    struct NoKeyring;

    impl KeyStore for NoKeyring {
        fn load(&self, _: &str) -> std::result::Result<Option<crate::keys::MasterKey>, KeyError> {
            Err(KeyError::KeyringUnavailable("none in tests".into()))
        }
        fn store(&self, _: &str, _: &crate::keys::MasterKey) -> std::result::Result<(), KeyError> {
            Err(KeyError::KeyringUnavailable("none in tests".into()))
        }
        fn forget(&self, _: &str) -> std::result::Result<bool, KeyError> {
            Ok(false)
        }
    }

    fn wav(seed: u8, len: u32) -> Vec<u8> {
        let mut out = crate::test_support::pcm_wav_header(len);
        let mut x = u32::from(seed).wrapping_mul(2_654_435_761);
        out.extend((0..len).map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        }));
        out
    }

    /// A vault with a weak KDF (tests only) under `dir`, passphrase "pw".
    fn new_vault(dir: &Path) -> Vault {
        let options = CreateOptions {
            kdf_memory_kib: 1024,
            kdf_iterations: 1,
            ..CreateOptions::default()
        };
        Vault::create(&dir.join("vault"), &Passphrase::new("pw"), &options).unwrap()
    }

    struct Fixture {
        dir: tempfile::TempDir,
        vault: Option<Vault>,
    }

    impl Fixture {
        fn root(&self) -> PathBuf {
            self.dir.path().join("vault")
        }

        fn vault(&self) -> &Vault {
            self.vault.as_ref().unwrap()
        }

        fn close(&mut self) {
            self.vault = None;
        }

        fn keys(&self) -> VaultKeys {
            LockedVault::open(&self.root())
                .unwrap()
                .unlock_keys(&Passphrase::new("pw"))
                .unwrap()
        }

        fn reopen(&mut self) {
            self.vault = None;
            self.vault = Some(self.keys().open().unwrap());
        }
    }

    /// A vault with four tracks (one multi-chunk), one trashed, one purged, a
    /// setting, a remote and a watched folder.
    fn library() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let vault = new_vault(dir.path());
        let src = dir.path().join("in");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("a.wav"), wav(1, 40_000)).unwrap();
        fs::write(src.join("b.wav"), wav(2, 50_000)).unwrap();
        fs::write(src.join("c.wav"), wav(3, 60_000)).unwrap();
        fs::write(src.join("long.wav"), wav(4, 3_000_000)).unwrap();
        let report = vault
            .import(
                &[src],
                &ImportOptions::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();
        assert_eq!(report.imported, 4, "{report:?}");
        let id = |name: &str| {
            report
                .files
                .iter()
                .find(|f| f.path.ends_with(name))
                .and_then(|f| f.id.clone())
                .unwrap()
        };
        vault.set_trashed(&[id("c.wav")], true).unwrap();
        vault.purge(None).unwrap();
        vault.set_trashed(&[id("b.wav")], true).unwrap();
        vault
            .set_setting(crate::vault::SettingKey::QuotaBytes, "123456789")
            .unwrap();
        vault
            .set_remote_config(&RemoteConfig {
                endpoint: Some("http://127.0.0.1:9".into()),
                ..RemoteConfig::new("bucket")
            })
            .unwrap();
        let watched = dir.path().join("watched");
        fs::create_dir(&watched).unwrap();
        vault
            .add_watch_folder(&crate::watch::WatchFolder::new(watched))
            .unwrap();
        Fixture {
            dir,
            vault: Some(vault),
        }
    }

    /// Everything a rebuild must bring back, as comparable text.
    fn library_state(vault: &Vault) -> Vec<String> {
        let c = vault.catalog();
        let mut out = Vec::new();
        for t in c.tracks(TrackFilter::All).unwrap() {
            out.push(format!(
                "{} {} {} {:?} {:?} {:?} {:?} {}",
                t.id,
                t.sha256,
                t.file_name,
                t.state,
                t.trashed_at,
                t.meta,
                t.artwork_chunk,
                t.imported_at
            ));
            out.push(format!("{:?}", c.track_chunks(&t.id).unwrap()));
            out.push(format!("{:?}", c.other_tags(&t.id).unwrap()));
        }
        for table in [
            "tombstones",
            "settings",
            "remote_config",
            "watch_folders",
            "chunks",
        ] {
            let n: i64 = c
                .conn()
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            out.push(format!("{table}: {n}"));
        }
        let clocks: (i64, i64, i64) = c
            .conn()
            .query_row(
                "SELECT (SELECT sum(state_clock) FROM tracks),
                        (SELECT count(*) FROM content_adds WHERE removed = 1),
                        (SELECT value FROM lamport)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        out.push(format!("clocks {clocks:?}"));
        drop(c);
        out.push(format!("{:?}", vault.settings().unwrap()));
        out.push(format!("{:?}", vault.remote_config().unwrap()));
        out.push(format!("{:?}", vault.watch_folders().unwrap()));
        out
    }

    fn check(report: &DoctorReport, name: CheckName) -> &Check {
        report
            .checks
            .iter()
            .find(|c| c.check == name)
            .unwrap_or_else(|| panic!("no {name:?} check in {report:?}"))
    }

    fn doctor(f: &Fixture, repair: bool) -> DoctorReport {
        let options = DoctorOptions {
            repair,
            check_remote: false,
            ..DoctorOptions::default()
        };
        f.keys().doctor(&options, &NoKeyring).unwrap()
    }

    /// Right after a write returned: nothing is left marked, and every record on
    /// disk is what the catalog would write.
    #[track_caller]
    fn assert_sealed(vault: &Vault, step: &str) {
        let c = vault.catalog();
        assert_eq!(
            c.records_pending().unwrap(),
            0,
            "{step}: a mark outlived its commit"
        );
        let names = c.track_names().unwrap();
        let on_disk = vault.records().track_ids().unwrap();
        assert_eq!(
            on_disk.iter().collect::<BTreeSet<_>>(),
            names.keys().collect::<BTreeSet<_>>(),
            "{step}: one record per track"
        );
        for name in names
            .keys()
            .map(|id| RecordName::Track(id.clone()))
            .chain([RecordName::Settings, RecordName::Tombstones])
        {
            let record = vault.records().read(&name).unwrap();
            assert_eq!(record, c.render_record(&name).unwrap(), "{step}: {name}");
        }
    }

    #[test]
    fn every_change_reaches_the_records_before_its_commit_returns() {
        let dir = tempfile::tempdir().unwrap();
        let vault = new_vault(dir.path());
        assert_sealed(&vault, "create");
        let src = dir.path().join("in");
        fs::create_dir(&src).unwrap();
        for (i, len) in [40_000u32, 50_000, 3_000_000].into_iter().enumerate() {
            fs::write(src.join(format!("{i}.wav")), wav(i as u8 + 1, len)).unwrap();
        }
        let report = vault
            .import(
                std::slice::from_ref(&src),
                &ImportOptions::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();
        assert_eq!(report.imported, 3);
        assert_sealed(&vault, "import");
        let ids: Vec<TrackId> = report.files.iter().filter_map(|f| f.id.clone()).collect();
        vault.set_trashed(&ids[..2], true).unwrap();
        assert_sealed(&vault, "trash");
        vault.set_trashed(&ids[1..2], false).unwrap();
        assert_sealed(&vault, "restore");
        vault.purge(None).unwrap();
        assert_sealed(&vault, "purge");
        vault.rescan(None, true).unwrap();
        assert_sealed(&vault, "rescan");
        vault
            .set_setting(crate::vault::SettingKey::QuotaBytes, "123456789")
            .unwrap();
        assert_sealed(&vault, "setting");
        let watched = dir.path().join("watched");
        fs::create_dir(&watched).unwrap();
        vault
            .add_watch_folder(&crate::watch::WatchFolder::new(watched.clone()))
            .unwrap();
        assert_sealed(&vault, "watch add");
        vault.set_watch_folder_enabled(&watched, false).unwrap();
        assert_sealed(&vault, "watch disable");
        vault.remove_watch_folder(&watched).unwrap();
        assert_sealed(&vault, "watch remove");

        let c = vault.catalog();
        assert_eq!(c.track_names().unwrap().len(), 2, "one track was purged");
        let tombstones = vault
            .records()
            .read(&RecordName::Tombstones)
            .unwrap()
            .unwrap();
        assert_eq!(tombstones.table("tombstones").unwrap().rows.len(), 1);
        let restored = vault
            .records()
            .read(&RecordName::Track(ids[1].clone()))
            .unwrap()
            .unwrap();
        assert_eq!(
            restored.table("tracks").unwrap().get(0, "state"),
            Some(&Value::Text("active".into()))
        );
        let long = c
            .tracks(TrackFilter::Active)
            .unwrap()
            .into_iter()
            .find(|t| t.file_name == "2.wav")
            .unwrap();
        assert!(long.chunk_count > 1, "a multi-chunk track");
        let record = vault
            .records()
            .read(&RecordName::Track(long.id.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(
            record.table("track_chunks").unwrap().rows.len() as u64,
            long.chunk_count
        );
    }

    #[test]
    fn a_catalog_rebuilt_from_records_is_the_same_library() {
        let mut f = library();
        let before = library_state(f.vault());
        f.close();
        for name in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
            let _ = fs::remove_file(f.root().join(name));
        }
        let err = f.keys().open().err().unwrap();
        assert_eq!(err.kind().as_str(), "catalog_damaged", "{err}");

        let report = doctor(&f, false);
        assert!(!report.ok);
        assert!(!check(&report, CheckName::CatalogIntegrity).ok);
        assert!(check(&report, CheckName::Records).ok, "{report:?}");
        assert!(
            !f.root().join("catalog.db").exists(),
            "checking changes nothing"
        );

        let report = doctor(&f, true);
        assert!(report.ok, "{report:#?}");
        assert_eq!(report.repaired[0].action, RepairAction::CatalogRebuilt);
        f.reopen();
        assert_eq!(library_state(f.vault()), before);
        // Analysis is derived: pending again. Thumbnails would be made again.
        assert_eq!(f.vault().catalog().records_pending().unwrap(), 0);
        assert!(
            !f.vault()
                .tracks(TrackFilter::All)
                .unwrap()
                .iter()
                .any(|t| t.state == TrackState::Trashed && t.trashed_at.is_none())
        );
    }

    /// A front end's Cancel (or lock) stops doctor with `cancelled`, and a
    /// repair cancelled before its swap leaves the vault as it found it: no
    /// catalog swapped in, nothing left in tmp/; the next repair does it all.
    #[test]
    fn a_cancelled_doctor_stops_and_swaps_nothing_in() {
        let mut f = library();
        let before = library_state(f.vault());
        f.close();
        for name in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
            let _ = fs::remove_file(f.root().join(name));
        }
        let cancel = CancelToken::new();
        cancel.cancel();
        for repair in [false, true] {
            let options = DoctorOptions {
                repair,
                check_remote: false,
                cancel: cancel.clone(),
                ..DoctorOptions::default()
            };
            let err = f.keys().doctor(&options, &NoKeyring).err();
            assert_eq!(
                err.as_ref().map(|e| e.kind().as_str()),
                Some("cancelled"),
                "{err:?}"
            );
        }
        assert!(!f.root().join("catalog.db").exists(), "nothing swapped in");
        assert_eq!(fs::read_dir(f.root().join("tmp")).unwrap().count(), 0);
        assert!(doctor(&f, true).ok);
        f.reopen();
        assert_eq!(library_state(f.vault()), before);
    }

    #[test]
    fn a_cut_short_catalog_is_refused_on_open_and_rebuilt_with_the_old_one_kept() {
        let mut f = library();
        let before = library_state(f.vault());
        f.close();
        let db = f.root().join("catalog.db");
        let bytes = fs::read(&db).unwrap();
        // Half of it, and never a whole number of 4 KiB pages (what the check on
        // open finds by length), whatever the schema's page count. A half that
        // is whole pages is opened by SQLite, which then rewrites the stale log:
        // a gap of its own, noted in the cloud-only branch's report.
        let half = bytes.len() / 2 / 4096 * 4096 + 2048;
        fs::write(&db, &bytes[..half]).unwrap();
        // A log beside it must not be replayed onto the rebuilt file (nor be
        // taken for a real one by the check on open).
        fs::write(f.root().join("catalog.db-wal"), b"stale log").unwrap();
        let err = f.keys().open().err().unwrap();
        assert_eq!(err.kind().as_str(), "catalog_damaged", "{err}");

        let report = doctor(&f, true);
        assert!(report.ok, "{report:#?}");
        let moved = &report.repaired[0].paths;
        assert_eq!(moved.len(), 2, "{moved:?}");
        let kept: Vec<Vec<u8>> = moved.iter().map(|p| fs::read(p).unwrap()).collect();
        assert!(kept.contains(&bytes[..half].to_vec()));
        assert!(kept.contains(&b"stale log".to_vec()));
        assert!(!f.root().join("catalog.db-wal").exists());
        f.reopen();
        assert_eq!(library_state(f.vault()), before);
    }

    #[test]
    fn marks_left_behind_are_written_on_open_and_reported_until_then() {
        let mut f = library();
        f.close();
        let id: String = {
            let c = Catalog::open(&f.root().join("catalog.db"), &f.keys().catalog_key()).unwrap();
            // A writer that does not seal: its mark survives the commit.
            c.conn()
                .query_row(
                    "UPDATE tracks SET title = 'changed behind its back'
                     WHERE id = (SELECT min(id) FROM tracks) RETURNING id",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let report = doctor(&f, false);
        let records = check(&report, CheckName::Records);
        assert!(!records.ok, "{records:?}");
        assert!(
            records.detail.contains("1 change(s) not written"),
            "{records:?}"
        );
        assert!(
            records.detail.contains("1 track record(s) differ"),
            "{records:?}"
        );
        f.reopen();
        let record = f
            .vault()
            .records()
            .read(&RecordName::Track(TrackId(id)))
            .unwrap()
            .unwrap();
        assert_eq!(
            record.table("tracks").unwrap().get(0, "title"),
            Some(&Value::Text("changed behind its back".into()))
        );
        f.close();
        assert!(doctor(&f, false).ok);
    }

    #[test]
    fn a_vault_made_before_records_gets_them_all_on_first_open() {
        let mut f = library();
        let names = f.vault().catalog().track_names().unwrap();
        f.close();
        fs::remove_dir_all(f.root().join("records")).unwrap();
        {
            // Back to schema 10: no marks table, no triggers.
            let c = crate::catalog::test_connection_with(
                &f.root().join("catalog.db"),
                &f.keys().catalog_key(),
            );
            let triggers: Vec<String> = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'record_dirty_%'")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<std::result::Result<_, _>>()
                .unwrap();
            assert!(triggers.len() > 10);
            for t in triggers {
                c.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
            }
            c.execute_batch(
                "DROP TABLE record_dirty; ALTER TABLE track_chunks DROP COLUMN transform;
                 PRAGMA user_version = 10;",
            )
            .unwrap();
        }
        f.reopen();
        let on_disk: BTreeSet<TrackId> = f
            .vault()
            .records()
            .track_ids()
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(on_disk, names.into_keys().collect());
        assert!(f.vault().records().has_records());
        f.close();
        let report = doctor(&f, false);
        assert!(check(&report, CheckName::Records).ok, "{report:#?}");
    }

    #[test]
    fn records_are_checked_and_mended_from_a_healthy_catalog() {
        let mut f = library();
        let ids: Vec<TrackId> = f.vault().records().track_ids().unwrap();
        let path = |id: &TrackId| f.vault().records().path_of(&RecordName::Track(id.clone()));
        // One torn by a power cut, one lost, and one of a track that never
        // committed (copied under a new id).
        let torn = fs::read(path(&ids[0])).unwrap();
        fs::write(path(&ids[0]), &torn[..torn.len() / 2]).unwrap();
        fs::remove_file(path(&ids[1])).unwrap();
        let stray = f
            .vault()
            .records()
            .path_of(&RecordName::Track(TrackId("00000000000000ff".into())));
        fs::create_dir_all(stray.parent().unwrap()).unwrap();
        fs::write(&stray, b"not a record").unwrap();
        f.close();

        let report = doctor(&f, false);
        let records = check(&report, CheckName::Records);
        assert!(!records.ok);
        assert!(
            records.detail.contains("1 track(s) have no record"),
            "{records:?}"
        );
        assert!(
            records.detail.contains("2 record(s) fail authentication"),
            "{records:?}"
        );
        assert!(
            records
                .detail
                .contains("1 record(s) of tracks the catalog does not have"),
            "{records:?}"
        );
        assert!(check(&report, CheckName::Chunks).ok, "{report:#?}");

        let report = doctor(&f, true);
        assert!(report.ok, "{report:#?}");
        assert!(check(&report, CheckName::Records).ok);
        assert!(!stray.exists());
        let damaged: Vec<_> = fs::read_dir(f.root().join("records").join("damaged"))
            .unwrap()
            .collect();
        assert_eq!(
            damaged.len(),
            1,
            "the unreadable stray is kept aside, not deleted"
        );
    }

    #[test]
    fn orphan_chunks_are_reported_and_removed_only_on_repair() {
        let mut f = library();
        // Purge left rows for gc; an import cut short left a chunk no row knows.
        let orphan = f.vault().store().id_for(b"an orphan");
        f.vault().store().put(&orphan, b"an orphan").unwrap();
        f.close();
        let report = doctor(&f, false);
        let chunks = check(&report, CheckName::Chunks);
        assert!(!chunks.ok);
        assert_eq!(chunks.level, Level::Warning);
        assert!(chunks.detail.contains("1 orphan file(s)"), "{chunks:?}");
        assert!(report.ok, "orphans are a warning");
        assert!(f.root().join("chunks").join(&orphan.to_hex()[..2]).exists());
        let report = doctor(&f, true);
        assert!(check(&report, CheckName::Chunks).ok, "{report:#?}");
        let store = ChunkStore::new(&f.root(), f.keys().master_key(), f.keys().vault_id());
        assert!(!store.contains(&orphan));
        f.reopen();
        assert!(
            f.vault()
                .verify(&NoProgress, &CancelToken::new())
                .unwrap()
                .ok
        );
    }

    #[test]
    fn gc_removes_records_of_tracks_the_catalog_never_committed() {
        let f = library();
        let vault = f.vault();
        let ghost = TrackId("00000000000000ee".into());
        let some = vault.records().track_ids().unwrap()[0].clone();
        let payload = vault
            .records()
            .read(&RecordName::Track(some))
            .unwrap()
            .unwrap();
        vault
            .records()
            .write(&RecordName::Track(ghost.clone()), &payload)
            .unwrap();
        let report = vault.gc().unwrap();
        assert_eq!(report.removed_records, 1);
        assert!(!vault.records().track_ids().unwrap().contains(&ghost));
    }

    #[test]
    fn a_purge_whose_record_removal_was_cut_short_stays_purged_in_a_rebuild() {
        let mut f = library();
        let vault = f.vault();
        let victim = vault.tracks(TrackFilter::Trashed).unwrap()[0].clone();
        let record = vault
            .records()
            .path_of(&RecordName::Track(victim.id.clone()));
        let stale = fs::read(&record).unwrap();
        vault.purge(None).unwrap();
        assert!(!record.exists());
        // The purge committed; its removal of the record did not happen.
        fs::write(&record, &stale).unwrap();
        let before = library_state(vault);
        f.close();
        fs::remove_file(f.root().join("catalog.db")).unwrap();
        let report = doctor(&f, true);
        assert!(report.ok, "{report:#?}");
        assert!(
            report.repaired[0]
                .detail
                .contains("1 purged track(s) left out"),
            "{report:#?}"
        );
        assert!(
            !record.exists(),
            "the purged track's record went with the rebuild"
        );
        f.reopen();
        assert_eq!(library_state(f.vault()), before);
        let removed: i64 = f
            .vault()
            .catalog()
            .conn()
            .query_row(
                "SELECT count(*) FROM content_adds a JOIN tombstones t ON t.sha256 = a.sha256
                 WHERE a.removed = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            removed, 2,
            "both purges' removed adds came back from the records"
        );
    }

    #[test]
    fn low_disk_space_and_a_missing_keyring_are_warnings_not_damage() {
        let mut f = library();
        f.close();
        let options = DoctorOptions {
            min_free_bytes: u64::MAX,
            check_remote: false,
            ..DoctorOptions::default()
        };
        let report = f.keys().doctor(&options, &NoKeyring).unwrap();
        let disk = check(&report, CheckName::DiskSpace);
        assert!(!disk.ok && disk.level == Level::Warning, "{disk:?}");
        assert!(disk.detail.contains("free on the vault's disk"), "{disk:?}");
        let keyring = check(&report, CheckName::Keyring);
        assert!(
            !keyring.ok && keyring.level == Level::Warning,
            "{keyring:?}"
        );
        assert!(report.ok, "warnings leave the vault whole: {report:#?}");
        assert!(check(&report, CheckName::VaultJson).ok);
        // vault.json altered: its MAC no longer matches.
        let path = f.root().join("vault.json");
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("\"epoch\": 0", "\"epoch\": 7")).unwrap();
        let keys = LockedVault::open(&f.root())
            .unwrap()
            .unlock_keys(&Passphrase::new("pw"))
            .unwrap();
        let report = keys.doctor(&options, &NoKeyring).unwrap();
        let json = check(&report, CheckName::VaultJson);
        assert!(!json.ok && json.level == Level::Error, "{json:?}");
        assert!(!report.ok);
        assert_eq!(
            keys.open().err().map(|e| e.kind().as_str()),
            Some("vault_json_forged")
        );
    }

    #[test]
    fn free_bytes_reads_the_file_system() {
        assert!(free_bytes(Path::new("/")).unwrap() > 0);
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
