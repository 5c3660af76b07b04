//! Automatic sync: when the vault's `auto_sync` setting is on, the app pushes
//! once imports have settled and pulls on unlock and every
//! `auto_sync_pull_minutes`, backing off after a failure. A thin loop over the
//! engine's `push` and `pull`: no sync logic of its own.
//!
//! One loop thread per unlocked session ([`start`]); it ends when the session
//! does (lock, or another vault). It never holds the vault while it waits, so a
//! lock is not kept waiting by it. Each sync is a job of kind
//! [`JobKind::AutoSync`]: never two at once, never beside a manual push or pull
//! (whichever comes second waits: the loop tries again shortly, a button press
//! is told), and the Cloud view's Cancel and lock stop it.
//!
//! What it does goes out as the `auto-sync` event (and [`auto_sync_status`]):
//! off, idle (with the last sync), syncing (push or pull), or the error with
//! when it tries again. The sidebar shows it.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use audiovault_engine::sync::{PullReport, PushReport, RetryPolicy, SyncError, SyncOptions};
use audiovault_engine::{ErrorKind, NoProgress};
use tauri::{AppHandle, Manager, Runtime, State};

use crate::error::IpcResult;
use crate::jobs::JobKind;
use crate::state::AppState;

/// How the loop paces itself. The defaults are the product's; tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// A push waits this long after the last import finished (more imports in
    /// the meantime move it on), so a batch of drops is one push.
    pub push_debounce: Duration,
    /// The first wait after a failure; doubled after each further one.
    pub backoff_first: Duration,
    /// The longest wait after failures.
    pub backoff_max: Duration,
    /// When a manual sync is running: how soon to look again.
    pub busy_retry: Duration,
    /// How often the loop looks at the settings when nothing wakes it (a setting
    /// turned on is noticed within this).
    pub poll: Duration,
    /// Overrides `auto_sync_pull_minutes` (tests: seconds, not minutes).
    pub pull_interval: Option<Duration>,
    /// Each request's own retries (the engine's default; tests use fewer).
    pub retry: RetryPolicy,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            push_debounce: Duration::from_secs(20),
            backoff_first: Duration::from_secs(30),
            backoff_max: Duration::from_secs(30 * 60),
            busy_retry: Duration::from_secs(10),
            poll: Duration::from_secs(2),
            pull_interval: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl Timing {
    /// The wait after `failures` failures in a row (1 or more).
    pub fn backoff(&self, failures: u32) -> Duration {
        self.backoff_first
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
            .min(self.backoff_max)
    }
}

pub use crate::dto::{AutoSyncState, AutoSyncStatus, SyncOperation};

fn off() -> AutoSyncStatus {
    AutoSyncStatus {
        state: AutoSyncState::Off,
        operation: None,
        last_synced_at_ms: None,
        error: None,
        next_retry_at_ms: None,
        failures: 0,
    }
}

struct Plan {
    /// The session the running loop serves (its jobs' epoch); `None`: no loop.
    epoch: Option<u64>,
    enabled: bool,
    /// A push is due at this time (set by imports, moved on by each).
    push_at: Option<Instant>,
    /// A pull is due at this time (unlock: now; then every interval).
    pull_at: Option<Instant>,
    /// After a failure: nothing runs before this.
    retry_at: Option<Instant>,
    failures: u32,
    status: AutoSyncStatus,
}

/// The scheduler's state (managed by the app beside [`AppState`]).
pub struct AutoSync {
    timing: Mutex<Timing>,
    plan: Mutex<Plan>,
    wake: Condvar,
}

impl Default for AutoSync {
    fn default() -> Self {
        AutoSync {
            timing: Mutex::new(Timing::default()),
            plan: Mutex::new(Plan {
                epoch: None,
                enabled: false,
                push_at: None,
                pull_at: None,
                retry_at: None,
                failures: 0,
                status: off(),
            }),
            wake: Condvar::new(),
        }
    }
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `at` (a monotonic instant) as wall-clock unix milliseconds, for the UI.
fn wall_ms(at: Instant) -> u64 {
    let now = Instant::now();
    let wall = SystemTime::now();
    let t = if at >= now {
        wall + (at - now)
    } else {
        wall - (now - at)
    };
    unix_ms(t)
}

impl AutoSync {
    /// Tests: shorter waits. Takes effect at the loop's next look.
    pub fn set_timing(&self, timing: Timing) {
        *guard(&self.timing) = timing;
        self.wake.notify_all();
    }

    fn timing(&self) -> Timing {
        *guard(&self.timing)
    }

    pub fn status(&self) -> AutoSyncStatus {
        guard(&self.plan).status.clone()
    }

    /// An import finished with new tracks: a push in `push_debounce`, unless
    /// another import comes first.
    fn imported(&self) {
        let debounce = self.timing().push_debounce;
        guard(&self.plan).push_at = Some(Instant::now() + debounce);
        self.wake.notify_all();
    }

    /// A manual push or pull ended well: that is a sync too.
    fn synced_by_hand(&self) -> AutoSyncStatus {
        let mut plan = guard(&self.plan);
        plan.status.last_synced_at_ms = Some(unix_ms(SystemTime::now()));
        if plan.status.state == AutoSyncState::Error {
            plan.status.state = AutoSyncState::Idle;
            plan.status.error = None;
            plan.status.operation = None;
            plan.status.next_retry_at_ms = None;
            plan.status.failures = 0;
            plan.failures = 0;
            plan.retry_at = None;
        }
        plan.status.clone()
    }
}

#[tauri::command]
pub async fn auto_sync_status(auto: State<'_, AutoSync>) -> IpcResult<AutoSyncStatus> {
    Ok(auto.status())
}

/// Imports (by hand or from a watched folder) added tracks.
pub fn imported<R: Runtime>(app: &AppHandle<R>) {
    app.state::<AutoSync>().imported();
}

/// A manual push or pull succeeded.
pub fn synced_by_hand<R: Runtime>(app: &AppHandle<R>) {
    let status = app.state::<AutoSync>().synced_by_hand();
    crate::events::auto_sync(app, status);
}

/// The vault was unlocked: starts the session's loop (a pull first, when the
/// setting is on).
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let Ok(session) = state.session() else {
        return;
    };
    let epoch = session.epoch();
    drop(session);
    let auto = app.state::<AutoSync>();
    {
        let mut plan = guard(&auto.plan);
        if plan.epoch == Some(epoch) {
            return;
        }
        plan.epoch = Some(epoch);
        plan.enabled = false;
        plan.push_at = None;
        plan.pull_at = None;
        plan.retry_at = None;
        plan.failures = 0;
        let last = plan.status.last_synced_at_ms;
        plan.status = AutoSyncStatus {
            last_synced_at_ms: last,
            ..off()
        };
    }
    auto.wake.notify_all();
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("audiovault-autosync".into())
        .spawn(move || run(&app, epoch));
    if let Err(e) = spawned {
        eprintln!("audiovault: automatic sync could not start: {e}");
    }
}

/// What the loop decided to do next.
enum Step {
    Stop,
    Wait(Duration),
    Run(SyncOperation),
}

fn run<R: Runtime>(app: &AppHandle<R>, epoch: u64) {
    let auto = app.state::<AutoSync>();
    let state = app.state::<AppState>();
    loop {
        let step = next_step(app, &auto, &state, epoch);
        match step {
            Step::Stop => break,
            Step::Wait(d) => {
                let plan = guard(&auto.plan);
                // Woken early by an import, a setting, a lock or a new session.
                let _ = auto.wake.wait_timeout(plan, d);
            }
            Step::Run(op) => sync_once(app, &auto, &state, epoch, op),
        }
    }
    let mut plan = guard(&auto.plan);
    if plan.epoch == Some(epoch) {
        plan.epoch = None;
        let last = plan.status.last_synced_at_ms;
        plan.status = AutoSyncStatus {
            last_synced_at_ms: last,
            ..off()
        };
        let status = plan.status.clone();
        drop(plan);
        crate::events::auto_sync(app, status);
    }
}

/// Looks at the session and the settings (briefly holding the vault) and
/// decides.
fn next_step<R: Runtime>(
    app: &AppHandle<R>,
    auto: &AutoSync,
    state: &AppState,
    epoch: u64,
) -> Step {
    let timing = auto.timing();
    if guard(&auto.plan).epoch != Some(epoch) {
        return Step::Stop;
    }
    let Ok(session) = state.session() else {
        return Step::Stop;
    };
    if session.epoch() != epoch {
        return Step::Stop;
    }
    let settings = session.vault.settings();
    drop(session);
    let (enabled, minutes) = match settings {
        Ok(s) => (s.auto_sync, s.auto_sync_pull_minutes),
        // The catalog went away under a lock: the next look stops.
        Err(_) => return Step::Wait(timing.poll),
    };
    let interval = timing
        .pull_interval
        .unwrap_or(Duration::from_secs(u64::from(minutes) * 60));
    let now = Instant::now();
    let mut plan = guard(&auto.plan);
    if enabled != plan.enabled {
        plan.enabled = enabled;
        if enabled {
            // Turned on (or unlocked with it on): pull now, push what waits.
            plan.pull_at = Some(now);
            plan.push_at.get_or_insert(now);
            plan.status.state = AutoSyncState::Idle;
        } else {
            plan.retry_at = None;
            plan.failures = 0;
            let last = plan.status.last_synced_at_ms;
            plan.status = AutoSyncStatus {
                last_synced_at_ms: last,
                ..off()
            };
        }
        let status = plan.status.clone();
        drop(plan);
        crate::events::auto_sync(app, status);
        return Step::Wait(Duration::ZERO);
    }
    if !enabled {
        return Step::Wait(timing.poll);
    }
    let pull_at = *plan.pull_at.get_or_insert(now + interval);
    let mut due = pull_at;
    let mut op = SyncOperation::Pull;
    if let Some(push_at) = plan.push_at
        && push_at < pull_at
    {
        due = push_at;
        op = SyncOperation::Push;
    }
    if let Some(retry_at) = plan.retry_at {
        due = due.max(retry_at);
    }
    if due > now {
        return Step::Wait((due - now).min(timing.poll));
    }
    Step::Run(op)
}

fn sync_once<R: Runtime>(
    app: &AppHandle<R>,
    auto: &AutoSync,
    state: &AppState,
    epoch: u64,
    op: SyncOperation,
) {
    let timing = auto.timing();
    let Ok(session) = state.session() else {
        return;
    };
    if session.epoch() != epoch {
        return;
    }
    let job = match state.job(&session, JobKind::AutoSync, "automatic sync") {
        Ok(job) => job,
        Err(e) if e.kind == ErrorKind::Busy => {
            // A manual push or pull runs: it does the work; look again later.
            let mut plan = guard(&auto.plan);
            plan.retry_at = Some(Instant::now() + timing.busy_retry);
            return;
        }
        Err(_) => return,
    };
    let status = {
        let mut plan = guard(&auto.plan);
        plan.status.state = AutoSyncState::Syncing;
        plan.status.operation = Some(op);
        plan.status.clone()
    };
    crate::events::auto_sync(app, status);

    let vault = session.vault.clone();
    drop(session);
    let keys = crate::heldkeys::session_keys(app);
    let outcome = (|| -> Result<Done, audiovault_engine::Error> {
        if vault.remote_config()?.is_none() {
            return Err(SyncError::NotConfigured.into());
        }
        let credentials = crate::heldkeys::credentials_for(&keys, &vault)?;
        let options = SyncOptions {
            retry: timing.retry,
            ..SyncOptions::default()
        };
        Ok(match op {
            SyncOperation::Push => {
                Done::Pushed(vault.push(&credentials, &options, &NoProgress, &job.token)?)
            }
            SyncOperation::Pull => {
                match vault.pull(&credentials, &options, &NoProgress, &job.token) {
                    Ok(report) => Done::Pulled(report),
                    // A remote no device has pushed to yet: nothing to pull.
                    Err(audiovault_engine::Error::Sync(SyncError::NoCatalogOnRemote)) => {
                        Done::Pulled(PullReport {
                            up_to_date: true,
                            ..PullReport::default()
                        })
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    })();
    let cancelled = job.token.is_cancelled();
    drop(vault);
    drop(job);

    let now = Instant::now();
    let interval = timing.pull_interval;
    let mut plan = guard(&auto.plan);
    match outcome {
        Ok(done) => {
            plan.failures = 0;
            plan.retry_at = None;
            match op {
                SyncOperation::Push => plan.push_at = None,
                SyncOperation::Pull => {
                    // `None`: the next look sets it from the setting.
                    plan.pull_at = interval.map(|i| now + i);
                }
            }
            plan.status = AutoSyncStatus {
                state: AutoSyncState::Idle,
                operation: None,
                last_synced_at_ms: Some(unix_ms(SystemTime::now())),
                error: None,
                next_retry_at_ms: None,
                failures: 0,
            };
            let status = plan.status.clone();
            drop(plan);
            crate::events::auto_sync(app, status);
            let changed = match &done {
                Done::Pushed(r) => r.merged.tracks_added > 0,
                Done::Pulled(r) => !r.up_to_date,
            };
            if changed {
                crate::events::library_changed(app);
                crate::analysis::start(app);
            } else if matches!(done, Done::Pushed(_)) {
                // Tracks now also in the cloud: their location changed.
                crate::events::library_changed(app);
            }
        }
        // The CLI syncs this vault now (its lock file): it does the work.
        Err(e) if e.kind() == ErrorKind::Busy => {
            plan.retry_at = Some(now + timing.busy_retry);
            plan.status.state = AutoSyncState::Idle;
            plan.status.operation = None;
            let status = plan.status.clone();
            drop(plan);
            crate::events::auto_sync(app, status);
        }
        Err(_) if cancelled => {
            // Lock (the loop stops at its next look) or the Cloud view's Cancel:
            // not a failure; the work stays due, after the first backoff.
            plan.retry_at = Some(now + timing.backoff_first);
            plan.status.state = AutoSyncState::Idle;
            plan.status.operation = None;
            let status = plan.status.clone();
            drop(plan);
            crate::events::auto_sync(app, status);
        }
        Err(e) => {
            plan.failures += 1;
            let wait = timing.backoff(plan.failures);
            plan.retry_at = Some(now + wait);
            plan.status.state = AutoSyncState::Error;
            plan.status.operation = Some(op);
            plan.status.error = Some(said(&e));
            plan.status.next_retry_at_ms = Some(wall_ms(now + wait));
            plan.status.failures = plan.failures;
            let status = plan.status.clone();
            drop(plan);
            crate::events::auto_sync(app, status);
        }
    }
}

/// The engine's message, but where it tells a CLI user what to type, what to
/// do in the app instead.
fn said(e: &audiovault_engine::Error) -> String {
    match e.kind() {
        ErrorKind::RemoteNotConfigured => {
            "no remote is set up: set one up in the Cloud view".into()
        }
        ErrorKind::RemoteNoCredentials => {
            "no access keys for the remote: enter them in the Cloud view and save".into()
        }
        _ => e.to_string(),
    }
}

enum Done {
    Pushed(PushReport),
    Pulled(PullReport),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap() {
        let t = Timing::default();
        let waits: Vec<u64> = (1..=9).map(|n| t.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
        assert_eq!(t.backoff(u32::MAX).as_secs(), 1800);
    }
}
