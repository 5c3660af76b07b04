//! The content-addressed chunk store.
//!
//! A chunk's id is a keyed BLAKE3 hash of its plaintext: equal plaintext gives one
//! stored object, and without the key the id says nothing about the content.
//! On disk a chunk is `FORMAT ‖ nonce ‖ AES-256-GCM(plaintext) ‖ tag`, with the
//! format byte and the id as associated data, so a chunk file cannot be swapped
//! for another one, altered, or read without the key. Files live under
//! `chunks/ab/cd/<id>`: two levels of fan-out keep folders small at millions of chunks.
//!
//! Writes go to `tmp/` and are renamed into place, so a chunk file is either
//! absent or complete. Durability is made explicit by [`ChunkStore::make_durable`],
//! which importers call before the catalog transaction that references new chunks.

pub mod chunker;
pub mod reader;

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};

use crate::keys::{KeyError, MasterKey, aead_key, random_array};
use crate::secret::KeyBytes;

/// The first byte of every chunk object: AES-256-GCM with a random 96-bit nonce.
const FORMAT_AES256GCM: u8 = 1;
const TAG_LEN: usize = 16;
/// Bytes a chunk object adds to its plaintext.
pub const OBJECT_OVERHEAD: u64 = (1 + NONCE_LEN + TAG_LEN) as u64;

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

/// What [`ChunkStore::put`] did.
#[derive(Debug, Clone, Copy)]
pub struct PutOutcome {
    /// False when the chunk was already stored (dedup).
    pub written: bool,
    /// Size of the encrypted object on disk.
    pub stored_size: u64,
}

pub struct ChunkStore {
    chunks_dir: PathBuf,
    tmp_dir: PathBuf,
    encryption: LessSafeKey,
    id_key: KeyBytes,
}

impl ChunkStore {
    pub(crate) fn new(vault_root: &Path, master: &MasterKey, vault_id: &str) -> Self {
        ChunkStore {
            chunks_dir: vault_root.join("chunks"),
            tmp_dir: vault_root.join("tmp"),
            encryption: aead_key(&master.derive(vault_id, "audiovault chunk encryption v1")),
            id_key: master.derive(vault_id, "audiovault chunk id v1"),
        }
    }

    pub fn id_for(&self, plaintext: &[u8]) -> ChunkId {
        ChunkId(*blake3::keyed_hash(self.id_key.expose(), plaintext).as_bytes())
    }

    pub fn path_of(&self, id: &ChunkId) -> PathBuf {
        let h = id.to_hex();
        self.chunks_dir.join(&h[0..2]).join(&h[2..4]).join(h)
    }

    pub fn contains(&self, id: &ChunkId) -> bool {
        self.path_of(id).is_file()
    }

    /// Stores a chunk unless it is already there. Not yet durable: see
    /// [`ChunkStore::make_durable`].
    pub fn put(&self, id: &ChunkId, plaintext: &[u8]) -> Result<PutOutcome, StoreError> {
        let path = self.path_of(id);
        if let Ok(meta) = fs::metadata(&path) {
            return Ok(PutOutcome {
                written: false,
                stored_size: meta.len(),
            });
        }
        let object = self.seal(id, plaintext)?;
        let tmp = self.tmp_path()?;
        let result = (|| {
            let mut file = File::create_new(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
            file.write_all(&object)
                .map_err(|e| StoreError::io(&tmp, e))?;
            if !cfg!(target_os = "linux") {
                file.sync_data().map_err(|e| StoreError::io(&tmp, e))?;
            }
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
            }
            // Another writer may have stored the same chunk meanwhile: both objects
            // hold the same plaintext, so replacing one with the other is harmless.
            fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        Ok(PutOutcome {
            written: true,
            stored_size: object.len() as u64,
        })
    }

    /// Makes every chunk written so far durable. On Linux one `syncfs` flushes the
    /// data and the renames together, far cheaper than an fsync per chunk file and
    /// per folder; elsewhere each file was synced as written and the folders are
    /// synced here.
    pub fn make_durable(&self, written: &[ChunkId]) -> Result<(), StoreError> {
        if written.is_empty() {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let dir =
                File::open(&self.chunks_dir).map_err(|e| StoreError::io(&self.chunks_dir, e))?;
            // SAFETY: syncfs takes a valid open descriptor, which `dir` owns for the call.
            let rc = unsafe { libc::syncfs(dir.as_raw_fd()) };
            if rc != 0 {
                return Err(StoreError::io(&self.chunks_dir, io::Error::last_os_error()));
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut dirs: Vec<PathBuf> = written
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
                return Err(StoreError::Missing { id: *id });
            }
            Err(e) => return Err(StoreError::io(&path, e)),
        }
        self.open(id, object)
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
        let path = self.path_of(id);
        let tmp = self.tmp_path()?;
        let result = (|| {
            let mut file = File::create_new(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
            file.write_all(object)
                .map_err(|e| StoreError::io(&tmp, e))?;
            if !cfg!(target_os = "linux") {
                file.sync_data().map_err(|e| StoreError::io(&tmp, e))?;
            }
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
            }
            fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
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
        let nonce: [u8; NONCE_LEN] = random_array()?;
        let mut object = Vec::with_capacity(plaintext.len() + OBJECT_OVERHEAD as usize);
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
        Ok(object)
    }

    /// Authenticates and decrypts a chunk object (from disk or from a remote).
    pub fn open(&self, id: &ChunkId, mut object: Vec<u8>) -> Result<Vec<u8>, StoreError> {
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
        object.drain(..1 + NONCE_LEN);
        object.truncate(plain_len);
        Ok(object)
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

    /// Temp files carry the writer's pid, so a vault opened by another process
    /// can tell its own in-flight writes from a crashed writer's leftovers.
    fn tmp_path(&self) -> Result<PathBuf, StoreError> {
        let r: [u8; 8] = random_array()?;
        Ok(self
            .tmp_dir
            .join(format!("{}-{}.tmp", std::process::id(), hex(&r))))
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

/// Removes temp files left by writers that no longer run (a crash or a kill).
pub(crate) fn clean_tmp(tmp_dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(tmp_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let owner_alive = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
            .is_some_and(process_alive);
        if !owner_alive {
            fs::remove_file(entry.path())?;
            removed += 1;
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
    fn tmp_cleanup_keeps_live_writers_files() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join(format!("{}-aa.tmp", std::process::id()));
        let dead = dir.path().join("999999999-bb.tmp");
        fs::write(&live, b"x").unwrap();
        fs::write(&dead, b"x").unwrap();
        assert_eq!(clean_tmp(dir.path()).unwrap(), 1);
        assert!(live.exists() && !dead.exists());
    }
}
