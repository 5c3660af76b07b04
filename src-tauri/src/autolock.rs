//! A lock that locks by itself: after a time without activity (a setting,
//! 15 minutes unless changed), when the machine is about to sleep (logind's
//! `PrepareForSleep(true)`), and when the desktop session is locked (logind's
//! `Session.Lock`). Each goes through the same lock as the Lock button (jobs
//! cancelled, playback server stopped, the vault and its key dropped), then tells
//! the window (`vault-locked`, with the status to show: the unlock form).
//!
//! Activity: input in the window (the UI reports it, at most every few seconds)
//! and audio playing (the player reports it while it plays): a library left
//! playing is in use. Any unlock starts the clock again.
//!
//! D-Bus through libdbus (the `dbus` crate, which the keyring's Secret Service
//! client already links): a thread of its own on the system bus
//! (`DBUS_SYSTEM_BUS_ADDRESS` when set, which is how the tests give it a private
//! bus). The signals are not checked for their sender: the worst a forged one can
//! do is lock the vault. Without a system bus (a container, CI) the thread says
//! so once and ends; the idle timer still runs.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Manager, Runtime};

pub use crate::dto::{AppSettings, LockReason, LockedEvent};
use crate::session::{lock_notice, lock_session, set_notice, status};
use crate::state::AppState;

pub const DEFAULT_AUTO_LOCK: Duration = Duration::from_secs(crate::dto::DEFAULT_AUTO_LOCK_SECONDS);
/// The range the setting accepts (the UI offers minutes; the tests use seconds).
pub const MIN_AUTO_LOCK_SECONDS: u64 = 2;
pub const MAX_AUTO_LOCK_SECONDS: u64 = 24 * 3600;
const FILE: &str = "settings.json";

/// What the auto-lock keeps between commands.
pub struct AutoLock {
    settings: Mutex<AppSettings>,
    last_activity: Mutex<Instant>,
    /// Where the settings are saved (`None` in tests without an app folder).
    path: Mutex<Option<PathBuf>>,
}

impl Default for AutoLock {
    fn default() -> Self {
        AutoLock {
            settings: Mutex::new(AppSettings::default()),
            last_activity: Mutex::new(Instant::now()),
            path: Mutex::new(None),
        }
    }
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AutoLock {
    /// Reads the saved settings from `path` (defaults when there are none).
    pub fn load(&self, path: PathBuf) {
        if let Some(saved) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<AppSettings>(&b).ok())
        {
            *guard(&self.settings) = AppSettings {
                auto_lock_seconds: saved
                    .auto_lock_seconds
                    .clamp(MIN_AUTO_LOCK_SECONDS, MAX_AUTO_LOCK_SECONDS),
                ..saved
            };
        }
        *guard(&self.path) = Some(path);
    }

    pub fn settings(&self) -> AppSettings {
        *guard(&self.settings)
    }

    /// Changes the idle time; saved when the app has a config folder.
    pub fn set_auto_lock_seconds(&self, seconds: u64) -> Result<AppSettings, String> {
        if !(MIN_AUTO_LOCK_SECONDS..=MAX_AUTO_LOCK_SECONDS).contains(&seconds) {
            return Err(format!(
                "the idle time must be between {MIN_AUTO_LOCK_SECONDS} seconds and {} hours",
                MAX_AUTO_LOCK_SECONDS / 3600
            ));
        }
        let settings = self.update(|s| s.auto_lock_seconds = seconds)?;
        self.touch();
        Ok(settings)
    }

    /// Changes the settings and saves them when the app has a config folder.
    pub fn update(&self, change: impl FnOnce(&mut AppSettings)) -> Result<AppSettings, String> {
        let settings = {
            let mut settings = guard(&self.settings);
            change(&mut settings);
            *settings
        };
        if let Some(path) = guard(&self.path).clone() {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let bytes = serde_json::to_vec_pretty(&settings).map_err(|e| e.to_string())?;
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(settings)
    }

    /// Something happened: the idle clock starts again.
    pub fn touch(&self) {
        *guard(&self.last_activity) = Instant::now();
    }

    /// Whether the idle time has run out.
    pub fn idle_expired(&self) -> bool {
        let limit = Duration::from_secs(self.settings().auto_lock_seconds);
        guard(&self.last_activity).elapsed() >= limit
    }
}

/// Locks the vault (if open) for `reason` and tells the window.
pub fn lock_now<R: Runtime>(app: &AppHandle<R>, reason: LockReason) {
    let state = app.state::<AppState>();
    if !state.is_unlocked() {
        return;
    }
    let locked = tauri::async_runtime::block_on(lock_session(&state));
    let why = match reason {
        LockReason::Idle => {
            let s = app.state::<AutoLock>().settings().auto_lock_seconds;
            if s % 60 == 0 {
                format!("Locked after {} minute(s) without activity.", s / 60)
            } else {
                format!("Locked after {s} seconds without activity.")
            }
        }
        LockReason::Sleep => "Locked: the computer went to sleep.".to_string(),
        LockReason::SessionLocked => "Locked with the desktop session.".to_string(),
        LockReason::Tray => "Locked from the tray.".to_string(),
    };
    let notice = match locked.as_ref().ok().and_then(lock_notice) {
        Some(stopped) => format!("{why} {stopped}"),
        None => why,
    };
    set_notice(&state, Some(notice));
    state.changed();
    crate::events::vault_locked(
        app,
        LockedEvent {
            reason,
            status: status(&state),
        },
    );
}

/// Starts the idle timer and the D-Bus listener (threads of their own).
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    if let Ok(dir) = app.path().app_config_dir() {
        app.state::<AutoLock>().load(dir.join(FILE));
    }
    let timer = app.clone();
    let _ = std::thread::Builder::new()
        .name("audiovault-autolock".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let state = timer.state::<AppState>();
                let auto = timer.state::<AutoLock>();
                // Locked: the clock starts when the vault opens. Hidden to the
                // tray: the watcher the user left running needs the key, so
                // only sleep and the session's lock lock it.
                if !state.is_unlocked() || crate::window::hidden(&timer) {
                    auto.touch();
                    continue;
                }
                if auto.idle_expired() {
                    lock_now(&timer, LockReason::Idle);
                }
            }
        });
    let bus = app.clone();
    let _ = std::thread::Builder::new()
        .name("audiovault-logind".into())
        .spawn(move || {
            if let Err(e) = listen_to_logind(&bus) {
                eprintln!("audiovault: no lock on suspend or session lock: {e}");
            }
        });
}

/// Listens on the system bus for logind's suspend and session-lock signals.
fn listen_to_logind<R: Runtime>(app: &AppHandle<R>) -> Result<(), String> {
    use dbus::blocking::Connection;
    use dbus::message::MatchRule;

    let conn = Connection::new_system().map_err(|e| e.to_string())?;
    // Our own session's object, when logind knows this process; else any
    // session's Lock counts (locking too often is safe).
    let session: Option<dbus::Path<'static>> = conn
        .with_proxy(
            "org.freedesktop.login1",
            "/org/freedesktop/login1",
            Duration::from_secs(2),
        )
        .method_call(
            "org.freedesktop.login1.Manager",
            "GetSessionByPID",
            (std::process::id(),),
        )
        .ok()
        .map(|(p,): (dbus::Path<'static>,)| p);

    let sleep_app = app.clone();
    conn.add_match(
        MatchRule::new_signal("org.freedesktop.login1.Manager", "PrepareForSleep"),
        move |(going,): (bool,), _, _| {
            if going {
                lock_now(&sleep_app, LockReason::Sleep);
            }
            true
        },
    )
    .map_err(|e| e.to_string())?;
    let mut rule = MatchRule::new_signal("org.freedesktop.login1.Session", "Lock");
    if let Some(path) = session {
        rule = rule.with_path(path);
    }
    let lock_app = app.clone();
    conn.add_match(rule, move |(): (), _, _| {
        lock_now(&lock_app, LockReason::SessionLocked);
        true
    })
    .map_err(|e| e.to_string())?;
    loop {
        conn.process(Duration::from_secs(3600))
            .map_err(|e| e.to_string())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_time_is_a_bounded_setting_saved_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app").join(FILE);
        let auto = AutoLock::default();
        auto.load(path.clone());
        assert_eq!(auto.settings().auto_lock_seconds, 15 * 60);
        assert!(auto.set_auto_lock_seconds(1).is_err());
        assert!(
            auto.set_auto_lock_seconds(MAX_AUTO_LOCK_SECONDS + 1)
                .is_err()
        );
        auto.set_auto_lock_seconds(300).unwrap();
        let again = AutoLock::default();
        again.load(path);
        assert_eq!(again.settings().auto_lock_seconds, 300);
    }

    #[test]
    fn the_idle_clock_runs_out_and_activity_restarts_it() {
        let auto = AutoLock::default();
        auto.set_auto_lock_seconds(2).unwrap();
        assert!(!auto.idle_expired());
        std::thread::sleep(Duration::from_millis(2100));
        assert!(auto.idle_expired());
        auto.touch();
        assert!(!auto.idle_expired());
    }
}
