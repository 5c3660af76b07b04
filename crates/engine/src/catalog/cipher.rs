//! The catalog at rest: SQLCipher (AES-256-CBC per 4 KiB page with a random IV,
//! HMAC-SHA512 per page) keyed with a raw 256-bit key that HKDF derives from the
//! master key under its own label, so SQLCipher runs no KDF of its own (the
//! passphrase's Argon2id already did that work once).
//!
//! Every connection to a catalog goes through [`key_connection`]: the key first,
//! then `secure_delete` (deleted rows are overwritten, not left in free pages)
//! and `temp_store = MEMORY` (sorts and temporary tables never reach a file;
//! the build also sets `SQLITE_TEMP_STORE=2`). The write-ahead log holds
//! encrypted pages, as the database does; `-shm` holds only page numbers and
//! checksums of the log's frames.
//!
//! A catalog made before this (plain SQLite) is encrypted once, in place, by
//! [`encrypt_plaintext_catalog`].

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use zeroize::Zeroizing;

use super::CatalogError;
use crate::keys::MasterKey;
use crate::secret::KeyBytes;

/// The HKDF label of the catalog's key.
const LABEL: &str = "audiovault catalog v1";

/// The first bytes of a plain SQLite file; an encrypted catalog starts with its
/// random salt instead.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// SQLCipher's page size (its default, stated so that the cut-short check
/// below holds whatever a future default is).
pub(crate) const PAGE_SIZE: u64 = 4096;

/// The key of one vault's catalog (and of its snapshots, which other devices of
/// the vault derive the same way). Opaque: it leaves the engine only as this type.
#[derive(Clone)]
pub struct CatalogKey(KeyBytes);

impl std::fmt::Debug for CatalogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogKey(<redacted>)")
    }
}

impl CatalogKey {
    pub(crate) fn derive(master: &MasterKey, vault_id: &str) -> CatalogKey {
        CatalogKey(master.derive(vault_id, LABEL))
    }

    /// A random key: for catalogs that belong to no vault (tests, benchmarks).
    pub fn random() -> CatalogKey {
        use ring::rand::SecureRandom;
        let mut bytes = Zeroizing::new([0u8; 32]);
        if ring::rand::SystemRandom::new()
            .fill(bytes.as_mut())
            .is_err()
        {
            // The OS random source failing is not something to limp on from.
            panic!("the system random number generator failed");
        }
        CatalogKey(KeyBytes::new(*bytes))
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> CatalogKey {
        CatalogKey(KeyBytes::new(bytes))
    }

    /// SQLCipher's raw-key form, `x'<64 hex>'`: used as the key as it is, no KDF.
    fn raw_key(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(67));
        s.push_str("x'");
        for b in self.0.expose() {
            s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        s.push('\'');
        s
    }
}

/// Keys a connection that was just opened (nothing read yet) and sets what every
/// catalog connection needs at rest. Reading nothing, it cannot tell a wrong key:
/// the first read does (`SQLITE_NOTADB`).
pub(crate) fn key_connection(conn: &Connection, key: &CatalogKey) -> rusqlite::Result<()> {
    let raw = key.raw_key();
    // sqlite3_key rather than `PRAGMA key = '…'`, so the key is not copied into
    // SQL text that rusqlite would keep in its statement cache.
    // SAFETY: the handle is this live connection's; the pointer and length
    // describe `raw`, which outlives the call; SQLCipher copies the key.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_key(
            conn.handle(),
            raw.as_ptr().cast(),
            raw.len() as std::os::raw::c_int,
        )
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rc),
            Some("the catalog key was refused".into()),
        ));
    }
    settings(conn)
}

/// What every connection sets, keyed or not: no SQLCipher messages on stderr
/// (its errors reach us as SQLite's), deleted content overwritten, temporary
/// data in memory only, and a page cache sized for decrypted pages.
fn settings(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA cipher_log_level = NONE; PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;",
    )?;
    // SQLCipher decrypts (and authenticates) a page each time it enters SQLite's page
    // cache, so the OS's file cache no longer makes a re-read free: the default 2 MiB
    // cache made a 100k-track library's keyset paging p95 19 ms (plain SQLite: 3.6 ms).
    // 32 MiB per connection, filled only as pages are read, brings every query of
    // `catalog_bench` at 100k under its plain-SQLite figure or near it (paging 3.0 ms,
    // filters 1.9 ms; 64 MiB was no better).
    conn.execute_batch("PRAGMA cache_size = -32768;")
}

/// Attaches the encrypted catalog file at `path` as `schema`, with its key (a
/// bound value, never SQL text). SQLCipher's "the main database's key" default is
/// not relied on: it holds only for a file that shares the main file's salt.
pub(crate) fn attach(
    conn: &Connection,
    path: &Path,
    schema: &str,
    key: &CatalogKey,
) -> rusqlite::Result<()> {
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS {schema} KEY ?2"),
        [path.to_string_lossy().as_ref(), key.raw_key().as_str()],
    )
    .map(|_| ())
}

/// Whether the file at `path` is a plain SQLite database (a catalog made before
/// encryption, or a snapshot pushed by an older version). `Ok(false)` when it is
/// missing, empty or anything else.
pub(crate) fn is_plaintext(path: &Path) -> io::Result<bool> {
    let mut header = [0u8; 16];
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.read_exact(&mut header) {
        Ok(()) => Ok(&header == PLAIN_HEADER),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// The suffix of the encrypted copy [`encrypt_plaintext_catalog`] builds in `tmp/`.
pub(crate) const ENCRYPTING_SUFFIX: &str = "-encrypting.db";
/// The suffix of the second name the plaintext file gets while it is overwritten.
pub(crate) const PLAINTEXT_SUFFIX: &str = "-plaintext.db";

/// Encrypts the plain catalog at `path` in place, crash-safe: a copy is exported
/// into `tmp_dir` (same file system), made durable, checked, and renamed over the
/// plain file; the plain file's blocks are then overwritten through a second
/// name and removed. A kill at any point leaves the plain catalog or the
/// encrypted one, whole: the rename is the only step that changes what
/// `catalog.db` is, and before it the plain file is switched out of WAL mode
/// (its log checkpointed and removed, so no plain log can be replayed onto the
/// encrypted file). Leftovers of a killed run are temp files named for their
/// pid, which the next open removes.
///
/// The caller holds the vault's lock exclusively. Returns `Ok(false)` when the
/// file is not plain (already encrypted, or missing).
pub(crate) fn encrypt_plaintext_catalog(
    path: &Path,
    tmp_dir: &Path,
    key: &CatalogKey,
) -> Result<bool, CatalogError> {
    let err = |source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let io_err = |p: &Path, e: io::Error| CatalogError::Io {
        path: p.to_path_buf(),
        source: e,
    };
    if !is_plaintext(path).map_err(|e| io_err(path, e))? {
        return Ok(false);
    }
    let name = temp_name(tmp_dir, ENCRYPTING_SUFFIX).map_err(|e| io_err(tmp_dir, e))?;
    crate::private::precreate(&name).map_err(|e| io_err(&name, e))?;
    let cleanup = RemoveOnDrop(vec![
        name.clone(),
        sibling(&name, "-journal"),
        sibling(&name, "-wal"),
        sibling(&name, "-shm"),
    ]);
    {
        let plain = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        plain.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        settings(&plain).map_err(err)?;
        // Out of WAL mode: the log is checkpointed into the file and deleted.
        // SQLite refuses (the mode stays "wal") while another connection has
        // the catalog open: then this is not the moment.
        let mode: String = plain
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(CatalogError::Busy(
                "another program has the catalog open; close it and try again".into(),
            ));
        }
        pause();
        let version: i64 = plain
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        // The key as a bound value: it never becomes SQL text.
        plain
            .execute(
                "ATTACH DATABASE ?1 AS encrypted KEY ?2",
                [name.to_string_lossy().as_ref(), key.raw_key().as_str()],
            )
            .map_err(err)?;
        plain.execute_batch("BEGIN EXCLUSIVE").map_err(err)?;
        let exported = plain
            .query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))
            .and_then(|()| plain.pragma_update(Some("encrypted"), "user_version", version))
            .map(|()| pause())
            .and_then(|()| plain.execute_batch("COMMIT"));
        if let Err(e) = exported {
            let _ = plain.execute_batch("ROLLBACK");
            return Err(err(e));
        }
        plain
            .execute_batch("DETACH DATABASE encrypted")
            .map_err(err)?;
    }
    // The copy reads back under the key, whole.
    {
        let check = Connection::open_with_flags(
            &name,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        key_connection(&check, key).map_err(err)?;
        let verdict: String = check
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(err)?;
        if verdict != "ok" {
            return Err(CatalogError::Busy(format!(
                "the encrypted copy of the catalog did not check out ({verdict}); the plain catalog is kept"
            )));
        }
    }
    pause();
    File::open(&name)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(&name, e))?;
    pause();
    // No log of the plain file may outlive it (a stale -shm is harmless, but
    // nobody needs it either).
    for suffix in ["-wal", "-shm"] {
        let side = sibling(path, suffix);
        match fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&side, e)),
        }
    }
    // A second name for the plain file, so its blocks can be overwritten after
    // the rename (best effort: a copy-on-write file system or an SSD may keep
    // old blocks whatever a program does).
    let plain_alias = temp_name(tmp_dir, PLAINTEXT_SUFFIX).map_err(|e| io_err(tmp_dir, e))?;
    let aliased = fs::hard_link(path, &plain_alias).is_ok();
    pause();
    fs::rename(&name, path).map_err(|e| io_err(path, e))?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(dir, e))?;
    }
    drop(cleanup);
    pause();
    if aliased {
        let _ = overwrite_and_remove(&plain_alias);
    }
    Ok(true)
}

/// `AUDIOVAULT_TEST_MIGRATION_PAUSE_MS`: a pause between the steps of
/// [`encrypt_plaintext_catalog`], so the crash test's kills land in every step
/// of a migration that otherwise takes milliseconds. Unset, nothing.
fn pause() {
    if let Some(ms) = std::env::var("AUDIOVAULT_TEST_MIGRATION_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Zeroes a file's bytes, syncs, and removes it.
fn overwrite_and_remove(path: &Path) -> io::Result<()> {
    let len = fs::metadata(path)?.len();
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    drop(f);
    fs::remove_file(path)
}

/// `<tmp>/<pid>-<16 hex><suffix>`: a name the temp cleanup recognizes.
fn temp_name(tmp_dir: &Path, suffix: &str) -> io::Result<PathBuf> {
    let random: [u8; 8] = crate::keys::random_array()
        .map_err(|_| io::Error::other("the system random number generator failed"))?;
    Ok(tmp_dir.join(format!(
        "{}-{}{suffix}",
        std::process::id(),
        crate::store::hex(&random)
    )))
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

/// Writes a plain SQLite database held in memory (a snapshot fetched from the
/// remote) to `path` as an encrypted catalog file under `key`, so the pulled
/// catalog is never plain on disk. `path` must not exist (or be empty).
pub(crate) fn write_encrypted_copy(
    plain: &[u8],
    path: &Path,
    key: &CatalogKey,
) -> Result<(), CatalogError> {
    let err = |source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let mut memory = Connection::open_in_memory().map_err(err)?;
    settings(&memory).map_err(err)?;
    memory
        .deserialize_read_exact(rusqlite::MAIN_DB, plain, plain.len(), true)
        .map_err(err)?;
    write_encrypted_copy_of(&memory, path, key)
}

/// A new, empty database file at `path` (created 0600), encrypted under `key`, for
/// a pull to build a snapshot's catalog in page by page (`rows::decode_into`): no
/// copy of it is ever whole in memory or in clear. No journal and no syncs: it is a
/// temp file, dropped whole if anything stops it.
pub(crate) fn create_encrypted(path: &Path, key: &CatalogKey) -> Result<Connection, CatalogError> {
    let err = |source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    crate::private::precreate(path).map_err(|e| CatalogError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let conn = Connection::open(path).map_err(err)?;
    key_connection(&conn, key).map_err(err)?;
    // A bigger page cache than a catalog connection's: index builds and the FTS
    // rebuild then write each page once instead of evicting and re-encrypting it.
    // Fixed, whatever the library's size. Deleted content needs no overwriting in a
    // file that is itself dropped once merged.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
         PRAGMA cache_size = -131072; PRAGMA secure_delete = OFF;",
    )
    .map_err(err)?;
    Ok(conn)
}

/// [`write_encrypted_copy`] of a plain database open in memory (a catalog snapshot
/// rebuilt from its rows).
pub(crate) fn write_encrypted_copy_of(
    memory: &Connection,
    path: &Path,
    key: &CatalogKey,
) -> Result<(), CatalogError> {
    let err = |source| CatalogError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    crate::private::precreate(path).map_err(|e| CatalogError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    settings(memory).map_err(err)?;
    let version: i64 = memory
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    memory
        .execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            [path.to_string_lossy().as_ref(), key.raw_key().as_str()],
        )
        .map_err(err)?;
    memory.execute_batch("BEGIN").map_err(err)?;
    let exported = memory
        .query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))
        .and_then(|()| memory.pragma_update(Some("encrypted"), "user_version", version))
        .and_then(|()| memory.execute_batch("COMMIT"));
    if let Err(e) = exported {
        let _ = memory.execute_batch("ROLLBACK");
        return Err(err(e));
    }
    memory
        .execute_batch("DETACH DATABASE encrypted")
        .map_err(err)
}

/// The plain catalog's second name that a migration killed after its rename left
/// in `tmp/` (its only name by then): overwritten, then removed. One killed
/// before the rename still shares its blocks with `catalog.db` (more than one
/// link): only that name is removed. Writers still alive are left alone.
pub(crate) fn clean_plaintext_leftovers(tmp_dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let entries = match fs::read_dir(tmp_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let Some(owner) = entry
            .file_name()
            .to_str()
            .and_then(|n| crate::store::temp_file_owner(n, &[PLAINTEXT_SUFFIX]))
        else {
            continue;
        };
        if crate::store::process_alive(owner) {
            continue;
        }
        let meta = match fs::symlink_metadata(entry.path()) {
            Ok(m) if m.is_file() => m,
            _ => continue,
        };
        if meta.nlink() == 1 {
            overwrite_and_remove(&entry.path())?;
        } else {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
