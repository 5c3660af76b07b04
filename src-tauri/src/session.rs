//! What every command module shares: running work off the async runtime, the
//! app's status and its notice line, locking the open vault, remembering its key.

use audiovault_engine::{ErrorKind, OsKeyring, Vault, default_vault_dir};

use crate::dto::Status;
use crate::error::{IpcError, IpcResult};
use crate::state::{AppState, Locked};

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> IpcResult<T> + Send + 'static,
) -> IpcResult<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| IpcError::new(ErrorKind::App, format!("background work stopped: {e}")))?
}

pub(crate) fn status(state: &AppState) -> Status {
    let dir = state.dir();
    let session = state.session().ok();
    Status {
        vault_dir: dir.to_string_lossy().into_owned(),
        default_dir: default_vault_dir().map(|d| d.to_string_lossy().into_owned()),
        exists: dir.join("vault.json").is_file(),
        unlocked: session.is_some(),
        vault_id: session.as_ref().map(|s| s.vault.vault_id().to_string()),
        vault_notices: session.map_or_else(Vec::new, |s| s.vault.notices().to_vec()),
        notice: state.notice.lock().ok().and_then(|n| n.clone()),
        catalog_damaged: state.catalog_damaged(),
        recent_vaults: state
            .recent
            .others_than(&dir)
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect(),
    }
}

/// What the unlock screen says when the catalog cannot be opened; the engine's
/// message (which names the file and the reason) follows.
pub(crate) fn damaged_notice(e: &IpcError) -> String {
    format!(
        "The library's catalog cannot be opened: {} Check and repair rebuilds it from the vault's sealed records.",
        e.message
    )
}

pub(crate) fn set_notice(state: &AppState, notice: Option<String>) {
    if let Ok(mut n) = state.notice.lock() {
        *n = notice;
    }
}

/// Locks the open vault (if any) and returns once nothing holds it: every job
/// cancelled, the playback server stopped, then a wait (off the async runtime)
/// for the jobs to let go of the vault.
pub(crate) async fn lock_session(state: &AppState) -> IpcResult<Locked> {
    let locking = state.begin_lock();
    let locked = blocking(move || Ok(locking.finish())).await?;
    if !locked.waited_for.is_empty() || !locked.released {
        // How long a lock takes with work in flight, and what it waited for.
        eprintln!(
            "audiovault: locked in {:.2} s, waiting for {:?}{}",
            locked.waited.as_secs_f64(),
            locked.waited_for,
            if locked.released {
                ""
            } else {
                " (still stopping)"
            }
        );
    }
    Ok(locked)
}

/// What the unlock screen says after a lock that stopped work.
pub(crate) fn lock_notice(locked: &Locked) -> Option<String> {
    if locked.stopped.is_empty() && locked.released {
        return None;
    }
    let names: Vec<String> = locked.stopped.iter().map(|l| format!("the {l}")).collect();
    let what = match names.as_slice() {
        [] => "background work".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    let verb = if names.len() > 1 { "were" } else { "was" };
    Some(if locked.released {
        format!(
            "Locked: {what} {verb} cancelled. Nothing was lost; start it again after unlocking."
        )
    } else {
        format!(
            "Locked: {what} {verb} cancelled and is still finishing a network request; it lets go of the vault as soon as that ends."
        )
    })
}

/// Remembers the key in the OS keyring; a note for the UI when that is not possible.
pub(crate) fn remember(vault: &Vault) -> Option<String> {
    vault
        .remember_key_or_note(&OsKeyring)
        .map(|note| capitalized(&note.to_string()))
}

/// The engine's lower-case sentence as a notice's first words.
pub(crate) fn capitalized(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}
