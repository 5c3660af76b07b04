//! The import pipeline: scan → per file (validate, hash, chunk, encrypt, store)
//! → make chunks durable → commit to the catalog.
//!
//! Files are imported in parallel (one worker per core), each streamed with
//! memory bounded by the chunker's maximum chunk size. Every file gets its own
//! outcome; one bad file never stops the batch. Sources are opened read-only.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::catalog::{
    Catalog, CommitOutcome, MetadataUpdate, NewArtwork, NewChunk, NewTrack, TrackId, TrackMetadata,
    TrackState,
};
use crate::error::{Error, Result, describe_io_error, is_disk_full};
use crate::media::{self, MediaError, MediaInfo};
use crate::mutex::lock;
use crate::progress::{CancelToken, Progress};
use crate::store::{ChunkId, OBJECT_OVERHEAD, StoreError, chunker, hex};
use crate::vault::{Settings, Vault};

pub use crate::progress::{FileResult, Outcome};

#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportReport {
    pub job_id: i64,
    pub files: Vec<FileResult>,
    pub imported: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub failed: usize,
    pub cancelled: bool,
    pub warnings: Vec<String>,
    /// Cover thumbnails this import decoded and scaled: one per distinct picture the
    /// catalog had none of (what the benchmarks and tests watch; not in the JSON).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub thumbnails_made: usize,
}

/// Who started an import, recorded with its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ImportSource {
    #[default]
    Cli,
    App,
    Watch,
}

impl ImportSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportSource::Cli => "cli",
            ImportSource::App => "app",
            ImportSource::Watch => "watch",
        }
    }

    pub fn parse(name: &str) -> Option<ImportSource> {
        [ImportSource::Cli, ImportSource::App, ImportSource::Watch]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub source: ImportSource,
    /// Files imported at once; 0 means one per core.
    pub workers: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            source: ImportSource::Cli,
            workers: 0,
        }
    }
}

/// A file the scan found, or a path the scan could not read.
struct Candidate {
    path: PathBuf,
    size: u64,
    scan_error: Option<String>,
}

/// Why a batch's commit failed, in the same words: its chunks' syncfs or its
/// records may have found the disk full.
fn describe_commit_error(e: &crate::catalog::CatalogError) -> String {
    use crate::catalog::CatalogError;
    use crate::records::RecordError;
    match e {
        CatalogError::Store(s) => describe_store_error(s),
        CatalogError::Records(RecordError::Io { path, source }) if is_disk_full(source) => {
            format!(
                "the vault's disk is full: {} (writing {})",
                describe_io_error(source),
                path.display()
            )
        }
        other => other.to_string(),
    }
}

/// A chunk store failure in words a user can act on: a full disk says so first,
/// then where the write was refused.
pub(crate) fn describe_store_error(e: &StoreError) -> String {
    match e {
        StoreError::Io { path, source } if is_disk_full(source) => format!(
            "the vault's disk is full: {} (writing {})",
            describe_io_error(source),
            path.display()
        ),
        other => other.to_string(),
    }
}

fn scan(inputs: &[PathBuf]) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut push_error = |path: PathBuf, reason: String| {
        out.push(Candidate {
            path,
            size: 0,
            scan_error: Some(reason),
        })
    };
    let mut files = Vec::new();
    for input in inputs {
        match fs::metadata(input) {
            Err(e) => push_error(input.clone(), describe_io_error(&e)),
            Ok(meta) if meta.is_dir() => {
                // Hidden files and folders inside a folder (.DS_Store, ._ AppleDouble
                // files, .git) are the system's, not the user's music: skipped.
                let walker = walkdir::WalkDir::new(input)
                    .follow_links(true)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| {
                        e.depth() == 0 || !e.file_name().as_encoded_bytes().starts_with(b".")
                    });
                for entry in walker {
                    match entry {
                        Ok(entry) if entry.file_type().is_dir() => {}
                        Ok(entry) => {
                            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                            files.push((entry.into_path(), size));
                        }
                        Err(e) => {
                            let path = e
                                .path()
                                .map(Path::to_path_buf)
                                .unwrap_or_else(|| input.clone());
                            let reason = if e.loop_ancestor().is_some() {
                                "symbolic link loop".to_string()
                            } else if let Some(io) = e.io_error() {
                                describe_io_error(io)
                            } else {
                                e.to_string()
                            };
                            push_error(path, reason);
                        }
                    }
                }
            }
            Ok(meta) => files.push((input.clone(), meta.len())),
        }
    }
    out.extend(files.into_iter().map(|(path, size)| Candidate {
        path,
        size,
        scan_error: None,
    }));
    out
}

impl Vault {
    /// Imports files and folders (recursively). Returns a report with one result
    /// per file; errors that stop the whole batch (the catalog cannot be opened)
    /// are the only `Err`.
    pub fn import(
        &self,
        inputs: &[PathBuf],
        options: &ImportOptions,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<ImportReport> {
        let _lock = self.lock_shared()?;
        let settings = self.settings()?;
        let job_id = self.catalog().start_import_job(options.source.as_str())?;
        let candidates = scan(inputs);
        progress.queued(
            &candidates
                .iter()
                .map(|c| c.path.as_path())
                .collect::<Vec<_>>(),
        );
        progress.start(
            candidates.len() as u64,
            candidates.iter().map(|c| c.size).sum(),
        );

        let workers = match options.workers {
            0 => crate::workers::file_workers(),
            n => n,
        }
        .min(candidates.len().max(1));
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<FileResult>>> = Mutex::new(vec![None; candidates.len()]);
        let fatal: Mutex<Option<Error>> = Mutex::new(None);
        let shared = BatchShared::default();

        // Workers read, hash, chunk, encrypt and write; one committer makes what
        // they wrote durable and commits it. Durability is a group commit: one
        // syncfs covers every file finished meanwhile, and the workers go on
        // reading while the disk flushes.
        let (to_committer, committed) = mpsc::channel::<Box<ReadyTrack>>();
        let (results_ref, fatal_ref, next_ref, settings_ref, candidates_ref, shared_ref) =
            (&results, &fatal, &next, &settings, &candidates, &shared);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut catalog = match self.open_catalog() {
                    Ok(c) => c,
                    Err(e) => {
                        lock(fatal_ref).get_or_insert(e);
                        return;
                    }
                };
                while let Ok(first) = committed.recv() {
                    let mut batch = vec![first];
                    while batch.len() < 256 {
                        match committed.try_recv() {
                            Ok(more) => batch.push(more),
                            Err(_) => break,
                        }
                    }
                    // Every chunk the batch references, not only those it wrote: a chunk
                    // found already stored may be another live process's write that is
                    // not on the disk yet. Nothing dirty makes the syncfs cheap.
                    let referenced: Vec<ChunkId> =
                        batch.iter().flat_map(|r| r.referenced_chunks()).collect();
                    // One transaction for the whole batch: one WAL sync, not one per
                    // file, and one syncfs inside it that makes the chunks and the
                    // batch's records durable before the commit.
                    let tracks: Vec<NewTrack<'_>> =
                        batch.iter().map(|r| r.new_track(job_id)).collect();
                    let outcomes: Vec<std::result::Result<CommitOutcome, String>> = match catalog
                        .commit_import_batch(
                            &tracks,
                            settings_ref.quota_bytes,
                            self.store(),
                            &referenced,
                        ) {
                        Ok(o) => o.into_iter().map(Ok).collect(),
                        Err(e) => {
                            let reason = describe_commit_error(&e);
                            batch.iter().map(|_| Err(reason.clone())).collect()
                        }
                    };
                    drop(tracks);
                    for (ready, outcome) in batch.into_iter().zip(outcomes) {
                        let index = ready.index;
                        let result = ready.into_result(outcome);
                        progress.item_result(&result);
                        lock(results_ref)[index] = Some(result);
                    }
                }
            });
            for _ in 0..workers {
                let to_committer = to_committer.clone();
                scope.spawn(move || {
                    let catalog = match self.open_catalog() {
                        Ok(c) => c,
                        Err(e) => {
                            lock(fatal_ref).get_or_insert(e);
                            return;
                        }
                    };
                    let mut worker = Worker {
                        catalog,
                        buffers: WorkerBuffers::default(),
                    };
                    loop {
                        if cancel.is_cancelled() || lock(fatal_ref).is_some() {
                            return;
                        }
                        // In the scan's order, not largest first: on a disk about to
                        // fill, a big file that does not fit would take the space of
                        // the smaller ones after it (`disk_full` test).
                        let i = next_ref.fetch_add(1, Ordering::SeqCst);
                        let Some(candidate) = candidates_ref.get(i) else {
                            return;
                        };
                        progress.item_started(&candidate.path);
                        let result = match &candidate.scan_error {
                            Some(reason) => FileResult::failed(&candidate.path, reason.clone()),
                            None => match self.try_import_one(
                                &mut worker,
                                &candidate.path,
                                settings_ref,
                                progress,
                                cancel,
                                shared_ref,
                            ) {
                                Ok(Step::Done(r)) => r,
                                Ok(Step::Commit(mut ready)) => {
                                    ready.index = i;
                                    if let Err(mpsc::SendError(ready)) = to_committer.send(ready) {
                                        FileResult::failed(&ready.path, "the committer stopped")
                                    } else {
                                        continue;
                                    }
                                }
                                Err(ImportFailure::Rejected(reason)) => {
                                    FileResult::rejected(&candidate.path, reason)
                                }
                                Err(ImportFailure::Failed(reason)) => {
                                    FileResult::failed(&candidate.path, reason)
                                }
                            },
                        };
                        progress.item_result(&result);
                        lock(results_ref)[i] = Some(result);
                    }
                });
            }
            drop(to_committer);
        });

        let cancelled = cancel.is_cancelled();
        let files: Vec<FileResult> = results
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .flatten()
            .collect();
        let mut report = ImportReport {
            job_id,
            imported: files
                .iter()
                .filter(|f| f.outcome == Outcome::Imported)
                .count(),
            duplicates: files
                .iter()
                .filter(|f| f.outcome == Outcome::Duplicate)
                .count(),
            rejected: files
                .iter()
                .filter(|f| f.outcome == Outcome::Rejected)
                .count(),
            failed: files
                .iter()
                .filter(|f| f.outcome == Outcome::Failed)
                .count(),
            cancelled,
            warnings: Vec::new(),
            thumbnails_made: shared.thumbnails.count.load(Ordering::Relaxed),
            files,
        };
        let fatal = fatal.into_inner().unwrap_or_else(|p| p.into_inner());
        let status = if fatal.is_some() {
            "failed"
        } else if cancelled {
            "cancelled"
        } else {
            "completed"
        };
        let items: Vec<_> = report
            .files
            .iter()
            .map(|f| {
                (
                    f.path.clone(),
                    f.outcome.as_str(),
                    f.reason.clone(),
                    f.id.clone(),
                )
            })
            .collect();
        {
            let mut catalog = self.catalog();
            catalog.finish_import_job(job_id, status, &items)?;
            catalog.log_activity(
                crate::catalog::LogKind::Import,
                &format!(
                    "import {status}: {} imported, {} duplicate(s), {} rejected, {} failed",
                    report.imported, report.duplicates, report.rejected, report.failed
                ),
            )?;
        }
        if let Some(e) = fatal {
            return Err(e);
        }
        report.warnings = self.quick_stats()?.warnings;
        let replaced = shared.replaced_damaged.into_inner();
        if replaced > 0 {
            let warning = format!(
                "{replaced} damaged chunk file(s) in the vault (left by a crash or a power cut) were rewritten from the imported files; run `audiovault verify` to check the rest"
            );
            self.catalog()
                .log_activity(crate::catalog::LogKind::Import, &warning)?;
            report.warnings.push(warning);
        }
        Ok(report)
    }

    /// Everything for one file up to the commit: validation, the duplicate check,
    /// the probe, and the chunks written (not yet durable). Damaged chunk files
    /// replaced on the way are counted in `shared.replaced_damaged`.
    fn try_import_one(
        &self,
        worker: &mut Worker,
        path: &Path,
        settings: &Settings,
        progress: &dyn Progress,
        cancel: &CancelToken,
        shared: &BatchShared,
    ) -> Result<Step, ImportFailure> {
        let Worker { catalog, buffers } = worker;
        let io_failed = |e: io::Error| ImportFailure::Failed(describe_io_error(&e));
        let meta = fs::metadata(path).map_err(io_failed)?;
        if !meta.is_file() {
            return Err(ImportFailure::Rejected("not a regular file".into()));
        }
        let file_name = path.file_name().unwrap_or(path.as_os_str());
        let ext = Path::new(file_name)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match &ext {
            None => {
                return Err(ImportFailure::Rejected(
                    "no file extension, so not recognized as audio".into(),
                ));
            }
            Some(ext) if !settings.allows_extension(ext) => {
                return Err(ImportFailure::Rejected(format!(
                    "'.{ext}' is not an allowed audio extension (allowed: {})",
                    settings.allowed_extensions.join(", ")
                )));
            }
            _ => {}
        }
        let size = meta.len();
        if size == 0 {
            return Err(ImportFailure::Rejected("empty file (0 bytes)".into()));
        }
        if let Some(max) = settings.max_file_size_bytes
            && size > max
        {
            return Err(ImportFailure::Rejected(format!(
                "file is {size} bytes, over the maximum file size of {max} bytes"
            )));
        }
        let catalog_err = |e: crate::catalog::CatalogError| ImportFailure::Failed(e.to_string());
        if let Some(quota) = settings.quota_bytes
            && catalog.stored_bytes_total().map_err(catalog_err)? >= quota
        {
            return Err(ImportFailure::Rejected(format!(
                "the vault is at its size limit ({quota} bytes)"
            )));
        }

        let mut file = File::open(path).map_err(io_failed)?;
        let mut result = FileResult::new(path, Outcome::Imported, None);
        result.size_bytes = Some(size);

        // Only a file whose size matches a track's can be an exact copy: for those,
        // a hashing pass decides before anything is written, so re-importing a
        // library costs one read and nothing on disk.
        //
        // The existing track's chunk files are checked by length only (a stat each,
        // no read): a power cut can leave them empty or short, and this file is
        // what can repair them. A file of the right length holding garbage is left
        // to `verify`; reading every chunk here would double a re-import's cost.
        let mut prehashed = None;
        let mut repairs_existing = false;
        // New imports use the newest chunker version with the vault's sizes; the
        // repair of a track cut by an older version cuts the file as that version did.
        let mut params = self.config().chunker.for_import();
        if catalog.any_track_with_size(size).map_err(catalog_err)? {
            let sha = hash_stream(&mut file, &mut buffers.hash, progress, cancel)?;
            if let Some((id, state)) = catalog.track_by_sha256(&sha).map_err(catalog_err)? {
                if !self
                    .has_short_chunk_files(catalog, &id)
                    .map_err(catalog_err)?
                {
                    return Ok(Step::Done(duplicate(result, id, state, &sha)));
                }
                repairs_existing = true;
                let expected: Vec<ChunkId> = catalog
                    .track_chunks(&id)
                    .map_err(catalog_err)?
                    .iter()
                    .map(|c| c.id)
                    .collect();
                params = self.chunker_that_cut(&mut file, size, &expected)?;
            }
            file.seek(SeekFrom::Start(0)).map_err(io_failed)?;
            prehashed = Some(sha);
        }

        // Headers only (milliseconds): deep analysis (waveform, audio hash) runs later.
        let info = match media::probe(path) {
            Ok(info) => info,
            Err(MediaError::NotAudio { reason }) => {
                return Err(ImportFailure::Rejected(format!(
                    "not a recognized audio file ({reason})"
                )));
            }
            Err(e) => MediaInfo {
                metadata_error: Some(e.to_string()),
                ..MediaInfo::default()
            },
        };
        // The extension decided whether the file is taken; its content decides what it
        // is (a FLAC named .mp3 is a FLAC), else the extension does.
        let format = media::format_of(&mut file, size, ext.as_deref()).map_err(io_failed)?;
        file.seek(SeekFrom::Start(0)).map_err(io_failed)?;
        let CatalogMetadata {
            meta: track_meta,
            other_tags,
            artwork: artwork_bytes,
        } = catalog_metadata(info);

        let mut sha = Sha256::new();
        let mut chunks: Vec<NewChunk> = Vec::new();
        let mut chunks_written = 0usize;
        // Plaintext bytes of the chunks (and cover art) this file stored that the
        // vault did not hold: what it cost beyond what dedup found.
        let mut new_bytes = 0u64;
        let mut total = 0u64;
        let store = self.store();
        let store_failed = |e: StoreError| ImportFailure::Failed(describe_store_error(&e));
        let artwork = match artwork_bytes {
            Some((mime_type, data)) => {
                let (art, put) =
                    self.store_artwork(mime_type, &data, &mut buffers.object, |chunk, d| {
                        match catalog.has_thumbnail(&chunk) {
                            Ok(true) => None,
                            _ => shared.thumbnails.get_or_make(chunk, d),
                        }
                    })
                    .map_err(store_failed)?;
                chunks_written += usize::from(put.written);
                if put.written {
                    new_bytes += data.len() as u64;
                }
                if put.replaced_damaged {
                    shared.replaced_damaged.fetch_add(1, Ordering::Relaxed);
                }
                Some(art)
            }
            None => None,
        };
        let WorkerBuffers {
            chunks: chunk_buffers,
            object,
            ..
        } = buffers;
        chunker::chunk_file_reusing(&mut file, size, &params, chunk_buffers, |c| {
            if cancel.is_cancelled() {
                return Err(ImportFailure::Failed("cancelled".into()));
            }
            // The file's SHA-256 on a thread of its own beside the chunk's id,
            // encryption and write (about half the CPU each), so that even one big
            // file keeps two cores busy. A small chunk (a vault made with tiny chunk
            // sizes) is hashed here: a thread would cost more than its hashing. If no
            // thread can be had, it runs here too.
            let (id, put) = if c.original.len() < HASH_BESIDE_FROM {
                sha.update(c.original);
                let id = store.id_for(c.stored);
                store
                    .put_reusing(&id, c.stored, object)
                    .map(|put| (id, put))
            } else {
                std::thread::scope(|scope| {
                    let mut hashing = sha.clone();
                    let beside = std::thread::Builder::new()
                        .name("import-sha256".into())
                        .spawn_scoped(scope, move || {
                            hashing.update(c.original);
                            hashing
                        });
                    let id = store.id_for(c.stored);
                    let put = store.put_reusing(&id, c.stored, object);
                    match beside.map(|thread| thread.join()) {
                        Ok(Ok(hashed)) => sha = hashed,
                        Ok(Err(panic)) => std::panic::resume_unwind(panic),
                        Err(_) => sha.update(c.original),
                    }
                    put.map(|put| (id, put))
                })
            }
            .map_err(store_failed)?;
            chunks_written += usize::from(put.written);
            if put.written {
                new_bytes += c.stored.len() as u64;
            }
            if put.replaced_damaged {
                shared.replaced_damaged.fetch_add(1, Ordering::Relaxed);
            }
            let len = c.original.len() as u64;
            chunks.push(NewChunk {
                id,
                offset: c.offset,
                length: len,
                stored_size: put.stored_size,
                transform: c.transform,
            });
            total += len;
            if prehashed.is_none() {
                progress.advance(len);
            }
            Ok(())
        })?;
        let sha: [u8; 32] = sha.finalize().into();
        let changed =
            || ImportFailure::Failed("the file changed while it was being imported".into());
        let after = fs::metadata(path).ok();
        if total != size
            || prehashed.is_some_and(|p| p != sha)
            || after.is_some_and(|m| m.len() != size || m.modified().ok() != meta.modified().ok())
        {
            return Err(changed());
        }

        result.new_bytes = Some(new_bytes);
        let id = TrackId::generate().map_err(|e| ImportFailure::Failed(e.to_string()))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        Ok(Step::Commit(Box::new(ReadyTrack {
            index: 0,
            path: path.to_path_buf(),
            result,
            id,
            sha,
            size,
            name: file_name.to_string_lossy().into_owned(),
            raw_name: name_bytes_if_not_utf8(file_name),
            source_path: path.to_string_lossy().into_owned(),
            mtime,
            format,
            chunks,
            repaired_existing: repairs_existing.then_some(chunks_written),
            meta: track_meta,
            other_tags,
            artwork,
        })))
    }
}

impl ReadyTrack {
    /// The chunks the track's catalog rows will reference: its audio and its art.
    fn referenced_chunks(&self) -> impl Iterator<Item = ChunkId> + '_ {
        self.chunks
            .iter()
            .map(|c| c.id)
            .chain(self.artwork.as_ref().map(|a| a.chunk))
    }

    fn new_track(&self, job_id: i64) -> NewTrack<'_> {
        NewTrack {
            id: &self.id,
            sha256: &self.sha,
            size_bytes: self.size,
            file_name: &self.name,
            file_name_raw: self.raw_name.as_deref(),
            source_path: &self.source_path,
            source_mtime: self.mtime,
            format: &self.format,
            import_job_id: Some(job_id),
            chunks: &self.chunks,
            meta: &self.meta,
            other_tags: &self.other_tags,
            artwork: self.artwork.as_ref(),
            metadata_version: media::EXTRACTOR_VERSION,
        }
    }

    fn into_result(self, outcome: std::result::Result<CommitOutcome, String>) -> FileResult {
        let mut result = self.result;
        match outcome {
            Err(e) => FileResult::failed(&self.path, e),
            Ok(CommitOutcome::Inserted) => {
                result.id = Some(self.id);
                result.sha256 = Some(hex(&self.sha));
                result
            }
            Ok(CommitOutcome::Duplicate(existing, state)) => {
                let mut result = duplicate(result, existing, state, &self.sha);
                if let (Some(rewritten), Some(reason)) =
                    (self.repaired_existing, result.reason.as_mut())
                {
                    reason.push_str(&format!(
                        "; {rewritten} of its missing or damaged chunk file(s) rewritten from this file"
                    ));
                }
                result
            }
            Ok(CommitOutcome::OverQuota { stored, new, quota }) => FileResult::rejected(
                &self.path,
                format!(
                    "storing it would exceed the vault size limit (quota_bytes): {stored} + {new} bytes > {quota} bytes"
                ),
            ),
        }
    }
}

/// What a worker hands the committer: a file whose chunks are written.
struct ReadyTrack {
    /// Position in the batch, so results keep the scan's order.
    index: usize,
    path: PathBuf,
    result: FileResult,
    id: TrackId,
    sha: [u8; 32],
    size: u64,
    name: String,
    raw_name: Option<Vec<u8>>,
    source_path: String,
    mtime: Option<i64>,
    format: String,
    chunks: Vec<NewChunk>,
    /// Set when this file is already in the vault but some of its chunk files were
    /// missing or short: how many chunk files it wrote to repair them.
    repaired_existing: Option<usize>,
    meta: TrackMetadata,
    other_tags: Vec<(String, String)>,
    artwork: Option<NewArtwork>,
}

enum Step {
    /// Rejected, failed, or a duplicate: nothing to commit.
    Done(FileResult),
    Commit(Box<ReadyTrack>),
}

/// The catalog's view of what the media probe read; artwork larger than a chunk
/// is not kept (cover art is kilobytes; megabytes are a scan, not a thumbnail).
pub(crate) fn catalog_metadata(info: MediaInfo) -> CatalogMetadata {
    let t = info.tags;
    let artwork = info
        .artwork
        .filter(|a| !a.data.is_empty() && a.data.len() <= 4 * 1024 * 1024)
        .map(|a| (a.mime_type, a.data));
    let mut meta = TrackMetadata {
        container: info.container,
        codec: info.codec,
        duration_seconds: info.duration_seconds,
        sample_rate: info.sample_rate,
        bit_depth: info.bit_depth,
        channels: info.channels,
        bitrate: info.bitrate,
        decodable: Some(info.decodable),
        has_artwork: artwork.is_some(),
        artwork_mime: artwork.as_ref().map(|a| a.0.clone()),
        artwork_size: artwork.as_ref().map(|a| a.1.len() as u64),
        metadata_error: info.metadata_error,
        ..TrackMetadata::default()
    };
    crate::media::copy_tag_fields!(meta, t);
    CatalogMetadata {
        meta,
        other_tags: t.other,
        artwork,
    }
}

/// Metadata as the catalog stores it, and the artwork bytes to put in the chunk store.
pub(crate) struct CatalogMetadata {
    pub meta: TrackMetadata,
    pub other_tags: Vec<(String, String)>,
    /// (mime type, bytes)
    pub artwork: Option<(String, Vec<u8>)>,
}

/// Chunks at least this long have their SHA-256 computed on a thread beside their
/// encryption (a default vault's chunks are 256 KiB at least; a thread costs tens of
/// microseconds, the hashing of 64 KiB about as much).
const HASH_BESIDE_FROM: usize = 64 * 1024;

/// The read size of [`hash_stream`].
const HASH_READ: usize = 1024 * 1024;

/// One import worker's own: its catalog connection and its buffers.
struct Worker {
    catalog: Catalog,
    buffers: WorkerBuffers,
}

/// What one import worker keeps from file to file, so that its files' bytes go
/// through buffers already allocated and mapped rather than fresh ones per file or
/// per chunk (see ARCHITECTURE.md, the import's copies).
#[derive(Default)]
struct WorkerBuffers {
    /// The chunker's read buffer.
    chunks: chunker::ChunkBuffers,
    /// The chunk object being checked, sealed and written.
    object: Vec<u8>,
    /// The read buffer of a possible duplicate's hashing pass.
    hash: Vec<u8>,
}

/// What the workers of one import share.
#[derive(Default)]
struct BatchShared {
    /// Damaged chunk files (a crash, a power cut) rewritten from the imported files.
    replaced_damaged: AtomicUsize,
    thumbnails: ThumbnailMemo,
}

/// Thumbnails made during one import, by artwork chunk: the tracks of an album carry
/// one picture, and decoding a full-size cover again for each was a large part of a
/// small file's import. A worker that finds another making the same one waits for it.
#[derive(Default)]
struct ThumbnailMemo {
    made: Mutex<HashMap<ChunkId, Arc<OnceLock<Option<media::Thumbnail>>>>>,
    /// How many were made (decoded and scaled): the test's measure.
    count: AtomicUsize,
}

impl ThumbnailMemo {
    /// A picture that cannot be decoded still counts as artwork: it is kept byte for
    /// byte, just without a thumbnail.
    fn get_or_make(&self, chunk: ChunkId, data: &[u8]) -> Option<media::Thumbnail> {
        let cell = lock(&self.made).entry(chunk).or_default().clone();
        cell.get_or_init(|| {
            self.count.fetch_add(1, Ordering::Relaxed);
            media::thumbnail(data).ok()
        })
        .clone()
    }
}

enum ImportFailure {
    Rejected(String),
    Failed(String),
}

impl From<io::Error> for ImportFailure {
    fn from(e: io::Error) -> Self {
        ImportFailure::Failed(describe_io_error(&e))
    }
}

fn duplicate(mut result: FileResult, id: TrackId, state: TrackState, sha: &[u8; 32]) -> FileResult {
    result.outcome = Outcome::Duplicate;
    // A duplicate found before anything was written stored nothing; one that
    // repaired the track's chunk files keeps the count of what it rewrote.
    result.new_bytes.get_or_insert(0);
    result.reason = Some(match state {
        TrackState::Active => format!("already in the vault as track {id}"),
        TrackState::Trashed => format!("already in the vault as track {id} (in the trash)"),
    });
    result.id = Some(id);
    result.sha256 = Some(hex(sha));
    result
}

/// The SHA-256 of a whole stream, read through `buf` (a worker's, reused: grown to
/// 1 MiB once).
fn hash_stream(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<[u8; 32], ImportFailure> {
    let mut sha = Sha256::new();
    if buf.len() < HASH_READ {
        *buf = vec![0; HASH_READ];
    }
    loop {
        if cancel.is_cancelled() {
            return Err(ImportFailure::Failed("cancelled".into()));
        }
        let n = match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ImportFailure::Failed(describe_io_error(&e))),
        };
        sha.update(&buf[..n]);
        progress.advance(n as u64);
    }
    Ok(sha.finalize().into())
}

#[cfg(unix)]
fn name_bytes_if_not_utf8(name: &std::ffi::OsStr) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    name.to_str().is_none().then(|| name.as_bytes().to_vec())
}

#[cfg(not(unix))]
fn name_bytes_if_not_utf8(_name: &std::ffi::OsStr) -> Option<Vec<u8>> {
    None
}

/// Tracks whose new metadata is committed together by `rescan`.
const RESCAN_BATCH: usize = 64;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RescanReport {
    pub rescanned: usize,
    pub failed: Vec<(TrackId, String)>,
}

impl Vault {
    /// Which of the chunker versions (newest first, with the vault's sizes) cuts the
    /// file into exactly `expected`: a vault's tracks may have been cut by any version
    /// up to the newest, and a repair must write the very chunks its track lists. The
    /// newest when none does (nothing to repair from this file, then).
    fn chunker_that_cut(
        &self,
        file: &mut File,
        size: u64,
        expected: &[ChunkId],
    ) -> std::result::Result<chunker::ChunkerParams, ImportFailure> {
        enum Stop {
            Io(io::Error),
            Differs,
        }
        impl From<io::Error> for Stop {
            fn from(e: io::Error) -> Self {
                Stop::Io(e)
            }
        }
        let store = self.store();
        let candidates = self.config().chunker.every_version_newest_first();
        for params in &candidates {
            file.seek(SeekFrom::Start(0))?;
            let mut next = 0usize;
            let cut = chunker::chunk_file(file, size, params, |c| {
                if expected.get(next) != Some(&store.id_for(c.stored)) {
                    return Err(Stop::Differs);
                }
                next += 1;
                Ok(())
            });
            match cut {
                Ok(()) if next == expected.len() => return Ok(*params),
                Ok(()) | Err(Stop::Differs) => {}
                Err(Stop::Io(e)) => return Err(e.into()),
            }
        }
        Ok(self.config().chunker.for_import())
    }

    /// Whether any chunk file of track `id` (audio or cover art) is missing or not
    /// the length its catalog row implies. Metadata lookups only: see the duplicate
    /// check in `try_import_one`.
    fn has_short_chunk_files(
        &self,
        catalog: &Catalog,
        id: &TrackId,
    ) -> std::result::Result<bool, crate::catalog::CatalogError> {
        let store = self.store();
        let audio_short = catalog
            .track_chunks(id)?
            .iter()
            .any(|c| !store.has_full_length(&c.id, c.length + OBJECT_OVERHEAD));
        if audio_short {
            return Ok(true);
        }
        let art_short =
            catalog
                .track(id)?
                .is_some_and(|t| match (t.artwork_chunk, t.meta.artwork_size) {
                    (Some(chunk), Some(size)) => {
                        !store.has_full_length(&chunk, size + OBJECT_OVERHEAD)
                    }
                    _ => false,
                });
        Ok(art_short)
    }

    /// Stores cover art as a chunk of its own, with its list thumbnail, and says
    /// what the store did.
    /// Stores a cover and makes its thumbnail with `thumbnail` (`None`: none made, or
    /// none needed because the catalog holds one for this picture).
    fn store_artwork(
        &self,
        mime_type: String,
        data: &[u8],
        scratch: &mut Vec<u8>,
        thumbnail: impl FnOnce(ChunkId, &[u8]) -> Option<media::Thumbnail>,
    ) -> std::result::Result<(NewArtwork, crate::store::PutOutcome), StoreError> {
        let chunk = self.store().id_for(data);
        let put = self.store().put_reusing(&chunk, data, scratch)?;
        let art = NewArtwork {
            chunk,
            size: data.len() as u64,
            stored_size: put.stored_size,
            mime_type,
            thumbnail: thumbnail(chunk, data),
        };
        Ok((art, put))
    }

    /// Reads metadata again from the stored bytes (the source may be long gone):
    /// the given tracks, every track (`all`), or those read by an older extractor.
    pub fn rescan(&self, ids: Option<Vec<TrackId>>, all: bool) -> Result<RescanReport> {
        // New artwork chunks are unreferenced until their update commits.
        let _lock = self.lock_shared()?;
        let ids = match ids {
            Some(ids) => ids,
            None => {
                let version = if all {
                    i64::MAX
                } else {
                    media::EXTRACTOR_VERSION
                };
                self.catalog().tracks_needing_rescan(version)?
            }
        };
        let mut report = RescanReport::default();
        let mut catalog = self.open_catalog()?;
        // Updates are committed in batches: one transaction and one syncfs (the
        // artwork chunks and the tracks' records) per batch, not per track.
        let mut pending: Vec<(TrackId, CatalogMetadata, Option<NewArtwork>)> = Vec::new();
        let mut to_sync: Vec<ChunkId> = Vec::new();
        let commit = |catalog: &mut Catalog,
                      pending: &mut Vec<(TrackId, CatalogMetadata, Option<NewArtwork>)>,
                      to_sync: &mut Vec<ChunkId>|
         -> Result<usize> {
            let updates: Vec<MetadataUpdate<'_>> = pending
                .iter()
                .map(|(id, m, art)| MetadataUpdate {
                    id,
                    meta: &m.meta,
                    other_tags: &m.other_tags,
                    artwork: art.as_ref(),
                    metadata_version: media::EXTRACTOR_VERSION,
                })
                .collect();
            catalog.update_metadata_batch(&updates, Some((self.store(), to_sync.as_slice())))?;
            let n = updates.len();
            drop(updates);
            pending.clear();
            to_sync.clear();
            Ok(n)
        };
        // The artwork's object buffer, reused from track to track.
        let mut object = Vec::new();
        for id in ids {
            let Some(track) = catalog.track(&id)? else {
                continue;
            };
            let chunks = catalog.track_chunks(&id)?;
            let ext = Path::new(&track.file_name)
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            let mut reader = crate::store::reader::TrackReader::new(self.store(), chunks);
            let info = match media::probe_reader(&mut reader, track.size_bytes, ext.as_deref()) {
                Ok(info) => info,
                Err(e) => MediaInfo {
                    metadata_error: Some(e.to_string()),
                    ..MediaInfo::default()
                },
            };
            let mut metadata = catalog_metadata(info);
            let artwork = match metadata.artwork.take() {
                Some((mime_type, data)) => {
                    match self.store_artwork(mime_type, &data, &mut object, |_, d| {
                        // A picture that cannot be decoded still counts as artwork: it is
                        // kept byte for byte, just without a thumbnail.
                        media::thumbnail(d).ok()
                    }) {
                        Ok((art, _)) => {
                            // Even when found stored: it may be another process's
                            // unsynced write, and the catalog is about to reference it.
                            to_sync.push(art.chunk);
                            Some(art)
                        }
                        Err(e) => {
                            report.failed.push((id, e.to_string()));
                            continue;
                        }
                    }
                }
                None => None,
            };
            pending.push((id, metadata, artwork));
            if pending.len() >= RESCAN_BATCH {
                report.rescanned += commit(&mut catalog, &mut pending, &mut to_sync)?;
            }
        }
        if !pending.is_empty() {
            report.rescanned += commit(&mut catalog, &mut pending, &mut to_sync)?;
        }
        self.catalog().log_activity(
            crate::catalog::LogKind::Rescan,
            &format!("metadata read again for {} track(s)", report.rescanned),
        )?;
        Ok(report)
    }
}

#[cfg(test)]
pub(crate) mod tests {

    use super::*;
    use crate::progress::NoProgress;
    use crate::secret::Passphrase;
    use crate::vault::CreateOptions;

    /// Records what a front end's per-file list is built from.
    #[derive(Default)]
    struct Recorder {
        queued: Mutex<Vec<PathBuf>>,
        results: Mutex<Vec<(PathBuf, Outcome, Option<String>)>>,
        finished: Mutex<Vec<(PathBuf, bool)>>,
    }

    impl Progress for Recorder {
        fn queued(&self, paths: &[&Path]) {
            self.queued
                .lock()
                .unwrap()
                .extend(paths.iter().map(|p| p.to_path_buf()));
        }
        fn item_result(&self, r: &FileResult) {
            self.results
                .lock()
                .unwrap()
                .push((r.source.clone(), r.outcome, r.reason.clone()));
        }
        fn item_finished(&self, path: &Path, ok: bool) {
            self.finished.lock().unwrap().push((path.to_path_buf(), ok));
        }
    }

    /// A vault with a weak KDF (tests only) at `path`, passphrase "pw".
    fn weak_vault(path: &Path, chunker: chunker::ChunkerParams) -> Vault {
        let options = CreateOptions {
            kdf_memory_kib: 1024,
            kdf_iterations: 1,
            chunker,
        };
        Vault::create(path, &Passphrase::new("pw"), &options).unwrap()
    }

    /// Imports `paths` as one batch.
    fn import_batch(vault: &Vault, paths: &[PathBuf]) -> ImportReport {
        vault
            .import(
                paths,
                &ImportOptions::default(),
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap()
    }

    /// Imports one file, alone, and returns its result.
    fn import_one(vault: &Vault, path: &Path) -> FileResult {
        import_batch(vault, &[path.to_path_buf()]).files.remove(0)
    }

    fn wav(seed: u8) -> Vec<u8> {
        let len = 32 * 1024u32;
        let mut out = crate::test_support::pcm_wav_header(len);
        out.extend((0..len).map(|i| (i as u8).wrapping_mul(seed)));
        out
    }

    #[test]
    fn progress_lists_the_queue_and_each_files_outcome_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let options = CreateOptions {
            kdf_memory_kib: 1024,
            kdf_iterations: 1,
            ..CreateOptions::default()
        };
        let vault =
            Vault::create(&dir.path().join("vault"), &Passphrase::new("pw"), &options).unwrap();
        let src = dir.path().join("in");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("a.wav"), wav(3)).unwrap();
        fs::write(src.join("b.wav"), wav(5)).unwrap();
        fs::write(src.join("notes.txt"), b"not audio").unwrap();
        let opts = ImportOptions::default();
        vault
            .import(
                &[src.join("a.wav")],
                &opts,
                &NoProgress,
                &CancelToken::new(),
            )
            .unwrap();

        let rec = Recorder::default();
        let report = vault
            .import(std::slice::from_ref(&src), &opts, &rec, &CancelToken::new())
            .unwrap();
        let mut queued = rec.queued.lock().unwrap().clone();
        queued.sort();
        assert_eq!(
            queued,
            vec![src.join("a.wav"), src.join("b.wav"), src.join("notes.txt")]
        );
        let mut results = rec.results.lock().unwrap().clone();
        results.sort_by(|a, b| a.0.cmp(&b.0));
        let outcomes: Vec<_> = results.iter().map(|(p, o, _)| (p.clone(), *o)).collect();
        assert_eq!(
            outcomes,
            vec![
                (src.join("a.wav"), Outcome::Duplicate),
                (src.join("b.wav"), Outcome::Imported),
                (src.join("notes.txt"), Outcome::Rejected),
            ]
        );
        let txt_reason = results[2].2.clone().unwrap_or_default();
        assert!(!txt_reason.is_empty(), "a rejection carries its reason");
        let reported = report
            .files
            .iter()
            .find(|f| f.source == src.join("notes.txt"))
            .and_then(|f| f.reason.clone());
        assert_eq!(reported.as_deref(), Some(txt_reason.as_str()));
        // A sink that overrides item_result is not called twice per file.
        assert!(rec.finished.lock().unwrap().is_empty());
    }

    /// A WAV with a `LIST` chunk of `tag` bytes in front of 6 MiB of the same audio.
    fn tagged_wav(tag: usize) -> Vec<u8> {
        let audio = 6 * 1024 * 1024u32;
        let mut body = b"WAVEfmt ".to_vec();
        body.extend(16u32.to_le_bytes());
        body.extend(1u16.to_le_bytes());
        body.extend(2u16.to_le_bytes());
        body.extend(44_100u32.to_le_bytes());
        body.extend((44_100u32 * 4).to_le_bytes());
        body.extend(4u16.to_le_bytes());
        body.extend(16u16.to_le_bytes());
        body.extend(b"LIST");
        body.extend((tag as u32).to_le_bytes());
        body.extend((0..tag).map(|i| (i % 251) as u8));
        body.extend(b"data");
        body.extend(audio.to_le_bytes());
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..audio / 8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            body.extend(x.to_le_bytes());
        }
        let mut f = b"RIFF".to_vec();
        f.extend((body.len() as u32).to_le_bytes());
        f.extend(body);
        f
    }

    /// Every vault, whatever chunker version it was created with, cuts new imports
    /// the newest way (its vault.json untouched): a re-tagged copy stores only its
    /// grown tag again; `new_bytes` says what each import stored.
    #[test]
    fn every_vault_cuts_new_imports_the_newest_way_and_reports_new_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("a.wav"), tagged_wav(2_000)).unwrap();
        fs::write(src.join("b.wav"), tagged_wav(40_000)).unwrap();
        for (name, chunker) in [
            ("v2", chunker::ChunkerParams::default()),
            ("v1", chunker::ChunkerParams::v1()),
            ("v0", chunker::ChunkerParams::v0()),
        ] {
            let vault = weak_vault(&dir.path().join(name), chunker);
            assert_eq!(vault.config().chunker, chunker);
            let import = |file: &str| import_one(&vault, &src.join(file));
            let first = import("a.wav");
            assert_eq!(first.outcome, Outcome::Imported);
            assert_eq!(
                first.new_bytes, first.size_bytes,
                "{name}: new music is all new"
            );
            let again = import("a.wav");
            assert_eq!(again.outcome, Outcome::Duplicate);
            assert_eq!(
                again.new_bytes,
                Some(0),
                "{name}: a duplicate stores nothing"
            );
            let retag = import("b.wav");
            let new_bytes = retag.new_bytes.unwrap();
            // The region before the audio: the RIFF header, `fmt ` and `LIST`.
            assert_eq!(
                new_bytes,
                12 + 24 + 8 + 40_000,
                "{name}: only the tag is stored again"
            );
            assert_eq!(
                vault.config().chunker,
                chunker,
                "{name}: vault.json as it was"
            );
            let stats = vault.stats().unwrap();
            assert_eq!(
                stats.dedup_retag_bytes + stats.dedup_other_bytes,
                stats.dedup_saved_bytes
            );
            assert!(
                stats.dedup_retag_bytes > 4 * 1024 * 1024,
                "{name}: the re-tag's shared audio counts as a re-tag's saving: {stats:?}"
            );
            assert_eq!(
                stats.dedup_exact_copies_bytes, 0,
                "{name}: the copy had the same path"
            );
            // An exact copy from elsewhere stores nothing and counts as one.
            let copy = dir.path().join(format!("copy-{name}.wav"));
            fs::copy(src.join("a.wav"), &copy).unwrap();
            let dup = import_one(&vault, &copy);
            assert_eq!((dup.outcome, dup.new_bytes), (Outcome::Duplicate, Some(0)));
            let after = vault.stats().unwrap();
            assert_eq!(after.dedup_exact_copies_bytes, first.size_bytes.unwrap());
            assert_eq!(after.dedup_saved_bytes, stats.dedup_saved_bytes);
        }
    }

    /// An Ogg file (header pages, then audio pages of one stream) and a re-tagged copy
    /// whose header grew by `extra_header_pages`, every audio page renumbered after it,
    /// as mutagen writes it.
    pub(crate) fn ogg_file(extra_header_pages: u32) -> Vec<u8> {
        use crate::store::ogg_pages::tests::{audio, page};
        let mut f = page(7, 0, 0, 19, 1);
        f.extend(page(7, 1, 0, 300, 2));
        for i in 0..extra_header_pages {
            f.extend(page(7, 2 + i, 0, 40_000, 3 + u64::from(i)));
        }
        f.extend(audio(7, 2 + extra_header_pages, 1500));
        f
    }

    /// Chunker version 2 (what every vault's new imports use, a version-0 vault's too)
    /// stores a re-tag that renumbered every Ogg page as its header pages alone; the
    /// copies export byte-identical, verify, and read at any offset as the file's bytes.
    #[test]
    fn an_ogg_retag_that_renumbers_every_page_stores_only_its_header_pages_again() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("in");
        fs::create_dir(&src).unwrap();
        let original = ogg_file(0);
        let retagged = ogg_file(3);
        assert!(original.len() > 8 * 1024 * 1024, "{}", original.len());
        fs::write(src.join("a.ogg"), &original).unwrap();
        fs::write(src.join("b.ogg"), &retagged).unwrap();
        let header_growth = (retagged.len() - original.len()) as u64;
        for (name, chunker) in [
            ("v2", chunker::ChunkerParams::default()),
            ("v0", chunker::ChunkerParams::v0()),
        ] {
            let vault = weak_vault(&dir.path().join(name), chunker);
            // One at a time: two files of one batch store a shared chunk side by side.
            let import = |file: &str| import_one(&vault, &src.join(file));
            let (a, b) = (import("a.ogg"), import("b.ogg"));
            assert_eq!(
                (a.outcome, b.outcome),
                (Outcome::Imported, Outcome::Imported)
            );
            let stored_again = b.new_bytes.unwrap();
            // The two header pages and the three new ones: under 2 headers' worth.
            assert!(
                stored_again <= header_growth + 1_000,
                "{name}: stored {stored_again} again, header grew {header_growth}"
            );
            let ids: Vec<TrackId> = [&a, &b].iter().map(|f| f.id.clone().unwrap()).collect();
            let out = dir.path().join(format!("out-{name}"));
            vault
                .export(
                    &ids,
                    &out,
                    &crate::export::ExportOptions::default(),
                    &NoProgress,
                    &CancelToken::new(),
                )
                .unwrap();
            assert_eq!(fs::read(out.join("a.ogg")).unwrap(), original);
            assert_eq!(fs::read(out.join("b.ogg")).unwrap(), retagged);
            let verified = vault.verify(&NoProgress, &CancelToken::new()).unwrap();
            assert!(verified.ok, "{name}: {verified:?}");
            assert_eq!(
                verified.bytes_checked,
                (original.len() + retagged.len()) as u64
            );

            // Random access (playback, seeking) gives the file's bytes anywhere.
            let chunks = vault.catalog().track_chunks(&ids[1]).unwrap();
            assert!(chunks.iter().filter(|c| c.transform.is_some()).count() >= 4);
            let mut reader = crate::store::reader::TrackReader::new(vault.store(), chunks);
            for at in [
                0u64,
                1_000,
                300_000,
                1_048_575,
                5_000_001,
                retagged.len() as u64 - 10,
            ] {
                reader.seek(SeekFrom::Start(at)).unwrap();
                let mut buf = vec![0u8; 70_000];
                let n = (retagged.len() - at as usize).min(buf.len());
                reader.read_exact(&mut buf[..n]).unwrap();
                assert_eq!(
                    &buf[..n],
                    &retagged[at as usize..at as usize + n],
                    "at {at}"
                );
            }
        }
    }

    /// One thumbnail per distinct cover: the tracks of an album imported together
    /// share the one made, and a later import of the album's next track makes none
    /// (the catalog holds it); every track shows it.
    #[test]
    fn a_cover_shared_by_an_album_is_thumbnailed_once() {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let status = std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-y"])
                .args(args)
                .current_dir(dir.path())
                .status()
                .expect("ffmpeg");
            assert!(status.success(), "ffmpeg {args:?}");
        };
        run(&[
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=600x600",
            "-frames:v",
            "1",
            "cover.png",
        ]);
        let src = dir.path().join("album");
        fs::create_dir(&src).unwrap();
        for track in 1..=5 {
            let name = format!("album/{track:02}.flac");
            run(&[
                "-f",
                "lavfi",
                "-i",
                &format!("sine=frequency={}:duration=0.5", 200 * track),
                "-i",
                "cover.png",
                "-map",
                "0",
                "-map",
                "1",
                "-c:a",
                "flac",
                "-c:v",
                "copy",
                "-disposition:v",
                "attached_pic",
                &name,
            ]);
        }
        let later = src.join("05.flac");
        let first_four: Vec<PathBuf> = (1..=4).map(|t| src.join(format!("{t:02}.flac"))).collect();
        let vault = weak_vault(&dir.path().join("v"), chunker::ChunkerParams::default());
        let import = |paths: &[PathBuf]| import_batch(&vault, paths);
        let album = import(&first_four);
        assert_eq!(album.imported, 4);
        assert_eq!(album.thumbnails_made, 1, "one per distinct picture");
        let next = import(std::slice::from_ref(&later));
        assert_eq!(next.imported, 1);
        assert_eq!(next.thumbnails_made, 0, "the catalog holds it");
        for f in album.files.iter().chain(&next.files) {
            let thumb = vault.catalog().thumbnail(f.id.as_ref().unwrap()).unwrap();
            assert!(
                thumb.is_some_and(|(_, data)| !data.is_empty()),
                "{:?}",
                f.path
            );
        }
    }

    #[test]
    fn the_default_item_result_reports_finished_with_ok() {
        #[derive(Default)]
        struct Old(Mutex<Vec<bool>>);
        impl Progress for Old {
            fn item_finished(&self, _path: &Path, ok: bool) {
                self.0.lock().unwrap().push(ok);
            }
        }
        let old = Old::default();
        let p = Path::new("/x/y.wav");
        old.item_result(&FileResult::new(p, Outcome::Duplicate, None));
        old.item_result(&FileResult::rejected(p, "empty file"));
        old.item_result(&FileResult::new(p, Outcome::Imported, None));
        assert_eq!(*old.0.lock().unwrap(), vec![true, false, true]);
    }
}
