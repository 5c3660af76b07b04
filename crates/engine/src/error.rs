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
        "the passphrase is too weak (strength {score} of 4, at least {needed} needed){}{}",
        warning.as_deref().map(|w| format!(": {w}")).unwrap_or_default(),
        if suggestions.is_empty() { String::new() } else { format!(" {}", suggestions.join(" ")) }
    )]
    WeakPassphrase {
        score: u8,
        needed: u8,
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
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NoVault(_) => ErrorKind::NoVault,
            Error::VaultExists(_) => ErrorKind::VaultExists,
            Error::FolderNotEmpty(_) => ErrorKind::FolderNotEmpty,
            Error::VaultTooNew { .. } => ErrorKind::VaultTooNew,
            Error::BadConfig { .. } => ErrorKind::BadConfig,
            Error::ConfigForged(_) => ErrorKind::VaultJsonForged,
            Error::CatalogDamaged { .. } => ErrorKind::CatalogDamaged,
            Error::Catalog(e) if e.is_damaged() => ErrorKind::CatalogDamaged,
            Error::Catalog(CatalogError::Records(_)) => ErrorKind::Records,
            Error::Catalog(CatalogError::Store(_)) => ErrorKind::Store,
            Error::Io { .. } => ErrorKind::Io,
            Error::Key(KeyError::WrongPassphrase) => ErrorKind::WrongPassphrase,
            Error::Key(_) => ErrorKind::Key,
            Error::Store(_) => ErrorKind::Store,
            Error::Catalog(_) => ErrorKind::Catalog,
            Error::TrackNotFound(_) => ErrorKind::TrackNotFound,
            Error::AmbiguousTrack(_) => ErrorKind::AmbiguousTrack,
            Error::Busy(_) => ErrorKind::Busy,
            Error::InvalidSetting { .. } => ErrorKind::InvalidSetting,
            Error::Invalid(_) => ErrorKind::Invalid,
            Error::Sync(e) => e.kind(),
            Error::Cancelled => ErrorKind::Cancelled,
            Error::WeakPassphrase { .. } => ErrorKind::WeakPassphrase,
            Error::WeakKdf { .. } => ErrorKind::WeakKdf,
        }
    }
}

/// What kind of error it is: a short, stable name that front ends switch on (the
/// app receives `{kind, message}`; the TypeScript side gets this as a union of
/// the same snake_case strings). The last few are the front ends' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ErrorKind {
    NoVault,
    VaultExists,
    FolderNotEmpty,
    VaultTooNew,
    BadConfig,
    VaultJsonForged,
    CatalogDamaged,
    Records,
    Store,
    Io,
    WrongPassphrase,
    Key,
    Catalog,
    TrackNotFound,
    AmbiguousTrack,
    Busy,
    InvalidSetting,
    Invalid,
    Cancelled,
    RemoteNotConfigured,
    RemoteNoCredentials,
    /// An object the operation needs is in an archive storage class.
    RemoteArchived,
    RemoteAccessDenied,
    RemoteNoSuchBucket,
    RemoteUnreachable,
    RemoteWrongRegion,
    RemoteRetriesExhausted,
    RemoteObjectMissing,
    RemoteObjectDamaged,
    RemoteNoVault,
    RemoteOtherVault,
    RemoteNoCatalog,
    CloneTargetNotEmpty,
    PassphraseReplaced,
    RemoteKeyRolledBack,
    Remote,
    WatchFolder,
    WatchFolderOverlapsVault,
    NotWatched,
    NothingToWatch,
    /// The app: the vault is locked (a command that needs it open).
    Locked,
    /// The app: the window system failed.
    App,
    /// The app: a passphrase must be typed first.
    PassphraseNeeded,
    /// The OS keyring could not store or give a secret.
    KeyringUnavailable,
    /// A new passphrase below the strength floor (see `strength`).
    WeakPassphrase,
    /// KDF parameters below the floor for a new vault.
    WeakKdf,
}

impl ErrorKind {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NoVault => "no_vault",
            ErrorKind::VaultExists => "vault_exists",
            ErrorKind::FolderNotEmpty => "folder_not_empty",
            ErrorKind::VaultTooNew => "vault_too_new",
            ErrorKind::BadConfig => "bad_config",
            ErrorKind::VaultJsonForged => "vault_json_forged",
            ErrorKind::CatalogDamaged => "catalog_damaged",
            ErrorKind::Records => "records",
            ErrorKind::Store => "store",
            ErrorKind::Io => "io",
            ErrorKind::WrongPassphrase => "wrong_passphrase",
            ErrorKind::Key => "key",
            ErrorKind::Catalog => "catalog",
            ErrorKind::TrackNotFound => "track_not_found",
            ErrorKind::AmbiguousTrack => "ambiguous_track",
            ErrorKind::Busy => "busy",
            ErrorKind::InvalidSetting => "invalid_setting",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::RemoteNotConfigured => "remote_not_configured",
            ErrorKind::RemoteNoCredentials => "remote_no_credentials",
            ErrorKind::RemoteArchived => "remote_archived",
            ErrorKind::RemoteAccessDenied => "remote_access_denied",
            ErrorKind::RemoteNoSuchBucket => "remote_no_such_bucket",
            ErrorKind::RemoteUnreachable => "remote_unreachable",
            ErrorKind::RemoteWrongRegion => "remote_wrong_region",
            ErrorKind::RemoteRetriesExhausted => "remote_retries_exhausted",
            ErrorKind::RemoteObjectMissing => "remote_object_missing",
            ErrorKind::RemoteObjectDamaged => "remote_object_damaged",
            ErrorKind::RemoteNoVault => "remote_no_vault",
            ErrorKind::RemoteOtherVault => "remote_other_vault",
            ErrorKind::RemoteNoCatalog => "remote_no_catalog",
            ErrorKind::CloneTargetNotEmpty => "clone_target_not_empty",
            ErrorKind::PassphraseReplaced => "passphrase_replaced",
            ErrorKind::RemoteKeyRolledBack => "remote_key_rolled_back",
            ErrorKind::Remote => "remote",
            ErrorKind::WatchFolder => "watch_folder",
            ErrorKind::WatchFolderOverlapsVault => "watch_folder_overlaps_vault",
            ErrorKind::NotWatched => "not_watched",
            ErrorKind::NothingToWatch => "nothing_to_watch",
            ErrorKind::Locked => "locked",
            ErrorKind::App => "app",
            ErrorKind::PassphraseNeeded => "passphrase_needed",
            ErrorKind::KeyringUnavailable => "keyring_unavailable",
            ErrorKind::WeakPassphrase => "weak_passphrase",
            ErrorKind::WeakKdf => "weak_kdf",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    #[error("AWS profile '{profile}' gave no usable keys: {reason}")]
    AwsProfile { profile: String, reason: String },
    #[error(
        "'{object}' is archived in the bucket (S3 Glacier Flexible Retrieval or Deep Archive) and cannot be read until it is restored: restore it (the S3 console's Restore, or `aws s3api restore-object`), wait for the restore to finish, then try again"
    )]
    Archived { object: String },
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
    pub fn kind(&self) -> ErrorKind {
        match self {
            SyncError::NotConfigured => ErrorKind::RemoteNotConfigured,
            SyncError::NoCredentials => ErrorKind::RemoteNoCredentials,
            SyncError::AccessDenied { .. } => ErrorKind::RemoteAccessDenied,
            SyncError::NoSuchBucket { .. } => ErrorKind::RemoteNoSuchBucket,
            SyncError::Unreachable { .. } => ErrorKind::RemoteUnreachable,
            SyncError::WrongRegion { .. } => ErrorKind::RemoteWrongRegion,
            SyncError::RetriesExhausted { .. } => ErrorKind::RemoteRetriesExhausted,
            SyncError::ObjectNotFound(_) => ErrorKind::RemoteObjectMissing,
            SyncError::CorruptObject { .. } => ErrorKind::RemoteObjectDamaged,
            SyncError::NoVaultOnRemote(_) => ErrorKind::RemoteNoVault,
            SyncError::OtherVault { .. } => ErrorKind::RemoteOtherVault,
            SyncError::NoCatalogOnRemote => ErrorKind::RemoteNoCatalog,
            SyncError::AwsProfile { .. } => ErrorKind::RemoteNoCredentials,
            SyncError::Archived { .. } => ErrorKind::RemoteArchived,
            SyncError::CloneTargetNotEmpty(_) => ErrorKind::CloneTargetNotEmpty,
            SyncError::InvalidConfig(_) => ErrorKind::InvalidSetting,
            SyncError::PassphraseReplaced => ErrorKind::PassphraseReplaced,
            SyncError::KeyRolledBack { .. } => ErrorKind::RemoteKeyRolledBack,
            SyncError::Cancelled => ErrorKind::Cancelled,
            SyncError::Other(_) => ErrorKind::Remote,
        }
    }
}
