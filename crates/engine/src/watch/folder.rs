//! One watched folder while the watcher runs: whether it is there, how it is
//! watched (events, polling), the files waiting to become stable, and what
//! happens to each file after the import.

use std::collections::{HashMap, HashSet};
use std::fs::{self, Metadata};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::Watcher as _;

use super::disk::{ReadCheck, Stamp, identity, network_fs, read_whole};
use super::filter::{self, Ignore};
use super::policy::{move_aside, verify_track};
use super::runner::{Notification, Op, Out, Shared};
use super::{
    AfterImport, FolderState, FolderStatus, KnownFile, KnownStatus, NOT_IMPORTED_DIR, WatchError,
    WatchEvent, WatchFolder,
};
use crate::catalog::{Catalog, TrackId};
use crate::error::describe_io_error;
use crate::progress::{FileResult, Outcome};
use crate::store::hex;

/// A file that cannot be read is tried this many times before it is given up
/// (moved to 'Not imported'); so is a file whose import failed (rather than
/// was rejected), since failures can be passing (a full disk, a busy catalog).
const ATTEMPTS: u32 = 3;

/// A file seen but not yet imported.
pub(super) struct Pending {
    stamp: Stamp,
    /// When the file was last seen to change (for a first look: when its times
    /// say it last changed, but no earlier than one settle time ago).
    changed_at: Instant,
    /// Not looked at again before this (after a busy or unreadable check).
    not_before: Option<Instant>,
    attempts: u32,
    /// Why it is waiting, once reported.
    pub(super) reason: Option<String>,
    /// When it was first found stable and held back for the rest of its burst.
    settled_at: Option<Instant>,
}

/// A stable file, read whole, to import.
pub(super) struct Ready {
    pub(super) run: usize,
    pub(super) path: PathBuf,
    stamp: Stamp,
    sha: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// Not started yet.
    Idle,
    /// A `once` run: scanned, no events.
    Once,
    Watching,
    Polling(String),
    Unavailable(String),
}

/// One watched folder while the watcher runs.
pub(super) struct FolderRun {
    pub(super) index: usize,
    pub(super) cfg: WatchFolder,
    pub(super) root: PathBuf,
    mode: Mode,
    identity: Option<(u64, u64)>,
    pub(super) watcher: Option<notify::RecommendedWatcher>,
    /// Whether a file's own times may shorten its settle wait (not on network
    /// shares, whose clocks may differ from ours).
    trust_times: bool,
    last_scan: Option<Instant>,
    scan_cost: Duration,
    rescan_needed: bool,
    /// An event said the folder can no longer be watched by events.
    fallback: Option<String>,
    /// Paths named by events since the last tick.
    dirty: HashSet<PathBuf>,
    pub(super) pending: HashMap<PathBuf, Pending>,
    known: HashMap<PathBuf, KnownFile>,
    /// Ignored files already reported in this run.
    reported: HashSet<PathBuf>,
}

#[derive(Default)]
struct ScanCount {
    files: usize,
    known: usize,
}

impl FolderRun {
    pub(super) fn new(
        index: usize,
        cfg: WatchFolder,
        catalog: &Catalog,
    ) -> Result<Self, WatchError> {
        let root = cfg.path.clone();
        Ok(FolderRun {
            index,
            known: catalog.known_files_under(&root)?,
            root,
            cfg,
            mode: Mode::Idle,
            identity: None,
            watcher: None,
            trust_times: true,
            last_scan: None,
            scan_cost: Duration::ZERO,
            rescan_needed: false,
            fallback: None,
            dirty: HashSet::new(),
            pending: HashMap::new(),
            reported: HashSet::new(),
        })
    }

    pub(super) fn status(&self) -> FolderStatus {
        let (state, reason) = match &self.mode {
            Mode::Watching => (FolderState::Watching, None),
            Mode::Polling(r) => (FolderState::Polling, Some(r.clone())),
            Mode::Unavailable(r) => (FolderState::Unavailable, Some(r.clone())),
            Mode::Idle | Mode::Once => (FolderState::Stopped, None),
        };
        FolderStatus {
            path: self.root.clone(),
            state,
            reason,
        }
    }

    pub(super) fn on_notify(&mut self, event: notify::Result<notify::Event>) {
        match event {
            Ok(event) => {
                if event.need_rescan() {
                    self.rescan_needed = true;
                }
                self.dirty.extend(event.paths);
            }
            Err(e) => match e.kind {
                notify::ErrorKind::MaxFilesWatch => {
                    self.fallback = Some(
                        "the inotify watch limit (fs.inotify.max_user_watches) is reached".into(),
                    );
                }
                // Whatever went wrong, a scan finds what the events missed.
                _ => self.rescan_needed = true,
            },
        }
    }

    /// Checks the folder is there, (re)starts watching it, takes in what events
    /// or scans found, and returns the files that have settled.
    pub(super) fn refresh(
        &mut self,
        shared: &Shared<'_>,
        out: &mut Out<'_>,
        tx: &mpsc::Sender<Notification>,
        flush: bool,
    ) -> Result<Vec<PathBuf>, WatchError> {
        let here = match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => Ok(identity(&m)),
            Ok(_) => Err("not a folder".to_string()),
            Err(e) => Err(describe_io_error(&e)),
        };
        match here {
            Err(reason) => {
                if !matches!(&self.mode, Mode::Unavailable(r) if *r == reason) {
                    self.set_unavailable(reason, out)?;
                }
                return Ok(Vec::new());
            }
            Ok(id) => {
                let returned = matches!(self.mode, Mode::Unavailable(_) | Mode::Idle);
                // A different inode: the folder was deleted and made again (or
                // another drive mounted there) between two looks.
                if returned || self.identity != Some(id) {
                    self.identity = Some(id);
                    self.start(shared, out, tx)?;
                }
            }
        }
        if matches!(self.mode, Mode::Unavailable(_)) {
            return Ok(Vec::new());
        }
        if let Some(reason) = self.fallback.take() {
            self.watcher = None;
            self.set_mode(Mode::Polling(reason), shared, out)?;
            self.rescan_needed = true;
        }
        let now = Instant::now();
        let due = match (&self.mode, self.last_scan) {
            (_, None) => true,
            (Mode::Polling(_), Some(last)) => {
                now >= last + shared.config.poll_interval.max(self.scan_cost * 10)
            }
            (Mode::Watching, Some(last)) => now >= last + shared.config.rescan_interval,
            _ => false,
        };
        if self.rescan_needed || due {
            self.rescan_needed = false;
            self.dirty.clear();
            if let Err(reason) = self.scan(shared, out, false) {
                self.set_unavailable(reason, out)?;
                return Ok(Vec::new());
            }
        } else {
            self.take_dirty(shared, out);
        }
        Ok(self.settled(shared.config.max_batch, flush))
    }

    fn set_unavailable(&mut self, reason: String, out: &mut Out<'_>) -> Result<(), WatchError> {
        // Forget what was in flight, but nothing about the library: the files
        // and the memory of what was imported are as they were.
        self.watcher = None;
        self.pending.clear();
        self.dirty.clear();
        self.reported.clear();
        self.last_scan = None;
        self.identity = None;
        self.mode = Mode::Unavailable(reason.clone());
        out.emit(WatchEvent::State {
            folder: self.root.clone(),
            state: FolderState::Unavailable,
            reason: Some(reason.clone()),
        });
        out.activity(&format!(
            "{} is unavailable ({reason}); waiting for it to come back",
            self.root.display()
        ))
    }

    fn set_mode(
        &mut self,
        mode: Mode,
        shared: &Shared<'_>,
        out: &mut Out<'_>,
    ) -> Result<(), WatchError> {
        self.mode = mode;
        let (state, reason, message) = match &self.mode {
            Mode::Watching => (
                FolderState::Watching,
                None,
                format!("watching {}", self.root.display()),
            ),
            Mode::Polling(reason) => {
                let every = shared.config.poll_interval.as_secs_f64();
                (
                    FolderState::Polling,
                    Some(format!("{reason}; scanning every {every} s instead")),
                    format!("watching {} by polling: {reason}", self.root.display()),
                )
            }
            Mode::Idle | Mode::Once | Mode::Unavailable(_) => return Ok(()),
        };
        out.emit(WatchEvent::State {
            folder: self.root.clone(),
            state,
            reason,
        });
        out.activity(&message)
    }

    /// Starts (or restarts) watching: events where they work, polling where
    /// not, then a full scan for what is already there.
    fn start(
        &mut self,
        shared: &Shared<'_>,
        out: &mut Out<'_>,
        tx: &mpsc::Sender<Notification>,
    ) -> Result<(), WatchError> {
        self.watcher = None;
        self.pending.clear();
        self.dirty.clear();
        self.fallback = None;
        let network = network_fs(&self.root);
        self.trust_times = network.is_none();
        if out.once {
            self.mode = Mode::Once;
        } else {
            let polling = if self.cfg.poll {
                Some("polling was asked for".to_string())
            } else if let Some(kind) = network {
                Some(format!(
                    "{kind} network share: changes made on other machines send no events"
                ))
            } else {
                match self.watch_events(tx) {
                    Ok(w) => {
                        self.watcher = Some(w);
                        None
                    }
                    Err(reason) => Some(reason),
                }
            };
            let mode = match polling {
                Some(reason) => Mode::Polling(reason),
                None => Mode::Watching,
            };
            self.set_mode(mode, shared, out)?;
        }
        if let Err(reason) = self.scan(shared, out, true) {
            self.set_unavailable(reason, out)?;
        }
        Ok(())
    }

    fn watch_events(
        &self,
        tx: &mpsc::Sender<Notification>,
    ) -> Result<notify::RecommendedWatcher, String> {
        let index = self.index;
        let tx = tx.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                // The loop may have ended; nothing to do with the event then.
                let _ = tx.send((index, event));
            })
            .map_err(|e| format!("file-system events are unavailable ({e})"))?;
        let mode = if self.cfg.recursive {
            notify::RecursiveMode::Recursive
        } else {
            notify::RecursiveMode::NonRecursive
        };
        watcher.watch(&self.root, mode).map_err(|e| match e.kind {
            notify::ErrorKind::MaxFilesWatch => {
                "the inotify watch limit (fs.inotify.max_user_watches) is reached".to_string()
            }
            _ => format!("file-system events are unavailable for this folder ({e})"),
        })?;
        Ok(watcher)
    }

    /// Walks the folder (or a subfolder an event named). `Err` means the folder
    /// itself cannot be read.
    fn scan(
        &mut self,
        shared: &Shared<'_>,
        out: &mut Out<'_>,
        announce: bool,
    ) -> Result<(), String> {
        let started = Instant::now();
        let root = self.root.clone();
        let count = self.walk(&root, shared, out)?;
        self.scan_cost = started.elapsed();
        self.last_scan = Some(Instant::now());
        if announce {
            out.emit(WatchEvent::Scanned {
                folder: self.root.clone(),
                files: count.files,
                known: count.known,
            });
        }
        Ok(())
    }

    fn walk(
        &mut self,
        dir: &Path,
        shared: &Shared<'_>,
        out: &mut Out<'_>,
    ) -> Result<ScanCount, String> {
        let root = self.root.clone();
        let max_depth = if self.cfg.recursive {
            usize::MAX
        } else {
            // Depth below `dir`: only the folder's own files when not recursive.
            let depth_of_dir = dir
                .strip_prefix(&root)
                .map_or(0, |r| r.components().count());
            if depth_of_dir > 0 {
                return Ok(ScanCount::default());
            }
            1
        };
        let mut found = Vec::new();
        let walker = walkdir::WalkDir::new(dir)
            .min_depth(1)
            .max_depth(max_depth)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| {
                let hidden_dir =
                    e.file_type().is_dir() && e.file_name().to_string_lossy().starts_with('.');
                !hidden_dir && !filter::excluded_dir(&root, e.path())
            });
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_dir() => {}
                // Files, and symbolic links to files (the import follows them).
                Ok(e) => {
                    if let Ok(meta) = fs::metadata(e.path()) {
                        found.push((e.into_path(), meta));
                    }
                }
                Err(e) if e.depth() == 0 => {
                    let reason = e
                        .io_error()
                        .map(describe_io_error)
                        .unwrap_or_else(|| e.to_string());
                    return Err(reason);
                }
                // An unreadable subfolder: its files cannot be imported anyway,
                // and the rest of the tree still can.
                Err(_) => {}
            }
        }
        let now = Instant::now();
        let mut count = ScanCount::default();
        for (path, meta) in found {
            match self.consider(path, &meta, now, shared, out) {
                Seen::Known => {
                    count.files += 1;
                    count.known += 1;
                }
                Seen::Pending => count.files += 1,
                Seen::Ignored => {}
            }
        }
        Ok(count)
    }

    fn take_dirty(&mut self, shared: &Shared<'_>, out: &mut Out<'_>) {
        let dirty = std::mem::take(&mut self.dirty);
        let now = Instant::now();
        for path in dirty {
            if path == self.root || filter::excluded_dir(&self.root, &path) {
                continue;
            }
            match fs::metadata(&path) {
                // Gone: a file deleted or renamed away, or a whole folder.
                Err(_) => self.pending.retain(|p, _| !p.starts_with(&path)),
                Ok(meta) if meta.is_dir() => {
                    // A folder moved or copied in: its files may predate the
                    // watch that inotify adds for it.
                    let _ = self.walk(&path, shared, out);
                }
                Ok(meta) => {
                    if !self.cfg.recursive && path.parent() != Some(self.root.as_path()) {
                        continue;
                    }
                    self.consider(path, &meta, now, shared, out);
                }
            }
        }
    }

    /// Takes a file in for waiting, unless its name, extension or the memory of
    /// an earlier import says to leave it.
    fn consider(
        &mut self,
        path: PathBuf,
        meta: &Metadata,
        now: Instant,
        shared: &Shared<'_>,
        out: &mut Out<'_>,
    ) -> Seen {
        if !meta.is_file() {
            return Seen::Ignored;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match filter::ignore_name(&name) {
            Some(Ignore::Hidden) => return Seen::Ignored,
            Some(Ignore::Temporary(what)) => {
                self.pending.remove(&path);
                self.report_ignored(
                    path,
                    format!("{what}: it is imported once it is renamed"),
                    out,
                );
                return Seen::Ignored;
            }
            None => {}
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        if !ext
            .as_deref()
            .is_some_and(|e| shared.settings.allows_extension(e))
        {
            let reason = match ext {
                Some(ext) => format!("not an audio file ('.{ext}' is not an allowed extension)"),
                None => "not an audio file (no extension)".to_string(),
            };
            self.report_ignored(path, reason, out);
            return Seen::Ignored;
        }
        let stamp = Stamp::of(meta);
        if self
            .known
            .get(&path)
            .is_some_and(|k| k.size == stamp.size && k.mtime_ns == stamp.mtime_ns)
        {
            self.pending.remove(&path);
            return Seen::Known;
        }
        let settle = self.cfg.settle;
        let trust_times = self.trust_times;
        self.pending
            .entry(path)
            .and_modify(|p| {
                if p.stamp != stamp {
                    p.stamp = stamp;
                    p.changed_at = now;
                }
            })
            .or_insert_with(|| {
                // A file whose times show it has not changed for the settle time
                // (it sat here while nothing watched) need not wait again.
                let age = if trust_times {
                    SystemTime::now()
                        .duration_since(stamp.last_change())
                        .unwrap_or(Duration::ZERO)
                } else {
                    Duration::ZERO
                };
                Pending {
                    stamp,
                    changed_at: now.checked_sub(age.min(settle)).unwrap_or(now),
                    not_before: None,
                    attempts: 0,
                    reason: None,
                    settled_at: None,
                }
            });
        Seen::Pending
    }

    fn report_ignored(&mut self, path: PathBuf, reason: String, out: &mut Out<'_>) {
        if self.reported.insert(path.clone()) {
            out.emit(WatchEvent::Ignored { path, reason });
        }
    }

    /// Re-reads each waiting file's size and times; returns those unchanged for
    /// the settle time — held back while other files of the folder are still
    /// changing, so a burst (an album copied in) becomes one import job. The
    /// hold ends when the folder is quiet, after a cap (a folder that never
    /// rests), at `max_batch` files, or when `flush` says the run is ending.
    fn settled(&mut self, max_batch: usize, flush: bool) -> Vec<PathBuf> {
        let now = Instant::now();
        let settle = self.cfg.settle;
        let mut settled = Vec::new();
        let mut others_changing = false;
        let mut held_longest = Duration::ZERO;
        self.pending.retain(|path, p| match fs::metadata(path) {
            Ok(meta) if meta.is_file() => {
                let stamp = Stamp::of(&meta);
                if stamp != p.stamp {
                    p.stamp = stamp;
                    p.changed_at = now;
                    p.settled_at = None;
                    others_changing = true;
                } else if now.duration_since(p.changed_at) < settle {
                    others_changing = true;
                } else if p.not_before.is_none_or(|t| now >= t) {
                    let since = *p.settled_at.get_or_insert(now);
                    held_longest = held_longest.max(now.duration_since(since));
                    settled.push(path.clone());
                }
                true
            }
            // Deleted or renamed away before it settled: nothing to import.
            _ => false,
        });
        let cap = (settle * 10).clamp(Duration::from_secs(5), Duration::from_secs(60));
        if others_changing && !flush && held_longest < cap && settled.len() < max_batch {
            return Vec::new();
        }
        settled.sort();
        settled
    }

    /// Puts a file back to wait, telling the user why the first time.
    pub(super) fn defer(&mut self, path: &Path, reason: String, out: &mut Out<'_>) {
        let Some(p) = self.pending.get_mut(path) else {
            return;
        };
        p.not_before = Some(Instant::now() + self.cfg.settle.max(Duration::from_secs(1)));
        if p.reason.as_deref() != Some(reason.as_str()) {
            p.reason = Some(reason.clone());
            out.emit(WatchEvent::Waiting {
                path: path.to_path_buf(),
                reason,
            });
        }
    }

    /// Reads a settled file to the end. Returns it ready for import, unless it
    /// changed meanwhile, cannot be read, or is a remembered file that was only
    /// touched.
    pub(super) fn read_check(
        &mut self,
        path: &Path,
        shared: &Shared<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<Ready>, WatchError> {
        let Some(stamp) = self.pending.get(path).map(|p| p.stamp) else {
            return Ok(None);
        };
        let sha = match read_whole(path, &stamp, shared.cancel) {
            ReadCheck::Whole(sha) => sha,
            ReadCheck::Cancelled => return Ok(None),
            ReadCheck::Changed => {
                if let Some(p) = self.pending.get_mut(path) {
                    p.changed_at = Instant::now();
                }
                return Ok(None);
            }
            ReadCheck::Unreadable(reason) => {
                let attempts = self.pending.get_mut(path).map_or(ATTEMPTS, |p| {
                    p.attempts += 1;
                    p.attempts
                });
                if attempts < ATTEMPTS {
                    self.defer(path, format!("cannot be read yet: {reason}"), out);
                } else {
                    let mut ops = Vec::new();
                    self.give_up(
                        path,
                        stamp,
                        None,
                        Outcome::Failed,
                        format!("cannot be read: {reason}"),
                        out,
                        &mut ops,
                    );
                    out.catalog.in_transaction(|c| {
                        for op in &ops {
                            op.apply(c)?;
                        }
                        Ok::<_, WatchError>(())
                    })?;
                }
                return Ok(None);
            }
        };
        if let Some(k) = self.known.get(path)
            && k.sha256 == Some(sha)
        {
            // The content it had when it was taken up: only its dates changed
            // (a touch, a copy over itself). Remember the new dates.
            let known = KnownFile {
                size: stamp.size,
                mtime_ns: stamp.mtime_ns,
                ..k.clone()
            };
            self.pending.remove(path);
            out.catalog.remember_file(path, &self.root, &known)?;
            if known.status != KnownStatus::NotImported {
                out.emit(WatchEvent::Skipped {
                    path: path.to_path_buf(),
                    reason: "unchanged since it was imported (only its date changed)".into(),
                    track_id: known.track_id.clone().map(TrackId),
                    source_removed: false,
                });
            }
            self.known.insert(path.to_path_buf(), known);
            return Ok(None);
        }
        Ok(Some(Ready {
            run: self.index,
            path: path.to_path_buf(),
            stamp,
            sha,
        }))
    }

    /// Applies the import's verdict on one file.
    pub(super) fn after_import(
        &mut self,
        r: &Ready,
        result: Option<&FileResult>,
        shared: &Shared<'_>,
        out: &mut Out<'_>,
        ops: &mut Vec<Op>,
    ) {
        // Not reached before a cancel: it stays pending for the next run.
        let Some(result) = result else {
            return;
        };
        let path = r.path.as_path();
        match result.outcome {
            Outcome::Imported | Outcome::Duplicate => {
                let (Some(id), Some(sha_hex)) = (&result.id, &result.sha256) else {
                    return;
                };
                if *sha_hex != hex(&r.sha) {
                    // It changed between our read and the import's: the vault has
                    // the newer content; look at the file again.
                    if let Some(p) = self.pending.get_mut(path) {
                        p.changed_at = Instant::now();
                    }
                    return;
                }
                self.pending.remove(path);
                ops.push(Op::Resolve(path.to_path_buf()));
                let mut removed = false;
                if self.cfg.after_import == AfterImport::Remove {
                    match self.remove_verified(r, id, shared, out) {
                        Ok(()) => removed = true,
                        Err(why) => {
                            let message = format!("kept {}: {why}", path.display());
                            out.emit(WatchEvent::Notice {
                                folder: Some(self.root.clone()),
                                message: message.clone(),
                            });
                            ops.push(Op::Activity(message));
                        }
                    }
                }
                if removed {
                    self.known.remove(path);
                    ops.push(Op::Forget(path.to_path_buf()));
                } else {
                    let known = KnownFile {
                        size: r.stamp.size,
                        mtime_ns: r.stamp.mtime_ns,
                        sha256: Some(r.sha),
                        status: if result.outcome == Outcome::Imported {
                            KnownStatus::Imported
                        } else {
                            KnownStatus::Duplicate
                        },
                        track_id: Some(id.to_string()),
                    };
                    self.known.insert(path.to_path_buf(), known.clone());
                    ops.push(Op::Remember {
                        path: path.to_path_buf(),
                        folder: self.root.clone(),
                        known,
                    });
                }
                let event = if result.outcome == Outcome::Imported {
                    WatchEvent::Imported {
                        path: path.to_path_buf(),
                        track_id: id.clone(),
                        sha256: sha_hex.clone(),
                        size_bytes: r.stamp.size,
                        source_removed: removed,
                    }
                } else {
                    WatchEvent::Skipped {
                        path: path.to_path_buf(),
                        reason: result
                            .reason
                            .clone()
                            .unwrap_or_else(|| format!("already in the vault as track {id}")),
                        track_id: Some(id.clone()),
                        source_removed: removed,
                    }
                };
                log_and_emit(event, out, ops);
            }
            Outcome::Rejected | Outcome::Failed => {
                if shared.cancel.is_cancelled() {
                    return;
                }
                // Judge the file by what it is now, not by the error's words:
                // gone means nothing to do, changed means not ready after all.
                match fs::metadata(path) {
                    Err(_) => {
                        self.pending.remove(path);
                        return;
                    }
                    Ok(meta) if Stamp::of(&meta) != r.stamp => {
                        if let Some(p) = self.pending.get_mut(path) {
                            p.stamp = Stamp::of(&meta);
                            p.changed_at = Instant::now();
                        }
                        return;
                    }
                    Ok(_) => {}
                }
                let reason = result
                    .reason
                    .clone()
                    .unwrap_or_else(|| "the import failed".into());
                if result.outcome == Outcome::Failed {
                    let attempts = self.pending.get_mut(path).map_or(ATTEMPTS, |p| {
                        p.attempts += 1;
                        p.attempts
                    });
                    if attempts < ATTEMPTS {
                        self.defer(path, format!("import failed, trying again: {reason}"), out);
                        return;
                    }
                }
                let outcome = if result.outcome == Outcome::Rejected {
                    Outcome::Rejected
                } else {
                    Outcome::Failed
                };
                self.give_up(path, r.stamp, Some(r.sha), outcome, reason, out, ops);
            }
        }
    }

    /// Removes an imported file from the folder, only after its track was read
    /// back from the vault and matched, and only if the file is still the one
    /// that was imported.
    fn remove_verified(
        &self,
        r: &Ready,
        id: &TrackId,
        shared: &Shared<'_>,
        out: &Out<'_>,
    ) -> Result<(), String> {
        verify_track(shared.vault, &out.catalog, id, &hex(&r.sha))?;
        let now = fs::metadata(&r.path).map_err(|e| describe_io_error(&e))?;
        if Stamp::of(&now) != r.stamp {
            return Err("it changed after it was imported".into());
        }
        fs::remove_file(&r.path)
            .map_err(|e| format!("it could not be removed: {}", describe_io_error(&e)))
    }

    /// Puts a file on the 'Not imported' list, moved aside unless the folder's
    /// policy leaves failures in place. Never deletes it.
    #[allow(clippy::too_many_arguments)]
    fn give_up(
        &mut self,
        path: &Path,
        stamp: Stamp,
        sha: Option<[u8; 32]>,
        outcome: Outcome,
        reason: String,
        out: &mut Out<'_>,
        ops: &mut Vec<Op>,
    ) {
        self.pending.remove(path);
        let mut moved_to = None;
        if self.cfg.move_failures {
            match move_aside(&self.root, path) {
                Ok(to) => moved_to = Some(to),
                Err(e) => {
                    let message = format!(
                        "could not move {} into '{NOT_IMPORTED_DIR}' ({}); it was left where it is",
                        path.display(),
                        describe_io_error(&e)
                    );
                    out.emit(WatchEvent::Notice {
                        folder: Some(self.root.clone()),
                        message: message.clone(),
                    });
                    ops.push(Op::Activity(message));
                }
            }
        }
        if moved_to.is_some() {
            self.known.remove(path);
            ops.push(Op::Forget(path.to_path_buf()));
        } else {
            // Left in place: not tried again until it changes.
            let known = KnownFile {
                size: stamp.size,
                mtime_ns: stamp.mtime_ns,
                sha256: sha,
                status: KnownStatus::NotImported,
                track_id: None,
            };
            self.known.insert(path.to_path_buf(), known.clone());
            ops.push(Op::Remember {
                path: path.to_path_buf(),
                folder: self.root.clone(),
                known,
            });
        }
        ops.push(Op::Failure {
            folder: self.root.clone(),
            path: path.to_path_buf(),
            moved_to: moved_to.clone(),
            outcome,
            reason: reason.clone(),
            size: stamp.size,
        });
        log_and_emit(
            WatchEvent::NotImported {
                path: path.to_path_buf(),
                outcome,
                reason,
                moved_to,
            },
            out,
            ops,
        );
    }
}

/// Reports a file's outcome and keeps it in the vault's activity log, in the
/// same words.
fn log_and_emit(event: WatchEvent, out: &mut Out<'_>, ops: &mut Vec<Op>) {
    if let Some(line) = event.describe() {
        ops.push(Op::Activity(line.to_string()));
    }
    out.emit(event);
}

enum Seen {
    Known,
    Pending,
    Ignored,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::CancelToken;
    use crate::secret::Passphrase;
    use crate::vault::{CreateOptions, Vault};
    use crate::watch::{WatchConfig, WatchReport};

    #[test]
    fn hitting_the_inotify_watch_limit_falls_back_to_polling_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let options = CreateOptions {
            kdf_memory_kib: 1024,
            kdf_iterations: 1,
            ..CreateOptions::default()
        };
        let vault =
            Vault::create(&dir.path().join("vault"), &Passphrase::new("pw"), &options).unwrap();
        let inbox = fs::canonicalize(dir.path()).unwrap().join("inbox");
        fs::create_dir(&inbox).unwrap();
        let config = WatchConfig::new(vec![WatchFolder::new(inbox.clone())]);
        let cancel = CancelToken::new();
        let shared = Shared {
            vault: &vault,
            settings: vault.settings().unwrap(),
            config: &config,
            cancel: &cancel,
        };
        let events = std::sync::Mutex::new(Vec::new());
        let sink = |e: &WatchEvent| events.lock().unwrap().push(e.clone());
        let mut out = Out {
            events: &sink,
            catalog: vault.open_catalog().unwrap(),
            report: WatchReport::default(),
            once: false,
            held: None,
        };
        let (tx, _rx) = mpsc::channel();
        let mut run = FolderRun::new(0, config.folders[0].clone(), &out.catalog).unwrap();
        run.refresh(&shared, &mut out, &tx, false).unwrap();
        assert_eq!(run.mode, Mode::Watching);
        assert!(run.watcher.is_some());

        // What notify reports when inotify cannot add a watch for a new subfolder.
        run.on_notify(Err(notify::Error::new(notify::ErrorKind::MaxFilesWatch)));
        run.refresh(&shared, &mut out, &tx, false).unwrap();
        assert!(matches!(&run.mode, Mode::Polling(r) if r.contains("max_user_watches")));
        assert!(run.watcher.is_none());
        let events = events.into_inner().unwrap();
        assert!(events.iter().any(|e| matches!(
            e,
            WatchEvent::State { state: FolderState::Polling, reason: Some(r), .. }
                if r.contains("watch limit") && r.contains("scanning every")
        )));
        let log = vault.watch_activity(10).unwrap();
        assert!(log.iter().any(|a| a.message.contains("by polling")));
    }
}
