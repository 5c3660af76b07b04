//! What the app holds between commands: the vault folder it works on and, once
//! unlocked, a session (the open vault and its playback server), and the
//! registry of the jobs that hold it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use audiovault_engine::serve::MediaServer;
use audiovault_engine::{Vault, default_vault_dir};

use crate::error::{IpcError, IpcResult};
use crate::jobs::{Job, JobKind, Jobs};

/// How long lock waits for the jobs it cancelled to let go of the vault. Every
/// job checks its token at least between two requests or chunks, so this is
/// only reached when a single network request hangs (the engine's own limit
/// for one is longer).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(30);

/// An unlocked vault. Commands clone the `Arc` and work on their clone, so a
/// command in flight never has the vault pulled from under it; lock cancels the
/// jobs and waits for those clones to go (see [`Locking::finish`]).
pub struct Session {
    pub vault: Arc<Vault>,
    /// Taken out and stopped by lock, even while a job still holds the session:
    /// a playback URL must not outlive the lock.
    media: Mutex<Option<MediaServer>>,
    /// The jobs' epoch this session belongs to ([`Jobs::close`]).
    epoch: u64,
}

impl Session {
    fn new(vault: Vault, epoch: u64) -> IpcResult<Session> {
        let vault = Arc::new(vault);
        let media = MediaServer::start(vault.clone())?;
        Ok(Session {
            vault,
            media: Mutex::new(Some(media)),
            epoch,
        })
    }

    /// The jobs' epoch of this session: a background loop that serves it
    /// stops once the state's session has another.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A signed playback URL, unless the session is being locked.
    pub fn stream_url(&self, id: &str, ttl: Duration) -> IpcResult<String> {
        guard(&self.media)
            .as_ref()
            .map(|m| m.url(id, ttl))
            .ok_or_else(IpcError::locked)
    }
}

pub struct AppState {
    dir: Mutex<PathBuf>,
    /// `AUDIOVAULT_VAULT` named the folder: the recent vaults do not override it.
    dir_given: bool,
    session: Mutex<Option<Arc<Session>>>,
    /// Every long job's cancel token (import, export, verify, cloud, analysis, watcher).
    pub jobs: Arc<Jobs>,
    /// The vault folders opened on this device, most recent first.
    pub recent: crate::recent::RecentVaults,
    /// Files handed over by the desktop, waiting for the library to import them.
    pub opened: crate::opened::OpenedFiles,
    /// The last session's vault, to tell whether anything still holds it.
    last_vault: Mutex<Weak<Vault>>,
    /// A note for the UI from the last automatic unlock attempt, or the last lock.
    pub notice: Mutex<Option<String>>,
    /// The background analysis runner.
    pub analysis: Arc<crate::analysis::AnalysisRunner>,
    /// The watched folders' watcher.
    pub watching: Arc<crate::watching::Watching>,
    /// Called when what the tray shows may have changed (unlock, lock, pause):
    /// set by the desktop part at start, so lower parts need not know it.
    on_change: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// The last unlock found the catalog missing or damaged (kind
    /// `catalog_damaged`): the unlock screen offers Check and repair.
    catalog_damaged: AtomicBool,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A lock under way: the session is gone from the state and every job was told
/// to stop; [`Locking::finish`] (blocking) stops the playback server and waits
/// for the vault to be dropped.
pub struct Locking {
    vault: Weak<Vault>,
    jobs: Arc<Jobs>,
    media: Option<MediaServer>,
    /// The jobs a person started that the lock cancelled ("push", "export").
    pub stopped: Vec<&'static str>,
    started: Instant,
}

/// How a lock went.
#[derive(Debug)]
pub struct Locked {
    pub stopped: Vec<&'static str>,
    /// From the lock's start until nothing held the vault any more (or the timeout).
    pub waited: Duration,
    /// False when a job still held the vault at the timeout.
    pub released: bool,
    /// The jobs still running when the vault was last seen held: what the lock
    /// waited for.
    pub waited_for: Vec<&'static str>,
}

impl Locking {
    pub fn finish(mut self) -> Locked {
        // Dropping the server closes its socket and joins its accept thread;
        // connections end at their next read or write (a quarter second at most).
        drop(self.media.take());
        let mut waited_for = Vec::new();
        let released = loop {
            // Doctor holds a copy of the key without the vault: waited for too.
            if self.vault.strong_count() == 0 && !self.jobs.holding_keys() {
                break true;
            }
            if self.started.elapsed() > RELEASE_TIMEOUT {
                break false;
            }
            let labels = self.jobs.labels();
            if !labels.is_empty() {
                waited_for = labels;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Locked {
            stopped: self.stopped,
            waited: self.started.elapsed(),
            released,
            waited_for,
        }
    }
}

impl AppState {
    /// `AUDIOVAULT_VAULT` when set (like the CLI), else the platform default.
    pub fn from_env() -> Self {
        let given = std::env::var_os("AUDIOVAULT_VAULT")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let given_by_env = given.is_some();
        let mut state = AppState::new(given.or_else(default_vault_dir).unwrap_or_default());
        state.dir_given = given_by_env;
        state
    }

    /// Reads this device's recent vaults from `file` and, unless `AUDIOVAULT_VAULT`
    /// named a folder, starts at the last one opened (a vault opened anywhere but the
    /// default is not forgotten).
    pub fn start_at_last_vault(&self, file: PathBuf) {
        self.recent.load(file);
        if !self.dir_given
            && let Some(last) = self.recent.last()
        {
            self.set_dir(last);
        }
    }

    pub fn new(dir: PathBuf) -> Self {
        AppState {
            dir: Mutex::new(dir),
            dir_given: false,
            session: Mutex::new(None),
            jobs: Arc::default(),
            recent: Default::default(),
            opened: Default::default(),
            last_vault: Mutex::new(Weak::new()),
            notice: Mutex::new(None),
            analysis: Arc::default(),
            watching: Arc::default(),
            catalog_damaged: AtomicBool::new(false),
            on_change: std::sync::OnceLock::new(),
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
        let mut slot = guard(&self.session);
        self.open_into(&mut slot, vault, self.jobs.epoch())
    }

    /// Opens `vault` as the session of `epoch`, unless a lock (or a vault
    /// switch) came since that epoch began: then the vault is dropped and the
    /// answer is `locked`. (A repair that closed the session opens it again
    /// this way, so a lock during the repair keeps the vault locked.)
    pub fn open_in(&self, vault: Vault, epoch: u64) -> IpcResult<()> {
        let mut slot = guard(&self.session);
        if self.jobs.epoch() != epoch {
            return Err(IpcError::locked());
        }
        self.open_into(&mut slot, vault, epoch)
    }

    fn open_into(
        &self,
        slot: &mut Option<Arc<Session>>,
        vault: Vault,
        epoch: u64,
    ) -> IpcResult<()> {
        let session = Session::new(vault, epoch)?;
        // A passphrase the environment gave opened a vault once; after a lock,
        // only a typed one (or the keyring) opens it again.
        audiovault_engine::secret::forget_env_passphrases();
        self.recent.opened(session.vault.root());
        *guard(&self.last_vault) = Arc::downgrade(&session.vault);
        *slot = Some(Arc::new(session));
        self.set_catalog_damaged(false);
        Ok(())
    }

    /// Sets what [`AppState::changed`] calls (once; later calls are ignored).
    pub fn set_on_change(&self, hook: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_change.set(Box::new(hook));
    }

    /// Something the tray shows may have changed.
    pub fn changed(&self) {
        if let Some(hook) = self.on_change.get() {
            hook();
        }
    }

    pub fn catalog_damaged(&self) -> bool {
        self.catalog_damaged.load(Ordering::SeqCst)
    }

    pub fn set_catalog_damaged(&self, damaged: bool) {
        self.catalog_damaged.store(damaged, Ordering::SeqCst);
    }

    /// Registers a job of the open session's (refused once that session is locked).
    pub fn job(&self, session: &Session, kind: JobKind, label: &'static str) -> IpcResult<Job> {
        self.jobs.start(kind, label, Some(session.epoch))
    }

    /// Starts a lock; returns at once (no waiting on an async thread). The
    /// session leaves the state first, so no command gets the vault after this.
    pub fn begin_lock(&self) -> Locking {
        // One step under the session's mutex: an `open_in` sees either the old
        // epoch with no lock begun, or the new one.
        let (session, stopped) = {
            let mut slot = guard(&self.session);
            (slot.take(), self.jobs.close())
        };
        self.watching.stop();
        self.watching.clear();
        let (vault, media) = match session {
            Some(s) => {
                let media = guard(&s.media).take();
                (Arc::downgrade(&s.vault), media)
            }
            None => (Weak::new(), None),
        };
        Locking {
            vault,
            jobs: self.jobs.clone(),
            media,
            stopped,
            started: Instant::now(),
        }
    }

    /// Quitting: cancels cloud work and doctor, then waits for them, `timeout`
    /// at most, so a push lets go of its lease on the remote (a cancelled push
    /// still deletes it) and a repair is not cut between its steps. Returns the
    /// labels of jobs still running then.
    pub fn quit(&self, timeout: Duration) -> Vec<&'static str> {
        let kinds = [
            JobKind::Cloud,
            JobKind::CloudRead,
            JobKind::AutoSync,
            JobKind::Health,
        ];
        self.jobs.cancel(&kinds);
        self.jobs.wait_idle(&kinds, timeout)
    }

    /// True while anything (a job, a command in flight) still holds the vault of
    /// the last session. After a lock returns, false unless it timed out.
    pub fn vault_alive(&self) -> bool {
        guard(&self.last_vault).strong_count() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repair closes the session and opens the vault again with the epoch it
    /// began in: a lock meanwhile (the epoch moved on) keeps the vault locked.
    #[test]
    fn a_vault_reopened_after_a_lock_stays_locked() {
        let dir = tempfile::tempdir().unwrap();
        // The default KDF and a passphrase the strength floor accepts: no variable
        // to lift it in a test binary whose threads read the environment.
        let options = audiovault_engine::CreateOptions::default();
        let pass = audiovault_engine::Passphrase::new("velvet tundra lantern 93 orchard");
        let root = dir.path().join("vault");
        drop(Vault::create(&root, &pass, &options).unwrap());
        let open = || {
            audiovault_engine::LockedVault::open(&root)
                .unwrap()
                .unlock(&pass)
                .unwrap()
        };
        let state = AppState::new(root.clone());
        let epoch = state.jobs.epoch();
        assert!(state.begin_lock().finish().released);
        let refused = state.open_in(open(), epoch);
        assert_eq!(
            refused.err().map(|e| e.kind),
            Some(audiovault_engine::ErrorKind::Locked)
        );
        assert!(!state.is_unlocked() && !state.vault_alive());
        state.open_in(open(), state.jobs.epoch()).unwrap();
        assert!(state.is_unlocked());
        assert!(state.begin_lock().finish().released);
    }

    /// Quitting cancels a push and waits for it to let go (a cancelled push
    /// still deletes its lease, one request); an import is left to the exit.
    #[test]
    fn quit_cancels_cloud_work_and_waits_for_it() {
        let state = AppState::new(PathBuf::from("/nonexistent"));
        let push = state.jobs.start(JobKind::Cloud, "push", None).unwrap();
        let import = state.jobs.start(JobKind::Local, "import", None).unwrap();
        let worker = std::thread::spawn(move || {
            while !push.token.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            // The lease's DELETE.
            std::thread::sleep(Duration::from_millis(100));
            drop(push);
        });
        let started = Instant::now();
        assert!(state.quit(Duration::from_secs(5)).is_empty());
        assert!(started.elapsed() >= Duration::from_millis(90));
        assert!(!import.token.is_cancelled());
        worker.join().unwrap();
        // A job that never lets go is waited for only so long.
        let stuck = state.jobs.start(JobKind::CloudRead, "device listing", None);
        assert_eq!(
            state.quit(Duration::from_millis(30)),
            ["device listing"],
            "{:?}",
            stuck.as_ref().map(|j| j.token.is_cancelled()).ok()
        );
    }
}
