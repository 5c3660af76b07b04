//! Cloud sync in the app: the remote's settings (access keys to the OS keyring,
//! never back to the UI), the connection test, push and pull with progress and
//! cancel, restore from the cloud on first run, and repair from the remote.
//! Each command is a thin adapter over the engine's `sync` module. The devices
//! that push to the remote, and what waits to be pulled from them, come as the
//! engine's own types ([`RemoteDevices`]; its `ts` feature declares them for the
//! UI), as do the push and pull reports.
//!
//! Cloud work is a job of its own kind ([`crate::jobs`]): Cancel in the Cloud
//! view does not stop an import, and the reverse; one push, pull, repair or
//! restore runs at a time; lock cancels them all.

use audiovault_engine::ErrorKind;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use audiovault_engine::sync::{
    self, ConnectionReport, PullReport, PushReport, RemoteConfig, RemoteCredentials, RemoteDevices,
    RemoteSettings, RepairOutcome, SyncError, SyncOptions, SyncStatus, clone_vault,
};
use audiovault_engine::{Passphrase, Vault};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, Runtime, State};
use ts_rs::TS;

use crate::dto::Status;
use crate::error::{IpcError, IpcResult};
use crate::jobs::JobKind;
use crate::progress::{ChannelProgress, ProgressEvent};
use crate::session::{blocking, lock_session, remember, set_notice, status};
use crate::state::AppState;

pub mod space;

/// Uploads and downloads at once when the remote is first set up (the CLI's default).
const DEFAULT_PARALLELISM: u32 = 8;

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub use crate::heldkeys::CloudState;
use crate::heldkeys::{SessionKeys, credentials_for, held};

/// The environment's keys, else the keyring's, else this run's, else an AWS
/// profile (the engine's rule). Said in the app's words when there are none; an
/// AWS profile's error (which names it) as it is.
fn credentials(keys: &SessionKeys, vault: &Vault) -> IpcResult<RemoteCredentials> {
    credentials_for(keys, vault).map_err(|e| match e {
        audiovault_engine::Error::Sync(SyncError::NoCredentials) => IpcError::new(
            SyncError::NoCredentials.kind(),
            "no access keys for the remote: enter the access key id and the secret in the Cloud view and save",
        ),
        other => other.into(),
    })
}

/// The remote as entered in a form. The secret travels only UI → shell; this
/// type is never sent back and has no `Debug`.
#[derive(Clone, Deserialize, TS)]
pub struct RemoteForm {
    /// Blank: AWS S3.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    pub access_key_id: String,
    /// Blank: keep the stored secret.
    pub secret_access_key: String,
}

impl RemoteForm {
    fn config(&self, parallelism: u32) -> IpcResult<RemoteConfig> {
        RemoteConfig::from_input(
            &self.endpoint,
            &self.region,
            &self.bucket,
            &self.prefix,
            self.path_style,
            parallelism,
        )
        .map_err(sync_error)
    }

    /// Both keys as entered, when both are.
    fn credentials(&self) -> Option<RemoteCredentials> {
        let id = self.access_key_id.trim();
        let secret = self.secret_access_key.trim();
        (!id.is_empty() && !secret.is_empty()).then(|| RemoteCredentials::new(id, secret))
    }
}

fn sync_error(e: SyncError) -> IpcError {
    audiovault_engine::Error::from(e).into()
}

fn keyring_failed(e: impl std::fmt::Display) -> IpcError {
    IpcError::new(
        ErrorKind::KeyringUnavailable,
        format!("the access keys could not be stored in the OS keyring: {e}"),
    )
}

fn settings_of(keys: &SessionKeys, vault: &Vault) -> IpcResult<RemoteSettings> {
    Ok(vault.remote_settings(held(keys, vault).as_ref())?)
}

#[tauri::command]
pub async fn remote_settings(
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
) -> IpcResult<RemoteSettings> {
    let s = state.session()?;
    let keys = cloud.session_keys.clone();
    // The keyring is a D-Bus round trip: off the async runtime.
    blocking(move || settings_of(&keys, &s.vault)).await
}

/// Saves the remote and, when both are given, the access keys (to the OS
/// keyring; when there is none, for this run only). A blank secret keeps the
/// stored keys, as long as the key id is the stored one.
#[tauri::command]
pub async fn set_remote(
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    form: RemoteForm,
) -> IpcResult<RemoteSettings> {
    let s = state.session()?;
    let keys = cloud.session_keys.clone();
    blocking(move || {
        let vault = &s.vault;
        let parallelism = vault
            .remote_config()?
            .map_or(DEFAULT_PARALLELISM, |c| c.parallelism);
        let config = form.config(parallelism)?;
        let new_keys = form.credentials();
        if new_keys.is_none() && !form.secret_access_key.trim().is_empty() {
            return Err(IpcError::new(
                ErrorKind::InvalidSetting,
                "enter the access key id that goes with the secret",
            ));
        }
        let current = settings_of(&keys, vault)?;
        if new_keys.is_none()
            && !form.access_key_id.trim().is_empty()
            && current.access_key_id.as_deref() != Some(form.access_key_id.trim())
        {
            return Err(IpcError::new(
                ErrorKind::InvalidSetting,
                "enter the secret access key for this access key id",
            ));
        }
        vault.set_remote_config(&config)?;
        if let Some(new_keys) = new_keys {
            match new_keys.store(vault.vault_id()) {
                // Keys just stored replace any this run held.
                Ok(()) => {
                    guard(&keys).remove(vault.vault_id());
                }
                // Sync still works for this run; the view says the keys are not kept.
                Err(e) => {
                    eprintln!("audiovault: {}", keyring_failed(e).message);
                    guard(&keys).insert(vault.vault_id().to_string(), new_keys);
                }
            }
        }
        settings_of(&keys, vault)
    })
    .await
}

/// Reaches the saved remote with the stored keys, then writes, reads back and
/// deletes a probe object; each step says what failed.
#[tauri::command]
pub async fn test_connection(
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
) -> IpcResult<ConnectionReport> {
    let s = state.session()?;
    let keys = cloud.session_keys.clone();
    // The keyring is a D-Bus round trip: off the async runtime.
    blocking(move || {
        let credentials = credentials(&keys, &s.vault)?;
        let config = s
            .vault
            .remote_config()?
            .ok_or_else(|| sync_error(SyncError::NotConfigured))?;
        Ok(sync::test_connection(
            &config,
            &credentials,
            &SyncOptions::default(),
        )?)
    })
    .await
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> IpcResult<SyncStatus> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.sync_status()?)).await
}

/// The devices that push to the remote and, with `incoming`, what a pull would
/// bring from each line this device has not merged (each such line's catalog is
/// fetched to count it; no audio is).
#[tauri::command]
pub async fn remote_devices(
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    incoming: bool,
) -> IpcResult<RemoteDevices> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::CloudRead, "device listing")?;
    let keys = cloud.session_keys.clone();
    blocking(move || {
        // Said before the keys are looked for: no remote is the first thing to fix.
        if s.vault.remote_config()?.is_none() {
            return Err(sync_error(SyncError::NotConfigured));
        }
        let credentials = credentials(&keys, &s.vault)?;
        Ok(s.vault
            .remote_devices(&credentials, &SyncOptions::default(), incoming, &job.token)?)
    })
    .await
}

#[tauri::command]
pub async fn push<R: Runtime>(
    app: AppHandle<R>,
    cloud: State<'_, CloudState>,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<PushReport> {
    let result = push_with(&app, &cloud, ChannelProgress::new(on_progress)).await;
    crate::notify::job_ended(&app, "Push", &result, push_summary);
    result
}

/// The tray's Push now: no window to show progress in.
pub async fn push_in_background<R: Runtime>(app: &AppHandle<R>) -> IpcResult<PushReport> {
    let cloud = app.state::<CloudState>();
    push_with(app, &cloud, audiovault_engine::NoProgress).await
}

async fn push_with<R: Runtime>(
    app: &AppHandle<R>,
    cloud: &CloudState,
    progress: impl audiovault_engine::Progress + 'static,
) -> IpcResult<PushReport> {
    let state = app.state::<AppState>();
    let s = state.session()?;
    let job = state.job(&s, JobKind::Cloud, "push")?;
    let keys = cloud.session_keys.clone();
    let report = blocking(move || {
        let credentials = credentials(&keys, &s.vault)?;
        let report = s
            .vault
            .push(&credentials, &SyncOptions::default(), &progress, &job.token)?;
        Ok(report)
    })
    .await?;
    // Tracks now also in the cloud (and maybe merged from another device): the
    // library changes.
    crate::events::library_changed(app);
    crate::autosync::synced_by_hand(app);
    if report.merged.tracks_added > 0 {
        crate::analysis::start(app);
    }
    Ok(report)
}

pub fn push_summary(report: &PushReport) -> String {
    if report.nothing_new {
        return "The cloud already had everything.".into();
    }
    format!(
        "{} track(s) in the cloud; {} sent.",
        report.tracks,
        crate::notify::bytes(report.bytes_uploaded)
    )
}

#[tauri::command]
pub async fn pull<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<PullReport> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Cloud, "pull")?;
    let keys = cloud.session_keys.clone();
    let result = blocking(move || {
        let credentials = credentials(&keys, &s.vault)?;
        let report = s.vault.pull(
            &credentials,
            &SyncOptions::default(),
            &ChannelProgress::new(on_progress),
            &job.token,
        )?;
        Ok(report)
    })
    .await;
    crate::notify::job_ended(&app, "Pull", &result, pull_summary);
    let report = result?;
    crate::events::library_changed(&app);
    crate::analysis::start(&app);
    crate::autosync::synced_by_hand(&app);
    Ok(report)
}

fn pull_summary(report: &PullReport) -> String {
    if report.up_to_date {
        return "Already up to date.".into();
    }
    crate::notify::counts(&[
        (report.tracks_added as usize, "track(s) added"),
        (
            report.tracks_state_changed as usize,
            "moved to or from the Trash",
        ),
        (report.tracks_purged as usize, "deleted for good"),
    ])
}

/// Stops the running push, pull, restore or repair (and a device listing).
#[tauri::command]
pub async fn cancel_sync(state: State<'_, AppState>) -> IpcResult<()> {
    state
        .jobs
        .cancel(&[JobKind::Cloud, JobKind::CloudRead, JobKind::AutoSync]);
    Ok(())
}

/// The first-run "Restore from cloud" form.
#[derive(Clone, Deserialize, TS)]
pub struct RestoreForm {
    pub remote: RemoteForm,
    /// The folder to restore into: new, empty, or a restore of the same remote
    /// that stopped part way (it resumes).
    pub dir: String,
    pub passphrase: String,
    /// Remember the vault key in the OS keyring.
    pub remember_key: bool,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct RestoreReport {
    pub status: Status,
    pub pull: PullReport,
}

/// Restores a vault from the remote into `dir` and opens it. The access keys
/// are stored in the OS keyring for the restored vault.
#[tauri::command]
pub async fn restore_from_cloud<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    form: RestoreForm,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<RestoreReport> {
    if form.dir.trim().is_empty() {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "choose a folder for the vault",
        ));
    }
    let passphrase = Passphrase::new(form.passphrase.clone());
    if passphrase.is_empty() {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "enter the passphrase of the vault in the cloud",
        ));
    }
    let config = form.remote.config(DEFAULT_PARALLELISM)?;
    let credentials = form.remote.credentials().ok_or_else(|| {
        IpcError::new(
            ErrorKind::InvalidSetting,
            "enter the access key id and the secret access key",
        )
    })?;
    // The open vault (if any) goes first: the lock would cancel this job too.
    lock_session(&state).await?;
    let job = state.jobs.start(JobKind::Cloud, "restore", None)?;
    let root = PathBuf::from(form.dir.trim());
    let clone_root = root.clone();
    let remember_key = form.remember_key;
    let (vault, report, notice, unkept) = blocking(move || {
        let (vault, report) = clone_vault(
            &clone_root,
            &config,
            &credentials,
            &passphrase,
            &SyncOptions::default(),
            &ChannelProgress::new(on_progress),
            &job.token,
        )?;
        let mut notes = Vec::new();
        if remember_key && let Some(n) = remember(&vault) {
            notes.push(n);
        }
        let unkept = match credentials.store(vault.vault_id()) {
            Ok(()) => None,
            Err(e) => {
                notes.push(format!(
                    "{}; they are kept until the app quits.",
                    keyring_failed(e).message
                ));
                Some(credentials)
            }
        };
        Ok((
            vault,
            report,
            (!notes.is_empty()).then(|| notes.join(" ")),
            unkept,
        ))
    })
    .await?;
    if let Some(keys) = unkept {
        cloud.keep_for_session(vault.vault_id(), keys);
    }
    state.set_dir(root);
    set_notice(&state, notice);
    state.open(vault)?;
    crate::analysis::start(&app);
    crate::autosync::start(&app);
    crate::events::library_changed(&app);
    Ok(RestoreReport {
        status: status(&state),
        pull: report,
    })
}

/// Verifies the library, then fetches every damaged or missing chunk from the
/// remote (authenticated before it replaces the local file).
#[tauri::command]
pub async fn repair<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<RepairOutcome> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Cloud, "repair")?;
    let keys = cloud.session_keys.clone();
    let report = blocking(move || {
        Ok(s.vault.verify_and_repair(
            || Ok(credentials(&keys, &s.vault).map_err(|e| SyncError::Other(e.message))?),
            &SyncOptions::default(),
            &ChannelProgress::new(on_progress),
            &job.token,
        )?)
    })
    .await?;
    crate::events::library_changed(&app);
    Ok(report)
}
