//! The access keys the app holds in memory for this run when the OS keyring
//! could not take them (the Cloud view's form, a restore), and the engine's rule
//! for finding a vault's keys with them. Shared by the cloud commands and the
//! automatic sync's loop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use audiovault_engine::Vault;
use audiovault_engine::sync::RemoteCredentials;
use tauri::{AppHandle, Manager, Runtime};

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The app's cloud state, managed beside [`crate::state::AppState`].
#[derive(Default)]
pub struct CloudState {
    /// Access keys kept in memory for this run when the OS keyring could not
    /// take them, by vault id. Never written anywhere.
    pub(crate) session_keys: SessionKeys,
}

pub(crate) type SessionKeys = Arc<Mutex<HashMap<String, RemoteCredentials>>>;

impl CloudState {
    pub(crate) fn keep_for_session(&self, vault_id: &str, credentials: RemoteCredentials) {
        // Playback and export of cloud-only tracks read with them too.
        audiovault_engine::sync::hold_credentials_for_reads(vault_id, credentials.clone());
        guard(&self.session_keys).insert(vault_id.to_string(), credentials);
    }
}

/// The keys this run holds for the vault (no keyring could take them).
pub(crate) fn held(keys: &SessionKeys, vault: &Vault) -> Option<RemoteCredentials> {
    guard(keys).get(vault.vault_id()).cloned()
}

/// This run's held keys (for the automatic sync's loop).
pub(crate) fn session_keys<R: Runtime>(app: &AppHandle<R>) -> SessionKeys {
    app.state::<CloudState>().session_keys.clone()
}

/// The engine's rule, with the engine's error: the `aws_profile` setting's
/// profile, else the environment, the keyring, this run's keys, an AWS profile.
pub(crate) fn credentials_for(
    keys: &SessionKeys,
    vault: &Vault,
) -> audiovault_engine::Result<RemoteCredentials> {
    vault.remote_credentials_or(held(keys, vault).as_ref())
}
