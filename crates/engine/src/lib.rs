//! Audiovault's engine: everything a user's data goes through, with no window
//! attached. The desktop shell and the CLI both call this API.
//!
//! Start at [`LockedVault::open`] / [`Vault::create`]; a [`Vault`] imports,
//! exports, verifies and maintains the library.

pub mod analysis;
pub mod catalog;
/// Sealed records of the catalog (see `catalog::record_store`).
pub use catalog::record_store as records;
pub mod doctor;
pub mod error;
pub mod export;
pub mod formats;
pub mod ids;
pub mod ingest;
pub mod keys;
pub mod library;
pub mod media;
mod mutex;
mod private;
pub mod progress;
pub mod secret;
pub mod serve;
pub mod store;
pub mod strength;
pub mod sync;
#[cfg(test)]
mod test_support;
pub mod vault;
pub mod verify;
pub mod watch;
mod workers;

pub use catalog::{Stats, Track, TrackFilter, TrackId, TrackState};
pub use doctor::{DoctorOptions, DoctorReport};
pub use error::{Error, ErrorKind, Result};
pub use export::{ExportOptions, ExportReport};
pub use ingest::{FileResult, ImportOptions, ImportReport, Outcome};
pub use keys::{KeyError, KeyStore, OsKeyring};
pub use progress::{CancelToken, NoProgress, Progress};
pub use secret::Passphrase;
pub use vault::{
    CreateOptions, KeySource, KeyringNote, LockedVault, Notice, NoticeKind, SettingKey, Settings,
    Unattended, Vault, VaultKeys, default_vault_dir,
};
pub use verify::VerifyReport;
