//! The background analysis: after an import (and on unlock), the engine's
//! `analyze_pending` computes waveforms and fingerprints for tracks that have
//! none, on a thread of its own. One run at a time; a request while it runs
//! makes it go round once more. Progress goes out as `analysis-progress` events.
//! Each pass is a job of the session's ([`crate::jobs`]), so lock cancels it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use audiovault_engine::Progress;
use tauri::{AppHandle, Manager, Runtime};

use crate::dto::AnalysisProgress;
use crate::jobs::JobKind;
use crate::state::AppState;

/// The runner's shared state (one per app, in [`AppState`]).
#[derive(Default)]
pub struct AnalysisRunner {
    running: AtomicBool,
    again: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
}

impl AnalysisRunner {
    fn snapshot(&self) -> AnalysisProgress {
        AnalysisProgress {
            running: self.running.load(Ordering::SeqCst),
            done: self.done.load(Ordering::SeqCst),
            total: self.total.load(Ordering::SeqCst),
        }
    }
}

pub fn progress<R: Runtime>(app: &AppHandle<R>) -> AnalysisProgress {
    app.state::<AppState>().analysis.snapshot()
}

struct Events<R: Runtime> {
    app: AppHandle<R>,
    analysis: Arc<AnalysisRunner>,
}

impl<R: Runtime> Events<R> {
    fn send(&self) {
        crate::events::analysis_progress(&self.app, self.analysis.snapshot());
    }
}

impl<R: Runtime> Progress for Events<R> {
    fn start(&self, items: u64, _bytes: u64) {
        self.analysis.done.store(0, Ordering::SeqCst);
        self.analysis.total.store(items, Ordering::SeqCst);
        self.send();
    }

    fn item_finished(&self, _path: &Path, _ok: bool) {
        self.analysis.done.fetch_add(1, Ordering::SeqCst);
        self.send();
    }
}

/// Starts a run unless one is going (then it goes round once more when done).
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let analysis = state.analysis.clone();
    analysis.again.store(true, Ordering::SeqCst);
    if analysis.running.swap(true, Ordering::SeqCst) {
        return;
    }
    let app = app.clone();
    std::thread::spawn(move || {
        loop {
            while analysis.again.swap(false, Ordering::SeqCst) {
                let state = app.state::<AppState>();
                // Locked (or locking): nothing to analyse until the next unlock.
                let Ok(session) = state.session() else {
                    break;
                };
                let Ok(job) = state.job(&session, JobKind::Analysis, "analysis") else {
                    break;
                };
                let token = &job.token;
                let events = Events {
                    app: app.clone(),
                    analysis: analysis.clone(),
                };
                // A failure here (the catalog went away with a lock) only delays
                // waveforms until the next run; nothing to tell the user.
                let _ = session.vault.analyze_pending(&events, token);
                if token.is_cancelled() {
                    analysis.again.store(false, Ordering::SeqCst);
                }
            }
            analysis.running.store(false, Ordering::SeqCst);
            crate::events::analysis_progress(&app, analysis.snapshot());
            // A request that came in after the last check gets its run.
            if !analysis.again.load(Ordering::SeqCst)
                || analysis.running.swap(true, Ordering::SeqCst)
            {
                return;
            }
        }
    });
}
