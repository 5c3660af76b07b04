//! The app's life beside its window: the tray, closing to the tray while folders
//! are watched, OS notifications when long work ends while the window is away,
//! start at login, and the native menu bar.
//!
//! The settings behind them are this device's ([`AppSettings`], with the idle
//! lock's); the autostart entry itself is the OS's, so `start_at_login` is read
//! back from it rather than trusted from `settings.json`.

pub mod menu;
pub mod tray;

use tauri::{AppHandle, Manager, Runtime, Window, WindowEvent};

use crate::autolock::{AppSettings, AutoLock};
use crate::state::AppState;

/// The argument the autostart entry launches the app with: it starts hidden in
/// the tray when it has folders to watch, and shows its window otherwise.
pub const BACKGROUND_ARG: &str = "--background";

/// Whether closing the window should keep the app in the tray: the setting is on,
/// a vault is open, and its watcher runs or is paused from the tray. Asked on the
/// main thread, so it reads the watcher's state, not the catalog (which a long
/// import may hold).
pub fn stays_in_background<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.state::<AutoLock>().settings().keep_running_in_tray && watcher_in_use(app)
}

/// The open vault's watcher runs, or waits paused.
pub fn watcher_in_use<R: Runtime>(app: &AppHandle<R>) -> bool {
    let state = app.state::<AppState>();
    state.is_unlocked() && (state.watching.is_running() || state.watching.is_paused())
}

/// A vault is open and has an enabled watched folder (a catalog read: off the
/// main thread).
fn watches_folders<R: Runtime>(app: &AppHandle<R>) -> bool {
    let Ok(session) = app.state::<AppState>().session() else {
        return false;
    };
    session
        .vault
        .watch_folders()
        .is_ok_and(|folders| folders.iter().any(|f| f.enabled))
}

/// What the window-state plugin keeps: size, position, maximised; not
/// visibility, which is the tray's business.
pub fn window_state_flags() -> tauri_plugin_window_state::StateFlags {
    use tauri_plugin_window_state::StateFlags;
    StateFlags::all() - StateFlags::VISIBLE
}

/// The plugin writes its file when the app exits; a crash, a power cut or a
/// killed process would lose a move. So it is also written half a second after
/// the window stops moving or resizing.
fn save_window_state_soon<R: Runtime>(app: &AppHandle<R>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tauri_plugin_window_state::AppHandleExt;
    static LATEST: AtomicU64 = AtomicU64::new(0);
    let mine = LATEST.fetch_add(1, Ordering::Relaxed) + 1;
    let app = app.clone();
    let _ = std::thread::Builder::new()
        .name("audiovault-window-state".into())
        .spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            if LATEST.load(Ordering::Relaxed) == mine {
                let _ = app.save_window_state(window_state_flags());
            }
        });
}

/// Closing the main window hides it to the tray when [`stays_in_background`]:
/// the watcher goes on. Otherwise the window closes and the app quits.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if window.label() != crate::window::MAIN {
        return;
    }
    if matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
        save_window_state_soon(window.app_handle());
    }
    if let WindowEvent::CloseRequested { api, .. } = event {
        let app = window.app_handle();
        if stays_in_background(app) {
            api.prevent_close();
            let _ = window.hide();
            tray::refresh(app);
            crate::notify::went_to_background(app);
        }
    }
}

/// Brings the main window back (tray, second launch, a notification's click).
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(crate::window::MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    tray::refresh(app);
}

/// The settings with `start_at_login` read from the OS's autostart entry.
pub fn settings<R: Runtime>(app: &AppHandle<R>) -> AppSettings {
    let mut settings = app.state::<AutoLock>().settings();
    if let Some(autostart) = app.try_state::<tauri_plugin_autostart::AutoLaunchManager>() {
        settings.start_at_login = autostart.is_enabled().unwrap_or(false);
    }
    settings
}

/// Turns start at login on or off: the OS's autostart entry is written or removed.
pub fn set_start_at_login<R: Runtime>(app: &AppHandle<R>, on: bool) -> Result<(), String> {
    let Some(autostart) = app.try_state::<tauri_plugin_autostart::AutoLaunchManager>() else {
        return Err("start at login is not available here".into());
    };
    // The entry goes to ~/.config/autostart, and auto-launch creates only the last
    // folder of that: a home without .config would refuse it.
    if let Some(home) = std::env::var_os("HOME") {
        let _ = std::fs::create_dir_all(std::path::Path::new(&home).join(".config"));
    }
    let result = if on {
        autostart.enable()
    } else {
        autostart.disable()
    };
    result.map_err(|e| format!("the autostart entry could not be changed: {e}"))
}

/// After the first unlock of a launch by the autostart entry: with folders to
/// watch, the window goes to the tray; otherwise it stays, asking for what it needs.
pub fn background_after_unattended_unlock<R: Runtime>(app: &AppHandle<R>) {
    let asked = std::env::args().any(|a| a == BACKGROUND_ARG);
    if asked && app.state::<AutoLock>().settings().keep_running_in_tray && watches_folders(app) {
        if let Some(window) = app.get_webview_window(crate::window::MAIN) {
            let _ = window.hide();
        }
        tray::refresh(app);
    }
}

/// The desktop settings the Settings view changes; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, ts_rs::TS)]
pub struct DesktopSettingsChange {
    pub keep_running_in_tray: Option<bool>,
    pub notify_when_away: Option<bool>,
    pub start_at_login: Option<bool>,
}

/// Changes the tray, notification and start-at-login settings.
#[tauri::command]
pub async fn set_desktop_settings<R: Runtime>(
    app: AppHandle<R>,
    change: DesktopSettingsChange,
) -> crate::error::IpcResult<AppSettings> {
    let invalid =
        |e: String| crate::error::IpcError::new(audiovault_engine::ErrorKind::InvalidSetting, e);
    if let Some(on) = change.start_at_login {
        set_start_at_login(&app, on).map_err(invalid)?;
    }
    app.state::<AutoLock>()
        .update(|s| {
            if let Some(on) = change.keep_running_in_tray {
                s.keep_running_in_tray = on;
            }
            if let Some(on) = change.notify_when_away {
                s.notify_when_away = on;
            }
            if let Some(on) = change.start_at_login {
                s.start_at_login = on;
            }
        })
        .map_err(invalid)?;
    tray::refresh(&app);
    Ok(settings(&app))
}

/// After an export: the file manager shows `path`, selected in its folder
/// ("Show in folder", `select`), or opens the folder `path` itself ("Open the
/// exported folder").
#[tauri::command]
pub async fn show_in_file_manager<R: Runtime>(
    app: AppHandle<R>,
    path: String,
    select: bool,
) -> crate::error::IpcResult<()> {
    use tauri_plugin_opener::OpenerExt;
    let path = std::path::PathBuf::from(path);
    if !path.exists() {
        return Err(crate::error::IpcError::new(
            audiovault_engine::ErrorKind::Io,
            format!("{}: no longer there", path.display()),
        ));
    }
    let shown = if select {
        app.opener().reveal_item_in_dir(&path)
    } else {
        app.opener().open_path(path.to_string_lossy(), None::<&str>)
    };
    shown.map_err(|e| {
        crate::error::IpcError::new(
            audiovault_engine::ErrorKind::App,
            format!(
                "{}: the file manager could not be opened: {e}",
                path.display()
            ),
        )
    })
}
