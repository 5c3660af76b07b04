//! Cloud sync in the app: the remote's settings (access keys to the OS keyring,
//! never back to the UI), the connection test, push and pull with progress and
//! cancel, restore from the cloud on first run, and repair from the remote.
//! Each command is a thin adapter over the engine's `sync` module.
//!
//! Cloud work has its own cancel token (Cancel in the Cloud view must not stop
//! an import, and the reverse), and one cloud operation runs at a time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use audiovault_engine::catalog::Catalog;
use audiovault_engine::sync::{
    self, RemoteConfig, RemoteCredentials, SyncError, SyncOptions, clone_vault,
};
use audiovault_engine::{CancelToken, Passphrase, Vault};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::{AppHandle, Emitter, Runtime, State};
use ts_rs::TS;

use crate::commands::{LIBRARY_CHANGED, blocking, remember, set_notice, status};
use crate::dto::{Status, Track, TrackLocation};
use crate::error::{IpcError, IpcResult};
use crate::progress::{ChannelProgress, ProgressEvent};
use crate::state::AppState;

/// Uploads and downloads at once when the remote is first set up (the CLI's default).
const DEFAULT_PARALLELISM: u32 = 8;

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The app's cloud state, managed beside [`AppState`].
#[derive(Default)]
pub struct CloudState {
    /// The running cloud operation's token; `None` when idle.
    running: Arc<Mutex<Option<CancelToken>>>,
    /// Access keys kept in memory for this run when the OS keyring could not
    /// take them, by vault id. Never written anywhere.
    session_keys: SessionKeys,
}

type SessionKeys = Arc<Mutex<HashMap<String, RemoteCredentials>>>;

/// Marks a cloud operation as running until dropped.
struct Running {
    slot: Arc<Mutex<Option<CancelToken>>>,
    token: CancelToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        guard(&self.slot).take();
    }
}

impl CloudState {
    fn begin(&self) -> IpcResult<Running> {
        let mut slot = guard(&self.running);
        if slot.is_some() {
            return Err(IpcError::new(
                "busy",
                "another cloud operation is running: wait for it or cancel it",
            ));
        }
        let token = CancelToken::new();
        *slot = Some(token.clone());
        Ok(Running {
            slot: self.running.clone(),
            token,
        })
    }

    fn cancel(&self) {
        if let Some(t) = guard(&self.running).as_ref() {
            t.cancel();
        }
    }

    fn keep_for_session(&self, vault_id: &str, credentials: RemoteCredentials) {
        guard(&self.session_keys).insert(vault_id.to_string(), credentials);
    }

    fn credentials(&self, vault: &Vault) -> IpcResult<RemoteCredentials> {
        credentials(&self.session_keys, vault)
    }
}

/// The environment's keys, else the keyring's, else this run's.
fn credentials(keys: &SessionKeys, vault: &Vault) -> IpcResult<RemoteCredentials> {
    if let Ok(c) = vault.remote_credentials() {
        return Ok(c);
    }
    guard(keys).get(vault.vault_id()).cloned().ok_or_else(|| {
        IpcError::new(
            SyncError::NoCredentials.kind(),
            "no access keys for the remote: enter the access key id and the secret in the Cloud view and save",
        )
    })
}

/// The remote as the Cloud view shows it. No secret: `credentials` says where
/// the keys are, and the access key id (not a secret) says which key it is.
#[derive(Debug, Clone, Serialize, TS)]
pub struct RemoteSettings {
    pub configured: bool,
    /// Null: AWS S3.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    /// "keyring", "environment", "session" (kept until the app quits: no keyring), or "none".
    pub credentials: String,
    pub access_key_id: Option<String>,
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
        let endpoint = self.endpoint.trim();
        let region = self.region.trim();
        let config = RemoteConfig {
            endpoint: (!endpoint.is_empty()).then(|| endpoint.trim_end_matches('/').to_string()),
            region: if region.is_empty() {
                "us-east-1".into()
            } else {
                region.into()
            },
            bucket: self.bucket.trim().to_string(),
            prefix: self.prefix.trim().trim_matches('/').to_string(),
            path_style: self.path_style,
            parallelism,
        };
        config.validate().map_err(sync_error)?;
        Ok(config)
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
        "keyring_unavailable",
        format!("the access keys could not be stored in the OS keyring: {e}"),
    )
}

fn settings_of(keys: &SessionKeys, vault: &Vault) -> IpcResult<RemoteSettings> {
    let config = vault.remote_config()?;
    let (credentials, access_key_id) = if let Some(c) = RemoteCredentials::from_env() {
        ("environment", Some(c.access_key_id.expose().to_string()))
    } else if let Ok(Some(c)) = RemoteCredentials::load(vault.vault_id()) {
        ("keyring", Some(c.access_key_id.expose().to_string()))
    } else if let Some(c) = guard(keys).get(vault.vault_id()) {
        ("session", Some(c.access_key_id.expose().to_string()))
    } else {
        ("none", None)
    };
    let c = config.clone().unwrap_or_else(|| RemoteConfig::new(""));
    Ok(RemoteSettings {
        configured: config.is_some(),
        endpoint: c.endpoint,
        region: c.region,
        bucket: c.bucket,
        prefix: c.prefix,
        path_style: c.path_style,
        credentials: credentials.into(),
        access_key_id,
    })
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
                "invalid_setting",
                "enter the access key id that goes with the secret",
            ));
        }
        let current = settings_of(&keys, vault)?;
        if new_keys.is_none()
            && !form.access_key_id.trim().is_empty()
            && current.access_key_id.as_deref() != Some(form.access_key_id.trim())
        {
            return Err(IpcError::new(
                "invalid_setting",
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

/// One step of a connection test.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConnectionStep {
    pub step: String,
    pub ok: bool,
    pub error: Option<String>,
    pub error_kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ConnectionReport {
    pub ok: bool,
    pub remote: String,
    pub steps: Vec<ConnectionStep>,
}

/// Reaches the saved remote with the stored keys, then writes, reads back and
/// deletes a probe object; each step says what failed.
#[tauri::command]
pub async fn test_connection(
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
) -> IpcResult<ConnectionReport> {
    let s = state.session()?;
    let credentials = cloud.credentials(&s.vault)?;
    blocking(move || {
        let config = s
            .vault
            .remote_config()?
            .ok_or_else(|| sync_error(SyncError::NotConfigured))?;
        let r = sync::test_connection(&config, &credentials, &SyncOptions::default())?;
        Ok(ConnectionReport {
            ok: r.ok,
            remote: r.remote,
            steps: r
                .steps
                .into_iter()
                .map(|st| ConnectionStep {
                    step: st.step.to_string(),
                    ok: st.ok,
                    error: st.error,
                    error_kind: st.error_kind.map(str::to_string),
                })
                .collect(),
        })
    })
    .await
}

/// The sync side of the vault at a glance.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SyncStatus {
    pub configured: bool,
    /// `s3://bucket/prefix`
    pub remote: Option<String>,
    /// RFC 3339, or null: never.
    pub last_push_at: Option<String>,
    pub last_pull_at: Option<String>,
    /// Chunks (and their encrypted bytes) not on the remote yet.
    pub pending_chunks: u64,
    pub pending_bytes: u64,
    pub tracks_on_remote: u64,
    pub tracks_local_only: u64,
    /// The catalog changed since the last push.
    pub catalog_changed: bool,
}

impl From<sync::SyncStatus> for SyncStatus {
    fn from(s: sync::SyncStatus) -> Self {
        SyncStatus {
            configured: s.configured,
            remote: s.remote,
            last_push_at: s.last_push_at,
            last_pull_at: s.last_pull_at,
            pending_chunks: s.pending_chunks,
            pending_bytes: s.pending_bytes,
            tracks_on_remote: s.tracks_on_remote,
            tracks_local_only: s.tracks_local_only,
            catalog_changed: s.catalog_changed,
        }
    }
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> IpcResult<SyncStatus> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.sync_status()?.into())).await
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PushReport {
    /// Everything was on the remote already: no request was made.
    pub nothing_new: bool,
    pub remote: String,
    pub packs_uploaded: u64,
    pub chunks_uploaded: u64,
    pub bytes_uploaded: u64,
    pub tracks: u64,
    pub seconds: f64,
}

impl From<sync::PushReport> for PushReport {
    fn from(r: sync::PushReport) -> Self {
        PushReport {
            nothing_new: r.nothing_new,
            remote: r.remote,
            packs_uploaded: r.packs_uploaded,
            chunks_uploaded: r.chunks_uploaded,
            bytes_uploaded: r.bytes_uploaded,
            tracks: r.tracks,
            seconds: r.seconds,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PullFailure {
    pub track_id: String,
    pub file_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct PullReport {
    /// The newest catalog on the remote was merged already.
    pub up_to_date: bool,
    pub remote: String,
    pub tracks_added: u64,
    pub tracks_state_changed: u64,
    pub chunks_fetched: u64,
    pub bytes_fetched: u64,
    /// Tracks that could not be brought over, with the reason.
    pub failed: Vec<PullFailure>,
    pub seconds: f64,
}

impl From<sync::PullReport> for PullReport {
    fn from(r: sync::PullReport) -> Self {
        PullReport {
            up_to_date: r.up_to_date,
            remote: r.remote,
            tracks_added: r.tracks_added,
            tracks_state_changed: r.tracks_state_changed,
            chunks_fetched: r.chunks_fetched,
            bytes_fetched: r.bytes_fetched,
            failed: r
                .failed
                .into_iter()
                .map(|f| PullFailure {
                    track_id: f.track_id,
                    file_name: f.file_name,
                    reason: f.reason,
                })
                .collect(),
            seconds: r.seconds,
        }
    }
}

#[tauri::command]
pub async fn push<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<PushReport> {
    let s = state.session()?;
    let credentials = cloud.credentials(&s.vault)?;
    let running = cloud.begin()?;
    let report = blocking(move || {
        let report = s.vault.push(
            &credentials,
            &SyncOptions::default(),
            &ChannelProgress::new(on_progress),
            &running.token,
        )?;
        Ok(report)
    })
    .await?;
    // Tracks now also in the cloud: the library's location column changes.
    let _ = app.emit(LIBRARY_CHANGED, ());
    Ok(report.into())
}

#[tauri::command]
pub async fn pull<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<PullReport> {
    let s = state.session()?;
    let credentials = cloud.credentials(&s.vault)?;
    let running = cloud.begin()?;
    let report = blocking(move || {
        let report = s.vault.pull(
            &credentials,
            &SyncOptions::default(),
            &ChannelProgress::new(on_progress),
            &running.token,
        )?;
        Ok(report)
    })
    .await?;
    let _ = app.emit(LIBRARY_CHANGED, ());
    crate::analysis::start(&app);
    Ok(report.into())
}

/// Stops the running push, pull, restore or repair.
#[tauri::command]
pub async fn cancel_sync(cloud: State<'_, CloudState>) -> IpcResult<()> {
    cloud.cancel();
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
        return Err(IpcError::new("invalid", "choose a folder for the vault"));
    }
    let passphrase = Passphrase::new(form.passphrase.clone());
    if passphrase.is_empty() {
        return Err(IpcError::new(
            "invalid",
            "enter the passphrase of the vault in the cloud",
        ));
    }
    let config = form.remote.config(DEFAULT_PARALLELISM)?;
    let credentials = form.remote.credentials().ok_or_else(|| {
        IpcError::new(
            "invalid_setting",
            "enter the access key id and the secret access key",
        )
    })?;
    let running = cloud.begin()?;
    state.lock();
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
            &running.token,
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
    let _ = app.emit(LIBRARY_CHANGED, ());
    Ok(RestoreReport {
        status: status(&state),
        pull: report.into(),
    })
}

/// A track that could not be repaired, and why.
#[derive(Debug, Clone, Serialize, TS)]
pub struct UnrepairedTrack {
    pub id: String,
    pub file_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct RepairReport {
    /// Tracks damaged when the repair started (it verifies first).
    pub damaged: u64,
    pub repaired_chunks: u64,
    /// File names of the tracks whole again.
    pub repaired: Vec<String>,
    pub unrepaired: Vec<UnrepairedTrack>,
    pub cancelled: bool,
}

/// Verifies the library, then fetches every damaged or missing chunk from the
/// remote (authenticated before it replaces the local file).
#[tauri::command]
pub async fn repair<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    cloud: State<'_, CloudState>,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<RepairReport> {
    let s = state.session()?;
    let credentials = cloud.credentials(&s.vault)?;
    let running = cloud.begin()?;
    let report = blocking(move || {
        let token = &running.token;
        let before = s.vault.verify(&ChannelProgress::new(on_progress), token)?;
        let mut report = RepairReport {
            damaged: before.damaged_tracks.len() as u64,
            repaired_chunks: 0,
            repaired: Vec::new(),
            unrepaired: Vec::new(),
            cancelled: before.cancelled,
        };
        if before.cancelled || before.damaged_chunks.is_empty() {
            return Ok(report);
        }
        let fixed =
            s.vault
                .repair_from_remote(&credentials, &SyncOptions::default(), &before, token)?;
        report.repaired_chunks = fixed.repaired.len() as u64;
        let mut why: HashMap<String, String> = HashMap::new();
        for u in &fixed.unrepairable {
            for t in &u.tracks {
                why.entry(t.clone()).or_insert_with(|| u.reason.clone());
            }
        }
        for t in before.damaged_tracks {
            match why.get(t.id.as_str()) {
                Some(reason) => report.unrepaired.push(UnrepairedTrack {
                    id: t.id.0,
                    file_name: t.file_name,
                    reason: reason.clone(),
                }),
                None => report.repaired.push(t.file_name),
            }
        }
        Ok(report)
    })
    .await?;
    let _ = app.emit(LIBRARY_CHANGED, ());
    Ok(report)
}

/// Each track's location: whole on the remote too ("both"), else "local".
/// One cached statement per row; a page is a few hundred index lookups.
pub fn fill_locations(catalog: &Catalog, tracks: &mut [Track]) -> IpcResult<()> {
    let ids: Vec<String> = tracks.iter().map(|t| t.id.clone()).collect();
    let on_remote = sync::tracks_on_remote(catalog, &ids)?;
    for (t, remote) in tracks.iter_mut().zip(on_remote) {
        t.location = if remote {
            TrackLocation::Both
        } else {
            TrackLocation::Local
        };
    }
    Ok(())
}
