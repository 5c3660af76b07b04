//! A vault folder: `vault.json` (format, ids, KDF parameters, the wrapped master
//! key, chunker parameters; no secret in clear), `catalog.db`, `chunks/`, `tmp/`.
//!
//! A vault is opened in two steps: [`LockedVault::open`] reads and checks
//! `vault.json`; `unlock` (passphrase or a remembered key) gives a [`Vault`], the
//! only type with operations that need the key.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogError, CatalogKey, Stats, TrackId};
use crate::error::{Error, Result};
use crate::keys::{KdfParams, KeyError, KeyStore, MasterKey, WrappedKey, random_array};
use crate::records::{RecordName, RecordStore};
use crate::secret::Passphrase;
use crate::store::chunker::ChunkerParams;
use crate::store::{ChunkStore, clean_tmp, hex, process_alive, temp_file_owner};

mod auth;
mod evicted;
pub use auth::Authenticity;

/// 2: vault.json carries an epoch and a MAC (see `auth`). A format-1 file is
/// upgraded on its first unlock; older versions of Audiovault refuse format 2
/// rather than rewrite it without its MAC.
pub const FORMAT_VERSION: u32 = 2;
const CONFIG_FILE: &str = "vault.json";

/// The contents of `vault.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VaultConfig {
    pub format: String,
    pub format_version: u32,
    pub vault_id: String,
    pub created_at: String,
    /// Raised by every passphrase change; orders copies of this file from several
    /// devices (see `auth`).
    #[serde(default)]
    pub epoch: u64,
    /// The device that made this epoch's change: breaks ties between devices that
    /// changed the passphrase concurrently.
    #[serde(default)]
    pub epoch_device: String,
    pub kdf: KdfParams,
    pub wrapped_master_key: WrappedKey,
    /// Lets a key from the keyring be checked against this vault without the passphrase.
    pub key_check: String,
    pub cipher: String,
    pub chunk_id: String,
    pub chunker: ChunkerParams,
    /// HMAC-SHA256 over every other field, under a key derived from the master key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl VaultConfig {
    /// Parses a vault.json from elsewhere (a remote), refusing newer formats.
    pub fn from_bytes(bytes: &[u8], name: &Path) -> Result<VaultConfig> {
        let bad = |reason: String| Error::BadConfig {
            path: name.to_path_buf(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as u32;
        if version > FORMAT_VERSION {
            return Err(Error::VaultTooNew {
                path: name.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let config: VaultConfig = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        config.chunker.validate().map_err(bad)?;
        Ok(config)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| Error::BadConfig {
            path: PathBuf::from(CONFIG_FILE),
            reason: e.to_string(),
        })
    }

    pub fn authenticate(&self, master: &MasterKey) -> Authenticity {
        auth::authenticate(self, master)
    }

    /// Seals the current fields with a fresh MAC, as the current format.
    pub(crate) fn seal(mut self, master: &MasterKey) -> VaultConfig {
        self.format_version = FORMAT_VERSION;
        self.mac = None;
        self.mac = Some(auth::compute_mac(&self, master));
        self
    }

    /// Whether this copy was written after `other` (a later passphrase change).
    pub fn is_newer_than(&self, other: &VaultConfig) -> bool {
        auth::order(self, other) == std::cmp::Ordering::Greater
    }

    /// Whether this copy may stand in for `other`: the same vault with the same
    /// chunker, ciphers and key, only wrapped differently.
    pub fn same_vault_as(&self, other: &VaultConfig) -> bool {
        auth::compatible(self, other)
    }
}

/// Orders two authenticated copies of one vault's vault.json (later passphrase
/// change last).
pub(crate) fn order_configs(a: &VaultConfig, b: &VaultConfig) -> std::cmp::Ordering {
    auth::order(a, b)
}

/// Options for creating a vault.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub kdf_memory_kib: u32,
    pub kdf_iterations: u32,
    pub chunker: ChunkerParams,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            kdf_memory_kib: KdfParams::DEFAULT_MEMORY_KIB,
            kdf_iterations: KdfParams::DEFAULT_ITERATIONS,
            chunker: ChunkerParams::default(),
        }
    }
}

/// The platform's default vault folder, e.g. `~/.local/share/audiovault/vault`.
pub fn default_vault_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "audiovault").map(|d| d.data_dir().join("vault"))
}

fn key_check(master: &MasterKey, vault_id: &str) -> String {
    let k = master.derive(vault_id, "audiovault key check v1");
    hex(&blake3::keyed_hash(k.expose(), vault_id.as_bytes()).as_bytes()[..16])
}

/// Prefix of the temp files [`write_atomic`] leaves beside `vault.json` if it dies:
/// `.vault.json.<pid>-<16 hex>.tmp`.
const CONFIG_TEMP_PREFIX: &str = ".vault.json.";
/// Older versions named them `.vault.json.<12 hex>.tmp`, without the writer's pid.
const LEGACY_CONFIG_TEMP_HEX_LEN: usize = 12;
/// A legacy temp file carries no pid to ask about; a write lasts milliseconds, so one
/// this old belongs to no live writer.
const LEGACY_CONFIG_TEMP_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Writes a file so that readers see the old or the new contents, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let suffix: [u8; 8] = random_array()?;
    // The pid lets a later open tell a crashed writer's leftover from a live write.
    let tmp = dir.join(format!(
        "{CONFIG_TEMP_PREFIX}{}-{}.tmp",
        std::process::id(),
        hex(&suffix)
    ));
    crate::store::durable::put_via_temp(&tmp, path, bytes, crate::store::durable::Flush::Now)
        .map_err(|(_, e)| Error::io(path, e))
}

/// Removes `vault.json` temp files that a writer killed mid-write left in the vault
/// folder: this version's (`.vault.json.<pid>-<16 hex>.tmp`) when that process is
/// gone, an older version's (`.vault.json.<12 hex>.tmp`) when over an hour old.
/// Nothing else in the folder is touched.
fn clean_config_temps(root: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let name = entry.file_name();
        let Some(inner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(CONFIG_TEMP_PREFIX))
        else {
            continue;
        };
        let abandoned = if let Some(owner) = temp_file_owner(inner, &[".tmp"]) {
            !process_alive(owner)
        } else if is_legacy_config_temp(inner) {
            entry
                .metadata()?
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age >= LEGACY_CONFIG_TEMP_MIN_AGE)
        } else {
            false
        };
        if abandoned {
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

fn is_legacy_config_temp(after_prefix: &str) -> bool {
    after_prefix.strip_suffix(".tmp").is_some_and(|random| {
        random.len() == LEGACY_CONFIG_TEMP_HEX_LEN
            && random
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn write_config(root: &Path, config: &VaultConfig) -> Result<()> {
    write_atomic(&root.join(CONFIG_FILE), &config.to_bytes()?)
}

pub struct LockedVault {
    root: PathBuf,
    config: VaultConfig,
}

impl LockedVault {
    pub fn open(root: &Path) -> Result<Self> {
        let path = root.join(CONFIG_FILE);
        let bytes = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoVault(root.to_path_buf()));
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let config = VaultConfig::from_bytes(&bytes, &path)?;
        Ok(LockedVault {
            root: root.to_path_buf(),
            config,
        })
    }

    pub fn vault_id(&self) -> &str {
        &self.config.vault_id
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn unlock(&self, passphrase: &Passphrase) -> Result<Vault> {
        self.unlock_keys(passphrase)?.open()
    }

    /// Unlocks with the key remembered in `keys`; `Ok(None)` when none is stored.
    pub fn unlock_with_key_store(&self, keys: &dyn KeyStore) -> Result<Option<Vault>> {
        self.unlock_keys_with_key_store(keys)?
            .map(VaultKeys::open)
            .transpose()
    }

    /// Unwraps the master key without opening the catalog: the first half of
    /// [`LockedVault::unlock`], and all `doctor` needs when the catalog is lost.
    pub fn unlock_keys(&self, passphrase: &Passphrase) -> Result<VaultKeys> {
        let master = MasterKey::unwrap(
            &self.config.wrapped_master_key,
            passphrase,
            &self.config.kdf,
            &self.config.vault_id,
        )?;
        Ok(self.keys_for(master))
    }

    fn keys_for(&self, master: MasterKey) -> VaultKeys {
        VaultKeys {
            root: self.root.clone(),
            config: self.config.clone(),
            master,
        }
    }

    /// Opens with a master key already unwrapped from this vault.json (a clone
    /// that just tried the passphrase on the remote's key files).
    pub(crate) fn unlock_with_master(&self, master: MasterKey) -> Result<Vault> {
        self.keys_for(master).open()
    }

    /// [`LockedVault::unlock_keys`] with the key remembered in `keys`; `Ok(None)`
    /// when none is stored.
    pub fn unlock_keys_with_key_store(&self, keys: &dyn KeyStore) -> Result<Option<VaultKeys>> {
        let Some(master) = keys.load(&self.config.vault_id)? else {
            return Ok(None);
        };
        if key_check(&master, &self.config.vault_id) != self.config.key_check {
            return Err(
                KeyError::Keyring("the remembered key does not open this vault".into()).into(),
            );
        }
        Ok(Some(self.keys_for(master)))
    }

    /// The one order in which every front end opens a vault without asking:
    /// `explicit` (a passphrase the user gave: typed, or from a file), else
    /// `AUDIOVAULT_PASSPHRASE`, else the key remembered in `store`. A wrong
    /// passphrase is an error; a keyring that cannot help is not, only a
    /// [`KeyringNote`] for the user, since a passphrase can still be asked for.
    pub fn unlock_keys_unattended(
        &self,
        explicit: Option<&Passphrase>,
        store: &dyn KeyStore,
    ) -> Result<Unattended> {
        if let Some(p) = explicit.filter(|p| !p.is_empty()) {
            return Ok(Unattended::Opened(
                Box::new(self.unlock_keys(p)?),
                KeySource::Given,
            ));
        }
        if let Some(p) = crate::secret::env_passphrase() {
            return Ok(Unattended::Opened(
                Box::new(self.unlock_keys(&p)?),
                KeySource::Environment,
            ));
        }
        Ok(match self.unlock_keys_with_key_store(store) {
            Ok(Some(keys)) => Unattended::Opened(Box::new(keys), KeySource::Keyring),
            Ok(None) => Unattended::NeedsPassphrase(None),
            Err(e) => Unattended::NeedsPassphrase(Some(KeyringNote::from(e))),
        })
    }
}

/// Where the key of an unattended unlock came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Given,
    Environment,
    Keyring,
}

/// What [`LockedVault::unlock_keys_unattended`] found.
pub enum Unattended {
    /// Boxed: the key material is large beside a note.
    Opened(Box<VaultKeys>, KeySource),
    /// Nothing opened the vault: a passphrase has to be asked for, and why the
    /// keyring did not help when it was not simply empty.
    NeedsPassphrase(Option<KeyringNote>),
}

/// Why the OS keyring did not open the vault or take its key: said to the user
/// (a note, not a failure: the passphrase still works). The same words in the
/// CLI and the app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringNote {
    #[error("no OS keyring is available ({0}): the vault opens with its passphrase only")]
    Unavailable(String),
    #[error("the OS keyring could not open the vault: {0}")]
    CannotOpen(String),
    #[error("the key could not be remembered: {0}")]
    CannotRemember(String),
}

impl From<Error> for KeyringNote {
    fn from(e: Error) -> Self {
        match e {
            Error::Key(KeyError::KeyringUnavailable(reason)) => KeyringNote::Unavailable(reason),
            e => KeyringNote::CannotOpen(e.to_string()),
        }
    }
}

/// An unlocked key and its vault folder, with no catalog opened yet: what
/// [`VaultKeys::open`] turns into a [`Vault`], and what `doctor` works from when
/// the catalog is missing or damaged.
pub struct VaultKeys {
    root: PathBuf,
    config: VaultConfig,
    master: MasterKey,
}

impl VaultKeys {
    /// Opens the vault once its vault.json has proved itself under the key (a
    /// format-1 file is upgraded, epoch 0 with a MAC, on the way): a [`Vault`].
    pub fn open(self) -> Result<Vault> {
        let config = match self.config.authenticate(&self.master) {
            Authenticity::Verified => self.config,
            Authenticity::Legacy => {
                let upgraded = self.config.seal(&self.master);
                write_config(&self.root, &upgraded)?;
                upgraded
            }
            Authenticity::Forged => {
                return Err(Error::ConfigForged(self.root.join(CONFIG_FILE)));
            }
        };
        Vault::new(self.root, config, self.master)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn vault_id(&self) -> &str {
        &self.config.vault_id
    }

    pub fn config(&self) -> &VaultConfig {
        &self.config
    }

    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.master
    }

    /// The key of this vault's catalog: what opens `catalog.db`.
    pub(crate) fn catalog_key(&self) -> CatalogKey {
        CatalogKey::derive(&self.master, &self.config.vault_id)
    }

    /// The catalog's key for the end-to-end tests (`--features testing`), which
    /// open the catalog behind the vault's back (`catalog::open_for_tests`).
    #[cfg(feature = "testing")]
    pub fn catalog_key_for_tests(&self) -> CatalogKey {
        self.catalog_key()
    }

    /// Whether this key is the one vault.json describes (its key check).
    pub(crate) fn matches_key_check(&self) -> bool {
        key_check(&self.master, &self.config.vault_id) == self.config.key_check
    }
}

/// Something a front end should show the user when a vault opens (the CLI on
/// stderr, the app in its window): nothing is wrong with the data, but the user
/// should act.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub message: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Other users of this computer can read the vault folder (its mode allows
    /// group or others): `doctor --repair` makes it private.
    FolderNotPrivate,
}

/// The notices about a vault folder as it is now (see [`Notice`]).
fn folder_notices(root: &Path) -> Vec<Notice> {
    match crate::private::folder_is_shared(root) {
        Ok(Some(mode)) => vec![Notice {
            kind: NoticeKind::FolderNotPrivate,
            message: format!(
                "the vault folder {} can be read by other users of this computer (mode {mode:o}); \
                 run `audiovault doctor --repair` (or Health → Repair in the app) to make it private",
                root.display()
            ),
        }],
        _ => Vec::new(),
    }
}

pub struct Vault {
    root: PathBuf,
    notices: Vec<Notice>,
    config: VaultConfig,
    master: MasterKey,
    store: ChunkStore,
    records: Arc<RecordStore>,
    catalog_key: CatalogKey,
    catalog: Mutex<Catalog>,
    /// Idle read-only connections (see [`Vault::read`]), the most recently used last.
    readers: Mutex<Vec<Catalog>>,
    /// The read connection the library's searches prefer (see [`Vault::search_read`]).
    searcher: Mutex<Option<Catalog>>,
}

/// Read connections kept open between reads: the app's library, player and
/// details panel read at once at most a few at a time; more are opened when
/// needed and closed after.
const IDLE_READERS: usize = 4;

impl Vault {
    /// Creates a new vault in `root`, which must be a new or empty folder, and opens
    /// it. A folder with anything in it is refused untouched: opening a vault cleans
    /// its temp files, and a user's own files must never be mistaken for them.
    pub fn create(root: &Path, passphrase: &Passphrase, options: &CreateOptions) -> Result<Vault> {
        let root_existed = folder_for_new_vault(root)?;
        options.chunker.validate().map_err(Error::Invalid)?;
        crate::strength::check_new_kdf(options.kdf_memory_kib, options.kdf_iterations)?;
        crate::strength::check_new_passphrase(passphrase)?;
        // The key work (Argon2id) can fail or be slow: done before anything is
        // written, so a failure leaves the folder as it was.
        let vault_id = hex(&random_array::<16>()?);
        let master = MasterKey::generate()?;
        let kdf = KdfParams::generate(options.kdf_memory_kib, options.kdf_iterations)?;
        let config = VaultConfig {
            format: "audiovault-vault".into(),
            format_version: FORMAT_VERSION,
            created_at: crate::catalog::format_time(crate::catalog::now_unix()),
            epoch: 0,
            epoch_device: String::new(),
            wrapped_master_key: master.wrap(passphrase, &kdf, &vault_id)?,
            key_check: key_check(&master, &vault_id),
            kdf,
            cipher: "aes-256-gcm".into(),
            chunk_id: "blake3-keyed".into(),
            chunker: options.chunker,
            vault_id,
            mac: None,
        }
        .seal(&master);
        crate::private::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        // An empty folder the user chose keeps its place, not its rights.
        crate::private::make_private(&[root.to_path_buf()]).map_err(|e| Error::io(root, e))?;
        let vault = match Vault::new(root.to_path_buf(), config, master)
            .and_then(|vault| vault.write_config().map(|()| vault))
        {
            Ok(vault) => vault,
            Err(e) => {
                undo_failed_create(root, root_existed);
                return Err(e);
            }
        };
        vault
            .catalog()
            .log_activity(crate::catalog::LogKind::Vault, "vault created")?;
        Ok(vault)
    }

    /// Whether [`Vault::create`] would accept `root` (no vault there, the folder new
    /// or empty), so a front end can say so before asking for a passphrase.
    pub fn check_new_vault_folder(root: &Path) -> Result<()> {
        folder_for_new_vault(root).map(|_| ())
    }

    fn new(root: PathBuf, config: VaultConfig, master: MasterKey) -> Result<Vault> {
        for sub in ["chunks", "tmp"] {
            crate::private::create_dir_all(&root.join(sub))
                .map_err(|e| Error::io(root.join(sub), e))?;
        }
        crate::catalog::cipher::clean_plaintext_leftovers(&root.join("tmp"))
            .map_err(|e| Error::io(root.join("tmp"), e))?;
        clean_tmp(&root.join("tmp")).map_err(|e| Error::io(root.join("tmp"), e))?;
        clean_config_temps(&root).map_err(|e| Error::io(&root, e))?;
        let records = Arc::new(RecordStore::new(&root, &master, &config.vault_id));
        let catalog_key = CatalogKey::derive(&master, &config.vault_id);
        encrypt_legacy_catalog(&root, &catalog_key)?;
        let catalog = open_vault_catalog(&root, &records, &catalog_key)?;
        catalog.mark_interrupted_jobs()?;
        // Records a crash (or a writer that does not seal) left unwritten, and on
        // the first open of a vault made before records, all of them.
        catalog.seal_leftover_records()?;
        let store = ChunkStore::new(&root, &master, &config.vault_id);
        let notices = folder_notices(&root);
        Ok(Vault {
            notices,
            root,
            config,
            master,
            store,
            records,
            catalog_key,
            catalog: Mutex::new(catalog),
            readers: Mutex::new(Vec::new()),
            searcher: Mutex::new(None),
        })
    }

    fn write_config(&self) -> Result<()> {
        write_config(&self.root, &self.config)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What the user should be told now that the vault is open (see [`Notice`]).
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    pub fn vault_id(&self) -> &str {
        &self.config.vault_id
    }

    pub fn config(&self) -> &VaultConfig {
        &self.config
    }

    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.master
    }

    pub fn store(&self) -> &ChunkStore {
        &self.store
    }

    /// The key of this vault's catalog (and of catalog files it makes in `tmp/`).
    pub(crate) fn catalog_key(&self) -> &CatalogKey {
        &self.catalog_key
    }

    pub(crate) fn catalog_path(&self) -> PathBuf {
        self.root.join("catalog.db")
    }

    /// For the end-to-end probes only (`--features testing`): adds `n` synthetic
    /// tracks (`catalog::synthetic`) in one transaction. They have no chunks, and
    /// their record marks are dropped so the next open does not seal them all: a
    /// library to time the catalog and the window with, not to play or to sync.
    #[cfg(feature = "testing")]
    pub fn add_synthetic_tracks_for_tests(&self, n: usize, seed: u64) -> Result<()> {
        Ok(crate::catalog::synthetic::fill_without_records(
            &self.catalog(),
            n,
            seed,
        )?)
    }

    /// The vault's own catalog connection. Long batch work opens its own
    /// connections instead, so readers are never blocked behind it.
    pub(crate) fn catalog(&self) -> MutexGuard<'_, Catalog> {
        match self.catalog.lock() {
            Ok(g) => g,
            // A panic while holding the lock leaves SQLite consistent (transactions
            // roll back on drop), so the connection stays usable.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Runs `f` on a read-only connection of its own, never on the writer: a
    /// search, a page, a track's details or its bytes for the player never wait for
    /// a job that holds [`Vault::catalog`] (a push's snapshot, GC, a merge, a
    /// verify's end) nor for another process's write (WAL). Such a connection can
    /// only read (see `Catalog::open_reader`), so nothing a user stored can be
    /// changed through it. Connections are reused, the latest first, so a search's
    /// cached match set (kept per connection) is usually found again.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Catalog) -> Result<T>) -> Result<T> {
        let idle = crate::mutex::lock(&self.readers).pop();
        let reader = match idle {
            Some(reader) => reader,
            None => Catalog::open_reader(&self.catalog_path(), &self.catalog_key)?,
        };
        let out = f(&reader);
        // A connection whose read failed is closed rather than kept: whatever went
        // wrong (a damaged page, an interrupted statement) is not carried over.
        if out.is_ok() {
            let mut idle = crate::mutex::lock(&self.readers);
            if idle.len() < IDLE_READERS {
                idle.push(reader);
            }
        }
        out
    }

    /// Runs `f` on the read connection kept for the library's searches when it is
    /// free, else as [`Vault::read`] does. A connection's caches are its own: the
    /// match sets and footer facts a search builds on, and the pages SQLCipher has
    /// decrypted into its page cache. From the pool, a keystroke's search landed
    /// on whichever connection another read (a poll, the player) had put back
    /// last, and on a connection that had not searched before its first letter
    /// paid for the whole footer and index read again, hundreds of milliseconds
    /// at 100,000 tracks. Searches run one at a time as someone types, so one
    /// connection serves them; a search that finds it busy does not wait for it.
    pub(crate) fn search_read<T>(&self, f: impl FnOnce(&Catalog) -> Result<T>) -> Result<T> {
        let mut slot = match self.searcher.try_lock() {
            Ok(slot) => slot,
            // The slot is a plain Option a panic cannot leave half-written.
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return self.read(f),
        };
        let reader = match slot.take() {
            Some(reader) => reader,
            None => Catalog::open_reader(&self.catalog_path(), &self.catalog_key)?,
        };
        let out = f(&reader);
        // As in `read`: a connection whose read failed is closed, not kept.
        if out.is_ok() {
            *slot = Some(reader);
        }
        out
    }

    pub(crate) fn open_catalog(&self) -> Result<Catalog> {
        let mut catalog = Catalog::open(&self.catalog_path(), &self.catalog_key)?;
        catalog.attach_records(self.records.clone());
        Ok(catalog)
    }

    /// The sealed records that describe the library (see [`crate::records`]).
    pub fn records(&self) -> &RecordStore {
        &self.records
    }

    /// The key and folder without the catalog, for `doctor` on an open vault.
    pub fn keys(&self) -> VaultKeys {
        VaultKeys {
            root: self.root.clone(),
            config: self.config.clone(),
            master: self.master.clone(),
        }
    }

    /// Remembers the master key in `keys` so the vault opens without a passphrase.
    pub fn remember_key(&self, keys: &dyn KeyStore) -> Result<()> {
        keys.store(&self.config.vault_id, &self.master)?;
        Ok(())
    }

    /// [`Vault::remember_key`] for a front end: what to tell the user when the
    /// key could not be remembered (the vault stays open either way).
    pub fn remember_key_or_note(&self, keys: &dyn KeyStore) -> Option<KeyringNote> {
        match self.remember_key(keys) {
            Ok(()) => None,
            Err(Error::Key(KeyError::KeyringUnavailable(reason))) => {
                Some(KeyringNote::Unavailable(reason))
            }
            Err(e) => Some(KeyringNote::CannotRemember(e.to_string())),
        }
    }

    pub fn forget_key(&self, keys: &dyn KeyStore) -> Result<bool> {
        Ok(keys.forget(&self.config.vault_id)?)
    }

    /// Rewraps the master key under a new passphrase (new salt). Chunks are untouched.
    pub fn change_passphrase(&mut self, new: &Passphrase) -> Result<()> {
        self.rewrap(None, new)
    }

    /// Changes the passphrase of a vault that other threads share (`&self`, where
    /// [`Vault::change_passphrase`] needs `&mut`): `current` must unwrap the key in
    /// vault.json as it is on disk, so a vault opened from the keyring still asks for
    /// proof; the key is rewrapped under `new` with a new salt. Chunks, the catalog and
    /// a key remembered in the keyring are untouched.
    pub fn replace_passphrase(&self, current: &Passphrase, new: &Passphrase) -> Result<()> {
        self.rewrap(Some(current), new)
    }

    /// Both passphrase changes: always from vault.json as it is on disk (a pull may
    /// have adopted another device's newer copy since this vault was opened), with
    /// the epoch raised past it, so the change orders after every copy it replaces.
    fn rewrap(&self, current: Option<&Passphrase>, new: &Passphrase) -> Result<()> {
        if new.is_empty() {
            return Err(Error::Invalid(
                "the new passphrase must not be empty".into(),
            ));
        }
        let on_disk = self.current_config()?;
        if let Some(current) = current {
            MasterKey::unwrap(
                &on_disk.wrapped_master_key,
                current,
                &on_disk.kdf,
                &on_disk.vault_id,
            )?;
        }
        crate::strength::check_new_passphrase(new)?;
        let kdf = KdfParams::generate(on_disk.kdf.memory_kib, on_disk.kdf.iterations)?;
        let mut config = on_disk;
        config.wrapped_master_key = self.master.wrap(new, &kdf, &config.vault_id)?;
        config.kdf = kdf;
        config.epoch += 1;
        config.epoch_device = self.catalog().device_id()?;
        write_config(&self.root, &config.seal(&self.master))?;
        self.catalog()
            .log_activity(crate::catalog::LogKind::Vault, "passphrase changed")?;
        Ok(())
    }

    /// vault.json as it is on disk now, authenticated under this vault's key.
    pub fn current_config(&self) -> Result<VaultConfig> {
        let on_disk = LockedVault::open(&self.root)?.config;
        if on_disk.vault_id != self.config.vault_id {
            return Err(Error::Invalid(
                "vault.json belongs to another vault than the one open".into(),
            ));
        }
        match on_disk.authenticate(&self.master) {
            Authenticity::Verified => Ok(on_disk),
            Authenticity::Legacy => Ok(on_disk.seal(&self.master)),
            Authenticity::Forged => Err(Error::ConfigForged(self.root.join(CONFIG_FILE))),
        }
    }

    /// Replaces vault.json with another device's copy (from the remote) when that
    /// copy authenticates under this vault's key, describes the same vault, and
    /// orders after the one on disk (a later passphrase change). Returns whether it
    /// was adopted; the bytes are written as they came, MAC and all.
    pub(crate) fn adopt_config(&self, theirs: &VaultConfig, bytes: &[u8]) -> Result<bool> {
        let ours = self.current_config()?;
        if theirs.authenticate(&self.master) != Authenticity::Verified
            || !theirs.same_vault_as(&ours)
            || !theirs.is_newer_than(&ours)
        {
            return Ok(false);
        }
        write_atomic(&self.root.join(CONFIG_FILE), bytes)?;
        self.catalog().log_activity(
            crate::catalog::LogKind::Vault,
            "passphrase changed on another device: adopted it",
        )?;
        Ok(true)
    }

    /// Resolves ids or unique id prefixes (at least 4 characters) to track ids.
    pub fn resolve_ids(&self, inputs: &[String]) -> Result<Vec<TrackId>> {
        let catalog = self.catalog();
        let mut out = Vec::new();
        for input in inputs {
            let prefix = input.trim().to_ascii_lowercase();
            if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::TrackNotFound(input.clone()));
            }
            let found = catalog.tracks_with_id_prefix(&prefix, 2)?;
            match found.len() {
                0 => return Err(Error::TrackNotFound(input.clone())),
                1 => out.extend(found),
                _ => return Err(Error::AmbiguousTrack(input.clone())),
            }
        }
        Ok(out)
    }

    /// The settings as last committed, read on a read connection (an import's first
    /// step and the stats' quota must not wait for a job on the writer).
    pub fn settings(&self) -> Result<Settings> {
        self.read(Settings::load)
    }

    pub fn set_setting(&self, key: SettingKey, value: &str) -> Result<()> {
        let normalized = Settings::normalize(key, value)?;
        let catalog = self.catalog();
        catalog.set_setting(key.as_str(), &normalized)?;
        catalog.log_activity(
            crate::catalog::LogKind::Settings,
            &format!("{key} set to {normalized}"),
        )?;
        Ok(())
    }

    pub fn stats(&self) -> Result<Stats> {
        // On a read connection: the dedup breakdown walks every shared chunk's
        // references (most of a second at 100k tracks) and must not hold the writer.
        self.read(|catalog| {
            let quota = Settings::load(catalog)?.quota_bytes;
            let mut stats = catalog.stats(quota)?;
            catalog.dedup_breakdown(&mut stats)?;
            Ok(stats)
        })
    }

    /// The vault's stats without the dedup breakdown (what an import's warnings need).
    pub(crate) fn quick_stats(&self) -> Result<Stats> {
        self.read(|catalog| {
            let quota = Settings::load(catalog)?.quota_bytes;
            Ok(catalog.stats(quota)?)
        })
    }

    pub fn set_trashed(&self, ids: &[TrackId], trashed: bool) -> Result<usize> {
        let catalog = self.catalog();
        let n = catalog.set_trashed(ids, trashed)?;
        let what = if trashed {
            "moved to trash"
        } else {
            "restored from trash"
        };
        catalog.log_activity(
            crate::catalog::LogKind::Trash,
            &format!("{n} track(s) {what}"),
        )?;
        Ok(n)
    }

    /// A shared lock held while chunks may be written that the catalog does not
    /// reference yet (imports); GC takes it exclusively, so it can never delete
    /// a chunk an import in flight relies on, in this process or another.
    pub(crate) fn lock_shared(&self) -> Result<File> {
        let file = self.lock_file()?;
        file.lock_shared()
            .map_err(|e| Error::io(self.root.join("lock"), e))?;
        Ok(file)
    }

    pub(crate) fn lock_exclusive(&self) -> Result<File> {
        lock_exclusive(&self.root)
    }

    fn lock_file(&self) -> Result<File> {
        lock_file(&self.root)
    }

    /// Removes chunks that no track references: rows the catalog dropped (purge)
    /// and files no commit ever referenced (an import that crashed or was refused).
    pub fn gc(&self) -> Result<GcReport> {
        let _lock = self.lock_exclusive()?;
        self.gc_locked()
    }

    fn gc_locked(&self) -> Result<GcReport> {
        // An eviction cut short: its leftovers put right first (see `evicted`).
        self.recover_evictions()?;
        let catalog = self.catalog();
        let mut report = GcReport::default();
        // First the records of tracks the catalog does not have (an import cut
        // short between its records and its commit, a purge cut short after its
        // commit): their chunks may be about to go, and a record must never
        // describe a track whose chunks were collected.
        let tracks = catalog.track_names()?;
        for id in self.records.track_ids().map_err(CatalogError::from)? {
            if !tracks.contains_key(&id) {
                self.records
                    .remove(&RecordName::Track(id))
                    .map_err(CatalogError::from)?;
                report.removed_records += 1;
            }
        }
        catalog.delete_unreferenced_chunks()?;
        let referenced = catalog.chunk_ids()?;
        for (id, size) in self.store.list()? {
            if !referenced.contains(&id) {
                self.store.remove(&id)?;
                report.removed_chunks += 1;
                report.removed_bytes += size;
            }
        }
        if report.removed_chunks > 0 {
            catalog.log_activity(
                crate::catalog::LogKind::Gc,
                &format!(
                    "removed {} unreferenced chunk(s), {} bytes",
                    report.removed_chunks, report.removed_bytes
                ),
            )?;
        }
        Ok(report)
    }

    /// Deletes trashed tracks for good (only those trashed at least
    /// `older_than_days` ago, when given), then collects their chunks.
    pub fn purge(&self, older_than_days: Option<u32>) -> Result<PurgeReport> {
        let _lock = self.lock_exclusive()?;
        let cutoff = crate::catalog::now_unix() - i64::from(older_than_days.unwrap_or(0)) * 86_400;
        let purged = {
            let catalog = self.catalog();
            let purged = catalog.purge_trashed(cutoff)?;
            catalog.log_activity(
                crate::catalog::LogKind::Trash,
                &format!("{} track(s) purged", purged.len()),
            )?;
            purged
        };
        let gc = self.gc_locked()?;
        Ok(PurgeReport {
            purged_tracks: purged,
            removed_chunks: gc.removed_chunks,
            removed_bytes: gc.removed_bytes,
        })
    }
}

/// Refuses a folder that holds a vault or anything else; `Ok(true)` when it exists
/// (empty), `Ok(false)` when it is still to be made.
fn folder_for_new_vault(root: &Path) -> Result<bool> {
    if root.join(CONFIG_FILE).exists() {
        return Err(Error::VaultExists(root.to_path_buf()));
    }
    match fs::read_dir(root) {
        Ok(mut entries) => match entries.next() {
            Some(_) => Err(Error::FolderNotEmpty(root.to_path_buf())),
            None => Ok(true),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(root, e)),
    }
}

/// Removes what a `create` that failed after its first write made in a folder that
/// was new or empty, so `init` can simply be run again. Each step removes only an
/// entry `create` makes, and folders only when empty.
fn undo_failed_create(root: &Path, root_existed: bool) {
    for file in [
        "catalog.db",
        "catalog.db-wal",
        "catalog.db-shm",
        "catalog.db-journal",
    ] {
        let _ = fs::remove_file(root.join(file));
    }
    for record in ["settings", "tombstones"] {
        let _ = fs::remove_file(root.join(crate::records::RECORDS_DIR).join(record));
    }
    for dir in ["chunks", "tmp", crate::records::RECORDS_DIR] {
        let _ = fs::remove_dir(root.join(dir));
    }
    if !root_existed {
        let _ = fs::remove_dir(root);
    }
}

impl Drop for Vault {
    /// Writes the records that a writer which does not seal its transactions
    /// marked (the next open would, but a catalog lost before then would lose
    /// them). Nothing to do, and no write lock taken, when nothing is marked.
    /// The read connections close first, so the writer is the catalog's last
    /// connection: the last to close checkpoints the log and removes `-wal` and
    /// `-shm`, which a read-only connection cannot do.
    fn drop(&mut self) {
        self.readers
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        *self.searcher.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        let _ = self.catalog().seal_leftover_records();
    }
}

/// Opens a vault's catalog, refusing to start an empty one in place of a lost
/// one: a vault that has records or chunks but no catalog (or a catalog file cut
/// short) has a damaged catalog, which `doctor --repair` rebuilds. Opening it as
/// new would show an empty library, and `gc` would then delete every chunk.
fn open_vault_catalog(
    root: &Path,
    records: &Arc<RecordStore>,
    key: &CatalogKey,
) -> Result<Catalog> {
    let path = root.join("catalog.db");
    let damaged = |reason: String| Error::CatalogDamaged {
        path: path.clone(),
        reason,
    };
    let size = match fs::metadata(&path) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, e)),
    };
    if size.unwrap_or(0) == 0 && vault_holds_a_library(root, records)? {
        return Err(damaged(match size {
            None => "it is missing".into(),
            Some(_) => "it is empty".into(),
        }));
    }
    if size.is_some()
        && let Some(reason) = crate::catalog::file_damage(&path)
    {
        return Err(damaged(reason));
    }
    if size.is_none() {
        // A new catalog: private before SQLite makes it (and its log) with its own mode.
        crate::private::precreate(&path).map_err(|e| Error::io(&path, e))?;
    }
    let mut catalog = Catalog::open(&path, key).map_err(|e| {
        if e.is_damaged() {
            damaged(e.to_string())
        } else {
            e.into()
        }
    })?;
    catalog.attach_records(records.clone());
    Ok(catalog)
}

/// Encrypts a catalog made before the catalog was encrypted (plain SQLite), in
/// place, on the first unlock with this version: see
/// `catalog::cipher::encrypt_plaintext_catalog`. Under the vault's lock,
/// exclusive (an import of an older version in flight holds it shared), waited
/// for up to 30 s; another process that opens the vault meanwhile waits here too,
/// then finds the catalog encrypted.
pub(crate) fn encrypt_legacy_catalog(root: &Path, key: &CatalogKey) -> Result<()> {
    let path = root.join("catalog.db");
    if !crate::catalog::cipher::is_plaintext(&path).map_err(|e| Error::io(&path, e))? {
        return Ok(());
    }
    let _lock = lock_exclusive_waiting(root, std::time::Duration::from_secs(30))?;
    encrypt_legacy_catalog_locked(root, key)
}

/// [`encrypt_legacy_catalog`] for a caller that holds the vault's lock already.
pub(crate) fn encrypt_legacy_catalog_locked(root: &Path, key: &CatalogKey) -> Result<()> {
    let path = root.join("catalog.db");
    let tmp = root.join("tmp");
    crate::private::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    match crate::catalog::cipher::encrypt_plaintext_catalog(&path, &tmp, key) {
        // A vault made before private permissions becomes private with its
        // catalog's encryption: the moment this version takes it over.
        Ok(true) => {
            let shared = crate::private::not_private(root).map_err(|e| Error::io(root, e))?;
            let paths: Vec<PathBuf> = shared.into_iter().map(|(p, _)| p).collect();
            crate::private::make_private(&paths).map_err(|e| Error::io(root, e))?;
            Ok(())
        }
        Ok(false) => Ok(()),
        Err(CatalogError::Busy(why)) => Err(Error::Busy(why)),
        Err(e) if e.is_damaged() => Err(Error::CatalogDamaged {
            path,
            reason: e.to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Whether the folder holds anything a catalog described: records, or chunks.
fn vault_holds_a_library(root: &Path, records: &RecordStore) -> Result<bool> {
    if records.has_records() {
        return Ok(true);
    }
    let chunks = root.join("chunks");
    match fs::read_dir(&chunks) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&chunks, e)),
    }
}

pub(crate) fn lock_exclusive(root: &Path) -> Result<File> {
    let file = lock_file(root)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::Busy(
            "an import is running; try again when it has finished".into(),
        )),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(root.join("lock"), e)),
    }
}

/// The vault's lock, exclusive, waiting up to `patience` for other holders.
pub(crate) fn lock_exclusive_waiting(root: &Path, patience: std::time::Duration) -> Result<File> {
    let file = lock_file(root)?;
    let start = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < patience => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy(
                    "an import is running; try again when it has finished".into(),
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(root.join("lock"), e)),
        }
    }
}

fn lock_file(root: &Path) -> Result<File> {
    let path = root.join("lock");
    crate::private::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GcReport {
    pub removed_chunks: u64,
    pub removed_bytes: u64,
    /// Records of tracks the catalog does not have (an interrupted import or purge).
    pub removed_records: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PurgeReport {
    pub purged_tracks: Vec<TrackId>,
    pub removed_chunks: u64,
    pub removed_bytes: u64,
}

/// A setting's name: the keys of [`Settings`], as `settings set KEY` and the
/// app's `set_setting` spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SettingKey {
    AllowedExtensions,
    MaxFileSizeBytes,
    QuotaBytes,
    AutoSync,
    AutoSyncPullMinutes,
    UploadBytesPerSecond,
    DownloadBytesPerSecond,
    AwsProfile,
    StorageClass,
}

impl SettingKey {
    pub const ALL: [SettingKey; 9] = [
        SettingKey::AllowedExtensions,
        SettingKey::MaxFileSizeBytes,
        SettingKey::QuotaBytes,
        SettingKey::AutoSync,
        SettingKey::AutoSyncPullMinutes,
        SettingKey::UploadBytesPerSecond,
        SettingKey::DownloadBytesPerSecond,
        SettingKey::AwsProfile,
        SettingKey::StorageClass,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SettingKey::AllowedExtensions => "allowed_extensions",
            SettingKey::MaxFileSizeBytes => "max_file_size_bytes",
            SettingKey::QuotaBytes => "quota_bytes",
            SettingKey::AutoSync => "auto_sync",
            SettingKey::AutoSyncPullMinutes => "auto_sync_pull_minutes",
            SettingKey::UploadBytesPerSecond => "upload_bytes_per_second",
            SettingKey::DownloadBytesPerSecond => "download_bytes_per_second",
            SettingKey::AwsProfile => "aws_profile",
            SettingKey::StorageClass => "storage_class",
        }
    }
}

/// How often automatic sync pulls when the setting was never changed.
pub const DEFAULT_AUTO_SYNC_PULL_MINUTES: u32 = 15;
/// The longest pull interval the setting takes (a day).
pub const MAX_AUTO_SYNC_PULL_MINUTES: u32 = 24 * 60;

impl std::fmt::Display for SettingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SettingKey {
    type Err = Error;

    /// An unknown name is an `invalid_setting` error that lists the known ones.
    fn from_str(name: &str) -> Result<Self> {
        SettingKey::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| Error::InvalidSetting {
                key: name.to_string(),
                reason: format!(
                    "unknown setting; known settings: {}",
                    SettingKey::ALL.map(SettingKey::as_str).join(", ")
                ),
            })
    }
}

/// User preferences that shape imports and sync. Stored in the catalog's
/// settings table (so they travel with the vault's catalog), no secret.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    pub allowed_extensions: Vec<String>,
    pub max_file_size_bytes: Option<u64>,
    pub quota_bytes: Option<u64>,
    /// The app pushes after imports settle and pulls on unlock and every
    /// `auto_sync_pull_minutes` (opt-in: off until the user turns it on).
    pub auto_sync: bool,
    pub auto_sync_pull_minutes: u32,
    /// Push's (and every upload's) limit; `None`: unlimited.
    pub upload_bytes_per_second: Option<u64>,
    /// Pull's and clone's limit; `None`: unlimited.
    pub download_bytes_per_second: Option<u64>,
    /// The remote's keys come from this profile of the AWS shared config files
    /// (`~/.aws/credentials`, `~/.aws/config`) rather than the keyring. A name,
    /// no secret.
    pub aws_profile: Option<String>,
    /// The S3 storage class new packs are written with (`None`: the bucket's
    /// default, STANDARD on AWS); only classes read back at once are accepted.
    pub storage_class: Option<String>,
}

impl Settings {
    /// The extensions a new vault accepts: those of the formats table's default formats.
    pub fn default_extensions() -> Vec<String> {
        crate::formats::default_extensions()
            .map(str::to_string)
            .collect()
    }

    fn load(catalog: &Catalog) -> Result<Settings> {
        let extensions = match catalog.setting(SettingKey::AllowedExtensions.as_str())? {
            Some(v) => v
                .split(',')
                .map(str::to_string)
                .filter(|s| !s.is_empty())
                .collect(),
            None => Self::default_extensions(),
        };
        let number = |key: SettingKey| -> Result<Option<u64>> {
            Ok(catalog
                .setting(key.as_str())?
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|n| *n > 0))
        };
        let minutes = number(SettingKey::AutoSyncPullMinutes)?
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(DEFAULT_AUTO_SYNC_PULL_MINUTES);
        Ok(Settings {
            allowed_extensions: extensions,
            max_file_size_bytes: number(SettingKey::MaxFileSizeBytes)?,
            quota_bytes: number(SettingKey::QuotaBytes)?,
            auto_sync: catalog.setting(SettingKey::AutoSync.as_str())?.as_deref() == Some("on"),
            auto_sync_pull_minutes: minutes,
            upload_bytes_per_second: number(SettingKey::UploadBytesPerSecond)?,
            download_bytes_per_second: number(SettingKey::DownloadBytesPerSecond)?,
            aws_profile: catalog
                .setting(SettingKey::AwsProfile.as_str())?
                .filter(|p| !p.is_empty()),
            storage_class: catalog
                .setting(SettingKey::StorageClass.as_str())?
                .filter(|c| !c.is_empty() && c != "STANDARD"),
        })
    }

    fn normalize(key: SettingKey, value: &str) -> Result<String> {
        let invalid = |reason: &str| Error::InvalidSetting {
            key: key.to_string(),
            reason: reason.to_string(),
        };
        match key {
            SettingKey::AllowedExtensions => {
                let exts: Vec<String> = value
                    .split(',')
                    .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect();
                if exts.is_empty() {
                    return Err(invalid("give at least one extension, e.g. wav,flac,mp3"));
                }
                if exts
                    .iter()
                    .any(|e| !e.chars().all(|c| c.is_ascii_alphanumeric()))
                {
                    return Err(invalid(
                        "extensions are letters and digits, separated by commas",
                    ));
                }
                Ok(exts.join(","))
            }
            SettingKey::MaxFileSizeBytes | SettingKey::QuotaBytes => value
                .trim()
                .parse::<u64>()
                .map(|n| n.to_string())
                .map_err(|_| invalid("expected a whole number of bytes (0 for no limit)")),
            SettingKey::AutoSync => match value.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "yes" | "1" => Ok("on".into()),
                "off" | "false" | "no" | "0" => Ok("off".into()),
                _ => Err(invalid("expected on or off")),
            },
            SettingKey::AutoSyncPullMinutes => match value.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_AUTO_SYNC_PULL_MINUTES).contains(&n) => Ok(n.to_string()),
                _ => Err(invalid(&format!(
                    "expected a whole number of minutes from 1 to {MAX_AUTO_SYNC_PULL_MINUTES}"
                ))),
            },
            SettingKey::StorageClass => {
                let class = value.trim().to_ascii_uppercase();
                match class.as_str() {
                    "" | "STANDARD" => Ok(String::new()),
                    c if PACK_STORAGE_CLASSES.contains(&c) => Ok(class),
                    "GLACIER" | "DEEP_ARCHIVE" => Err(invalid(
                        "GLACIER and DEEP_ARCHIVE need a restore before every read, so pull, repair and playback would fail; use GLACIER_IR (instant retrieval) or STANDARD_IA",
                    )),
                    _ => Err(invalid(&format!(
                        "expected STANDARD or one of {}",
                        PACK_STORAGE_CLASSES.join(", ")
                    ))),
                }
            }
            SettingKey::AwsProfile => {
                let name = value.trim();
                if name.len() > 128
                    || name
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "[]#;".contains(c))
                {
                    return Err(invalid(
                        "expected the name of a profile in ~/.aws/credentials or ~/.aws/config (empty for none)",
                    ));
                }
                Ok(name.to_string())
            }
            SettingKey::UploadBytesPerSecond | SettingKey::DownloadBytesPerSecond => {
                parse_rate(value)
                    .map(|n| n.to_string())
                    .map_err(|reason| invalid(&reason))
            }
        }
    }

    pub fn allows_extension(&self, ext: &str) -> bool {
        self.allowed_extensions
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext))
    }
}

/// The storage classes packs may be written with: those read back at once.
pub const PACK_STORAGE_CLASSES: [&str; 4] = [
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
];

/// Smallest limit a rate setting takes: below it a single request would take
/// minutes, which looks like a hang rather than a limit.
pub const MIN_BYTES_PER_SECOND: u64 = 16 * 1024;

/// A rate in bytes per second as a person types it: `0` or blank (no limit), a
/// whole number of bytes, or a number with a unit: `500KiB`, `2MiB`, `1.5MB`,
/// `10M` (binary units KiB/MiB/GiB, decimal kB/MB/GB, K/M/G binary), an optional
/// `/s`.
pub fn parse_rate(value: &str) -> std::result::Result<u64, String> {
    const EXPECTED: &str =
        "expected bytes per second, e.g. 2MiB, 500KiB or 1048576 (0 for no limit)";
    let text = value.trim();
    let text = text.strip_suffix("/s").unwrap_or(text).trim();
    if text.is_empty() {
        return Ok(0);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(EXPECTED.into()),
    };
    let n: f64 = number.parse().map_err(|_| EXPECTED.to_string())?;
    let bytes = (n * multiplier as f64).round();
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 / 2.0 {
        return Err(EXPECTED.into());
    }
    let bytes = bytes as u64;
    if bytes != 0 && bytes < MIN_BYTES_PER_SECOND {
        return Err(format!(
            "{value} is below the smallest limit, 16KiB per second (0 for no limit)"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_take_units_and_refuse_nonsense() {
        assert_eq!(parse_rate("0"), Ok(0));
        assert_eq!(parse_rate(""), Ok(0));
        assert_eq!(parse_rate("2MiB"), Ok(2 << 20));
        assert_eq!(parse_rate("2 MiB/s"), Ok(2 << 20));
        assert_eq!(parse_rate("500KiB"), Ok(500 << 10));
        assert_eq!(parse_rate("500k"), Ok(500 << 10));
        assert_eq!(parse_rate("1.5MB"), Ok(1_500_000));
        assert_eq!(parse_rate("1048576"), Ok(1 << 20));
        assert_eq!(parse_rate("1GiB"), Ok(1 << 30));
        for bad in ["fast", "2 MiBs", "-1", "1e9", "2TiB", "1.2.3M", "100"] {
            let err = parse_rate(bad).expect_err(bad);
            assert!(err.contains("per second"), "{bad}: {err}");
        }
    }

    #[test]
    fn sync_settings_default_off_and_validate() {
        let tmp = tempfile::tempdir().unwrap();
        let v = vault(tmp.path());
        let s = v.settings().unwrap();
        assert!(!s.auto_sync, "automatic sync is opt-in");
        assert_eq!(s.auto_sync_pull_minutes, DEFAULT_AUTO_SYNC_PULL_MINUTES);
        assert_eq!(s.upload_bytes_per_second, None);
        assert_eq!(s.download_bytes_per_second, None);

        v.set_setting(SettingKey::AutoSync, "on").unwrap();
        v.set_setting(SettingKey::AutoSyncPullMinutes, "5").unwrap();
        v.set_setting(SettingKey::UploadBytesPerSecond, "2MiB")
            .unwrap();
        v.set_setting(SettingKey::DownloadBytesPerSecond, "500KiB")
            .unwrap();
        let s = v.settings().unwrap();
        assert!(s.auto_sync);
        assert_eq!(s.auto_sync_pull_minutes, 5);
        assert_eq!(s.upload_bytes_per_second, Some(2 << 20));
        assert_eq!(s.download_bytes_per_second, Some(500 << 10));

        for (key, bad) in [
            (SettingKey::AutoSync, "maybe"),
            (SettingKey::AutoSyncPullMinutes, "0"),
            (SettingKey::AutoSyncPullMinutes, "1441"),
            (SettingKey::AutoSyncPullMinutes, "ten"),
            (SettingKey::UploadBytesPerSecond, "lots"),
        ] {
            match v.set_setting(key, bad) {
                Err(Error::InvalidSetting { key: k, reason }) => {
                    assert_eq!(k, key.as_str());
                    assert!(!reason.is_empty());
                }
                other => panic!("{key} = {bad}: {other:?}"),
            }
        }
        // A refused value leaves the last good one.
        let s = v.settings().unwrap();
        assert!(s.auto_sync);
        assert_eq!(s.auto_sync_pull_minutes, 5);

        v.set_setting(SettingKey::AutoSync, "off").unwrap();
        v.set_setting(SettingKey::UploadBytesPerSecond, "0")
            .unwrap();
        let s = v.settings().unwrap();
        assert!(!s.auto_sync);
        assert_eq!(s.upload_bytes_per_second, None, "0 is no limit");
    }

    /// A keystroke's search stays on the connection kept for searches however
    /// other reads interleave with it, so what it cached is found again; a search
    /// that finds that connection busy is answered from the pool, the same.
    #[test]
    fn searches_keep_their_connection_while_other_reads_interleave() {
        use crate::catalog::SearchQuery;
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        {
            let c = v.catalog();
            c.conn().execute_batch("BEGIN").unwrap();
            crate::catalog::synthetic::fill(&c, 300, 5).unwrap();
            c.conn()
                .execute_batch("DELETE FROM record_dirty; COMMIT")
                .unwrap();
        }
        let q = SearchQuery {
            text: Some("love".into()),
            ..SearchQuery::default()
        };
        let ids = |p: &crate::catalog::FirstPage| -> Vec<String> {
            p.page.tracks.iter().map(|t| t.id.0.clone()).collect()
        };
        let first = v.search_first_page(&q).unwrap();
        assert!(first.summary.tracks > 10, "{:?}", first.summary);
        // Two reads at once, the second done last: from the pool, the next read
        // gets the connection that had not searched.
        std::thread::scope(|s| {
            let (held_tx, held_rx) = std::sync::mpsc::channel();
            let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
            let first = s.spawn(|| {
                v.read(move |_| {
                    held_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                    Ok(())
                })
            });
            held_rx.recv().unwrap();
            v.read(move |_| {
                go_tx.send(()).unwrap();
                first.join().unwrap().unwrap();
                Ok(())
            })
            .unwrap();
        });
        let again = v.search_first_page(&q).unwrap();
        assert_eq!(ids(&again), ids(&first));
        assert_eq!(again.summary.tracks, first.summary.tracks);
        let more = v
            .search(&SearchQuery {
                after: first.page.next_cursor.clone(),
                ..q.clone()
            })
            .unwrap();
        assert!(!more.tracks.is_empty());
        let evaluations = |v: &Vault| {
            crate::mutex::lock(&v.searcher)
                .as_ref()
                .map(Catalog::search_evaluations)
        };
        assert_eq!(evaluations(&v), Some(1), "evaluated once, then found again");

        let held = crate::mutex::lock(&v.searcher);
        let busy = v.search_first_page(&q).unwrap();
        drop(held);
        assert_eq!(ids(&busy), ids(&first));
        assert_eq!(busy.summary.tracks, first.summary.tracks);
        assert_eq!(evaluations(&v), Some(1));
    }

    fn vault(dir: &Path) -> Vault {
        let options = CreateOptions {
            kdf_memory_kib: 1024,
            kdf_iterations: 1,
            ..CreateOptions::default()
        };
        Vault::create(&dir.join("vault"), &Passphrase::new("old pw"), &options).unwrap()
    }

    fn weak_kdf() -> CreateOptions {
        CreateOptions {
            kdf_memory_kib: 1024,
            kdf_iterations: 1,
            ..CreateOptions::default()
        }
    }

    /// A keyring in memory, or one that is not there at all.
    #[derive(Default)]
    struct MemoryKeyring {
        keys: Mutex<std::collections::HashMap<String, MasterKey>>,
        unavailable: bool,
    }

    impl KeyStore for MemoryKeyring {
        fn load(&self, id: &str) -> std::result::Result<Option<MasterKey>, KeyError> {
            if self.unavailable {
                return Err(KeyError::KeyringUnavailable("no bus".into()));
            }
            Ok(self.keys.lock().unwrap().get(id).cloned())
        }
        fn store(&self, id: &str, key: &MasterKey) -> std::result::Result<(), KeyError> {
            if self.unavailable {
                return Err(KeyError::KeyringUnavailable("no bus".into()));
            }
            self.keys
                .lock()
                .unwrap()
                .insert(id.to_string(), key.clone());
            Ok(())
        }
        fn forget(&self, id: &str) -> std::result::Result<bool, KeyError> {
            Ok(self.keys.lock().unwrap().remove(id).is_some())
        }
    }

    /// A WAV of `blocks` MiB of noise: block `i` is noise seeded by `seeds[i]`, so two
    /// files that share seeds share chunks (and a file that repeats one repeats them).
    fn wav(path: &Path, seeds: &[u64]) {
        let len = seeds.len() << 20;
        let mut out = crate::test_support::pcm_wav_header(len as u32);
        for seed in seeds {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for _ in 0..(1 << 17) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        fs::write(path, out).unwrap();
    }

    /// The running totals `stats` reads equal the counts and sums of the rows.
    fn assert_totals_match_the_rows(v: &Vault) -> Stats {
        let catalog = v.catalog();
        let stats = catalog.stats(None).unwrap();
        let (scanned, formats) = catalog.totals_by_scanning().unwrap();
        let totals = [
            stats.tracks,
            stats.logical_bytes,
            stats.trashed,
            stats.trashed_bytes,
            stats.chunks,
            stats.unique_bytes,
            stats.stored_bytes,
        ]
        .map(|n| n as i64);
        assert_eq!(totals, scanned, "totals, then the rows' counts and sums");
        let by = |f: &[crate::catalog::FormatStats]| {
            f.iter()
                .map(|f| (f.format.clone(), f.tracks, f.logical_bytes))
                .collect::<Vec<_>>()
        };
        assert_eq!(by(&stats.by_format), by(&formats));
        stats
    }

    /// Issue #16: `stats` reads totals that triggers keep (migration 0014) instead of
    /// scanning the library. Through imports that share chunks, a chunk repeated
    /// inside one file, trash, restore, purge, GC, and the migration itself on a
    /// catalog that already holds tracks, the totals stay equal to the rows.
    #[test]
    fn running_totals_match_the_rows_through_import_trash_purge_gc_and_migration() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let inbox = dir.path().join("inbox");
        fs::create_dir(&inbox).unwrap();
        wav(&inbox.join("a.wav"), &[1, 2, 3]);
        // Shares a's first two MiB: chunks referenced by two tracks count once.
        wav(&inbox.join("b.wav"), &[1, 2, 4]);
        // The same MiB four times: its chunks repeat inside one track.
        wav(&inbox.join("c.wav"), &[5, 5, 5, 5]);
        wav(&inbox.join("d.wav"), &[6]);
        let cancel = crate::progress::CancelToken::new();
        let none = crate::progress::NoProgress;
        let options = crate::ingest::ImportOptions::default();
        let report = v.import(&[inbox], &options, &none, &cancel).unwrap();
        assert_eq!(report.imported, 4, "{report:?}");
        let stats = assert_totals_match_the_rows(&v);
        assert_eq!(stats.tracks, 4);
        assert!(stats.unique_bytes < stats.logical_bytes, "{stats:?}");
        assert_eq!(stats.by_format.len(), 1);
        assert_eq!(stats.by_format[0].tracks, 4);

        let all: Vec<TrackId> = v
            .read(|c| Ok(c.tracks(crate::catalog::TrackFilter::All)?))
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(v.set_trashed(&all[..3], true).unwrap(), 3);
        let stats = assert_totals_match_the_rows(&v);
        assert_eq!((stats.tracks, stats.trashed), (1, 3));
        assert_eq!(v.set_trashed(&all[..1], false).unwrap(), 1);
        let stats = assert_totals_match_the_rows(&v);
        assert_eq!((stats.tracks, stats.trashed), (2, 2));

        let purged = v.purge(None).unwrap();
        assert_eq!(purged.purged_tracks.len(), 2, "{purged:?}");
        let stats = assert_totals_match_the_rows(&v);
        assert_eq!((stats.tracks, stats.trashed), (2, 0));
        let chunks_before_gc = stats.chunks;
        v.gc().unwrap();
        let stats = assert_totals_match_the_rows(&v);
        assert!(stats.chunks <= chunks_before_gc);

        // A catalog from before 0014, with tracks in it: the migration counts them.
        let root = v.root().to_path_buf();
        let key = v.catalog_key().clone();
        drop(v);
        {
            let c = Catalog::open(&root.join("catalog.db"), &key).unwrap();
            let triggers: Vec<String> = c
                .conn()
                .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'totals_%'")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(triggers.len(), 9, "{triggers:?}");
            for t in triggers {
                c.conn()
                    .execute_batch(&format!("DROP TRIGGER {t}"))
                    .unwrap();
            }
            c.conn()
                .execute_batch(&format!(
                    "DROP TABLE totals; DROP TABLE format_totals; PRAGMA user_version = {};",
                    crate::catalog::version_before("0014_totals")
                ))
                .unwrap();
        }
        let v = LockedVault::open(&root)
            .unwrap()
            .unlock(&Passphrase::new("old pw"))
            .unwrap();
        let migrated = assert_totals_match_the_rows(&v);
        assert_eq!(migrated.tracks, stats.tracks);
        assert_eq!(migrated.unique_bytes, stats.unique_bytes);
        assert_eq!(migrated.by_format[0].tracks, 2);
    }

    #[test]
    fn unattended_unlock_takes_the_given_passphrase_then_the_keyring_and_notes_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let root = v.root().to_path_buf();
        let store = MemoryKeyring::default();
        let locked = LockedVault::open(&root).unwrap();
        let source = |u: Result<Unattended>| match u.unwrap() {
            Unattended::Opened(_, source) => Some(source),
            Unattended::NeedsPassphrase(note) => {
                assert!(note.is_none(), "{note:?}");
                None
            }
        };
        assert_eq!(source(locked.unlock_keys_unattended(None, &store)), None);
        assert_eq!(v.remember_key_or_note(&store), None);
        assert_eq!(
            source(locked.unlock_keys_unattended(None, &store)),
            Some(KeySource::Keyring)
        );
        // Given, it wins over the keyring: a wrong one is an error, not a fallback.
        let wrong = locked.unlock_keys_unattended(Some(&Passphrase::new("not it")), &store);
        assert!(matches!(wrong, Err(Error::Key(KeyError::WrongPassphrase))));
        assert_eq!(
            source(locked.unlock_keys_unattended(Some(&Passphrase::new("old pw")), &store)),
            Some(KeySource::Given)
        );
        // An empty given passphrase is no passphrase.
        assert_eq!(
            source(locked.unlock_keys_unattended(Some(&Passphrase::new("")), &store)),
            Some(KeySource::Keyring)
        );

        let none = MemoryKeyring {
            unavailable: true,
            ..MemoryKeyring::default()
        };
        match locked.unlock_keys_unattended(None, &none).unwrap() {
            Unattended::NeedsPassphrase(Some(note)) => {
                assert_eq!(note, KeyringNote::Unavailable("no bus".into()));
                assert!(
                    note.to_string()
                        .contains("no OS keyring is available (no bus)")
                );
            }
            _ => panic!("opened without a key"),
        }
        assert_eq!(
            v.remember_key_or_note(&none),
            Some(KeyringNote::Unavailable("no bus".into()))
        );
    }

    #[test]
    fn create_refuses_a_folder_with_anything_in_it_and_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("music");
        fs::create_dir_all(root.join("tmp")).unwrap();
        fs::write(root.join("tmp/take 1.wav"), b"the user's own file").unwrap();
        let err = match Vault::create(&root, &Passphrase::new("pw"), &weak_kdf()) {
            Err(e) => e,
            Ok(_) => panic!("created a vault over the user's files"),
        };
        assert_eq!(err.kind().as_str(), "folder_not_empty", "{err}");
        assert!(
            err.to_string().contains(&root.display().to_string()),
            "{err}"
        );
        let mut left: Vec<_> = walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|e| e.unwrap().path().strip_prefix(&root).unwrap().to_path_buf())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![
                PathBuf::new(),
                PathBuf::from("tmp"),
                PathBuf::from("tmp/take 1.wav")
            ]
        );
        assert_eq!(
            fs::read(root.join("tmp/take 1.wav")).unwrap(),
            b"the user's own file"
        );

        // A hidden file counts too.
        let hidden = dir.path().join("hidden");
        fs::create_dir(&hidden).unwrap();
        fs::write(hidden.join(".DS_Store"), b"x").unwrap();
        assert!(matches!(
            Vault::create(&hidden, &Passphrase::new("pw"), &weak_kdf()),
            Err(Error::FolderNotEmpty(_))
        ));
    }

    #[test]
    fn create_works_in_a_missing_or_an_empty_folder() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("a/b/vault");
        Vault::create(&missing, &Passphrase::new("pw"), &weak_kdf()).unwrap();
        assert!(missing.join(CONFIG_FILE).is_file());
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        Vault::create(&empty, &Passphrase::new("pw"), &weak_kdf()).unwrap();
        assert!(empty.join(CONFIG_FILE).is_file());
        assert!(matches!(
            Vault::create(&empty, &Passphrase::new("pw"), &weak_kdf()),
            Err(Error::VaultExists(_))
        ));
    }

    #[test]
    fn opening_removes_only_dead_writers_config_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = vault(dir.path()).root().to_path_buf();
        let random = "0123456789abcdef";
        let dead = root.join(format!(".vault.json.999999999-{random}.tmp"));
        let live = root.join(format!(".vault.json.{}-{random}.tmp", std::process::id()));
        let legacy_new = root.join(".vault.json.0123456789ab.tmp");
        let legacy_old = root.join(".vault.json.ba9876543210.tmp");
        let others = [
            root.join(".vault.json.bak"),
            root.join(".vault.json.999999999-xyz.tmp"),
            root.join("999999999-0123456789abcdef.tmp"),
            root.join("notes.txt"),
        ];
        for p in [&dead, &live, &legacy_new, &legacy_old]
            .into_iter()
            .chain(&others)
        {
            fs::write(p, b"x").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - 2 * LEGACY_CONFIG_TEMP_MIN_AGE;
        File::options()
            .write(true)
            .open(&legacy_old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();

        LockedVault::open(&root)
            .unwrap()
            .unlock(&Passphrase::new("old pw"))
            .unwrap();
        assert!(!dead.exists() && !legacy_old.exists());
        for p in [&live, &legacy_new].into_iter().chain(&others) {
            assert!(p.exists(), "{} must be kept", p.display());
        }
    }

    #[test]
    fn replace_passphrase_rewraps_the_key_of_a_shared_vault() {
        let dir = tempfile::tempdir().unwrap();
        let vault = std::sync::Arc::new(vault(dir.path()));
        let shared = vault.clone();
        shared
            .replace_passphrase(&Passphrase::new("old pw"), &Passphrase::new("new pw"))
            .unwrap();
        let locked = LockedVault::open(vault.root()).unwrap();
        assert!(matches!(
            locked.unlock(&Passphrase::new("old pw")),
            Err(Error::Key(KeyError::WrongPassphrase))
        ));
        let reopened = locked.unlock(&Passphrase::new("new pw")).unwrap();
        assert_eq!(reopened.vault_id(), vault.vault_id());
        // The same master key: the open vault still reads and writes the same chunks.
        assert_eq!(reopened.config().key_check, vault.config().key_check);
        // A second change proves the new passphrase against the file, not memory.
        vault
            .replace_passphrase(&Passphrase::new("new pw"), &Passphrase::new("third"))
            .unwrap();
        LockedVault::open(vault.root())
            .unwrap()
            .unlock(&Passphrase::new("third"))
            .unwrap();
    }

    #[test]
    fn weak_passphrases_and_kdf_are_refused_for_new_vaults_and_changes() {
        let dir = tempfile::tempdir().unwrap();
        crate::strength::tests::strict(|| {
            let err = match Vault::create(
                &dir.path().join("a"),
                &Passphrase::new("Password1!"),
                &CreateOptions::default(),
            ) {
                Err(e) => e,
                Ok(_) => panic!("a weak passphrase made a vault"),
            };
            assert_eq!(err.kind().as_str(), "weak_passphrase", "{err}");
            assert!(!dir.path().join("a").exists(), "nothing was made");
            let err = match Vault::create(
                &dir.path().join("b"),
                &Passphrase::new("velvet tundra lantern 93 orchard"),
                &weak_kdf(),
            ) {
                Err(e) => e,
                Ok(_) => panic!("a weak KDF made a vault"),
            };
            assert_eq!(err.kind().as_str(), "weak_kdf", "{err}");
        });
        let vault = vault(dir.path());
        let before = fs::read(vault.root().join(CONFIG_FILE)).unwrap();
        crate::strength::tests::strict(|| {
            let err = vault
                .replace_passphrase(
                    &Passphrase::new("old pw"),
                    &Passphrase::new("aaaaaaaaaaaaaaaa"),
                )
                .unwrap_err();
            assert_eq!(err.kind().as_str(), "weak_passphrase", "{err}");
            vault
                .replace_passphrase(
                    &Passphrase::new("old pw"),
                    &Passphrase::new("velvet tundra lantern 93 orchard"),
                )
                .unwrap();
        });
        assert_ne!(fs::read(vault.root().join(CONFIG_FILE)).unwrap(), before);
    }

    #[test]
    fn replace_passphrase_refuses_a_wrong_current_one_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let vault = vault(dir.path());
        let before = fs::read(vault.root().join(CONFIG_FILE)).unwrap();
        let err = vault
            .replace_passphrase(&Passphrase::new("guess"), &Passphrase::new("new pw"))
            .unwrap_err();
        assert!(
            matches!(err, Error::Key(KeyError::WrongPassphrase)),
            "{err}"
        );
        assert!(matches!(
            vault.replace_passphrase(&Passphrase::new("old pw"), &Passphrase::new("")),
            Err(Error::Invalid(_))
        ));
        assert_eq!(fs::read(vault.root().join(CONFIG_FILE)).unwrap(), before);
    }
}
