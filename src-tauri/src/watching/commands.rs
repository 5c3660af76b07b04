//! IPC commands of the watched folders: thin adapters over the engine's
//! `Vault::*watch*` calls; every change of the folders restarts the watcher.

use audiovault_engine::ErrorKind;
use std::path::PathBuf;

use audiovault_engine::watch::{WatchError, WatchFailure, WatchFolder};
use tauri::{AppHandle, Runtime, State};

use super::send;
use crate::dto::watch::{WatchStatus, WatchUpdate};
use crate::error::{IpcError, IpcResult};
use crate::session::blocking;
use crate::state::AppState;

impl From<WatchError> for IpcError {
    fn from(e: WatchError) -> Self {
        IpcError::new(e.kind(), e.to_string())
    }
}

/// The folders, their states, this session's activity, the size of the
/// 'Not imported' list. The UI asks once, then follows `watch-update` events.
#[tauri::command]
pub async fn watch_status(state: State<'_, AppState>) -> IpcResult<WatchStatus> {
    let s = state.session()?;
    let w = state.watching.clone();
    blocking(move || w.status(&s.vault)).await
}

/// Restarts the watcher with the stored folders and tells every view.
fn changed<R: Runtime>(app: &AppHandle<R>) {
    super::start(app);
    send(app, WatchUpdate::Reload);
}

/// Adds a folder with the default policy (enabled, subfolders too, keep files,
/// 3 s settle time), or leaves one already added as it is.
#[tauri::command]
pub async fn watch_add_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    path: String,
) -> IpcResult<WatchStatus> {
    if path.trim().is_empty() {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "choose a folder to watch",
        ));
    }
    let s = state.session()?;
    let w = state.watching.clone();
    let status = blocking(move || {
        let folder = s.vault.watch_folder_or_default(&PathBuf::from(path))?;
        s.vault.add_watch_folder(&WatchFolder {
            enabled: true,
            ..folder
        })?;
        w.status(&s.vault)
    })
    .await?;
    changed(&app);
    Ok(status)
}

/// Changes a folder's settings (its path names it). A folder that is missing
/// now can still be turned on or off, not otherwise changed.
#[tauri::command]
pub async fn watch_update_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    folder: WatchFolder,
) -> IpcResult<WatchStatus> {
    let s = state.session()?;
    let w = state.watching.clone();
    let status = blocking(move || {
        let path = folder.path.clone();
        let stored = s
            .vault
            .watch_folders()?
            .into_iter()
            .find(|f| f.path == path)
            .ok_or_else(|| WatchError::NotWatched(path.clone()))?;
        let wanted = folder;
        let only_enabled = WatchFolder {
            enabled: wanted.enabled,
            ..stored.clone()
        } == wanted;
        if only_enabled {
            s.vault.set_watch_folder_enabled(&path, wanted.enabled)?;
        } else {
            s.vault.add_watch_folder(&wanted)?;
        }
        w.status(&s.vault)
    })
    .await?;
    changed(&app);
    Ok(status)
}

/// Stops watching a folder for good; its files and the tracks imported from it
/// are not touched.
#[tauri::command]
pub async fn watch_remove_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    path: String,
) -> IpcResult<WatchStatus> {
    let s = state.session()?;
    let w = state.watching.clone();
    let status = blocking(move || {
        s.vault.remove_watch_folder(&PathBuf::from(path))?;
        w.status(&s.vault)
    })
    .await?;
    changed(&app);
    Ok(status)
}

/// The 'Not imported' list, oldest first.
#[tauri::command]
pub async fn watch_failures(state: State<'_, AppState>) -> IpcResult<Vec<WatchFailure>> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.watch_failures()?)).await
}

/// Empties the 'Not imported' list (no file is touched); files left in place
/// are tried again, so the watcher restarts to look at them.
#[tauri::command]
pub async fn watch_clear_failures<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> IpcResult<u64> {
    let s = state.session()?;
    let n = blocking(move || Ok(s.vault.clear_watch_failures()? as u64)).await?;
    changed(&app);
    Ok(n)
}
