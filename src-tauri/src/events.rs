//! The events the shell sends its window, in one place: each name once (the UI
//! listens by the generated `EVENTS` constant in `bindings.ts`, never by a
//! literal) and one function per event with its payload's type.
//!
//! Emitting never fails the work that caused it: a closed window is not the
//! sender's concern.

use tauri::{AppHandle, Emitter, Runtime};

use crate::dto::AnalysisProgress;
use crate::dto::watch::WatchUpdate;

/// The library's contents changed (import, trash, restore, purge, pull, repair):
/// views that list tracks reload.
const LIBRARY_CHANGED: &str = "library-changed";
/// Where the background analysis stands.
const ANALYSIS_PROGRESS: &str = "analysis-progress";
/// What the watched folders did (see [`WatchUpdate`]).
const WATCH_UPDATE: &str = "watch-update";

pub fn library_changed<R: Runtime>(app: &AppHandle<R>) {
    let _ = app.emit(LIBRARY_CHANGED, ());
}

pub fn analysis_progress<R: Runtime>(app: &AppHandle<R>, progress: AnalysisProgress) {
    let _ = app.emit(ANALYSIS_PROGRESS, progress);
}

pub fn watch_update<R: Runtime>(app: &AppHandle<R>, update: WatchUpdate) {
    let _ = app.emit(WATCH_UPDATE, update);
}

/// `EVENTS` for `bindings.ts`.
pub fn declaration() -> String {
    format!(
        "/** The window's event names (src-tauri/src/events.rs). */\n\
         export const EVENTS = {{ libraryChanged: \"{LIBRARY_CHANGED}\", \
         analysisProgress: \"{ANALYSIS_PROGRESS}\", watchUpdate: \"{WATCH_UPDATE}\" }} as const;"
    )
}
