//! Progress and cancellation for long work. The engine reports through a sink
//! the front end implements (a terminal bar, an IPC channel, a test collector)
//! and checks a token the front end can trip (Ctrl-C, a Cancel button).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::ids::TrackId;

#[derive(Clone, Default, Debug)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Events of a batch (import, export, verify). All methods have empty defaults,
/// so a sink implements only what it shows. Called from worker threads.
pub trait Progress: Send + Sync {
    /// The batch's size, once known.
    fn start(&self, _items: u64, _bytes: u64) {}
    fn item_started(&self, _path: &Path) {}
    /// Bytes processed since the last call.
    fn advance(&self, _bytes: u64) {}
    /// One item is done; `ok` is false when it was rejected, failed or damaged.
    fn item_finished(&self, _path: &Path, _ok: bool) {}
    /// An import's files, in the order they will be taken up, once the scan
    /// found them (before `start`): a front end can list them as queued.
    fn queued(&self, _paths: &[&Path]) {}
    /// An import finished one file, with its outcome and reason. Imports call
    /// this instead of [`Progress::item_finished`], which it calls by default.
    fn item_result(&self, result: &FileResult) {
        self.item_finished(
            &result.source,
            matches!(result.outcome, Outcome::Imported | Outcome::Duplicate),
        );
    }
}

/// What became of one file of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Imported,
    Duplicate,
    Rejected,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Imported => "imported",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome a stored name stands for.
    pub fn parse(name: &str) -> Option<Outcome> {
        [
            Outcome::Imported,
            Outcome::Duplicate,
            Outcome::Rejected,
            Outcome::Failed,
        ]
        .into_iter()
        .find(|o| o.as_str() == name)
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FileResult {
    pub path: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub id: Option<TrackId>,
    pub size_bytes: Option<u64>,
    /// Bytes this file stored that the vault did not already hold (its chunks
    /// and cover art, before encryption): a re-tagged copy's cost. 0 for a
    /// duplicate; none when nothing was imported.
    pub new_bytes: Option<u64>,
    pub sha256: Option<String>,
    #[serde(skip)]
    pub source: PathBuf,
}

impl FileResult {
    pub(crate) fn new(source: &Path, outcome: Outcome, reason: Option<String>) -> Self {
        FileResult {
            path: source.to_string_lossy().into_owned(),
            outcome,
            reason,
            id: None,
            size_bytes: None,
            new_bytes: None,
            sha256: None,
            source: source.to_path_buf(),
        }
    }

    pub(crate) fn rejected(source: &Path, reason: impl Into<String>) -> Self {
        Self::new(source, Outcome::Rejected, Some(reason.into()))
    }

    pub(crate) fn failed(source: &Path, reason: impl Into<String>) -> Self {
        Self::new(source, Outcome::Failed, Some(reason.into()))
    }
}

pub struct NoProgress;

impl Progress for NoProgress {}
