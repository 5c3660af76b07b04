//! The events the shell sends its window, in one place: each name once (the UI
//! listens by the generated `EVENTS` constant in `bindings.ts`, never by a
//! literal) and one function per event with its payload's type.
//!
//! Emitting never fails the work that caused it: a closed window is not the
//! sender's concern.

use tauri::{AppHandle, Emitter, Runtime};

use crate::dto::watch::WatchUpdate;
use crate::dto::{AnalysisProgress, AutoSyncStatus, LockedEvent, MenuAction};

/// The library's contents changed (import, trash, restore, purge, pull, repair):
/// views that list tracks reload.
const LIBRARY_CHANGED: &str = "library-changed";
/// Where the background analysis stands.
const ANALYSIS_PROGRESS: &str = "analysis-progress";
/// What the watched folders did (see [`WatchUpdate`]).
const WATCH_UPDATE: &str = "watch-update";
/// The vault locked by itself (idle, sleep, the desktop session locked): the
/// window shows the unlock form, saying why.
const VAULT_LOCKED: &str = "vault-locked";
/// The desktop handed the app files to import (a second launch, "Open with"): the
/// library takes them (`take_opened_files`).
const FILES_OPENED: &str = "files-opened";
/// A menu bar item the window carries out (see [`MenuAction`]).
const MENU_ACTION: &str = "menu-action";
/// What automatic sync is doing (see [`AutoSyncStatus`]): the sidebar shows it.
const AUTO_SYNC: &str = "auto-sync";

pub fn library_changed<R: Runtime>(app: &AppHandle<R>) {
    let _ = app.emit(LIBRARY_CHANGED, ());
}

pub fn analysis_progress<R: Runtime>(app: &AppHandle<R>, progress: AnalysisProgress) {
    let _ = app.emit(ANALYSIS_PROGRESS, progress);
}

pub fn watch_update<R: Runtime>(app: &AppHandle<R>, update: WatchUpdate) {
    let _ = app.emit(WATCH_UPDATE, update);
}

pub fn vault_locked<R: Runtime>(app: &AppHandle<R>, event: LockedEvent) {
    let _ = app.emit(VAULT_LOCKED, event);
}

pub fn files_opened<R: Runtime>(app: &AppHandle<R>) {
    let _ = app.emit(FILES_OPENED, ());
}

pub fn auto_sync<R: Runtime>(app: &AppHandle<R>, status: AutoSyncStatus) {
    let _ = app.emit(AUTO_SYNC, status);
}

pub fn menu_action<R: Runtime>(app: &AppHandle<R>, action: MenuAction) {
    let _ = app.emit(MENU_ACTION, action);
}

/// `EVENTS` for `bindings.ts`.
pub fn declaration() -> String {
    format!(
        "/** The window's event names (src-tauri/src/events.rs). */\n\
         export const EVENTS = {{ libraryChanged: \"{LIBRARY_CHANGED}\", \
         analysisProgress: \"{ANALYSIS_PROGRESS}\", watchUpdate: \"{WATCH_UPDATE}\", vaultLocked: \"{VAULT_LOCKED}\", filesOpened: \"{FILES_OPENED}\", menuAction: \"{MENU_ACTION}\", autoSync: \"{AUTO_SYNC}\" }} as const;"
    )
}
