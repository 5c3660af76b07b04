//! The watched import folders while the app runs: when a vault is unlocked, the
//! engine's [`Watcher`] runs on a thread of its own over the enabled folders (its
//! start-up scan takes up what arrived while the app was closed); lock, a vault
//! switch and exit stop it; a change of the folder settings restarts it.
//!
//! The watcher's events become `watch-update` events for the UI's watch store
//! (folder states, the activity list) and, after an import, `library-changed`,
//! as the app's own imports do. A snapshot of the same is kept here, so a view
//! that opens later asks once (`watch_status`) and then follows the events.

pub mod commands;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use audiovault_engine::watch::{WatchConfig, WatchEvent, WatchEvents, Watcher};
use audiovault_engine::{CancelToken, Vault};
use tauri::{AppHandle, Manager, Runtime};

use crate::dto::watch::{WatchActivity, WatchStatus, WatchUpdate, WatchedFolder};
use crate::jobs::JobKind;
use crate::state::AppState;
use audiovault_engine::watch::{ActivityKind, EventLine, FolderState};

/// Activity entries kept for the UI (older ones are in the vault's activity log).
const KEEP_ACTIVITY: usize = 500;

/// How long a new run waits for the one it replaces to finish its batch.
const HANDOVER: Duration = Duration::from_secs(30);

/// The app's watcher (one per app, in [`AppState`]).
#[derive(Default)]
pub struct Watching {
    inner: Mutex<Inner>,
    seq: AtomicU64,
    /// The tray's Pause watching: no run starts until Resume.
    paused: AtomicBool,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every start and stop: events of an older run only add
    /// activity, they no longer change folder states.
    generation: u64,
    cancel: CancelToken,
    /// Disconnects when the latest run's thread ends.
    done: Option<mpsc::Receiver<()>>,
    running: bool,
    error: Option<String>,
    states: HashMap<String, (FolderState, Option<String>)>,
    activity: VecDeque<WatchActivity>,
}

impl Watching {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the run in flight: its current file finishes, no new one starts.
    /// Returns at once; [`Watching::stop_and_wait`] waits.
    pub fn stop(&self) {
        let mut inner = self.inner();
        inner.cancel.cancel();
        inner.generation += 1;
        inner.running = false;
        inner.states.clear();
    }

    /// Stops the run and waits up to `timeout` for its thread to end (exit).
    pub fn stop_and_wait(&self, timeout: Duration) {
        self.stop();
        let done = self.inner().done.take();
        if let Some(done) = done {
            let _ = done.recv_timeout(timeout);
        }
    }

    /// A run is on (starting or watching its folders).
    pub fn is_running(&self) -> bool {
        self.inner().running
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Forgets this session's activity (lock, another vault).
    pub fn clear(&self) {
        self.inner().activity.clear();
    }

    /// The folders as stored, with their states now.
    pub fn status(&self, vault: &Vault) -> Result<WatchStatus, crate::error::IpcError> {
        let folders = vault.watch_folders()?;
        let failures = vault.watch_failures()?.len() as u64;
        let inner = self.inner();
        let folders = folders
            .into_iter()
            .map(|settings| {
                let (state, reason) = if !settings.enabled {
                    (FolderState::Off, None)
                } else if let Some((s, r)) =
                    inner.states.get(settings.path.to_string_lossy().as_ref())
                {
                    (*s, r.clone())
                } else if inner.running {
                    (FolderState::Starting, None)
                } else {
                    (FolderState::Stopped, None)
                };
                WatchedFolder {
                    settings,
                    state,
                    reason,
                }
            })
            .collect();
        Ok(WatchStatus {
            running: inner.running,
            paused: self.is_paused(),
            error: inner.error.clone(),
            folders,
            activity: inner.activity.iter().cloned().collect(),
            failures,
        })
    }

    fn current(&self, generation: u64) -> bool {
        self.inner().generation == generation
    }

    fn record(&self, line: EventLine) -> WatchActivity {
        let entry = WatchActivity {
            id: self.seq.fetch_add(1, Ordering::SeqCst) + 1,
            at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            kind: line.kind,
            path: line.path.map(|p| p.to_string_lossy().into_owned()),
            message: line.message,
            track_id: line.track_id.map(|id| id.to_string()),
        };
        let mut inner = self.inner();
        inner.activity.push_front(entry.clone());
        inner.activity.truncate(KEEP_ACTIVITY);
        entry
    }
}

fn watching<R: Runtime>(app: &AppHandle<R>) -> Arc<Watching> {
    app.state::<AppState>().watching.clone()
}

fn send<R: Runtime>(app: &AppHandle<R>, update: WatchUpdate) {
    // A closed window is not the watcher's concern.
    crate::events::watch_update(app, update);
}

/// Pauses (the run in flight finishes its file and stops) or resumes watching.
pub fn set_paused<R: Runtime>(app: &AppHandle<R>, paused: bool) {
    let w = watching(app);
    w.paused.store(paused, Ordering::Relaxed);
    if paused {
        w.stop();
    } else {
        start(app);
    }
    // The window's watch store asks again (and shows "paused").
    send(app, WatchUpdate::Reload);
}

/// Starts watching the open vault's enabled folders, replacing a run in
/// flight (which finishes its batch first). Returns at once. Paused, it stops.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    // Unlock and a folder change both come here: the tray's items follow.
    app.state::<AppState>().changed();
    let w = watching(app);
    if w.is_paused() {
        w.stop();
        return;
    }
    // A run is a job of the open session's, so lock cancels it (and waits for
    // its batch); with no session there is nothing to watch.
    let state = app.state::<AppState>();
    let job = state
        .session()
        .and_then(|s| state.job(&s, JobKind::Watch, "watcher"));
    let Ok(job) = job else {
        w.stop();
        return;
    };
    let (generation, cancel, previous, done_tx) = {
        let mut inner = w.inner();
        inner.cancel.cancel();
        inner.generation += 1;
        inner.cancel = job.token.clone();
        inner.states.clear();
        inner.error = None;
        // Until the run says otherwise (no enabled folder, an error), its
        // folders show as starting.
        inner.running = true;
        let previous = inner.done.take();
        let (tx, rx) = mpsc::channel::<()>();
        inner.done = Some(rx);
        (inner.generation, inner.cancel.clone(), previous, tx)
    };
    let handle = app.clone();
    let spawned = std::thread::Builder::new()
        .name("watcher".into())
        .spawn(move || {
            // Dropped when the thread ends: whoever waits on `done` wakes up.
            let _done = done_tx;
            let _job = job;
            if let Some(previous) = previous {
                let _ = previous.recv_timeout(HANDOVER);
            }
            run(&handle, &w, generation, &cancel);
        });
    // Only when the process is out of threads; the next start tries again.
    if let Err(e) = spawned {
        finish(
            app,
            &watching(app),
            generation,
            Some(format!("the watcher could not start: {e}")),
        );
    }
}

fn run<R: Runtime>(app: &AppHandle<R>, w: &Arc<Watching>, generation: u64, cancel: &CancelToken) {
    if cancel.is_cancelled() {
        return;
    }
    let Ok(session) = app.state::<AppState>().session() else {
        return;
    };
    // Only the vault: the playback server goes with the session on lock.
    let vault = session.vault.clone();
    drop(session);
    let folders = match vault.watch_folders() {
        Ok(f) => f,
        Err(e) => {
            finish(app, w, generation, Some(e.to_string()));
            return;
        }
    };
    let enabled: Vec<_> = folders.into_iter().filter(|f| f.enabled).collect();
    if enabled.is_empty() {
        finish(app, w, generation, None);
        return;
    }
    {
        let mut inner = w.inner();
        if inner.generation != generation {
            return;
        }
        inner.running = true;
    }
    send(
        app,
        WatchUpdate::Runner {
            running: true,
            error: None,
        },
    );
    let sink = Sink {
        app: app.clone(),
        watching: w.clone(),
        generation,
    };
    let result = Watcher::new(WatchConfig::new(enabled)).run(&vault, &sink, cancel);
    finish(app, w, generation, result.err().map(|e| e.to_string()));
}

fn finish<R: Runtime>(app: &AppHandle<R>, w: &Watching, generation: u64, error: Option<String>) {
    {
        let mut inner = w.inner();
        if inner.generation != generation {
            return;
        }
        inner.running = false;
        inner.error = error.clone();
        for state in inner.states.values_mut() {
            *state = (FolderState::Stopped, None);
        }
    }
    if let Some(e) = &error {
        let entry = w.record(EventLine {
            kind: ActivityKind::Notice,
            path: None,
            message: format!("The watcher stopped: {e}"),
            track_id: None,
        });
        send(app, WatchUpdate::Activity { entry });
    }
    send(
        app,
        WatchUpdate::Runner {
            running: false,
            error,
        },
    );
}

/// Where the engine's watcher reports, on the watcher's thread.
struct Sink<R: Runtime> {
    app: AppHandle<R>,
    watching: Arc<Watching>,
    generation: u64,
}

impl<R: Runtime> Sink<R> {
    fn activity(&self, line: EventLine) {
        let entry = self.watching.record(line);
        send(&self.app, WatchUpdate::Activity { entry });
    }
}

impl<R: Runtime> WatchEvents for Sink<R> {
    fn event(&self, event: &WatchEvent) {
        match event {
            WatchEvent::State {
                folder,
                state,
                reason,
            } => {
                if !self.watching.current(self.generation) {
                    return;
                }
                let path = folder.to_string_lossy().into_owned();
                self.watching
                    .inner()
                    .states
                    .insert(path.clone(), (*state, reason.clone()));
                send(
                    &self.app,
                    WatchUpdate::Folder {
                        path,
                        state: *state,
                        reason: reason.clone(),
                    },
                );
                // The watcher stops with the app or the vault: not news.
                if *state == FolderState::Stopped {
                    return;
                }
            }
            WatchEvent::Batch {
                files,
                imported,
                duplicates,
                rejected,
                failed,
                ..
            } => {
                if *imported > 0 {
                    crate::events::library_changed(&self.app);
                    crate::analysis::start(&self.app);
                    crate::autosync::imported(&self.app);
                }
                crate::notify::when_away(
                    &self.app,
                    &format!("Watched folder: {files} file(s) taken in"),
                    &crate::notify::counts(&[
                        (*imported, "imported"),
                        (*duplicates, "already in the vault"),
                        (*rejected, "not audio or refused"),
                        (*failed, "failed"),
                    ]),
                );
            }
            _ => {}
        }
        if let Some(line) = event.describe() {
            self.activity(line);
        }
    }
}
