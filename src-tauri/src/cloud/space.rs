//! Cloud-only tracks in the app ("Free up space" and "Keep on this device" on
//! tracks and albums, the Storage view's figures): thin adapters over the
//! engine's `Vault::evict`, `Vault::keep` and `Vault::location_totals`. Evict and
//! keep are cloud jobs (one at a time with a push or pull; lock cancels them).

use audiovault_engine::TrackId;
use audiovault_engine::sync::{
    EvictReport, EvictSelection, KeepReport, LocationTotals, SyncOptions,
};
use tauri::{AppHandle, Runtime, State};

use super::{CloudState, credentials};
use crate::error::IpcResult;
use crate::jobs::JobKind;
use crate::session::blocking;
use crate::state::AppState;

/// Frees the local space of these tracks (the engine checks the remote first and
/// refuses what it does not hold).
#[tauri::command]
pub async fn free_up_space<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    ids: Vec<String>,
) -> IpcResult<EvictReport> {
    let ids = ids.into_iter().map(TrackId).collect();
    evict(app, state, cloud, EvictSelection::Tracks(ids)).await
}

async fn evict<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    selection: EvictSelection,
) -> IpcResult<EvictReport> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Cloud, "free up space")?;
    let keys = cloud.session_keys.clone();
    let report = blocking(move || {
        let credentials = credentials(&keys, &s.vault)?;
        Ok(s.vault.evict(
            &selection,
            &credentials,
            &SyncOptions::default(),
            &job.token,
        )?)
    })
    .await?;
    crate::events::library_changed(&app);
    Ok(report)
}

/// Brings cloud-only tracks back onto this device.
#[tauri::command]
pub async fn keep_on_device<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    ids: Vec<String>,
) -> IpcResult<KeepReport> {
    let ids: Vec<TrackId> = ids.into_iter().map(TrackId).collect();
    let s = state.session()?;
    let job = state.job(&s, JobKind::Cloud, "keep on this device")?;
    let keys = cloud.session_keys.clone();
    let report = blocking(move || {
        let credentials = credentials(&keys, &s.vault)?;
        Ok(s.vault
            .keep(&ids, &credentials, &SyncOptions::default(), &job.token)?)
    })
    .await?;
    crate::events::library_changed(&app);
    Ok(report)
}

/// Tracks by location and the space eviction freed (the Storage view).
#[tauri::command]
pub async fn location_totals(state: State<'_, AppState>) -> IpcResult<LocationTotals> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.location_totals()?)).await
}
