//! The shell's own IPC types: what only the app has (its state, a playback URL,
//! the background analysis's progress). Everything the engine reports crosses as
//! the engine's own type (its `ts` feature derives their TypeScript), so the wire
//! shape is the CLI's `--json` shape and nothing is copied field by field.
//! `crate::bindings` writes all of them to `ui/src/lib/bindings.ts`; a test fails
//! when that file is stale. Secrets never appear here (a passphrase only travels
//! UI → shell, as a command argument).

pub mod watch;

use serde::Serialize;
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
}

/// A signed, expiring URL on the loopback playback server.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Stream {
    pub url: String,
    pub content_type: String,
}

/// The background analysis (waveforms, fingerprints) as the status line shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AnalysisProgress {
    pub running: bool,
    pub done: u64,
    pub total: u64,
}
