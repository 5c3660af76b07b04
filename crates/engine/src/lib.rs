//! Audiovault's engine: everything a user's data goes through, with no window
//! attached. The desktop shell and the CLI both call this API.
//!
//! Start at [`LockedVault::open`] / [`Vault::create`]; a [`Vault`] imports,
//! exports, verifies and maintains the library.

pub mod analysis;
pub mod catalog;
pub mod doctor;
pub mod error;
pub mod export;
pub mod formats;
pub mod ingest;
pub mod keys;
pub mod media;
pub mod progress;
pub mod records;
pub mod secret;
pub mod serve;
pub mod store;
pub mod sync;
pub mod vault;
pub mod verify;
pub mod watch;

pub use catalog::{Stats, Track, TrackFilter, TrackId, TrackState};
pub use doctor::{DoctorOptions, DoctorReport};
pub use error::{Error, Result};
pub use export::{ExportOptions, ExportReport};
pub use ingest::{FileResult, ImportOptions, ImportReport, Outcome};
pub use keys::{KeyError, KeyStore, OsKeyring};
pub use progress::{CancelToken, NoProgress, Progress};
pub use secret::Passphrase;
pub use vault::{CreateOptions, LockedVault, Settings, Vault, VaultKeys, default_vault_dir};
pub use verify::VerifyReport;
