//! The main window's whereabouts, for the parts that act differently when the
//! user is not looking (notifications, the idle lock).

use tauri::{AppHandle, Manager, Runtime};

pub const MAIN: &str = "main";

/// Out of sight: hidden to the tray, minimised or not focused.
pub fn away<R: Runtime>(app: &AppHandle<R>) -> bool {
    match app.get_webview_window(MAIN) {
        Some(w) => {
            !w.is_visible().unwrap_or(false)
                || w.is_minimized().unwrap_or(false)
                || !w.is_focused().unwrap_or(false)
        }
        None => true,
    }
}

/// Hidden to the tray (not merely unfocused).
pub fn hidden<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.get_webview_window(MAIN)
        .is_some_and(|w| !w.is_visible().unwrap_or(true))
}
