//! The content-addressed chunk store.
//!
//! A chunk's id is a keyed BLAKE3 hash of its plaintext: equal plaintext gives one
//! stored object, and without the key the id says nothing about the content.
//! On disk a chunk is `FORMAT ‖ nonce ‖ AES-256-GCM(plaintext) ‖ tag`, with the
//! format byte and the id as associated data, so a chunk file cannot be swapped
//! for another one, altered, or read without the key. Files live under
//! `chunks/ab/cd/<id>`: two levels of fan-out keep folders small at millions of chunks.
//!
//! Writes go to `tmp/` and are renamed into place, so a running system sees a chunk
//! file either absent or complete. Durability is made explicit by
//! [`ChunkStore::make_durable`], which importers call before the catalog transaction
//! that references chunks.
//!
//! A chunk file is never trusted because it exists: after a power cut the rename can
//! be on disk while the data is not, leaving an empty, truncated or garbage file at a
//! chunk's path. [`ChunkStore::put`] reuses a file only when it has the length the
//! plaintext implies and authenticates, and rewrites it otherwise;
//! [`ChunkStore::holds_intact`] is the same check for callers that have no plaintext
//! (a pull deciding what to fetch).

pub mod chunker;
pub(crate) mod durable;
pub mod ogg_pages;
pub mod reader;
pub mod regions;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use serde::{Serialize, Serializer};

use crate::keys::{KeyError, MasterKey, aead_key, random_array};
use crate::secret::KeyBytes;

/// The first byte of every chunk object: AES-256-GCM with a random 96-bit nonce.
const FORMAT_AES256GCM: u8 = 1;
const TAG_LEN: usize = 16;
/// Bytes a chunk object adds to its plaintext.
pub const OBJECT_OVERHEAD: u64 = (1 + NONCE_LEN + TAG_LEN) as u64;
/// The longest object any vault's chunker can produce (cover art is smaller still).
/// A longer file at a chunk's path is not a chunk, and is not read into memory to
/// find that out.
const MAX_OBJECT_LEN: u64 = fastcdc::v2020::MAXIMUM_MAX as u64 + OBJECT_OVERHEAD;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("chunk {id} is missing")]
    Missing { id: ChunkId },
    #[error("chunk {id} is damaged: {reason}")]
    Corrupt { id: ChunkId, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    /// An evicted chunk (a cloud-only track) that could not be read from the remote.
    #[error("chunk {id} is in the cloud only and could not be fetched: {reason}")]
    Cloud { id: ChunkId, reason: String },
}

/// Where a chunk whose file is absent can still be read from: the remote, for the
/// chunks of cloud-only tracks (`sync::evict` installs it). `Ok(None)`: not a chunk
/// it serves (the chunk is simply missing). What it returns is the chunk's
/// plaintext, authenticated through `store` before it is handed back.
pub trait ChunkFallback: Send + Sync {
    fn fetch(&self, store: &ChunkStore, id: &ChunkId) -> Result<Option<Vec<u8>>, StoreError>;
}

impl StoreError {
    fn io(path: &Path, source: io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Keyed hash of a chunk's plaintext.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkId(pub [u8; 32]);

impl ChunkId {
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = unhex(s)?;
        Some(ChunkId(bytes.try_into().ok()?))
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(ChunkId(bytes.try_into().ok()?))
    }
}

/// As lowercase hex, wherever a chunk id appears in JSON.
impl Serialize for ChunkId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl fmt::Display for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChunkId({})", self.to_hex())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One entry of a track's ordered chunk list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrackChunk {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub id: ChunkId,
    pub offset: u64,
    pub length: u64,
    /// How the stored chunk turns back into the file's bytes (`None`: as stored).
    /// Internal to reading: the UI and the CLI's JSON show chunks without it.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub transform: Option<ogg_pages::ChunkTransform>,
}

/// What [`ChunkStore::put`] did.
#[derive(Debug, Clone, Copy)]
pub struct PutOutcome {
    /// False when an intact copy was already stored (dedup).
    pub written: bool,
    /// True when a damaged file (empty, truncated, or failing authentication) sat at
    /// the chunk's path and was replaced.
    pub replaced_damaged: bool,
    /// Size of the encrypted object on disk.
    pub stored_size: u64,
}

/// What sits at a chunk's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoredState {
    Absent,
    Intact,
    /// Something is there but it is not this chunk: the wrong length, unreadable,
    /// or failing authentication.
    Damaged,
}

pub struct ChunkStore {
    chunks_dir: PathBuf,
    tmp_dir: PathBuf,
    encryption: LessSafeKey,
    id_key: KeyBytes,
    /// Reads of evicted chunks (see [`ChunkFallback`]); set once, on first need.
    fallback: std::sync::OnceLock<std::sync::Arc<dyn ChunkFallback>>,
}

impl ChunkStore {
    pub(crate) fn new(vault_root: &Path, master: &MasterKey, vault_id: &str) -> Self {
        ChunkStore {
            chunks_dir: vault_root.join("chunks"),
            tmp_dir: vault_root.join("tmp"),
            encryption: aead_key(&master.derive(vault_id, "audiovault chunk encryption v1")),
            id_key: master.derive(vault_id, "audiovault chunk id v1"),
            fallback: std::sync::OnceLock::new(),
        }
    }

    /// Installs the source of evicted chunks; the first one installed stays.
    pub fn set_fallback(&self, fallback: std::sync::Arc<dyn ChunkFallback>) {
        let _ = self.fallback.set(fallback);
    }

    pub fn has_fallback(&self) -> bool {
        self.fallback.get().is_some()
    }

    pub fn id_for(&self, plaintext: &[u8]) -> ChunkId {
        ChunkId(*blake3::keyed_hash(self.id_key.expose(), plaintext).as_bytes())
    }

    pub fn path_of(&self, id: &ChunkId) -> PathBuf {
        let h = id.to_hex();
        self.chunks_dir.join(&h[0..2]).join(&h[2..4]).join(h)
    }

    /// Whether a file exists at the chunk's path. Existence proves nothing about
    /// its contents: use [`ChunkStore::holds_intact`] before relying on it.
    pub fn contains(&self, id: &ChunkId) -> bool {
        self.path_of(id).is_file()
    }

    /// Whether chunk `id` is really stored: its file exists, is exactly
    /// `expected_object_len` bytes long when the caller knows the length (plaintext
    /// length + [`OBJECT_OVERHEAD`], or a remote index's object size), and
    /// authenticates under this vault's key with `id` as associated data. Costs one
    /// read of the file and one AES-GCM pass, no write.
    ///
    /// A file that cannot be read counts as not stored: the caller stores the chunk
    /// again, which replaces the file or reports why the disk refuses. Not a
    /// statement about durability: a chunk found intact may be another process's
    /// write that is not synced yet, so callers still call
    /// [`ChunkStore::make_durable`] before the catalog references it.
    pub fn holds_intact(&self, id: &ChunkId, expected_object_len: Option<u64>) -> bool {
        self.stored_state(id, expected_object_len) == StoredState::Intact
    }

    /// Whether the chunk's file exists with exactly `expected_object_len` bytes: a
    /// metadata lookup, no read. Weaker than [`ChunkStore::holds_intact`] (a file of
    /// the right length can still hold garbage) and meant only where reading every
    /// chunk would cost too much, such as deciding that a re-imported file's
    /// existing track needs no repair; `verify` finds the rest.
    pub fn has_full_length(&self, id: &ChunkId, expected_object_len: u64) -> bool {
        fs::symlink_metadata(self.path_of(id))
            .is_ok_and(|m| m.is_file() && m.len() == expected_object_len)
    }

    fn stored_state(&self, id: &ChunkId, expected_object_len: Option<u64>) -> StoredState {
        self.stored_state_reusing(id, expected_object_len, &mut Vec::new())
    }

    /// [`ChunkStore::stored_state`], reading the object into `scratch` (its contents
    /// are overwritten) and authenticating it there, so that an import finding one
    /// chunk after another already stored allocates nothing per chunk.
    fn stored_state_reusing(
        &self,
        id: &ChunkId,
        expected_object_len: Option<u64>,
        scratch: &mut Vec<u8>,
    ) -> StoredState {
        let path = self.path_of(id);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return StoredState::Absent,
            Err(_) => return StoredState::Damaged,
        };
        let Ok(meta) = file.metadata() else {
            return StoredState::Damaged;
        };
        let len = meta.len();
        if !meta.is_file()
            || expected_object_len.is_some_and(|expected| len != expected)
            || !(OBJECT_OVERHEAD..=MAX_OBJECT_LEN).contains(&len)
        {
            return StoredState::Damaged;
        }
        scratch.clear();
        scratch.reserve(len as usize);
        if file.read_to_end(scratch).is_err() || scratch.len() as u64 != len {
            return StoredState::Damaged;
        }
        match self.open_in_place(id, scratch) {
            Ok(_) => StoredState::Intact,
            Err(_) => StoredState::Damaged,
        }
    }

    /// Stores a chunk unless an intact copy is already there; a damaged file at its
    /// path (a power cut's leftover) is replaced from `plaintext`. Not yet durable:
    /// see [`ChunkStore::make_durable`], which the caller needs even when nothing was
    /// written, since a reused file may be another process's unsynced write.
    pub fn put(&self, id: &ChunkId, plaintext: &[u8]) -> Result<PutOutcome, StoreError> {
        self.put_reusing(id, plaintext, &mut Vec::new())
    }

    /// [`ChunkStore::put`] with `scratch` as the buffer the object is checked,
    /// sealed and written from (its contents are overwritten; it grows to the
    /// largest object and stays so). An import worker passes the same one for every
    /// chunk: one copy of the plaintext into memory already mapped, instead of a
    /// fresh allocation per chunk whose pages the kernel zeroes first.
    pub fn put_reusing(
        &self,
        id: &ChunkId,
        plaintext: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<PutOutcome, StoreError> {
        let expected_len = plaintext.len() as u64 + OBJECT_OVERHEAD;
        let replaced_damaged = match self.stored_state_reusing(id, Some(expected_len), scratch) {
            StoredState::Intact => {
                return Ok(PutOutcome {
                    written: false,
                    replaced_damaged: false,
                    stored_size: expected_len,
                });
            }
            StoredState::Absent => false,
            StoredState::Damaged => true,
        };
        self.seal_into(id, plaintext, scratch)?;
        self.write_object(id, scratch)?;
        Ok(PutOutcome {
            written: true,
            replaced_damaged,
            stored_size: scratch.len() as u64,
        })
    }

    /// Writes an object under a temp name and renames it over whatever is at the
    /// chunk's path. Another writer may store the same chunk meanwhile: both objects
    /// hold the same plaintext, so either one winning is harmless.
    fn write_object(&self, id: &ChunkId, object: &[u8]) -> Result<(), StoreError> {
        let tmp = durable::temp_path(&self.tmp_dir)?;
        durable::put_via_temp(&tmp, &self.path_of(id), object, durable::Flush::WithBatch)
            .map_err(|(path, e)| StoreError::io(&path, e))
    }

    /// Makes `chunks` durable: pass every chunk the next catalog commit references,
    /// written by this process or found already stored (which may be another live
    /// process's unsynced write). On Linux one `syncfs` flushes the data and the
    /// renames of the whole filesystem together, far cheaper than an fsync per chunk
    /// file and per folder, and cheap when nothing is dirty; elsewhere each file was
    /// synced as written and the chunks' folders are synced here.
    pub fn make_durable(&self, chunks: &[ChunkId]) -> Result<(), StoreError> {
        if chunks.is_empty() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        durable::sync_file_system(&self.chunks_dir)
            .map_err(|e| StoreError::io(&self.chunks_dir, e))?;
        #[cfg(not(target_os = "linux"))]
        {
            let mut dirs: Vec<PathBuf> = chunks
                .iter()
                .filter_map(|id| self.path_of(id).parent().map(Path::to_path_buf))
                .collect();
            dirs.sort();
            dirs.dedup();
            for d in dirs {
                if let Ok(f) = File::open(&d) {
                    let _ = f.sync_all();
                }
            }
        }
        Ok(())
    }

    /// Reads, authenticates and decrypts a chunk.
    pub fn get(&self, id: &ChunkId) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(id);
        let mut object = Vec::new();
        match File::open(&path) {
            Ok(mut f) => {
                f.read_to_end(&mut object)
                    .map_err(|e| StoreError::io(&path, e))?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // No file: an evicted chunk is read from the remote (authenticated
                // there); any other chunk is missing.
                if let Some(fallback) = self.fallback.get()
                    && let Some(plain) = fallback.fetch(self, id)?
                {
                    return Ok(plain);
                }
                return Err(StoreError::Missing { id: *id });
            }
            Err(e) => return Err(StoreError::io(&path, e)),
        }
        self.open(id, object)
    }

    /// Asks the kernel to start reading a chunk's file now, so a reader that goes
    /// through a track's chunks in order finds the next one in memory rather than
    /// waiting on the disk for it: a chunk is a file of its own, which the kernel's
    /// readahead within a file never reaches (on the bench corpus, export went from
    /// 1.30 s to 1.13 s, verify from 1.09 s to 0.76 s). A missing file or a platform
    /// without the hint is no error: the read that follows reports it.
    pub fn prefetch(&self, id: &ChunkId) {
        #[cfg(target_os = "linux")]
        if let Ok(f) = File::open(self.path_of(id)) {
            use std::os::fd::AsRawFd;
            // SAFETY: posix_fadvise takes a valid open descriptor, which `f` owns
            // for the call; the hint changes no data.
            unsafe {
                libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_WILLNEED);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = id;
    }

    /// A track's chunk as the file's bytes: read, authenticated, checked for the
    /// length the track's list gives it, and restored from its stored form.
    pub fn read_track_chunk(&self, chunk: &TrackChunk) -> Result<Vec<u8>, StoreError> {
        let mut data = self.get(&chunk.id)?;
        if data.len() as u64 != chunk.length {
            return Err(StoreError::Corrupt {
                id: chunk.id,
                reason: format!(
                    "{} bytes where the track's chunk list says {}",
                    data.len(),
                    chunk.length
                ),
            });
        }
        if let Some(t) = chunk.transform {
            t.restore(&mut data).map_err(|e| StoreError::Corrupt {
                id: chunk.id,
                reason: e.to_string(),
            })?;
        }
        Ok(data)
    }

    /// A chunk's encrypted object exactly as stored, authenticated first so that
    /// a damaged chunk is never copied anywhere (a push, a repair).
    pub fn read_object(&self, id: &ChunkId) -> Result<Vec<u8>, StoreError> {
        let path = self.path_of(id);
        let object = match fs::read(&path) {
            Ok(o) => o,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::Missing { id: *id });
            }
            Err(e) => return Err(StoreError::io(&path, e)),
        };
        self.open(id, object.clone())?;
        Ok(object)
    }

    /// Stores an encrypted object received from elsewhere (a remote) after
    /// authenticating it, replacing a damaged copy if there is one. Not yet
    /// durable: see [`ChunkStore::make_durable`].
    pub fn put_object(&self, id: &ChunkId, object: &[u8]) -> Result<(), StoreError> {
        self.open(id, object.to_vec())?;
        self.write_object(id, object)
    }

    /// Encrypts a chunk that is not to be stored locally (a catalog snapshot on its
    /// way to the remote).
    pub(crate) fn seal_object(
        &self,
        id: &ChunkId,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        self.seal(id, plaintext)
    }

    fn seal(&self, id: &ChunkId, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut object = Vec::new();
        self.seal_into(id, plaintext, &mut object)?;
        Ok(object)
    }

    /// Writes the object of `plaintext` into `object` (replacing its contents):
    /// format byte, nonce, the plaintext encrypted in place, tag. The one copy of
    /// the plaintext is the one AES-GCM in place needs, since the caller's bytes
    /// stay as they are (the file's SHA-256 may be reading them on another thread).
    fn seal_into(
        &self,
        id: &ChunkId,
        plaintext: &[u8],
        object: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        let nonce: [u8; NONCE_LEN] = random_array()?;
        object.clear();
        object.reserve(plaintext.len() + OBJECT_OVERHEAD as usize);
        object.push(FORMAT_AES256GCM);
        object.extend_from_slice(&nonce);
        object.extend_from_slice(plaintext);
        let tag = self
            .encryption
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(FORMAT_AES256GCM, id)),
                &mut object[1 + NONCE_LEN..],
            )
            .map_err(|_| KeyError::Random)?;
        object.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Authenticates and decrypts a chunk object (from disk or from a remote).
    pub fn open(&self, id: &ChunkId, mut object: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let plain = self.open_in_place(id, &mut object)?;
        object.truncate(plain.end);
        object.drain(..plain.start);
        Ok(object)
    }

    /// Authenticates and decrypts `object` where it lies; the plaintext is then
    /// `object[range]` (what follows it is the tag, left as it was).
    fn open_in_place(
        &self,
        id: &ChunkId,
        object: &mut [u8],
    ) -> Result<std::ops::Range<usize>, StoreError> {
        let corrupt = |reason: &str| StoreError::Corrupt {
            id: *id,
            reason: reason.to_string(),
        };
        if object.len() < OBJECT_OVERHEAD as usize {
            return Err(corrupt("too short"));
        }
        if object[0] != FORMAT_AES256GCM {
            return Err(corrupt("unknown format"));
        }
        let nonce: [u8; NONCE_LEN] = object[1..1 + NONCE_LEN]
            .try_into()
            .map_err(|_| corrupt("too short"))?;
        let plain_len = self
            .encryption
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(object[0], id)),
                &mut object[1 + NONCE_LEN..],
            )
            .map_err(|_| corrupt("authentication failed"))?
            .len();
        Ok(1 + NONCE_LEN..1 + NONCE_LEN + plain_len)
    }

    /// Every chunk file on disk with its size. Files whose names are not chunk ids
    /// are skipped: nothing but chunks is ever written here.
    pub fn list(&self) -> Result<Vec<(ChunkId, u64)>, StoreError> {
        let mut out = Vec::new();
        for level1 in read_dir_sorted(&self.chunks_dir)? {
            for level2 in read_dir_sorted(&level1)? {
                for file in read_dir_sorted(&level2)? {
                    let Some(id) = file
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(ChunkId::from_hex)
                    else {
                        continue;
                    };
                    let size = fs::metadata(&file)
                        .map_err(|e| StoreError::io(&file, e))?
                        .len();
                    out.push((id, size));
                }
            }
        }
        Ok(out)
    }

    pub fn remove(&self, id: &ChunkId) -> Result<(), StoreError> {
        let path = self.path_of(id);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }
}

fn associated_data(format: u8, id: &ChunkId) -> [u8; 33] {
    let mut aad = [0u8; 33];
    aad[0] = format;
    aad[1..].copy_from_slice(&id.0);
    aad
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|e| StoreError::io(dir, e))?.path());
    }
    paths.sort();
    Ok(paths)
}

/// Length of the random hex part of every temp name the vault writes (8 bytes).
const TEMP_RANDOM_HEX_LEN: usize = 16;

/// What follows `<pid>-<random hex>` in the names of the vault's temp files under
/// `tmp/`: chunk objects and records in flight, push snapshots, pulled catalogs,
/// catalogs rebuilt by `doctor`, a plain catalog being encrypted and its old
/// file's second name (see `catalog::cipher`) (the databases with the side files SQLite makes
/// beside them, which a crash leaves).
const TEMP_SUFFIXES: &[&str] = &[
    ".tmp",
    "-snapshot.db",
    "-snapshot.db-journal",
    "-snapshot.db-wal",
    "-snapshot.db-shm",
    "-pull.db",
    "-pull.db-journal",
    "-pull.db-wal",
    "-pull.db-shm",
    "-rebuild.db",
    "-rebuild.db-journal",
    "-rebuild.db-wal",
    "-rebuild.db-shm",
    "-encrypting.db",
    "-encrypting.db-journal",
    "-encrypting.db-wal",
    "-encrypting.db-shm",
    "-plaintext.db",
];

/// The writer's pid when `name` is one of the vault's own temp names
/// (`<pid>-<16 hex><suffix>`); `None` for anything else, which is never ours to
/// delete.
pub(crate) fn temp_file_owner(name: &str, suffixes: &[&str]) -> Option<i32> {
    let (pid, rest) = name.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (random, suffix) = rest.split_at_checked(TEMP_RANDOM_HEX_LEN)?;
    if !random
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    if !suffixes.contains(&suffix) {
        return None;
    }
    pid.parse().ok()
}

/// Removes the vault's own temp files in `tmp_dir` whose writers no longer run (a
/// crash or a kill). Anything else there, whatever its name, is left alone: the
/// folder may hold what the user or another program put in it.
pub(crate) fn clean_tmp(tmp_dir: &Path) -> io::Result<usize> {
    remove_dead_writers_temp_files(tmp_dir, TEMP_SUFFIXES)
}

/// Removes regular files in `dir` named `<pid>-<16 hex><one of suffixes>` whose pid
/// is not a running process.
pub(crate) fn remove_dead_writers_temp_files(dir: &Path, suffixes: &[&str]) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let Some(owner) = entry
            .file_name()
            .to_str()
            .and_then(|n| temp_file_owner(n, suffixes))
        else {
            continue;
        };
        if process_alive(owner) {
            continue;
        }
        match fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            // Another process opening the vault cleaned it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

pub(crate) fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    if pid as u32 == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        // SAFETY: kill with signal 0 only checks whether the process exists.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> ChunkStore {
        fs::create_dir_all(dir.join("tmp")).unwrap();
        fs::create_dir_all(dir.join("chunks")).unwrap();
        ChunkStore::new(dir, &MasterKey::generate().unwrap(), "test-vault")
    }

    #[test]
    fn put_get_round_trip_and_dedup() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let data = b"some audio frames".repeat(1000);
        let id = s.id_for(&data);
        let first = s.put(&id, &data).unwrap();
        assert!(first.written);
        assert_eq!(first.stored_size, data.len() as u64 + OBJECT_OVERHEAD);
        let again = s.put(&id, &data).unwrap();
        assert!(!again.written);
        assert_eq!(s.get(&id).unwrap(), data);
        assert_eq!(s.list().unwrap(), vec![(id, first.stored_size)]);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    /// One scratch buffer carried from chunk to chunk, as an import worker does: a
    /// longer object left in it, or a chunk found stored (read into it), never
    /// leaks into the next object. Each file is exactly its plaintext's object,
    /// reads back through the plain path, and a put of a damaged file rewrites it.
    #[test]
    fn put_reusing_one_scratch_writes_each_chunk_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let mut scratch = b"left over from elsewhere".repeat(50_000);
        let chunks: Vec<Vec<u8>> = vec![
            b"long chunk ".repeat(90_000),
            b"short".to_vec(),
            b"middle sized chunk ".repeat(20_000),
            Vec::new(),
        ];
        for data in &chunks {
            let id = s.id_for(data);
            let put = s.put_reusing(&id, data, &mut scratch).unwrap();
            assert!(put.written);
            assert_eq!(put.stored_size, data.len() as u64 + OBJECT_OVERHEAD);
            assert_eq!(fs::metadata(s.path_of(&id)).unwrap().len(), put.stored_size);
        }
        // Found stored: read into the scratch, authenticated there, not written.
        for data in &chunks {
            let id = s.id_for(data);
            let put = s.put_reusing(&id, data, &mut scratch).unwrap();
            assert!(!put.written && !put.replaced_damaged);
            assert_eq!(s.get(&id).unwrap(), *data);
        }
        // A truncated file is found damaged through the scratch and rewritten.
        let id = s.id_for(&chunks[0]);
        let object = fs::read(s.path_of(&id)).unwrap();
        fs::write(s.path_of(&id), &object[..object.len() / 2]).unwrap();
        let put = s.put_reusing(&id, &chunks[0], &mut scratch).unwrap();
        assert!(put.written && put.replaced_damaged);
        assert_eq!(s.get(&id).unwrap(), chunks[0]);
        // The plain and the reusing paths make objects of one format: each opens
        // the other's.
        let sealed = s.seal(&id, &chunks[2]).unwrap();
        s.seal_into(&id, &chunks[2], &mut scratch).unwrap();
        assert_eq!(sealed.len(), scratch.len());
        assert_eq!(sealed[0], scratch[0]);
        assert_ne!(
            sealed[1..13],
            scratch[1..13],
            "each object has its own nonce"
        );
        assert_eq!(s.open(&id, scratch.clone()).unwrap(), chunks[2]);
        let range = s.open_in_place(&id, &mut sealed.clone()).unwrap();
        assert_eq!(range, 1 + NONCE_LEN..1 + NONCE_LEN + chunks[2].len());
    }

    #[test]
    fn stored_object_holds_no_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let data = b"PLAINTEXT-MARKER-".repeat(100);
        let id = s.id_for(&data);
        s.put(&id, &data).unwrap();
        let raw = fs::read(s.path_of(&id)).unwrap();
        assert!(!raw.windows(17).any(|w| w == b"PLAINTEXT-MARKER-"));
    }

    #[test]
    fn a_flipped_byte_or_a_swapped_file_fails_authentication() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let (a, b) = (vec![1u8; 5000], vec![2u8; 5000]);
        let (ida, idb) = (s.id_for(&a), s.id_for(&b));
        s.put(&ida, &a).unwrap();
        s.put(&idb, &b).unwrap();
        let mut raw = fs::read(s.path_of(&ida)).unwrap();
        raw[100] ^= 1;
        fs::write(s.path_of(&ida), &raw).unwrap();
        assert!(matches!(s.get(&ida), Err(StoreError::Corrupt { .. })));
        fs::copy(s.path_of(&idb), s.path_of(&ida)).unwrap();
        assert!(matches!(s.get(&ida), Err(StoreError::Corrupt { .. })));
        s.remove(&idb).unwrap();
        assert!(matches!(s.get(&idb), Err(StoreError::Missing { .. })));
    }

    #[test]
    fn ids_are_keyed() {
        let dir = tempfile::tempdir().unwrap();
        let (s1, s2) = (store(&dir.path().join("a")), store(&dir.path().join("b")));
        assert_ne!(s1.id_for(b"x"), s2.id_for(b"x"));
        assert_ne!(s1.id_for(b"x").0, *blake3::hash(b"x").as_bytes());
    }

    #[test]
    fn tmp_cleanup_removes_only_dead_writers_temp_files_by_their_exact_names() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let random = "0123456789abcdef";
        let dead = 999_999_999;
        let removed_names = [
            format!("{dead}-{random}.tmp"),
            format!("{dead}-{random}-snapshot.db"),
            format!("{dead}-{random}-pull.db"),
            format!("{dead}-{random}-pull.db-wal"),
            format!("{dead}-{random}-snapshot.db-journal"),
        ];
        let kept_names = [
            // A live writer's files.
            format!("{me}-{random}.tmp"),
            format!("{me}-{random}-pull.db-shm"),
            // Not our names, whatever they look like.
            format!("{dead}-bb.tmp"),
            format!("{dead}-{random}.tmp.bak"),
            format!("{dead}-0123456789ABCDEF.tmp"),
            format!("{dead}-{random}-notes.db"),
            "notes.txt".to_string(),
            "123.tmp".to_string(),
            format!("-{random}.tmp"),
        ];
        for name in removed_names.iter().chain(&kept_names) {
            fs::write(dir.path().join(name), name.as_bytes()).unwrap();
        }
        // A folder with a temp-like name is the user's, as is what it holds.
        let folder = dir.path().join(format!("{dead}-{random}.tmp.d"));
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join(format!("{dead}-{random}.tmp")), b"mine").unwrap();

        assert_eq!(clean_tmp(dir.path()).unwrap(), removed_names.len());
        for name in &removed_names {
            assert!(!dir.path().join(name).exists(), "{name} was not removed");
        }
        for name in &kept_names {
            assert_eq!(
                fs::read(dir.path().join(name)).unwrap(),
                name.as_bytes(),
                "{name} must be kept"
            );
        }
        assert_eq!(
            fs::read(folder.join(format!("{dead}-{random}.tmp"))).unwrap(),
            b"mine"
        );
    }

    #[test]
    fn put_replaces_an_empty_truncated_or_garbage_file_at_the_chunks_path() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let data = b"audio frames after a power cut ".repeat(2000);
        let id = s.id_for(&data);
        let full_len = data.len() as u64 + OBJECT_OVERHEAD;
        let path = s.path_of(&id);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut right_length_garbage = vec![FORMAT_AES256GCM; full_len as usize];
        right_length_garbage[40..].fill(0x5a);
        let leftovers: [(&str, Vec<u8>); 4] = [
            ("empty", Vec::new()),
            ("truncated", vec![FORMAT_AES256GCM; 1000]),
            ("right length, garbage", right_length_garbage),
            ("too long", vec![0u8; full_len as usize + 1]),
        ];
        for (what, bytes) in leftovers {
            fs::write(&path, &bytes).unwrap();
            assert!(!s.holds_intact(&id, None), "{what}");
            assert!(!s.holds_intact(&id, Some(full_len)), "{what}");
            let put = s.put(&id, &data).unwrap();
            assert!(put.written && put.replaced_damaged, "{what}: {put:?}");
            assert_eq!(put.stored_size, full_len, "{what}");
            assert_eq!(fs::metadata(&path).unwrap().len(), full_len, "{what}");
            assert_eq!(s.get(&id).unwrap(), data, "{what}");
            assert!(s.holds_intact(&id, Some(full_len)), "{what}");
        }
        // An intact file is reused untouched.
        let before = fs::read(&path).unwrap();
        let again = s.put(&id, &data).unwrap();
        assert!(!again.written && !again.replaced_damaged);
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn another_chunks_valid_object_at_the_path_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        // Same length, both sealed by this vault: only the id as associated data
        // tells them apart.
        let (a, b) = (vec![7u8; 4096], vec![8u8; 4096]);
        let (ida, idb) = (s.id_for(&a), s.id_for(&b));
        s.put(&idb, &b).unwrap();
        fs::create_dir_all(s.path_of(&ida).parent().unwrap()).unwrap();
        fs::copy(s.path_of(&idb), s.path_of(&ida)).unwrap();
        assert!(!s.holds_intact(&ida, Some(4096 + OBJECT_OVERHEAD)));
        assert!(s.put(&ida, &a).unwrap().replaced_damaged);
        assert_eq!(s.get(&ida).unwrap(), a);
    }

    #[test]
    fn holds_intact_checks_the_expected_length_and_absence() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let data = vec![3u8; 10_000];
        let id = s.id_for(&data);
        assert!(!s.holds_intact(&id, None));
        assert!(!s.has_full_length(&id, 10_000 + OBJECT_OVERHEAD));
        let put = s.put(&id, &data).unwrap();
        assert!(put.written && !put.replaced_damaged);
        assert!(s.holds_intact(&id, None));
        assert!(s.holds_intact(&id, Some(put.stored_size)));
        assert!(!s.holds_intact(&id, Some(put.stored_size - 1)));
        assert!(s.has_full_length(&id, put.stored_size));
        assert!(!s.has_full_length(&id, put.stored_size + 1));
    }
}
