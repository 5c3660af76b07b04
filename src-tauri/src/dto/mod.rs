//! The shell's own IPC types: what only the app has (its state, a playback URL,
//! the background analysis's progress). Everything the engine reports crosses as
//! the engine's own type (its `ts` feature derives their TypeScript), so the wire
//! shape is the CLI's `--json` shape and nothing is copied field by field.
//! `crate::bindings` writes all of them to `ui/src/lib/bindings.ts`; a test fails
//! when that file is stale. Secrets never appear here (a passphrase only travels
//! UI → shell, as a command argument).

pub mod watch;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where the app stands: which vault folder, whether it exists and is open.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Status {
    pub vault_dir: String,
    pub default_dir: Option<String>,
    /// A vault exists in `vault_dir`.
    pub exists: bool,
    pub unlocked: bool,
    pub vault_id: Option<String>,
    /// Why the vault did not open by itself (keyring unavailable, wrong passphrase in
    /// the environment…), for the unlock screen.
    pub notice: Option<String>,
    /// The last unlock (by hand, or by itself at start) found the catalog missing
    /// or damaged: the unlock screen offers Check and repair (`recover`).
    pub catalog_damaged: bool,
    /// What the open vault asks the user to know (its folder readable by others…).
    pub vault_notices: Vec<audiovault_engine::Notice>,
    /// Other vault folders opened on this device, most recent first (those that
    /// still hold a vault): the first-run and unlock screens list them.
    pub recent_vaults: Vec<String>,
}

/// A signed, expiring URL on the loopback playback server.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Stream {
    pub url: String,
    pub content_type: String,
    /// When the URL stops working (unix milliseconds): the player asks for a new
    /// one before a seek or a resume past it.
    #[ts(type = "number")]
    pub expires_at_ms: u64,
}

/// The background analysis (waveforms, fingerprints) as the status line shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AnalysisProgress {
    pub running: bool,
    pub done: u64,
    pub total: u64,
}

/// Automatic sync's operations ([`crate::autosync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncOperation {
    Push,
    Pull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AutoSyncState {
    /// The setting is off, or the vault is locked.
    Off,
    Idle,
    Syncing,
    /// The last attempt failed: `error` says why, `next_retry_at_ms` when the
    /// next one is.
    Error,
}

/// What automatic sync is doing, for the sidebar (the `auto-sync` event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AutoSyncStatus {
    pub state: AutoSyncState,
    /// What runs (syncing) or what failed (error).
    pub operation: Option<SyncOperation>,
    /// The last sync that ended well, automatic or by hand (unix milliseconds).
    #[ts(type = "number | null")]
    pub last_synced_at_ms: Option<u64>,
    pub error: Option<String>,
    #[ts(type = "number | null")]
    pub next_retry_at_ms: Option<u64>,
    /// Failures in a row.
    pub failures: u32,
}

/// The app's own settings (this device's, not the vault's): `settings.json` in
/// the app's config folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AppSettings {
    /// Lock after this many seconds without activity.
    #[ts(type = "number")]
    pub auto_lock_seconds: u64,
    /// Closing the window while folders are watched keeps the app in the tray.
    pub keep_running_in_tray: bool,
    /// An OS notification when long work ends while the window is away.
    pub notify_when_away: bool,
    /// Start at login (the OS's autostart entry; read back from it).
    pub start_at_login: bool,
}

/// 15 minutes, unless changed.
pub const DEFAULT_AUTO_LOCK_SECONDS: u64 = 15 * 60;

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            auto_lock_seconds: DEFAULT_AUTO_LOCK_SECONDS,
            keep_running_in_tray: true,
            notify_when_away: true,
            start_at_login: false,
        }
    }
}

/// What a menu bar item asks the window to do (the `menu-action` event's
/// payload; the items are in `desktop::menu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MenuAction {
    AddFiles,
    AddFolder,
    Export,
    Lock,
    Undo,
    Redo,
    Cut,
    Copy,
    Paste,
    SelectAll,
    Find,
    ShowLibrary,
    ShowAlbums,
    ShowArtists,
    ShowImports,
    ShowDuplicates,
    ShowCloud,
    ShowSettings,
    About,
}

/// Why the app locked by itself: the unlock form says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LockReason {
    Idle,
    Sleep,
    SessionLocked,
    /// The tray's Lock.
    Tray,
}

/// The `vault-locked` event: why, and the status after the lock.
#[derive(Debug, Clone, Serialize, TS)]
pub struct LockedEvent {
    pub reason: LockReason,
    pub status: Status,
}

/// What the About dialog shows: the workspace's version and licence (the one place
/// they are declared is the top-level Cargo.toml).
#[derive(Debug, Clone, Serialize, TS)]
pub struct About {
    pub name: String,
    pub version: String,
    pub license: String,
}

impl About {
    pub fn of_this_build() -> About {
        About {
            name: "Audiovault".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            license: env!("CARGO_PKG_LICENSE").to_string(),
        }
    }
}
