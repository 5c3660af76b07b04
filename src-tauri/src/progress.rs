//! The engine's [`Progress`] sink, sent to the UI through an IPC channel.
//! Byte counts are throttled (the engine reports every chunk); item events are
//! sent as they happen.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use audiovault_engine::{FileResult, Outcome, Progress};
use serde::Serialize;
use tauri::ipc::Channel;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// The batch's size, once known.
    Start { items: u64, bytes: u64 },
    /// Work on one file or track began.
    Item { path: String },
    /// Bytes done so far in the whole batch.
    Bytes { done: u64 },
    /// An import's files in the order they will be taken up, before `start`.
    Queued { paths: Vec<String> },
    /// One item finished; `ok` is false when it was rejected, failed or damaged.
    /// Imports also say the file's `outcome` and, unless imported, the `reason`.
    Finished {
        path: String,
        ok: bool,
        done: u64,
        outcome: Option<Outcome>,
        reason: Option<String>,
    },
}

const EVERY: Duration = Duration::from_millis(100);

pub struct ChannelProgress {
    channel: Channel<ProgressEvent>,
    done: AtomicU64,
    last_sent: Mutex<Instant>,
}

impl ChannelProgress {
    pub fn new(channel: Channel<ProgressEvent>) -> Self {
        ChannelProgress {
            channel,
            done: AtomicU64::new(0),
            last_sent: Mutex::new(Instant::now()),
        }
    }

    fn send(&self, event: ProgressEvent) {
        // A closed window is not an error for the work itself.
        let _ = self.channel.send(event);
    }
}

impl Progress for ChannelProgress {
    fn start(&self, items: u64, bytes: u64) {
        self.send(ProgressEvent::Start { items, bytes });
    }

    fn item_started(&self, path: &Path) {
        self.send(ProgressEvent::Item {
            path: path.to_string_lossy().into_owned(),
        });
    }

    fn advance(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let due = {
            let mut last = self.last_sent.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() >= EVERY {
                *last = Instant::now();
                true
            } else {
                false
            }
        };
        if due {
            self.send(ProgressEvent::Bytes { done });
        }
    }

    fn item_finished(&self, path: &Path, ok: bool) {
        self.send(ProgressEvent::Finished {
            path: path.to_string_lossy().into_owned(),
            ok,
            done: self.done.load(Ordering::Relaxed),
            outcome: None,
            reason: None,
        });
    }

    fn queued(&self, paths: &[&Path]) {
        self.send(ProgressEvent::Queued {
            paths: paths
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
        });
    }

    fn item_result(&self, r: &FileResult) {
        let outcome = r.outcome;
        self.send(ProgressEvent::Finished {
            path: r.path.clone(),
            ok: matches!(outcome, Outcome::Imported | Outcome::Duplicate),
            done: self.done.load(Ordering::Relaxed),
            outcome: Some(outcome),
            reason: r.reason.clone(),
        });
    }
}
