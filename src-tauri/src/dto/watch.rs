//! The watched folder's part of the IPC contract (see [`crate::dto`]): the
//! engine's own types (a folder's settings, its state, the 'Not imported' list,
//! an event's kind) and what only the app has (its activity list, its
//! `watch-update` events); written into `ui/src/lib/bindings.ts` by
//! [`crate::bindings`].

use audiovault_engine::watch::{
    ActivityKind, AfterImport, FolderState, SETTLE_RANGE_SECONDS, WatchFailure, WatchFolder,
};
use serde::Serialize;
use ts_rs::{Config, TS};

/// A watched folder with its settings and its state now.
#[derive(Debug, Clone, Serialize, TS)]
pub struct WatchedFolder {
    #[serde(flatten)]
    pub settings: WatchFolder,
    pub state: FolderState,
    /// Why it is polled or unavailable.
    pub reason: Option<String>,
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
    /// Paused from the tray until resumed (or the app restarts).
    pub paused: bool,
    /// Why the watcher stopped, when it stopped on an error.
    pub error: Option<String>,
    pub folders: Vec<WatchedFolder>,
    pub activity: Vec<WatchActivity>,
    /// Entries on the 'Not imported' list.
    pub failures: u64,
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
        format!("export {}", WatchFolder::decl(cfg)),
        format!("export {}", FolderState::decl(cfg)),
        format!("export {}", WatchedFolder::decl(cfg)),
        format!("export {}", ActivityKind::decl(cfg)),
        format!("export {}", WatchActivity::decl(cfg)),
        format!("export {}", WatchStatus::decl(cfg)),
        format!("export {}", WatchFailure::decl(cfg)),
        format!("export {}", WatchUpdate::decl(cfg)),
        // The engine refuses other settle times; the form says so before sending.
        format!(
            "/** Settle times a watched folder may have, in seconds (the engine's rule). */\n\
             export const SETTLE_RANGE_SECONDS = [{}, {}] as const;",
            SETTLE_RANGE_SECONDS.0, SETTLE_RANGE_SECONDS.1
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

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
