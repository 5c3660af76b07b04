//! The watched import folder: every audio file that lands in a folder the user
//! chose (a recorder's card, a download folder, a DAW's bounce folder) ends up in
//! the vault once and complete, and is never lost.
//!
//! A [`Watcher`] runs on the caller's thread until cancelled (or, with
//! [`WatchConfig::once`], after one pass) and reports what it does through
//! [`WatchEvents`]: the CLI prints events, the app forwards them over IPC.
//!
//! How a file gets in:
//! 1. **Found** by a file-system event (`notify`: inotify on Linux), by the scan
//!    when a folder is first watched or comes back (files that arrived while
//!    nothing watched), or by polling where events are unavailable.
//! 2. **Skipped** if its name is temporary (`.part`, `.crdownload`, hidden,
//!    lock files: taken up once renamed), if its extension is not an allowed
//!    audio one, or if it is remembered as already imported with the same size
//!    and mtime.
//! 3. **Stable**: its size and mtime have not changed for the settle time (the
//!    clock starts at the file's last change time, so files that sat there while
//!    the app was closed need no wait), no process holds it open for writing
//!    (Linux, [`procfs`]), and it reads to the end with the size it had.
//!    Anything else puts it back to wait.
//! 4. **Imported** in batches (one import job per burst, not per event) through
//!    [`Vault::import`]; the SHA-256 read in step 3 must equal the import's.
//! 5. **Afterwards**, per folder: keep the file (remembered by path, size, mtime
//!    and SHA-256, so a restart or a `touch` does not import it again) or remove
//!    it — only once the track has been read back from the vault and
//!    authenticated against that SHA-256. Files the import rejects or fails are
//!    listed with the reason and moved into the folder's 'Not imported'
//!    subfolder (or left in place); they are never deleted.
//!
//! A folder that disappears (an unmounted card, a deleted folder) makes the
//! watcher report it 'unavailable' and wait for it; nothing in the library
//! changes because of it.

mod disk;
mod filter;
mod folder;
mod policy;
mod procfs;
mod runner;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::catalog::{Activity, CatalogError, TrackId};
use crate::progress::Outcome;
use crate::vault::Vault;

pub use runner::Watcher;

/// The subfolder of a watched folder that failed files are moved into.
pub const NOT_IMPORTED_DIR: &str = "Not imported";

pub use crate::catalog::watch::{
    AfterImport, DEFAULT_SETTLE, KnownFile, KnownStatus, SETTLE_RANGE_SECONDS, WatchFailure,
    WatchFolder,
};
use crate::catalog::watch::{lossy_opt_path, lossy_path};

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{path}: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error(
        "{folder} contains the vault ({vault}): watching it would import the vault's own files"
    )]
    ContainsVault { folder: PathBuf, vault: PathBuf },
    #[error("{folder} is inside the vault ({vault})")]
    InsideVault { folder: PathBuf, vault: PathBuf },
    #[error("{0} is not a watched folder (see `audiovault watch list`)")]
    NotWatched(PathBuf),
    #[error(
        "no folder to watch: name one (`audiovault watch DIR`) or add one (`audiovault watch add DIR`)"
    )]
    NothingToWatch,
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Vault(#[from] crate::Error),
}

impl WatchError {
    /// A short, stable name for the kind of error (the `{kind, message}` IPC form).
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            WatchError::Folder { .. } => ErrorKind::WatchFolder,
            WatchError::ContainsVault { .. } | WatchError::InsideVault { .. } => {
                ErrorKind::WatchFolderOverlapsVault
            }
            WatchError::NotWatched(_) => ErrorKind::NotWatched,
            WatchError::NothingToWatch => ErrorKind::NothingToWatch,
            WatchError::Catalog(_) => ErrorKind::Catalog,
            WatchError::Vault(e) => e.kind(),
        }
    }
}

/// What a [`Watcher`] watches and how.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub folders: Vec<WatchFolder>,
    /// Scan, import what is stable (waiting about one settle time, plus a
    /// second, for files that changed recently), then return. For tests, cron
    /// and scripts.
    pub once: bool,
    /// How often a polled folder is scanned (stretched for trees whose scan
    /// takes long, so polling never keeps the disk busy).
    pub poll_interval: Duration,
    /// A full scan even when events work: a safety net for events the kernel
    /// dropped without saying so.
    pub rescan_interval: Duration,
    /// Files per import job; a larger burst becomes several jobs.
    pub max_batch: usize,
}

impl WatchConfig {
    pub fn new(folders: Vec<WatchFolder>) -> Self {
        WatchConfig {
            folders,
            once: false,
            poll_interval: Duration::from_secs(2),
            rescan_interval: Duration::from_secs(600),
            max_batch: 256,
        }
    }
}

/// A watched folder's state, as the app's status area shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum FolderState {
    /// File-system events arrive for it.
    Watching,
    /// Scanned every few seconds (events unavailable, over their limit, a
    /// network share, or asked for).
    Polling,
    /// The folder is missing or unreadable; the watcher waits for it.
    Unavailable,
    /// The watcher stopped.
    Stopped,
    /// Disabled in the folder's settings (never reported by the watcher: a
    /// front end listing stored folders shows it).
    Off,
    /// Enabled, and the watcher has not reported on it yet.
    Starting,
}

impl FolderState {
    pub fn as_str(self) -> &'static str {
        match self {
            FolderState::Watching => "watching",
            FolderState::Polling => "polling",
            FolderState::Unavailable => "unavailable",
            FolderState::Stopped => "stopped",
            FolderState::Off => "off",
            FolderState::Starting => "starting",
        }
    }
}

/// What an event is about, for the lists that show events (the app's activity
/// list, the CLI's lines, the vault's activity log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ActivityKind {
    Imported,
    /// Needed no import (already in the vault).
    Skipped,
    /// Rejected or failed: on the 'Not imported' list.
    NotImported,
    /// Left alone (not audio, a temporary name).
    Ignored,
    /// Not stable yet (still written, held open).
    Waiting,
    /// A folder was scanned, or its state changed.
    Folder,
    Notice,
}

impl ActivityKind {
    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::Imported => "imported",
            ActivityKind::Skipped => "skipped",
            ActivityKind::NotImported => "not imported",
            ActivityKind::Ignored => "ignored",
            ActivityKind::Waiting => "waiting",
            ActivityKind::Folder => "folder",
            ActivityKind::Notice => "notice",
        }
    }
}

/// An event in words: the one wording the activity log, the CLI and the app
/// share.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLine {
    pub kind: ActivityKind,
    /// The file, or the folder, it is about.
    pub path: Option<PathBuf>,
    /// What happened and why.
    pub message: String,
    pub track_id: Option<TrackId>,
}

impl std::fmt::Display for EventLine {
    /// `imported /in/a.wav: track 0f3c…`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{} {}: {}", self.kind.label(), p.display(), self.message),
            None => write!(f, "{}: {}", self.kind.label(), self.message),
        }
    }
}

/// What the watcher reports while it runs. Serialized with an `"event"` tag
/// (`{"event": "imported", ...}`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    /// A folder's state changed; `reason` says why for polling and unavailable.
    State {
        #[serde(serialize_with = "lossy_path")]
        folder: PathBuf,
        state: FolderState,
        reason: Option<String>,
    },
    /// A full scan of a folder finished (when it is first watched or comes back):
    /// `files` audio files seen, `known` of them already imported.
    Scanned {
        #[serde(serialize_with = "lossy_path")]
        folder: PathBuf,
        files: usize,
        known: usize,
    },
    /// A file left alone until it changes (e.g. a `.part` download, not audio).
    Ignored {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        reason: String,
    },
    /// A file not imported yet because it is not stable (still written, held
    /// open, unreadable for now). Reported once per file.
    Waiting {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        reason: String,
    },
    Imported {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        track_id: TrackId,
        sha256: String,
        size_bytes: u64,
        /// Removed from the folder (policy `remove`) after verification.
        source_removed: bool,
    },
    /// Not imported because it needs no import: its content is already in the
    /// vault, or it was imported before and only its date changed.
    Skipped {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        reason: String,
        track_id: Option<TrackId>,
        source_removed: bool,
    },
    /// The import rejected or failed the file: it is on the 'Not imported' list.
    NotImported {
        #[serde(serialize_with = "lossy_path")]
        path: PathBuf,
        /// `rejected` or `failed`, as the import reported it.
        outcome: Outcome,
        reason: String,
        /// Where the file is now; null when it was left in place.
        #[serde(serialize_with = "lossy_opt_path")]
        moved_to: Option<PathBuf>,
    },
    /// One import job finished.
    Batch {
        job_id: i64,
        files: usize,
        imported: usize,
        duplicates: usize,
        rejected: usize,
        failed: usize,
    },
    /// Something the user should know that is not about one file's outcome.
    Notice {
        #[serde(serialize_with = "lossy_opt_path")]
        folder: Option<PathBuf>,
        message: String,
    },
}

impl WatchEvent {
    /// The event in words; `None` for a batch's counts (each file has its own).
    pub fn describe(&self) -> Option<EventLine> {
        let line = |kind, path: &Path, message: String| EventLine {
            kind,
            path: Some(path.to_path_buf()),
            message,
            track_id: None,
        };
        let removed = |source_removed: bool| {
            if source_removed {
                ", then removed from the folder"
            } else {
                ""
            }
        };
        Some(match self {
            WatchEvent::State {
                folder,
                state,
                reason,
            } => line(
                ActivityKind::Folder,
                folder,
                match reason {
                    Some(r) => format!("{}: {r}", state.as_str()),
                    None => state.as_str().to_string(),
                },
            ),
            WatchEvent::Scanned {
                folder,
                files,
                known,
            } => line(
                ActivityKind::Folder,
                folder,
                format!("scanned: {files} audio file(s), {known} imported before"),
            ),
            WatchEvent::Ignored { path, reason } => {
                line(ActivityKind::Ignored, path, reason.clone())
            }
            WatchEvent::Waiting { path, reason } => {
                line(ActivityKind::Waiting, path, reason.clone())
            }
            WatchEvent::Imported {
                path,
                track_id,
                source_removed,
                ..
            } => EventLine {
                track_id: Some(track_id.clone()),
                ..line(
                    ActivityKind::Imported,
                    path,
                    format!("track {track_id}{}", removed(*source_removed)),
                )
            },
            WatchEvent::Skipped {
                path,
                reason,
                track_id,
                source_removed,
            } => EventLine {
                track_id: track_id.clone(),
                ..line(
                    ActivityKind::Skipped,
                    path,
                    format!("{reason}{}", removed(*source_removed)),
                )
            },
            WatchEvent::NotImported {
                path,
                reason,
                moved_to,
                ..
            } => line(
                ActivityKind::NotImported,
                path,
                match moved_to {
                    Some(to) => format!("{reason} (moved to {})", to.display()),
                    None => reason.clone(),
                },
            ),
            WatchEvent::Batch { .. } => return None,
            WatchEvent::Notice { folder, message } => EventLine {
                kind: ActivityKind::Notice,
                path: folder.clone(),
                message: message.clone(),
                track_id: None,
            },
        })
    }
}

/// Where the watcher's events go. Called on the watcher's thread.
pub trait WatchEvents {
    fn event(&self, event: &WatchEvent);
}

impl<F: Fn(&WatchEvent)> WatchEvents for F {
    fn event(&self, event: &WatchEvent) {
        self(event)
    }
}

/// Discards events.
pub struct NoWatchEvents;

impl WatchEvents for NoWatchEvents {
    fn event(&self, _event: &WatchEvent) {}
}

/// One file in a [`WatchReport`].
#[derive(Debug, Clone, Serialize, Default)]
pub struct WatchedFile {
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub reason: Option<String>,
    pub track_id: Option<TrackId>,
    pub sha256: Option<String>,
    #[serde(serialize_with = "lossy_opt_path")]
    pub moved_to: Option<PathBuf>,
    pub source_removed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FolderStatus {
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub state: FolderState,
    pub reason: Option<String>,
}

/// What a run did. Per-file lists are kept for [`WatchConfig::once`] runs; a
/// continuous run reports through [`WatchEvents`] and keeps only the counts.
#[derive(Debug, Clone, Serialize, Default)]
pub struct WatchReport {
    /// Each folder's state when the run ended (before it was stopped).
    pub folders: Vec<FolderStatus>,
    pub imported: Vec<WatchedFile>,
    pub skipped: Vec<WatchedFile>,
    pub not_imported: Vec<WatchedFile>,
    /// Files still not stable when a `once` run ended: the next run takes them.
    pub waiting: Vec<WatchedFile>,
    pub imported_count: usize,
    pub skipped_count: usize,
    pub not_imported_count: usize,
    pub cancelled: bool,
}

/// The folder as the watcher will know it: absolute, symbolic links resolved.
fn canonical_folder(path: &Path) -> Result<PathBuf, WatchError> {
    let folder_err = |reason: String| WatchError::Folder {
        path: path.to_path_buf(),
        reason,
    };
    let canonical =
        std::fs::canonicalize(path).map_err(|e| folder_err(crate::error::describe_io_error(&e)))?;
    if !canonical.is_dir() {
        return Err(folder_err("not a folder".into()));
    }
    Ok(canonical)
}

/// The path a stored folder would have: canonical when it exists, else made
/// absolute as given (an unmounted drive can still be named and removed).
fn lookup_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Refuses folders that overlap the vault: watching the vault would feed its
/// own chunk files back into it. A vault under a hidden subfolder of the watched
/// folder is fine (the watcher never looks into hidden folders).
pub(crate) fn check_overlap(folder: &WatchFolder, vault_root: &Path) -> Result<(), WatchError> {
    let vault = std::fs::canonicalize(vault_root).unwrap_or_else(|_| vault_root.to_path_buf());
    if folder.path.starts_with(&vault) {
        return Err(WatchError::InsideVault {
            folder: folder.path.clone(),
            vault,
        });
    }
    if let Ok(rel) = vault.strip_prefix(&folder.path) {
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
        // Not recursive, only files directly in the folder are looked at, and
        // the vault's files are all in its own folder.
        if folder.recursive && !hidden {
            return Err(WatchError::ContainsVault {
                folder: folder.path.clone(),
                vault,
            });
        }
    }
    Ok(())
}

impl Vault {
    /// The folders the user added, enabled or not, in the order added.
    pub fn watch_folders(&self) -> Result<Vec<WatchFolder>, WatchError> {
        Ok(self.catalog().watch_folders()?)
    }

    /// Adds a folder to watch, or replaces the policy of one already added.
    /// The folder must exist; it is stored with symbolic links resolved.
    pub fn add_watch_folder(&self, folder: &WatchFolder) -> Result<WatchFolder, WatchError> {
        let mut folder = folder.clone();
        folder.path = canonical_folder(&folder.path)?;
        check_overlap(&folder, self.root())?;
        let catalog = self.catalog();
        let existed = catalog.watch_folder(&folder.path)?.is_some();
        catalog.upsert_watch_folder(&folder)?;
        catalog.log_activity(
            crate::catalog::LogKind::Watch,
            &format!(
                "{} watched folder {} (recursive: {}, after import: {}, settle: {} s)",
                if existed { "updated" } else { "added" },
                folder.path.display(),
                folder.recursive,
                folder.after_import.as_str(),
                folder.settle.as_secs_f64()
            ),
        )?;
        Ok(folder)
    }

    /// Stops watching a folder for good. Its files and tracks are untouched.
    pub fn remove_watch_folder(&self, path: &Path) -> Result<(), WatchError> {
        let key = lookup_path(path);
        let catalog = self.catalog();
        if !catalog.remove_watch_folder(&key)? {
            return Err(WatchError::NotWatched(path.to_path_buf()));
        }
        catalog.log_activity(
            crate::catalog::LogKind::Watch,
            &format!("removed watched folder {}", key.display()),
        )?;
        Ok(())
    }

    pub fn set_watch_folder_enabled(&self, path: &Path, enabled: bool) -> Result<(), WatchError> {
        let key = lookup_path(path);
        let catalog = self.catalog();
        if !catalog.set_watch_folder_enabled(&key, enabled)? {
            return Err(WatchError::NotWatched(path.to_path_buf()));
        }
        catalog.log_activity(
            crate::catalog::LogKind::Watch,
            &format!(
                "{} watched folder {}",
                if enabled { "enabled" } else { "disabled" },
                key.display()
            ),
        )?;
        Ok(())
    }

    /// The stored policy of `path` if it was added, else the default policy;
    /// either way with the canonical path. For `audiovault watch DIR`.
    pub fn watch_folder_or_default(&self, path: &Path) -> Result<WatchFolder, WatchError> {
        let canonical = canonical_folder(path)?;
        Ok(self
            .catalog()
            .watch_folder(&canonical)?
            .unwrap_or_else(|| WatchFolder::new(canonical)))
    }

    /// The 'Not imported' list, oldest first.
    pub fn watch_failures(&self) -> Result<Vec<WatchFailure>, WatchError> {
        Ok(self.catalog().watch_failures()?)
    }

    /// Empties the 'Not imported' list (files are not touched); files that were
    /// left in place are tried again.
    pub fn clear_watch_failures(&self) -> Result<usize, WatchError> {
        let catalog = self.catalog();
        let n = catalog.clear_watch_failures()?;
        catalog.log_activity(
            crate::catalog::LogKind::Watch,
            &format!("cleared {n} entries of the 'Not imported' list"),
        )?;
        Ok(n)
    }

    /// The watcher's newest activity entries, newest first.
    pub fn watch_activity(&self, limit: u32) -> Result<Vec<Activity>, WatchError> {
        Ok(self.catalog().watch_activity(limit)?)
    }
}
