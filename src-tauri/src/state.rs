//! What the app holds between commands: the vault folder it works on and, once
//! unlocked, a session (the open vault and its playback server).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use audiovault_engine::serve::MediaServer;
use audiovault_engine::{CancelToken, Vault, default_vault_dir};

use crate::error::{IpcError, IpcResult};

/// An unlocked vault. Commands clone the `Arc` and work on their clone, so
/// locking never pulls a vault from under a running import; the playback server
/// stops when the last clone goes.
pub struct Session {
    pub vault: Arc<Vault>,
    pub media: MediaServer,
}

impl Session {
    pub fn new(vault: Vault) -> IpcResult<Session> {
        let vault = Arc::new(vault);
        let media = MediaServer::start(vault.clone())?;
        Ok(Session { vault, media })
    }
}

pub struct AppState {
    dir: Mutex<PathBuf>,
    session: Mutex<Option<Arc<Session>>>,
    /// Trips the running import, export or verify.
    cancel: Mutex<CancelToken>,
    /// A note for the UI from the last automatic unlock attempt.
    pub notice: Mutex<Option<String>>,
    /// The background analysis runner.
    pub analysis: Arc<crate::analysis::Analysis>,
    /// The watched folders' watcher.
    pub watching: Arc<crate::watching::Watching>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// `AUDIOVAULT_VAULT` when set (like the CLI), else the platform default.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("AUDIOVAULT_VAULT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(default_vault_dir)
            .unwrap_or_default();
        AppState::new(dir)
    }

    pub fn new(dir: PathBuf) -> Self {
        AppState {
            dir: Mutex::new(dir),
            session: Mutex::new(None),
            cancel: Mutex::new(CancelToken::new()),
            notice: Mutex::new(None),
            analysis: Arc::default(),
            watching: Arc::default(),
        }
    }

    pub fn dir(&self) -> PathBuf {
        guard(&self.dir).clone()
    }

    pub fn set_dir(&self, dir: PathBuf) {
        *guard(&self.dir) = dir;
    }

    pub fn session(&self) -> IpcResult<Arc<Session>> {
        guard(&self.session).clone().ok_or_else(IpcError::locked)
    }

    pub fn is_unlocked(&self) -> bool {
        guard(&self.session).is_some()
    }

    pub fn open(&self, vault: Vault) -> IpcResult<()> {
        let session = Session::new(vault)?;
        *guard(&self.session) = Some(Arc::new(session));
        Ok(())
    }

    pub fn lock(&self) {
        self.analysis.stop();
        self.watching.stop();
        self.watching.clear();
        guard(&self.session).take();
    }

    /// A fresh token for new work; `cancel` trips the current one.
    pub fn new_cancel(&self) -> CancelToken {
        let token = CancelToken::new();
        *guard(&self.cancel) = token.clone();
        token
    }

    pub fn cancel(&self) {
        guard(&self.cancel).cancel();
    }
}
