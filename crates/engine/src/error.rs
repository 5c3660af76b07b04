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
    Sync(#[from] crate::sync::SyncError),
    #[error("cancelled")]
    Cancelled,
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
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
