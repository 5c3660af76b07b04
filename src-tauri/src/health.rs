//! The Health view and repair at unlock: the engine's doctor
//! ([`audiovault_engine::doctor`]) with its report as it is (the engine's `ts`
//! feature declares it for the UI).
//!
//! - `doctor` checks the open vault (a job of kind [`JobKind::Health`]: the view's
//!   Cancel and lock stop it);
//! - `repair_vault` closes the session first (every job cancelled, the vault
//!   released, as a lock does: a rebuilt catalog must not be swapped in under an
//!   open connection), runs doctor with repair from the key, and opens the vault
//!   again, unless a lock came meanwhile;
//! - `recover` is the same from the unlock screen, when the catalog is missing or
//!   damaged and the vault cannot open: from the passphrase just typed, or the
//!   remembered key; after a repair that leaves the catalog whole, the vault opens.

use audiovault_engine::ErrorKind;
use std::path::Path;

use audiovault_engine::doctor::{CheckName, DoctorOptions, DoctorReport};
use audiovault_engine::{CancelToken, LockedVault, OsKeyring, Passphrase, Unattended, VaultKeys};
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};
use ts_rs::TS;

use crate::dto::Status;
use crate::error::{IpcError, IpcResult};
use crate::jobs::JobKind;
use crate::session::{blocking, damaged_notice, lock_session, remember, set_notice, status};
use crate::state::AppState;

/// A repair's outcome: what doctor found and did, and where the app stands
/// after it (unlocked when the vault opened again).
#[derive(Debug, Clone, Serialize, TS)]
pub struct Recovery {
    pub report: DoctorReport,
    pub status: Status,
}

fn options(repair: bool, cancel: &CancelToken) -> DoctorOptions {
    DoctorOptions {
        repair,
        cancel: cancel.clone(),
        ..DoctorOptions::default()
    }
}

/// The catalog passed (after the repair): the vault can open.
fn catalog_whole(report: &DoctorReport) -> bool {
    report
        .checks
        .iter()
        .any(|c| c.check == CheckName::CatalogIntegrity && c.ok)
}

/// The key from the passphrase typed, else as startup finds it: the
/// environment's passphrase, then the OS keyring.
fn keys_for(dir: &Path, passphrase: Option<Passphrase>) -> IpcResult<VaultKeys> {
    let locked = LockedVault::open(dir)?;
    match locked.unlock_keys_unattended(passphrase.as_ref(), &OsKeyring)? {
        Unattended::Opened(keys, _) => Ok(*keys),
        Unattended::NeedsPassphrase(note) => Err(IpcError::new(
            ErrorKind::PassphraseNeeded,
            match note {
                None => "enter the vault's passphrase to check it (this device does not remember its key)".to_string(),
                Some(note) => format!("enter the vault's passphrase to check it: {note}"),
            },
        )),
    }
}

/// Checks the open vault: every check of `audiovault doctor`, nothing changed.
#[tauri::command]
pub async fn doctor(state: State<'_, AppState>) -> IpcResult<DoctorReport> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Health, "vault check")?;
    blocking(move || {
        let keys = s.vault.keys();
        // The session is held until the end, so lock waits for (and cancels) it.
        let report = keys.doctor(&options(false, &job.token), &OsKeyring)?;
        drop(s);
        Ok(report)
    })
    .await
}

/// The Health view's Cancel: stops a check or a repair (a repair stops before
/// it swaps anything in; the vault then opens as it was).
#[tauri::command]
pub async fn cancel_doctor(state: State<'_, AppState>) -> IpcResult<()> {
    state.jobs.cancel(&[JobKind::Health]);
    Ok(())
}

/// Repairs the open vault: the session closes (jobs cancelled, playback
/// stopped, the vault released), doctor repairs from the key, and the vault
/// opens again. When it cannot (the catalog could not be rebuilt), the answer's
/// status is locked and the unlock screen offers Check and repair.
#[tauri::command]
pub async fn repair_vault<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> IpcResult<Recovery> {
    let keys = state.session()?.vault.keys();
    let locked = lock_session(&state).await?;
    if !locked.released {
        // Something still holds the vault (a network request that hangs): no
        // repair under it. Nothing changed; the vault opens again.
        let opened = blocking(move || Ok(keys.open()?)).await?;
        state.open(opened)?;
        start_session(&app);
        return Err(IpcError::new(
            ErrorKind::Busy,
            "a cancelled job is still finishing a network request: try the repair again in a moment",
        ));
    }
    let epoch = state.jobs.epoch();
    let job = state.jobs.start(JobKind::Health, "repair", Some(epoch))?;
    let (report, opened) = blocking(move || {
        let report = keys.doctor(&options(true, &job.token), &OsKeyring);
        drop(job);
        // Whatever doctor said (done, cancelled, busy), the vault opens again if
        // it can: the session was closed for the repair, not by the person.
        Ok((report, keys.open()))
    })
    .await?;
    match opened {
        // A lock during the repair keeps the vault locked (`locked`).
        Ok(vault) => {
            state.open_in(vault, epoch)?;
            set_notice(&state, None);
            start_session(&app);
        }
        Err(e) => {
            let e = IpcError::from(e);
            let notice = if e.kind == ErrorKind::CatalogDamaged {
                state.set_catalog_damaged(true);
                damaged_notice(&e)
            } else {
                format!("The vault could not open again: {}", e.message)
            };
            set_notice(&state, Some(notice));
        }
    }
    crate::events::library_changed(&app);
    // Doctor's own error (cancelled, busy…) once the session is back; when it
    // is not, the UI finds the vault locked and shows the unlock screen.
    Ok(Recovery {
        report: report?,
        status: status(&state),
    })
}

/// The unlock screen's Check and repair: doctor from the passphrase typed (or,
/// with none, the environment's passphrase or the remembered key), with the
/// catalog missing or damaged. With `repair`, once the catalog is whole again,
/// the vault opens (`remember_key` as on unlock).
#[tauri::command]
pub async fn recover<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    passphrase: Option<String>,
    repair: bool,
    remember_key: bool,
) -> IpcResult<Recovery> {
    if state.is_unlocked() {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "the vault is open: its Health view checks and repairs it",
        ));
    }
    let epoch = state.jobs.epoch();
    let label = if repair { "repair" } else { "vault check" };
    let job = state.jobs.start(JobKind::Health, label, Some(epoch))?;
    let dir = state.dir();
    let passphrase = passphrase.map(Passphrase::new);
    let (report, vault, notice) = blocking(move || {
        let keys = keys_for(&dir, passphrase)?;
        let report = keys.doctor(&options(repair, &job.token), &OsKeyring)?;
        drop(job);
        if !repair || !catalog_whole(&report) {
            return Ok((report, None, None));
        }
        match keys.open() {
            Ok(vault) => {
                let notice = if remember_key { remember(&vault) } else { None };
                Ok((report, Some(vault), notice))
            }
            Err(e) => Ok((
                report,
                None,
                Some(format!("The vault still does not open: {e}")),
            )),
        }
    })
    .await?;
    if let Some(vault) = vault {
        state.open_in(vault, epoch)?;
        set_notice(&state, notice);
        start_session(&app);
        crate::events::library_changed(&app);
    } else if notice.is_some() {
        set_notice(&state, notice);
    }
    Ok(Recovery {
        report,
        status: status(&state),
    })
}

/// What an unlock starts: the background analysis (a rebuilt catalog has every
/// waveform pending) and the watcher.
fn start_session<R: Runtime>(app: &AppHandle<R>) {
    crate::analysis::start(app);
    crate::watching::start(app);
}
