//! Error policy: each layer has its own enum (`KeyError`, `StoreError`, `CatalogError`),
//! and [`Error`] is what the public API returns. Messages name the file, track or
//! setting and say what went wrong in words a user can act on. No message ever
//! carries a secret: passphrases and keys are wrapped in types that cannot be
//! formatted, and keyring errors are reduced to their kind.

use std::path::PathBuf;

use crate::catalog::CatalogError;
use crate::keys::KeyError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no vault at {0}: create one with `audiovault init`")]
    NoVault(PathBuf),
    #[error("a vault already exists at {0}")]
    VaultExists(PathBuf),
    #[error(
        "{0} is not empty: a new vault needs a new or empty folder (choose another one, or empty it first)"
    )]
    FolderNotEmpty(PathBuf),
    #[error(
        "{path} was written by a newer Audiovault (vault format {found}, this version reads up to {supported}); upgrade Audiovault"
    )]
    VaultTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path} is damaged: {reason}")]
    BadConfig { path: PathBuf, reason: String },
    #[error(
        "{0} failed authentication: it was altered, or it belongs to another vault; restore it from a backup or clone the vault again"
    )]
    ConfigForged(PathBuf),
    #[error(
        "the catalog {path} cannot be used: {reason}. Run `audiovault doctor --repair` to rebuild it from the vault's records"
    )]
    CatalogDamaged { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("no track matches '{0}'")]
    TrackNotFound(String),
    #[error("'{0}' matches more than one track: give more characters of the id")]
    AmbiguousTrack(String),
    #[error("the vault is busy: {0}")]
    Busy(String),
    #[error("invalid value for {key}: {reason}")]
    InvalidSetting { key: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error("cancelled")]
    Cancelled,
    #[error(
        "the passphrase is too weak (strength {score} of 4, at least {min} needed){}{}",
        warning.as_deref().map(|w| format!(": {w}")).unwrap_or_default(),
        if suggestions.is_empty() { String::new() } else { format!(" {}", suggestions.join(" ")) },
        min = crate::strength::MIN_SCORE
    )]
    WeakPassphrase {
        score: u8,
        warning: Option<String>,
        suggestions: Vec<String>,
    },
    #[error(
        "the key derivation is too cheap for a new vault (Argon2id {memory_kib} KiB, {iterations} pass(es); at least {} KiB and {} passes): a passphrase guessed offline would fall fast",
        crate::keys::KdfParams::DEFAULT_MEMORY_KIB,
        crate::keys::KdfParams::DEFAULT_ITERATIONS
    )]
    WeakKdf { memory_kib: u32, iterations: u32 },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A short, stable name for the kind of error, for front ends that switch on it
    /// (the Tauri shell sends `{kind, message}` over IPC).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NoVault(_) => "no_vault",
            Error::VaultExists(_) => "vault_exists",
            Error::FolderNotEmpty(_) => "folder_not_empty",
            Error::VaultTooNew { .. } => "vault_too_new",
            Error::BadConfig { .. } => "bad_config",
            Error::ConfigForged(_) => "vault_json_forged",
            Error::CatalogDamaged { .. } => "catalog_damaged",
            Error::Catalog(e) if e.is_damaged() => "catalog_damaged",
            Error::Catalog(CatalogError::Records(_)) => "records",
            Error::Catalog(CatalogError::Store(_)) => "store",
            Error::Io { .. } => "io",
            Error::Key(KeyError::WrongPassphrase) => "wrong_passphrase",
            Error::Key(_) => "key",
            Error::Store(_) => "store",
            Error::Catalog(_) => "catalog",
            Error::TrackNotFound(_) => "track_not_found",
            Error::AmbiguousTrack(_) => "ambiguous_track",
            Error::Busy(_) => "busy",
            Error::InvalidSetting { .. } => "invalid_setting",
            Error::Invalid(_) => "invalid",
            Error::Sync(e) => e.kind(),
            Error::Cancelled => "cancelled",
            Error::WeakPassphrase { .. } => "weak_passphrase",
            Error::WeakKdf { .. } => "weak_kdf",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Words a user can act on for the I/O errors a scan or read meets.
pub(crate) fn describe_io_error(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => return "symbolic link loop".into(),
        Some(libc::ENOENT) => {
            return "no such file or folder (it was moved or deleted)".into();
        }
        Some(libc::EACCES) | Some(libc::EPERM) => return "permission denied".into(),
        Some(libc::EISDIR) => return "is a folder".into(),
        Some(libc::EIO) => return "read error from the disk (I/O error)".into(),
        Some(libc::ENOSPC) => return "disk full (no space left on the device)".into(),
        Some(libc::EDQUOT) => return "disk quota exceeded (no space left for this user)".into(),
        _ => {}
    }
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder (it was moved or deleted)".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// True for the errors of a write that found no room: the disk or the user's quota
/// is full.
pub(crate) fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
        || e.kind() == std::io::ErrorKind::StorageFull
}

/// What went wrong talking to a remote (the sync layer's errors; here, at the
/// bottom, so that `Error` can carry them without the layers using each other).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no remote is set up: run `audiovault remote set --bucket B ...` first")]
    NotConfigured,
    #[error(
        "no credentials for the remote: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or store them with `audiovault remote set`"
    )]
    NoCredentials,
    #[error(
        "access denied to bucket '{bucket}': check the access key id and secret ({server_said})"
    )]
    AccessDenied { bucket: String, server_said: String },
    #[error("bucket '{bucket}' does not exist: create it, or check the bucket name and endpoint")]
    NoSuchBucket { bucket: String },
    #[error("cannot reach {endpoint}: {reason}; check the endpoint URL and your network")]
    Unreachable { endpoint: String, reason: String },
    #[error(
        "the server redirected or refused the region: set the region the bucket lives in ({server_said})"
    )]
    WrongRegion { server_said: String },
    #[error("gave up on '{what}' after {attempts} attempts: {last}")]
    RetriesExhausted {
        what: String,
        attempts: u32,
        last: String,
    },
    #[error("not found on the remote: {0}")]
    ObjectNotFound(String),
    #[error("remote object {name} is damaged: {reason}")]
    CorruptObject { name: String, reason: String },
    #[error("there is no Audiovault vault at {0}")]
    NoVaultOnRemote(String),
    #[error(
        "the remote holds another vault (id {remote}, this one is {local}): use another bucket or prefix"
    )]
    OtherVault { remote: String, local: String },
    #[error("the remote has no catalog yet: push from a device that has the library first")]
    NoCatalogOnRemote,
    #[error("{0} is not an empty folder and holds no vault being restored from this remote")]
    CloneTargetNotEmpty(String),
    #[error("invalid remote setting: {0}")]
    InvalidConfig(String),
    #[error(
        "this passphrase was replaced by a newer one on another device: use the current passphrase"
    )]
    PassphraseReplaced,
    #[error(
        "the remote's key file is older than its catalogs (epoch {key_epoch}, a catalog was pushed at epoch {manifest_epoch}): the newest vault.json was removed or rolled back; push from a device that has the current passphrase"
    )]
    KeyRolledBack { key_epoch: u64, manifest_epoch: u64 },
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Other(String),
}

impl From<crate::keys::KeyError> for SyncError {
    fn from(e: crate::keys::KeyError) -> Self {
        SyncError::Other(e.to_string())
    }
}

impl SyncError {
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::NotConfigured => "remote_not_configured",
            SyncError::NoCredentials => "remote_no_credentials",
            SyncError::AccessDenied { .. } => "remote_access_denied",
            SyncError::NoSuchBucket { .. } => "remote_no_such_bucket",
            SyncError::Unreachable { .. } => "remote_unreachable",
            SyncError::WrongRegion { .. } => "remote_wrong_region",
            SyncError::RetriesExhausted { .. } => "remote_retries_exhausted",
            SyncError::ObjectNotFound(_) => "remote_object_missing",
            SyncError::CorruptObject { .. } => "remote_object_damaged",
            SyncError::NoVaultOnRemote(_) => "remote_no_vault",
            SyncError::OtherVault { .. } => "remote_other_vault",
            SyncError::NoCatalogOnRemote => "remote_no_catalog",
            SyncError::CloneTargetNotEmpty(_) => "clone_target_not_empty",
            SyncError::InvalidConfig(_) => "invalid_setting",
            SyncError::PassphraseReplaced => "passphrase_replaced",
            SyncError::KeyRolledBack { .. } => "remote_key_rolled_back",
            SyncError::Cancelled => "cancelled",
            SyncError::Other(_) => "remote",
        }
    }
}
