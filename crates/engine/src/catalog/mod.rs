//! The catalog: a SQLite file beside the chunks (`catalog.db`, WAL mode),
//! encrypted at rest with SQLCipher under a key derived from the master key
//! (see `cipher`).
//!
//! Migrations are numbered SQL files embedded in the binary and applied in one
//! transaction, tracked by `PRAGMA user_version`. A catalog newer than this
//! binary is refused, never "repaired". Statistics are running totals that
//! triggers keep in the same transaction as every change (migration 0014), so they
//! cannot drift from the rows; a test recomputes them with the queries they
//! replaced. Settings hold preferences only: secrets live in the OS keyring.

mod analysis;
pub(crate) mod cipher;
pub(crate) mod clock;
pub mod cloud;
mod groups;
mod history;
mod matches;
pub(crate) mod merge;
pub mod record_store;
pub(crate) mod records;
pub mod remote;
pub(crate) mod rows;
mod search;
#[cfg(any(test, feature = "bench", feature = "testing"))]
pub mod synthetic;
mod tracks;
pub(crate) mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

pub use analysis::{AnalysisState, DuplicateTrack};
pub use cipher::CatalogKey;
pub use groups::*;
pub use history::{ImportJobItemRow, ImportJobRow};
pub use records::SealedRecords;
pub use search::*;
pub use tracks::*;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog {path}: {source}{}", damage_hint(source))]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// Writing the sealed records of a change failed: the change was not committed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another program holds the catalog in a way that stops this step.
    #[error("{0}")]
    Busy(String),
    #[error(transparent)]
    Records(#[from] crate::records::RecordError),
    /// Making an import batch's chunks durable failed: the batch was not committed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(
        "catalog {path} has schema version {found}, newer than this Audiovault knows ({known}); upgrade Audiovault"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// A catalog snapshot from the remote that is not a well-formed row stream
    /// (it authenticated, so it was written wrong, not damaged on the way).
    #[error("the catalog snapshot is malformed: {0}")]
    MalformedSnapshot(String),
}

/// What a damaged catalog's message adds: the way out.
fn damage_hint(source: &rusqlite::Error) -> &'static str {
    if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
        " (it cannot be decrypted with this vault's key: it is damaged, or it is another vault's catalog; run `audiovault doctor --repair` to rebuild it from the vault's records)"
    } else if is_damage(source) {
        " (the catalog is damaged: run `audiovault doctor --repair` to rebuild it from the vault's records)"
    } else {
        ""
    }
}

/// SQLite's words for a file that is not (or no longer) a sound database.
fn is_damage(source: &rusqlite::Error) -> bool {
    matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

impl CatalogError {
    /// The catalog file is damaged (not merely busy or unwritable).
    pub fn is_damaged(&self) -> bool {
        matches!(self, CatalogError::Sqlite { source, .. } if is_damage(source))
    }
}

/// The catalog's schema version, refused when a newer Audiovault wrote it (this
/// one would misread what it does not know). The first read of a connection: a
/// wrong key or a damaged first page fails here too.
fn schema_version_known(conn: &Connection, path: &Path) -> Result<i64, CatalogError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| CatalogError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
    if version > SCHEMA_VERSION {
        return Err(CatalogError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// Embedded migrations, by file name; the schema version is the count applied.
macro_rules! migrations {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("migrations/", $name, ".sql")))),*]
    };
}
const MIGRATIONS: &[(&str, &str)] = migrations![
    "0001_foundation",
    "0002_watch",
    "0003_metadata",
    "0004_analysis",
    "0005_thumbnails",
    "0006_sync",
    "0007_search_generation",
    "0008_search_index",
    "0009_search_changes",
    "0010_sync_lines",
    "0011_records",
    "0012_chunk_transform",
    "0014_totals",
    "0015_analysis_rowid",
    "0016_cloud_only",
    "0017_remote_gone",
    "0018_sync_totals",
    "0019_footer_index",
];

/// The schema version of a catalog with every migration before `name` and not
/// `name` itself: for tests that take a catalog back to before one.
#[cfg(test)]
pub(crate) fn version_before(name: &str) -> i64 {
    MIGRATIONS
        .iter()
        .position(|(n, _)| *n == name)
        .map_or_else(|| panic!("no migration {name}"), |i| i as i64)
}

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub struct Catalog {
    conn: Connection,
    path: PathBuf,
    /// Text searches evaluated on this connection (see `matches`).
    matches: matches::MatchCache,
    /// Where write transactions seal the records of what they change (see
    /// `records`); none on catalogs that are not a vault's (tests, snapshots).
    records: Option<Arc<crate::records::RecordStore>>,
}

impl Catalog {
    /// Text searches this connection has run through FTS5 (tests check which
    /// connection a search used by what it had cached).
    #[cfg(test)]
    pub(crate) fn search_evaluations(&self) -> u64 {
        self.matches.evaluations()
    }
}

pub(crate) fn now_unix() -> i64 {
    now_unix_millis().div_euclid(1000)
}

/// The wall clock, for display and retention by age only: nothing orders
/// changes by it (see `clock`). `AUDIOVAULT_TEST_CLOCK_OFFSET_SECONDS` shifts it,
/// so tests can run a device whose clock is hours off; requests to a remote are
/// still signed with the real time, as a server with its own clock would demand.
pub(crate) fn now_unix_millis() -> i64 {
    static OFFSET_MS: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let offset = *OFFSET_MS.get_or_init(|| {
        std::env::var("AUDIOVAULT_TEST_CLOCK_OFFSET_SECONDS")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map_or(0, |s| s.saturating_mul(1000))
    });
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        .saturating_add(offset)
}

impl Catalog {
    /// Opens (creating if needed) and migrates the catalog, encrypted under `key`.
    /// Crate-private: front ends read the library through `Vault` (see
    /// `crate::library`) and never write the catalog themselves. The benchmark
    /// opens one through the `bench` feature, the end-to-end tests through
    /// `testing`.
    pub(crate) fn open(path: &Path, key: &CatalogKey) -> Result<Self, CatalogError> {
        Self::open_with(path, key, OpenFlags::default())
    }

    /// Opens and migrates a catalog that must exist already.
    pub(crate) fn open_existing(path: &Path, key: &CatalogKey) -> Result<Self, CatalogError> {
        Self::open_with(
            path,
            key,
            OpenFlags::default() - OpenFlags::SQLITE_OPEN_CREATE,
        )
    }

    fn open_with(path: &Path, key: &CatalogKey, flags: OpenFlags) -> Result<Self, CatalogError> {
        let err = |source| CatalogError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open_with_flags(path, flags).map_err(err)?;
        cipher::key_connection(&conn, key).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        // journal_mode returns a row, so it is read rather than executed. The
        // first read: a wrong key (or a damaged first page) fails here.
        let _: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        // FULL: a commit that reports success survives power loss, which the
        // watcher's "remove the source after import" policy relies on.
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(err)?;
        // Room for every statement a commit repeats per file (an import batch, a
        // record's rows) beside the searches': a statement compiled again costs
        // more than it runs, with the triggers these tables carry.
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn, path)?;
        let matches = matches::MatchCache::register(&conn).map_err(err)?;
        Ok(Catalog {
            conn,
            path: path.to_path_buf(),
            matches,
            records: None,
        })
    }

    /// Opens a connection to an existing, already migrated catalog that can only
    /// read: SQLite's read-only open plus `query_only`, so no statement sent through
    /// it (a bug, a trigger) can write. The vault keeps a few of these beside its one
    /// writing connection, so a search, a page or a track's bytes never wait behind a
    /// long job's hold on the writer (WAL: readers see the last commit and never block
    /// a writer nor wait for one). No migration: the writer opened first and migrated;
    /// a catalog of another schema version is refused.
    pub(crate) fn open_reader(path: &Path, key: &CatalogKey) -> Result<Self, CatalogError> {
        let err = |source| CatalogError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(err)?;
        cipher::key_connection(&conn, key).map_err(err)?;
        // A reader waits only while SQLite recovers a log another process left; a
        // short bound, since the user is waiting on the other side.
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA foreign_keys = ON;")
            .map_err(err)?;
        // The first read: a wrong key (or a damaged first page) fails here.
        let version = schema_version_known(&conn, path)?;
        if version != SCHEMA_VERSION {
            return Err(CatalogError::Busy(format!(
                "catalog {} is not migrated yet (schema version {version} of {SCHEMA_VERSION})",
                path.display()
            )));
        }
        conn.set_prepared_statement_cache_capacity(64);
        let matches = matches::MatchCache::register(&conn).map_err(err)?;
        Ok(Catalog {
            conn,
            path: path.to_path_buf(),
            matches,
            records: None,
        })
    }

    /// Runs `f` inside one read transaction, so what it reads in several statements
    /// is the state of one commit (a track listed, then its chunk list, never a purge
    /// in between). Not for searches: the match cache sets nothing aside inside a
    /// transaction (see `matches::Marker::read`).
    pub(crate) fn in_read_transaction<T, E: From<CatalogError>>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))?;
        let out = f(self);
        // Nothing was written: ending it either way changes nothing, and a failed
        // read still ends it, so the connection is not left inside it.
        let end = self
            .conn
            .execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" })
            .map_err(|e| self.err(e));
        let out = out?;
        end?;
        Ok(out)
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> CatalogError {
        CatalogError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn schema_version(&self) -> Result<i64, CatalogError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    pub fn log_activity(&self, kind: LogKind, message: &str) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "INSERT INTO activity (at, kind, message) VALUES (?1, ?2, ?3)",
                params![now_unix(), kind.as_str(), message],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// This copy of the vault's random device id: it names the device's line of
    /// manifests on a remote, tags its content adds, and orders the passphrase
    /// changes it makes. Device-local (never in a catalog snapshot), made on first use.
    pub fn device_id(&self) -> Result<String, CatalogError> {
        clock::device(&self.conn).map_err(|e| self.err(e))
    }

    /// The newest activity entries, optionally of one kind.
    pub fn recent_activity(
        &self,
        limit: u32,
        kind: Option<LogKind>,
    ) -> Result<Vec<Activity>, CatalogError> {
        let kind = kind.map(LogKind::as_str);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, kind, message FROM activity WHERE ?2 IS NULL OR kind = ?2
                 ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![limit, kind], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        let mut entries = Vec::new();
        for row in rows {
            let (at, kind, message) = row.map_err(|e| self.err(e))?;
            // A kind this version does not know (a newer one wrote it) is left out.
            if let Some(kind) = LogKind::parse(&kind) {
                entries.push(Activity {
                    at: format_time(at),
                    kind,
                    message,
                });
            }
        }
        Ok(entries)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, CatalogError> {
        self.conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), CatalogError> {
        self.sealed_write(|conn| {
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
        })?;
        Ok(())
    }

    /// Import jobs left 'running' by a process that no longer exists were cut
    /// short (a crash, a kill, a power cut).
    pub fn mark_interrupted_jobs(&self) -> Result<usize, CatalogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, pid FROM import_jobs WHERE status = 'running'")
            .map_err(|e| self.err(e))?;
        let running: Vec<(i64, Option<i64>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))?;
        let mut n = 0;
        for (id, pid) in running {
            let alive = pid.is_some_and(|p| crate::store::process_alive(p as i32));
            if !alive {
                n += self
                    .conn
                    .execute(
                        "UPDATE import_jobs SET status = 'interrupted', finished_at = ?2 WHERE id = ?1 AND status = 'running'",
                        params![id, now_unix()],
                    )
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(n)
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), CatalogError> {
    let err = |source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    // IMMEDIATE takes the write lock first, so two processes opening a new vault
    // at once cannot both apply the same migration.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    let version = schema_version_known(&tx, path)?;
    for (_, sql) in &MIGRATIONS[version as usize..] {
        tx.execute_batch(sql).map_err(err)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(err)?;
    tx.commit().map_err(err)
}

/// SQLite's own integrity check, on a read-only connection so that checking a
/// damaged catalog changes nothing (no checkpoint written back, no log removed).
/// Empty when the catalog is sound; else the problems SQLite lists.
pub(crate) fn integrity_problems(
    path: &Path,
    key: &CatalogKey,
) -> Result<Vec<String>, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    cipher::key_connection(&conn, key)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if rows == ["ok"] { Vec::new() } else { rows })
}

/// A cheap look at a catalog file before SQLite opens it: `Some(reason)` when it
/// is cut short. A plain SQLite file (a catalog not encrypted yet) is checked by
/// its header (it counts more pages than the file holds, or it is no SQLite file);
/// an encrypted one, whose header only the key reads, by its length: a whole
/// number of pages (SQLite itself then refuses a file shorter than its header's
/// page count). Skipped while the write-ahead log holds frames: a checkpoint cut
/// short by a crash also leaves the file behind its header until SQLite replays
/// the log.
pub(crate) fn file_damage(path: &Path) -> Option<String> {
    use std::io::Read;
    if holds_a_log(&PathBuf::from(format!("{}-wal", path.display()))) {
        return None;
    }
    let mut header = [0u8; 100];
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    if len == 0 {
        return None;
    }
    if len < 100 || file.read_exact(&mut header).is_err() {
        return Some(format!("it is cut short ({len} bytes)"));
    }
    if &header[..16] != b"SQLite format 3\0" {
        if len < cipher::PAGE_SIZE || len % cipher::PAGE_SIZE != 0 {
            return Some(format!(
                "it is cut short: {len} bytes, not a whole number of {}-byte pages",
                cipher::PAGE_SIZE
            ));
        }
        return None;
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    // The page count is valid only when the change counter matches the
    // version-valid-for number (SQLite's file format, section 1.3.7).
    let pages = u64::from(be32(28));
    if be32(24) == be32(92) && pages > 0 && len < pages * page_size {
        return Some(format!(
            "it is cut short: {len} bytes where its header counts {pages} pages of {page_size}"
        ));
    }
    None
}

/// Whether a write-ahead log file holds a log (SQLite's magic number and at
/// least one frame), not merely exists.
fn holds_a_log(wal: &Path) -> bool {
    use std::io::Read;
    const HEADER: u64 = 32;
    let mut magic = [0u8; 4];
    let Ok(mut file) = std::fs::File::open(wal) else {
        return false;
    };
    let long_enough = file.metadata().is_ok_and(|m| m.len() > HEADER + 24);
    long_enough
        && file.read_exact(&mut magic).is_ok()
        && matches!(u32::from_be_bytes(magic), 0x377f_0682 | 0x377f_0683)
}

/// An entry of the vault's activity log (`audiovault log`, the Imports view).
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Activity {
    pub at: String,
    pub kind: LogKind,
    pub message: String,
}

/// What an activity log entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    Import,
    Export,
    Verify,
    Trash,
    Gc,
    Sync,
    Watch,
    Analyze,
    Settings,
    Vault,
    Rescan,
    Doctor,
}

impl LogKind {
    pub const ALL: [LogKind; 12] = [
        LogKind::Import,
        LogKind::Export,
        LogKind::Verify,
        LogKind::Trash,
        LogKind::Gc,
        LogKind::Sync,
        LogKind::Watch,
        LogKind::Analyze,
        LogKind::Settings,
        LogKind::Vault,
        LogKind::Rescan,
        LogKind::Doctor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Import => "import",
            LogKind::Export => "export",
            LogKind::Verify => "verify",
            LogKind::Trash => "trash",
            LogKind::Gc => "gc",
            LogKind::Sync => "sync",
            LogKind::Watch => "watch",
            LogKind::Analyze => "analyze",
            LogKind::Settings => "settings",
            LogKind::Vault => "vault",
            LogKind::Rescan => "rescan",
            LogKind::Doctor => "doctor",
        }
    }

    pub fn parse(name: &str) -> Option<LogKind> {
        LogKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// RFC 3339 in UTC, the form every JSON document uses.
pub fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// For the catalog benchmark only (`--features bench`): a catalog of its own to
/// fill with synthetic tracks, encrypted as a vault's is (under a random key).
#[cfg(feature = "bench")]
pub fn open_for_bench(path: &Path) -> Result<Catalog, CatalogError> {
    Catalog::open(path, &CatalogKey::random())
}

/// For the end-to-end tests only (`--features testing`): a vault's catalog opened
/// with its key but without the vault, so a test can change it behind the vault's
/// back (a writer that does not seal) or read its pages.
#[cfg(feature = "testing")]
pub fn open_for_tests(path: &Path, key: &CatalogKey) -> Result<Catalog, CatalogError> {
    Catalog::open(path, key)
}

/// The key of the catalogs unit tests make (one for every test, so a test can
/// open its catalog again).
#[cfg(test)]
pub(crate) fn test_key() -> CatalogKey {
    CatalogKey::from_bytes([7; 32])
}

/// A test catalog of tracks 1..=3 over chunks: 1 → [a, b], 2 → [b, c], 3 → [d]
/// (chunk ids `[1; 32]`…`[4; 32]`, 100 bytes each): one chunk shared, one alone.
#[cfg(test)]
pub(crate) fn three_tracks_over_four_chunks(dir: &Path) -> Catalog {
    let mut catalog = Catalog::open(&dir.join("catalog.db"), &crate::catalog::test_key()).unwrap();
    let layout: [&[u8]; 3] = [&[1, 2], &[2, 3], &[4]];
    for (i, chunks) in layout.iter().enumerate() {
        let id = TrackId(format!("{:016x}", i + 1));
        let mut sha = [0u8; 32];
        sha[0] = i as u8 + 1;
        let chunks: Vec<NewChunk> = chunks
            .iter()
            .enumerate()
            .map(|(n, c)| {
                NewChunk::plain(crate::store::ChunkId([*c; 32]), n as u64 * 100, 100, 129)
            })
            .collect();
        commit_test_track(&mut catalog, &id, &sha, &chunks, None);
    }
    catalog
}

/// Commits a bare track (a FLAC of 100 bytes a chunk, no tags) for a test.
#[cfg(test)]
pub(crate) fn commit_test_track(
    catalog: &mut Catalog,
    id: &TrackId,
    sha: &[u8; 32],
    chunks: &[NewChunk],
    artwork: Option<&NewArtwork>,
) {
    catalog
        .commit_track(
            &NewTrack {
                id,
                sha256: sha,
                size_bytes: 100 * chunks.len() as u64,
                file_name: "t.flac",
                file_name_raw: None,
                source_path: "t.flac",
                source_mtime: None,
                format: "flac",
                import_job_id: None,
                chunks,
                meta: &TrackMetadata::default(),
                other_tags: &[],
                artwork,
                metadata_version: 1,
            },
            None,
        )
        .unwrap();
}

/// A bare connection to a test catalog, keyed (for a test that writes behind
/// the catalog's back).
#[cfg(test)]
pub(crate) fn test_connection(path: &Path) -> Connection {
    test_connection_with(path, &test_key())
}

#[cfg(test)]
pub(crate) fn test_connection_with(path: &Path, key: &CatalogKey) -> Connection {
    let conn = Connection::open(path).unwrap();
    cipher::key_connection(&conn, key).unwrap();
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_empty_and_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        let c = Catalog::open(&path, &crate::catalog::test_key()).unwrap();
        assert_eq!(c.schema_version().unwrap(), SCHEMA_VERSION);
        c.set_setting("k", "v").unwrap();
        drop(c);
        let c = Catalog::open(&path, &crate::catalog::test_key()).unwrap();
        assert_eq!(c.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(c.setting("k").unwrap().as_deref(), Some("v"));
        let tables: i64 = c
            .conn()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tracks'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 1);
        let mode: String = c
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    /// Migration 0015: analysis rows move to a rowid table, kept whole, and a
    /// 2,000-byte waveform no longer spills into an overflow page.
    #[test]
    fn analysis_rows_survive_the_move_to_a_rowid_table_and_never_overflow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        let before = version_before("0015_analysis_rowid") as usize;
        let wave = |seed: u8| -> Vec<u8> { (0..2000u32).map(|i| (i as u8) ^ seed).collect() };
        {
            let conn = test_connection(&path);
            for (_, sql) in &MIGRATIONS[..before] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", before as i64)
                .unwrap();
            conn.execute(
                "INSERT INTO analysis (sha256, analyzer_version, analyzed_at, status, waveform,
                   fingerprint_kind, fingerprint, decoded_duration, error)
                 VALUES (x'01', 3, 1700000000, 'done', ?1, 'decoded_pcm', x'ab', 12.5, NULL),
                        (x'02', 3, 1700000001, 'failed', NULL, NULL, NULL, NULL, 'not audio')",
                [wave(1)],
            )
            .unwrap();
        }
        let c = Catalog::open(&path, &test_key()).unwrap();
        let sql: String = c
            .conn()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'analysis'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
        type Row = (
            Vec<u8>,
            i64,
            String,
            Option<Vec<u8>>,
            Option<Vec<u8>>,
            Option<String>,
        );
        let rows: Vec<Row> = c
            .conn()
            .prepare("SELECT sha256, analyzed_at, status, waveform, fingerprint, error FROM analysis ORDER BY sha256")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            (
                vec![1],
                1700000000,
                "done".into(),
                Some(wave(1)),
                Some(vec![0xab]),
                None
            )
        );
        assert_eq!(
            rows[1],
            (
                vec![2],
                1700000001,
                "failed".into(),
                None,
                None,
                Some("not audio".into())
            )
        );
        // The upsert by sha256 still replaces, and a write still changes what a push sends.
        let generation = super::remote::generation(c.conn()).unwrap();
        for i in 0..300u32 {
            c.conn()
                .execute(
                    "INSERT INTO analysis (sha256, analyzer_version, analyzed_at, status, waveform)
                     VALUES (?1, 3, 0, 'done', ?2)
                     ON CONFLICT (sha256) DO UPDATE SET waveform = excluded.waveform",
                    rusqlite::params![i.to_be_bytes().to_vec(), wave(i as u8)],
                )
                .unwrap();
        }
        assert!(super::remote::generation(c.conn()).unwrap() > generation);
        let count: i64 = c
            .conn()
            .query_row("SELECT count(*) FROM analysis", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 302);
        let overflow: i64 = c
            .conn()
            .query_row(
                "SELECT count(*) FROM dbstat WHERE name = 'analysis' AND pagetype = 'overflow'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(overflow, 0, "analysis rows spill into overflow pages");
    }

    #[test]
    fn a_newer_catalog_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        drop(Catalog::open(&path, &crate::catalog::test_key()).unwrap());
        {
            let conn = test_connection(&path);
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        match Catalog::open(&path, &test_key()) {
            Err(CatalogError::TooNew { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 5),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a newer catalog was opened"),
        }
        let conn = test_connection(&path);
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION + 5);
    }

    #[test]
    fn a_failed_migration_leaves_the_old_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.db");
        let mut conn = test_connection(&path);
        // A table in the way makes migration 1 fail halfway through.
        conn.execute_batch("CREATE TABLE activity (x INTEGER);")
            .unwrap();
        assert!(migrate(&mut conn, &path).is_err());
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 0);
        let tracks: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'tracks'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            tracks, 0,
            "the transaction rolled back the tables it created"
        );
    }
}
