//! The watched folder's part of the IPC contract (see [`crate::dto`]); kept in
//! its own file, written into `ui/src/lib/bindings.ts` by [`crate::bindings`].

use std::path::PathBuf;
use std::time::Duration;

use audiovault_engine::watch as engine;
use serde::{Deserialize, Serialize};
use ts_rs::{Config, TS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum AfterImport {
    /// Leave the file in the folder (remembered, so it is not imported twice).
    Keep,
    /// Delete it from the folder once the vault's copy was read back and verified.
    Remove,
}

/// A watched folder's settings, as stored in the vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WatchFolderSettings {
    pub path: String,
    pub enabled: bool,
    /// Files in subfolders too.
    pub recursive: bool,
    pub after_import: AfterImport,
    /// Move files that fail into the folder's 'Not imported' subfolder.
    pub move_failures: bool,
    /// How long a file must stay unchanged before it is imported.
    pub settle_seconds: f64,
    /// Scan every few seconds instead of using file-system events.
    pub poll: bool,
}

impl From<engine::WatchFolder> for WatchFolderSettings {
    fn from(f: engine::WatchFolder) -> Self {
        WatchFolderSettings {
            path: f.path.to_string_lossy().into_owned(),
            enabled: f.enabled,
            recursive: f.recursive,
            after_import: match f.after_import {
                engine::AfterImport::Keep => AfterImport::Keep,
                engine::AfterImport::Remove => AfterImport::Remove,
            },
            move_failures: f.move_failures,
            settle_seconds: f.settle.as_secs_f64(),
            poll: f.poll,
        }
    }
}

/// Settle times the UI may set: from a tenth of a second to ten minutes.
pub const SETTLE_RANGE: (f64, f64) = (0.1, 600.0);

impl WatchFolderSettings {
    /// The engine's folder; the settle time is clamped to [`SETTLE_RANGE`].
    pub fn to_engine(&self) -> engine::WatchFolder {
        let settle = if self.settle_seconds.is_finite() {
            self.settle_seconds.clamp(SETTLE_RANGE.0, SETTLE_RANGE.1)
        } else {
            engine::DEFAULT_SETTLE.as_secs_f64()
        };
        engine::WatchFolder {
            path: PathBuf::from(&self.path),
            enabled: self.enabled,
            recursive: self.recursive,
            after_import: match self.after_import {
                AfterImport::Keep => engine::AfterImport::Keep,
                AfterImport::Remove => engine::AfterImport::Remove,
            },
            move_failures: self.move_failures,
            // Whole milliseconds, as the catalog stores it: 0.3 stays 0.3.
            settle: Duration::from_millis((settle * 1000.0).round() as u64),
            poll: self.poll,
        }
    }
}

/// A folder's state as the app shows it: the watcher's states, plus `off`
/// (disabled in the settings) and `starting` (the watcher has not said yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum FolderState {
    Watching,
    Polling,
    Unavailable,
    Stopped,
    Off,
    Starting,
}

impl From<engine::FolderState> for FolderState {
    fn from(s: engine::FolderState) -> Self {
        match s {
            engine::FolderState::Watching => FolderState::Watching,
            engine::FolderState::Polling => FolderState::Polling,
            engine::FolderState::Unavailable => FolderState::Unavailable,
            engine::FolderState::Stopped => FolderState::Stopped,
        }
    }
}

/// A watched folder with its settings and its state now.
#[derive(Debug, Clone, Serialize, TS)]
pub struct WatchedFolder {
    #[serde(flatten)]
    pub settings: WatchFolderSettings,
    pub state: FolderState,
    /// Why it is polled or unavailable.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
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

/// One entry of the watcher's activity list (this session, newest first).
#[derive(Debug, Clone, Serialize, TS)]
pub struct WatchActivity {
    pub id: u64,
    /// Milliseconds since 1970.
    pub at_ms: u64,
    pub kind: ActivityKind,
    /// The file, or the folder, it is about.
    pub path: Option<String>,
    /// What happened and why, in words.
    pub message: String,
    pub track_id: Option<String>,
}

/// The watcher as the Settings section and the status indicator show it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct WatchStatus {
    /// A watcher runs (at least one folder is enabled and the vault is open).
    pub running: bool,
    /// Why the watcher stopped, when it stopped on an error.
    pub error: Option<String>,
    pub folders: Vec<WatchedFolder>,
    pub activity: Vec<WatchActivity>,
    /// Entries on the 'Not imported' list.
    pub failures: u64,
}

/// An entry of the 'Not imported' list.
#[derive(Debug, Clone, Serialize, TS)]
pub struct WatchFailure {
    pub id: i64,
    pub folder: String,
    /// Where the watcher found the file.
    pub path: String,
    /// Where it is now ('Not imported' subfolder); null when left in place.
    pub moved_to: Option<String>,
    /// "rejected" or "failed".
    pub outcome: String,
    pub reason: String,
    pub size_bytes: Option<u64>,
    /// RFC 3339, UTC.
    pub at: String,
}

impl From<engine::WatchFailure> for WatchFailure {
    fn from(f: engine::WatchFailure) -> Self {
        WatchFailure {
            id: f.id,
            folder: f.folder.to_string_lossy().into_owned(),
            path: f.path.to_string_lossy().into_owned(),
            moved_to: f.moved_to.map(|p| p.to_string_lossy().into_owned()),
            outcome: f.outcome,
            reason: f.reason,
            size_bytes: f.size_bytes,
            at: f.at,
        }
    }
}

/// The `watch-update` event: what changed, for the UI's watch store.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchUpdate {
    /// A folder's state changed.
    Folder {
        path: String,
        state: FolderState,
        reason: Option<String>,
    },
    /// A new activity entry; a `not_imported` one also means the 'Not imported'
    /// list grew.
    Activity { entry: WatchActivity },
    /// The watcher started or stopped (with the error that stopped it).
    Runner {
        running: bool,
        error: Option<String>,
    },
    /// The stored folders or the 'Not imported' list changed: reload the status.
    Reload,
}

/// The declarations for `ui/src/lib/bindings.ts`.
pub fn declarations(cfg: &Config) -> Vec<String> {
    vec![
        format!("export {}", AfterImport::decl(cfg)),
        format!("export {}", WatchFolderSettings::decl(cfg)),
        format!("export {}", FolderState::decl(cfg)),
        format!("export {}", WatchedFolder::decl(cfg)),
        format!("export {}", ActivityKind::decl(cfg)),
        format!("export {}", WatchActivity::decl(cfg)),
        format!("export {}", WatchStatus::decl(cfg)),
        format!("export {}", WatchFailure::decl(cfg)),
        format!("export {}", WatchUpdate::decl(cfg)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_the_engine_with_a_clamped_settle_time() {
        let mut s = WatchFolderSettings {
            path: "/music/inbox".into(),
            enabled: false,
            recursive: false,
            after_import: AfterImport::Remove,
            move_failures: false,
            settle_seconds: 0.3,
            poll: true,
        };
        let engine = s.to_engine();
        assert_eq!(engine.settle, Duration::from_millis(300));
        assert_eq!(engine.after_import, engine::AfterImport::Remove);
        assert_eq!(WatchFolderSettings::from(engine), s);
        s.settle_seconds = 0.0;
        assert_eq!(s.to_engine().settle, Duration::from_millis(100));
        s.settle_seconds = f64::NAN;
        assert_eq!(s.to_engine().settle, engine::DEFAULT_SETTLE);
        s.settle_seconds = 1e9;
        assert_eq!(s.to_engine().settle, Duration::from_secs(600));
    }

    #[test]
    fn updates_are_tagged_by_event() {
        let v = serde_json::to_value(WatchUpdate::Folder {
            path: "/a".into(),
            state: FolderState::Unavailable,
            reason: Some("missing".into()),
        })
        .unwrap();
        assert_eq!(v["event"], "folder");
        assert_eq!(v["state"], "unavailable");
        assert_eq!(
            serde_json::to_value(WatchUpdate::Reload).unwrap()["event"],
            "reload"
        );
    }
}
