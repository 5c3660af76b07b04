//! OS notifications (D-Bus `org.freedesktop.Notifications` on Linux) when a long
//! import, push, pull, verify or a watched folder's batch ends, or fails, while
//! the window is away: hidden to the tray, minimised or not focused. In sight,
//! the window itself says it. Texts name counts and errors, never a secret (the
//! errors they carry are the engine's, which hold none).

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::{AppHandle, Manager, Runtime};

use crate::autolock::AutoLock;
use crate::error::IpcResult;

/// Sends a notification when the window is away and the setting allows it.
pub fn when_away<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if !app.state::<AutoLock>().settings().notify_when_away || !crate::window::away(app) {
        return;
    }
    send(app, title, body);
}

fn send<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    // Absent under the tests' mock runtime, which has no desktop to tell.
    if let Some(notification) = app.try_state::<tauri_plugin_notification::Notification<R>>() {
        let _ = notification.builder().title(title).body(body).show();
    }
}

/// The end of a long job: its summary, or its error, when the window is away.
pub fn job_ended<R: Runtime, T>(
    app: &AppHandle<R>,
    what: &str,
    result: &IpcResult<T>,
    summary: impl FnOnce(&T) -> String,
) {
    if let Some((title, body)) = outcome(what, result, summary) {
        when_away(app, &title, &body);
    }
}

/// The end of work the tray started: the window shows nothing of it, so the
/// notification is its only answer (unless notifications are off).
pub fn tray_job_ended<R: Runtime, T>(
    app: &AppHandle<R>,
    what: &str,
    result: &IpcResult<T>,
    summary: impl FnOnce(&T) -> String,
) {
    if !app.state::<AutoLock>().settings().notify_when_away {
        return;
    }
    if let Some((title, body)) = outcome(what, result, summary) {
        send(app, &title, &body);
    }
}

fn outcome<T>(
    what: &str,
    result: &IpcResult<T>,
    summary: impl FnOnce(&T) -> String,
) -> Option<(String, String)> {
    match result {
        Ok(value) => Some((format!("{what} finished"), summary(value))),
        // A cancel was the user's own doing.
        Err(e) if e.kind == audiovault_engine::ErrorKind::Cancelled => None,
        Err(e) => Some((format!("{what} failed"), e.message.clone())),
    }
}

/// Once per run, the first time the window goes to the tray: where the app went.
pub fn went_to_background<R: Runtime>(app: &AppHandle<R>) {
    static TOLD: AtomicBool = AtomicBool::new(false);
    if TOLD.swap(true, Ordering::Relaxed) {
        return;
    }
    send(
        app,
        "Audiovault is still watching",
        "Your watched folders are imported in the background. Open Audiovault from its tray icon, or quit it there.",
    );
}

/// "12.3 MB": decimal units, as file managers show sizes.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "3 imported, 1 rejected": the non-zero counts.
pub fn counts(parts: &[(usize, &str)]) -> String {
    let said: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if said.is_empty() {
        "Nothing to do.".to_string()
    } else {
        said.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::counts;

    #[test]
    fn counts_name_only_what_happened() {
        assert_eq!(
            counts(&[
                (3, "imported"),
                (0, "already in the vault"),
                (1, "rejected")
            ]),
            "3 imported, 1 rejected"
        );
        assert_eq!(counts(&[(0, "imported")]), "Nothing to do.");
        assert_eq!(super::bytes(999), "999 bytes");
        assert_eq!(super::bytes(12_345_678), "12.3 MB");
    }
}
