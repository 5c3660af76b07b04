//! The watcher's loop: find files, wait until they are stable, import them in
//! batches, apply each folder's policy, and keep going through folders that
//! come and go.
//!
//! Everything runs on the caller's thread. `notify` delivers events from its
//! own thread into a channel; the loop only records the paths they name and
//! looks at them on the next tick, so a burst of thousands of events costs one
//! `stat` per file, and the imports themselves are batched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::folder::{FolderRun, Ready};
use super::procfs;
use super::{
    FolderState, KnownFile, WatchConfig, WatchError, WatchEvent, WatchEvents, WatchFolder,
    WatchReport, WatchedFile, check_overlap,
};
use crate::catalog::Catalog;
use crate::ingest::{FileResult, ImportOptions};
use crate::progress::{CancelToken, NoProgress, Outcome};
use crate::vault::{Settings, Vault};

/// Watches folders and imports what lands in them. See the module docs.
pub struct Watcher {
    config: WatchConfig,
}

/// An event from a folder's `notify` watcher, tagged with the folder's index.
pub(super) type Notification = (usize, notify::Result<notify::Event>);

impl Watcher {
    pub fn new(config: WatchConfig) -> Self {
        Watcher { config }
    }

    pub fn config(&self) -> &WatchConfig {
        &self.config
    }

    /// Runs until `cancel` is tripped (or, with `once`, after one pass), then
    /// returns what it did. Errors that end the run are those of the vault and
    /// its catalog; a folder's trouble only changes that folder's state.
    pub fn run(
        &self,
        vault: &Vault,
        events: &dyn WatchEvents,
        cancel: &CancelToken,
    ) -> Result<WatchReport, WatchError> {
        let folders: Vec<WatchFolder> = self
            .config
            .folders
            .iter()
            .filter(|f| f.enabled)
            .cloned()
            .collect();
        if folders.is_empty() {
            return Err(WatchError::NothingToWatch);
        }
        for f in &folders {
            check_overlap(f, vault.root())?;
        }
        let catalog = vault.open_catalog()?;
        let shared = Shared {
            vault,
            settings: vault.settings()?,
            config: &self.config,
            cancel,
        };
        let mut out = Out {
            events,
            catalog,
            report: WatchReport::default(),
            once: self.config.once,
            held: None,
        };
        let mut runs = Vec::with_capacity(folders.len());
        for (index, folder) in folders.into_iter().enumerate() {
            runs.push(FolderRun::new(index, folder, &out.catalog)?);
        }

        let min_settle = runs.iter().map(|r| r.cfg.settle).min().unwrap_or_default();
        let max_settle = runs.iter().map(|r| r.cfg.settle).max().unwrap_or_default();
        let tick = (min_settle / 4).clamp(Duration::from_millis(50), Duration::from_millis(500));
        // A one-pass run waits about one settle time for files that changed
        // recently, plus a margin so that a slow scan on a loaded machine does
        // not cut a burst in two.
        let deadline = Instant::now() + max_settle + Duration::from_secs(1) + tick * 2;
        // The loop keeps a sender so the channel never reads as closed (which
        // would make recv_timeout return at once) when no folder has events.
        let (tx, rx) = mpsc::channel::<Notification>();
        let mut next_tick = Instant::now();

        loop {
            if cancel.is_cancelled() {
                out.report.cancelled = true;
                break;
            }
            if Instant::now() >= next_tick {
                let flush = self.config.once && Instant::now() >= deadline;
                let (idle, progressed) = self.tick(&shared, &mut runs, &mut out, &tx, flush)?;
                // Past the deadline, a one-pass run still finishes the files that
                // became ready meanwhile; it stops once a round brings nothing.
                if self.config.once && (idle || (Instant::now() >= deadline && !progressed)) {
                    break;
                }
                next_tick = Instant::now() + tick;
            }
            let wait = next_tick.saturating_duration_since(Instant::now());
            if let Ok((i, event)) = rx.recv_timeout(wait) {
                if let Some(run) = runs.get_mut(i) {
                    run.on_notify(event);
                }
                while let Ok((i, event)) = rx.try_recv() {
                    if let Some(run) = runs.get_mut(i) {
                        run.on_notify(event);
                    }
                }
            }
        }

        for run in &mut runs {
            out.report.folders.push(run.status());
            if self.config.once {
                for (path, p) in &run.pending {
                    out.report.waiting.push(WatchedFile {
                        path: path.clone(),
                        reason: Some(p.reason.clone().unwrap_or_else(|| {
                            "still changing: it is taken up once it is stable".into()
                        })),
                        ..WatchedFile::default()
                    });
                }
            } else {
                run.watcher = None;
                out.emit(WatchEvent::State {
                    folder: run.root.clone(),
                    state: FolderState::Stopped,
                    reason: None,
                });
                out.activity(&format!("stopped watching {}", run.root.display()))?;
            }
        }
        out.report.waiting.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out.report)
    }

    /// One round: refresh each folder, check the files that look settled, import
    /// those that are stable. Returns whether nothing is left pending, and
    /// whether any file was imported or given up.
    fn tick(
        &self,
        shared: &Shared<'_>,
        runs: &mut [FolderRun],
        out: &mut Out<'_>,
        tx: &mpsc::Sender<Notification>,
        flush: bool,
    ) -> Result<(bool, bool), WatchError> {
        let mut progressed = false;
        let mut settled: Vec<(usize, PathBuf)> = Vec::new();
        for run in runs.iter_mut() {
            for path in run.refresh(shared, out, tx, flush)? {
                settled.push((run.index, path));
            }
        }
        if !settled.is_empty() {
            // One sweep of /proc for the whole batch.
            let paths: Vec<&Path> = settled.iter().map(|(_, p)| p.as_path()).collect();
            let writers = procfs::writers(&paths);
            let mut ready = Vec::new();
            for (i, path) in settled {
                if shared.cancel.is_cancelled() {
                    break;
                }
                let run = &mut runs[i];
                if let Some(writer) = writers.get(&path) {
                    run.defer(
                        &path,
                        format!("still being written: {writer} has it open for writing"),
                        out,
                    );
                    continue;
                }
                if let Some(r) = run.read_check(&path, shared, out)? {
                    ready.push(r);
                }
            }
            progressed = !ready.is_empty();
            self.import(shared, runs, ready, out)?;
        }
        Ok((runs.iter().all(|r| r.pending.is_empty()), progressed))
    }

    fn import(
        &self,
        shared: &Shared<'_>,
        runs: &mut [FolderRun],
        ready: Vec<Ready>,
        out: &mut Out<'_>,
    ) -> Result<(), WatchError> {
        let options = ImportOptions {
            source: crate::ingest::ImportSource::Watch,
            ..ImportOptions::default()
        };
        for batch in ready.chunks(self.config.max_batch.max(1)) {
            if shared.cancel.is_cancelled() {
                break;
            }
            let paths: Vec<PathBuf> = batch.iter().map(|r| r.path.clone()).collect();
            let report = shared
                .vault
                .import(&paths, &options, &NoProgress, shared.cancel)?;
            out.emit(WatchEvent::Batch {
                job_id: report.job_id,
                files: paths.len(),
                imported: report.imported,
                duplicates: report.duplicates,
                rejected: report.rejected,
                failed: report.failed,
            });
            let results: HashMap<&Path, &FileResult> = report
                .files
                .iter()
                .map(|f| (f.source.as_path(), f))
                .collect();
            let mut ops = Vec::new();
            // The files' events wait for the batch's catalog writes: a listener
            // that reads the 'Not imported' list on `not_imported` finds the entry.
            out.held = Some(Vec::new());
            for r in batch {
                let result = results.get(r.path.as_path()).copied();
                runs[r.run].after_import(r, result, shared, out, &mut ops);
            }
            let committed = out.catalog.in_transaction(|c| {
                for op in &ops {
                    op.apply(c)?;
                }
                Ok::<_, WatchError>(())
            });
            for event in out.held.take().unwrap_or_default() {
                out.events.event(&event);
            }
            committed?;
        }
        Ok(())
    }
}

pub(super) struct Shared<'a> {
    pub(super) vault: &'a Vault,
    pub(super) settings: Settings,
    pub(super) config: &'a WatchConfig,
    pub(super) cancel: &'a CancelToken,
}

/// Where results go: the caller's event sink, the activity log, the report.
pub(super) struct Out<'a> {
    pub(super) events: &'a dyn WatchEvents,
    pub(super) catalog: Catalog,
    pub(super) report: WatchReport,
    pub(super) once: bool,
    /// Events held back until a batch's catalog writes are committed.
    pub(super) held: Option<Vec<WatchEvent>>,
}

impl Out<'_> {
    pub(super) fn emit(&mut self, event: WatchEvent) {
        let keep = self.once;
        let r = &mut self.report;
        match &event {
            WatchEvent::Imported {
                path,
                track_id,
                sha256,
                source_removed,
                ..
            } => {
                r.imported_count += 1;
                if keep {
                    r.imported.push(WatchedFile {
                        path: path.clone(),
                        track_id: Some(track_id.clone()),
                        sha256: Some(sha256.clone()),
                        source_removed: *source_removed,
                        ..WatchedFile::default()
                    });
                }
            }
            WatchEvent::Skipped {
                path,
                reason,
                track_id,
                source_removed,
            } => {
                r.skipped_count += 1;
                if keep {
                    r.skipped.push(WatchedFile {
                        path: path.clone(),
                        reason: Some(reason.clone()),
                        track_id: track_id.clone(),
                        source_removed: *source_removed,
                        ..WatchedFile::default()
                    });
                }
            }
            WatchEvent::NotImported {
                path,
                reason,
                moved_to,
                ..
            } => {
                r.not_imported_count += 1;
                if keep {
                    r.not_imported.push(WatchedFile {
                        path: path.clone(),
                        reason: Some(reason.clone()),
                        moved_to: moved_to.clone(),
                        ..WatchedFile::default()
                    });
                }
            }
            _ => {}
        }
        match &mut self.held {
            Some(held) => held.push(event),
            None => self.events.event(&event),
        }
    }

    pub(super) fn activity(&self, message: &str) -> Result<(), WatchError> {
        Ok(self
            .catalog
            .log_activity(crate::catalog::LogKind::Watch, message)?)
    }
}

/// A catalog write of a batch, applied in one transaction once the batch's
/// files have been dealt with (file operations never run inside it, so the
/// write lock is held for milliseconds).
pub(super) enum Op {
    Remember {
        path: PathBuf,
        folder: PathBuf,
        known: KnownFile,
    },
    Forget(PathBuf),
    Failure {
        folder: PathBuf,
        path: PathBuf,
        moved_to: Option<PathBuf>,
        outcome: Outcome,
        reason: String,
        size: u64,
    },
    Resolve(PathBuf),
    Activity(String),
}

impl Op {
    pub(super) fn apply(&self, c: &Catalog) -> Result<(), WatchError> {
        match self {
            Op::Remember {
                path,
                folder,
                known,
            } => c.remember_file(path, folder, known)?,
            Op::Forget(path) => c.forget_file(path)?,
            Op::Failure {
                folder,
                path,
                moved_to,
                outcome,
                reason,
                size,
            } => c.add_watch_failure(
                folder,
                path,
                moved_to.as_deref(),
                *outcome,
                reason,
                Some(*size),
            )?,
            Op::Resolve(path) => {
                c.resolve_watch_failures(path)?;
            }
            Op::Activity(message) => c.log_activity(crate::catalog::LogKind::Watch, message)?,
        }
        Ok(())
    }
}
