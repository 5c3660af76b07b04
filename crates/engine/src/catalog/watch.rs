//! Rows of the watched import folder: the folders and their policies, what the
//! watcher remembers about each file it took up, and the 'Not imported' list
//! (the types are the watch module's vocabulary, kept here with their rows).
//! Paths are stored as raw bytes so names that are not UTF-8 stay distinct.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{OptionalExtension, Row, params};

use super::{Activity, Catalog, CatalogError, LogKind, format_time, now_unix};
use crate::progress::Outcome;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How long a file must stay unchanged before it is imported, unless the folder
/// says otherwise.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(3);

/// The settle times a folder may have, in seconds: long enough to see a file
/// still growing, short enough that an import does not seem lost.
pub const SETTLE_RANGE_SECONDS: (f64, f64) = (0.1, 3600.0);

/// What happens to a file in the watched folder once it is safely in the vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AfterImport {
    /// Leave it; remembered so it is not imported again.
    #[default]
    Keep,
    /// Delete it from the folder after the track was read back and verified.
    Remove,
}

impl AfterImport {
    pub fn as_str(self) -> &'static str {
        match self {
            AfterImport::Keep => "keep",
            AfterImport::Remove => "remove",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        if s == "remove" {
            AfterImport::Remove
        } else {
            AfterImport::Keep
        }
    }
}

/// A watched folder and its policy (also what a front end sends to change it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WatchFolder {
    #[serde(serialize_with = "lossy_path")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub path: PathBuf,
    /// Watched when `audiovault watch` (or the app) runs all folders.
    pub enabled: bool,
    /// Files in subfolders too.
    pub recursive: bool,
    pub after_import: AfterImport,
    /// Move files that fail into the 'Not imported' subfolder (else leave them).
    pub move_failures: bool,
    /// How long a file must stay unchanged before it is imported (within
    /// [`SETTLE_RANGE_SECONDS`]).
    #[serde(
        rename = "settle_seconds",
        serialize_with = "seconds",
        deserialize_with = "settle_seconds"
    )]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub settle: Duration,
    /// Poll instead of using file-system events.
    pub poll: bool,
}

impl WatchFolder {
    /// A folder with the default policy: enabled, recursive, keep files, move
    /// failures aside, 3 s settle time, events.
    pub fn new(path: PathBuf) -> Self {
        WatchFolder {
            path,
            enabled: true,
            recursive: true,
            after_import: AfterImport::Keep,
            move_failures: true,
            settle: DEFAULT_SETTLE,
            poll: false,
        }
    }

    /// A settle time in seconds, refused outside [`SETTLE_RANGE_SECONDS`] with
    /// the reason; kept to whole milliseconds, as the catalog stores it.
    pub fn settle_from_seconds(seconds: f64) -> Result<Duration, String> {
        let (min, max) = SETTLE_RANGE_SECONDS;
        if !(seconds.is_finite() && (min..=max).contains(&seconds)) {
            return Err(format!(
                "the settle time must be between {min} and {max} seconds, not {seconds}"
            ));
        }
        Ok(Duration::from_millis((seconds * 1000.0).round() as u64))
    }
}

fn settle_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    WatchFolder::settle_from_seconds(f64::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// An entry of the 'Not imported' list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WatchFailure {
    pub id: i64,
    #[serde(serialize_with = "lossy_path")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub folder: PathBuf,
    /// Where the watcher found the file.
    #[serde(serialize_with = "lossy_path")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub path: PathBuf,
    /// Where it is now, in 'Not imported'; null when it was left in place.
    #[serde(serialize_with = "lossy_opt_path")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub moved_to: Option<PathBuf>,
    /// `rejected` or `failed`.
    pub outcome: Outcome,
    pub reason: String,
    pub size_bytes: Option<u64>,
    /// RFC 3339, UTC.
    pub at: String,
}

/// What the watcher remembers about a file it took up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFile {
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: Option<[u8; 32]>,
    pub status: KnownStatus,
    pub track_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownStatus {
    Imported,
    /// Its content was already in the vault.
    Duplicate,
    /// It failed and was left in place: not retried until it changes.
    NotImported,
}

impl KnownStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KnownStatus::Imported => "imported",
            KnownStatus::Duplicate => "duplicate",
            KnownStatus::NotImported => "not_imported",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "duplicate" => KnownStatus::Duplicate,
            "not_imported" => KnownStatus::NotImported,
            _ => KnownStatus::Imported,
        }
    }
}

pub(crate) fn lossy_path<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    // serde's own Path impl fails on names that are not UTF-8; a listing must not.
    s.serialize_str(&path.to_string_lossy())
}

pub(crate) fn lossy_opt_path<S: Serializer>(
    path: &Option<PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => s.serialize_str(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

pub(crate) fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[cfg(unix)]
pub(crate) fn path_to_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(unix)]
pub(crate) fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
pub(crate) fn path_to_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().into_owned().into_bytes()
}

#[cfg(not(unix))]
pub(crate) fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// The byte range of every path strictly below `folder`: paths that start with
/// `folder/` sort between `folder/` and `folder0` ('0' follows '/' in ASCII), so
/// the primary key answers a subtree query without a scan.
fn subtree_bounds(folder: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut low = path_to_bytes(folder);
    while low.len() > 1 && low.last() == Some(&b'/') {
        low.pop();
    }
    let mut high = low.clone();
    low.push(b'/');
    high.push(b'0');
    (low, high)
}

const FOLDER_COLUMNS: &str =
    "path, enabled, recursive, after_import, move_failures, settle_ms, force_poll";

fn folder_from_row(r: &Row<'_>) -> rusqlite::Result<WatchFolder> {
    Ok(WatchFolder {
        path: path_from_bytes(r.get(0)?),
        enabled: r.get(1)?,
        recursive: r.get(2)?,
        after_import: AfterImport::parse(&r.get::<_, String>(3)?),
        move_failures: r.get(4)?,
        settle: Duration::from_millis(r.get::<_, i64>(5)?.max(0) as u64),
        poll: r.get(6)?,
    })
}

fn known_from_row(r: &Row<'_>) -> rusqlite::Result<KnownFile> {
    let sha: Option<Vec<u8>> = r.get(2)?;
    Ok(KnownFile {
        size: r.get::<_, i64>(0)? as u64,
        mtime_ns: r.get(1)?,
        sha256: sha.and_then(|s| <[u8; 32]>::try_from(s.as_slice()).ok()),
        status: KnownStatus::parse(&r.get::<_, String>(3)?),
        track_id: r.get(4)?,
    })
}

impl Catalog {
    /// Runs `f` in one transaction: a burst of hundreds of files costs one
    /// commit (one fsync), not one per row.
    pub fn in_transaction<T, E: From<CatalogError>>(
        &self,
        f: impl FnOnce(&Catalog) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let value = f(self)?;
        let sealed = self.seal_records()?;
        tx.commit().map_err(|e| self.err(e))?;
        sealed.after_commit();
        Ok(value)
    }

    pub fn watch_folders(&self) -> Result<Vec<WatchFolder>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {FOLDER_COLUMNS} FROM watch_folders ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], folder_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn watch_folder(&self, path: &Path) -> Result<Option<WatchFolder>, CatalogError> {
        self.conn
            .query_row(
                &format!("SELECT {FOLDER_COLUMNS} FROM watch_folders WHERE path = ?1"),
                [path_to_bytes(path)],
                folder_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Adds the folder, or replaces the settings of the one with the same path.
    pub fn upsert_watch_folder(&self, folder: &WatchFolder) -> Result<(), CatalogError> {
        self.sealed_write(|conn| {
            conn.execute(
                "INSERT INTO watch_folders
                   (path, enabled, recursive, after_import, move_failures, settle_ms, force_poll, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (path) DO UPDATE SET
                   enabled = excluded.enabled, recursive = excluded.recursive,
                   after_import = excluded.after_import, move_failures = excluded.move_failures,
                   settle_ms = excluded.settle_ms, force_poll = excluded.force_poll",
                params![
                    path_to_bytes(&folder.path),
                    folder.enabled,
                    folder.recursive,
                    folder.after_import.as_str(),
                    folder.move_failures,
                    i64::try_from(folder.settle.as_millis()).unwrap_or(i64::MAX),
                    folder.poll,
                    now_unix()
                ],
            )
        })?;
        Ok(())
    }

    pub fn remove_watch_folder(&self, path: &Path) -> Result<bool, CatalogError> {
        let n = self.sealed_write(|conn| {
            conn.execute(
                "DELETE FROM watch_folders WHERE path = ?1",
                [path_to_bytes(path)],
            )
        })?;
        Ok(n > 0)
    }

    pub fn set_watch_folder_enabled(
        &self,
        path: &Path,
        enabled: bool,
    ) -> Result<bool, CatalogError> {
        let n = self.sealed_write(|conn| {
            conn.execute(
                "UPDATE watch_folders SET enabled = ?2 WHERE path = ?1",
                params![path_to_bytes(path), enabled],
            )
        })?;
        Ok(n > 0)
    }

    /// Everything remembered about files below `folder`, loaded once when the
    /// watcher starts so that re-scans cost no query per file.
    pub fn known_files_under(
        &self,
        folder: &Path,
    ) -> Result<HashMap<PathBuf, KnownFile>, CatalogError> {
        let (low, high) = subtree_bounds(folder);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT size_bytes, mtime_ns, sha256, status, track_id, path
                 FROM watch_files WHERE path > ?1 AND path < ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![low, high], |r| {
                Ok((path_from_bytes(r.get(5)?), known_from_row(r)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    pub fn known_file(&self, path: &Path) -> Result<Option<KnownFile>, CatalogError> {
        self.conn
            .query_row(
                "SELECT size_bytes, mtime_ns, sha256, status, track_id FROM watch_files WHERE path = ?1",
                [path_to_bytes(path)],
                known_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn remember_file(
        &self,
        path: &Path,
        folder: &Path,
        known: &KnownFile,
    ) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "INSERT INTO watch_files (path, folder, size_bytes, mtime_ns, sha256, status, track_id, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (path) DO UPDATE SET
                   folder = excluded.folder, size_bytes = excluded.size_bytes,
                   mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,
                   status = excluded.status, track_id = excluded.track_id,
                   updated_at = excluded.updated_at",
                params![
                    path_to_bytes(path),
                    path_to_bytes(folder),
                    known.size as i64,
                    known.mtime_ns,
                    known.sha256.as_ref().map(|s| &s[..]),
                    known.status.as_str(),
                    known.track_id,
                    now_unix()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn forget_file(&self, path: &Path) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "DELETE FROM watch_files WHERE path = ?1",
                [path_to_bytes(path)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn add_watch_failure(
        &self,
        folder: &Path,
        path: &Path,
        moved_to: Option<&Path>,
        outcome: Outcome,
        reason: &str,
        size_bytes: Option<u64>,
    ) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "INSERT INTO watch_failures (folder, path, moved_to, outcome, reason, size_bytes, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    path_to_bytes(folder),
                    path_to_bytes(path),
                    moved_to.map(path_to_bytes),
                    outcome.as_str(),
                    reason,
                    size_bytes.map(|n| n as i64),
                    now_unix()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A file at `path` was imported after all: failures recorded for a file left
    /// at that path are resolved. Moved files stay listed (they are still in
    /// 'Not imported').
    pub fn resolve_watch_failures(&self, path: &Path) -> Result<usize, CatalogError> {
        self.conn
            .execute(
                "DELETE FROM watch_failures WHERE path = ?1 AND moved_to IS NULL",
                [path_to_bytes(path)],
            )
            .map_err(|e| self.err(e))
    }

    pub fn watch_failures(&self) -> Result<Vec<WatchFailure>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, folder, path, moved_to, outcome, reason, size_bytes, at
                 FROM watch_failures ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(WatchFailure {
                    id: r.get(0)?,
                    folder: path_from_bytes(r.get(1)?),
                    path: path_from_bytes(r.get(2)?),
                    moved_to: r.get::<_, Option<Vec<u8>>>(3)?.map(path_from_bytes),
                    outcome: if r.get::<_, String>(4)? == "rejected" {
                        Outcome::Rejected
                    } else {
                        Outcome::Failed
                    },
                    reason: r.get(5)?,
                    size_bytes: r.get::<_, Option<i64>>(6)?.map(|n| n as u64),
                    at: format_time(r.get(7)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Empties the 'Not imported' list and forgets the failures of files left in
    /// place, so the watcher tries them again. Files are not touched.
    pub fn clear_watch_failures(&self) -> Result<usize, CatalogError> {
        self.in_transaction(|c| {
            let n = c
                .conn
                .execute("DELETE FROM watch_failures", [])
                .map_err(|e| c.err(e))?;
            c.conn
                .execute("DELETE FROM watch_files WHERE status = 'not_imported'", [])
                .map_err(|e| c.err(e))?;
            Ok::<_, CatalogError>(n)
        })
    }

    /// The newest activity entries of the watcher.
    pub fn watch_activity(&self, limit: u32) -> Result<Vec<Activity>, CatalogError> {
        self.recent_activity(limit, Some(LogKind::Watch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_query_finds_only_paths_below_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("catalog.db"), &crate::catalog::test_key()).unwrap();
        let known = KnownFile {
            size: 1,
            mtime_ns: 2,
            sha256: Some([7; 32]),
            status: KnownStatus::Imported,
            track_id: Some("0123456789abcdef".into()),
        };
        for p in [
            "/in/a.wav",
            "/in/sub/b.wav",
            "/inbox/c.wav",
            "/in0.wav",
            "/i.wav",
        ] {
            c.remember_file(Path::new(p), Path::new("/in"), &known)
                .unwrap();
        }
        let mut found: Vec<PathBuf> = c
            .known_files_under(Path::new("/in/"))
            .unwrap()
            .into_keys()
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![PathBuf::from("/in/a.wav"), PathBuf::from("/in/sub/b.wav")]
        );
        let back = c.known_file(Path::new("/in/a.wav")).unwrap().unwrap();
        assert_eq!(back, known);
    }

    #[test]
    fn folders_round_trip_and_upsert_replaces_settings() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("catalog.db"), &crate::catalog::test_key()).unwrap();
        let mut f = WatchFolder::new(PathBuf::from("/music/inbox"));
        c.upsert_watch_folder(&f).unwrap();
        f.after_import = AfterImport::Remove;
        f.settle = Duration::from_millis(1500);
        f.recursive = false;
        c.upsert_watch_folder(&f).unwrap();
        assert_eq!(c.watch_folders().unwrap(), vec![f.clone()]);
        assert!(
            c.set_watch_folder_enabled(&f.path, false).unwrap(),
            "the folder exists"
        );
        assert!(!c.watch_folder(&f.path).unwrap().unwrap().enabled);
        assert!(c.remove_watch_folder(&f.path).unwrap());
        assert!(!c.remove_watch_folder(&f.path).unwrap());
    }

    #[test]
    fn failures_are_listed_resolved_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let c = Catalog::open(&dir.path().join("catalog.db"), &crate::catalog::test_key()).unwrap();
        let folder = Path::new("/in");
        c.add_watch_failure(
            folder,
            Path::new("/in/a.wav"),
            None,
            Outcome::Rejected,
            "empty",
            Some(0),
        )
        .unwrap();
        c.add_watch_failure(
            folder,
            Path::new("/in/b.wav"),
            Some(Path::new("/in/Not imported/b.wav")),
            Outcome::Rejected,
            "not audio",
            Some(3),
        )
        .unwrap();
        assert_eq!(c.watch_failures().unwrap().len(), 2);
        assert_eq!(c.resolve_watch_failures(Path::new("/in/a.wav")).unwrap(), 1);
        assert_eq!(
            c.resolve_watch_failures(Path::new("/in/b.wav")).unwrap(),
            0,
            "a moved file stays listed"
        );
        assert_eq!(c.clear_watch_failures().unwrap(), 1);
        assert!(c.watch_failures().unwrap().is_empty());
    }

    #[test]
    fn a_settle_time_outside_the_range_is_refused_wherever_it_comes_from() {
        assert_eq!(
            WatchFolder::settle_from_seconds(0.3).unwrap(),
            Duration::from_millis(300)
        );
        for bad in [0.0, 0.05, 3600.5, f64::NAN, f64::INFINITY, -1.0] {
            assert!(WatchFolder::settle_from_seconds(bad).is_err(), "{bad}");
        }
        let mut json = serde_json::to_value(WatchFolder::new(PathBuf::from("/in"))).unwrap();
        json["settle_seconds"] = serde_json::json!(0.5);
        let f: WatchFolder = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(f.settle, Duration::from_millis(500));
        json["settle_seconds"] = serde_json::json!(1e9);
        let err = serde_json::from_value::<WatchFolder>(json).unwrap_err();
        assert!(err.to_string().contains("between 0.1 and 3600"), "{err}");
    }
}
