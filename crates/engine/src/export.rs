//! Export: tracks back to ordinary files, byte-identical. Each file is written
//! under a temporary name in the destination, its SHA-256 compared with the
//! import checksum, and only then given its real name; a track that fails
//! leaves nothing behind. Existing files are never replaced unless asked.
//!
//! The name is given by a hard link, which fails atomically when the name exists.
//! FAT/exFAT sticks, SD cards and many network shares refuse links; there a
//! no-replace rename (`renameat2(RENAME_NOREPLACE)`) does the same job, and where
//! that is refused too, a look-then-rename (see [`Placer::claim`]). Those file
//! systems often ignore case, so names within one export are compared ignoring
//! case: "song.wav" beside "Song.wav" becomes "song (1).wav" instead of replacing it.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::catalog::{Track, TrackId};
use crate::error::{Error, Result};
use crate::error::{describe_io_error, is_disk_full};
use crate::keys::random_array;
use crate::progress::{CancelToken, Progress};
use crate::store::{durable, hex};
use crate::vault::Vault;

/// Checked files are made durable and named in groups of at most this many bytes…
const EXPORT_GROUP_BYTES: u64 = 256 * 1024 * 1024;
/// …or after this long, so names keep appearing during a slow export.
const EXPORT_GROUP_TIME: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Replace files of the same name in the destination instead of adding a suffix.
    pub overwrite: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Exported {
    pub id: TrackId,
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportFailure {
    pub id: TrackId,
    pub file_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportReport {
    pub exported: Vec<Exported>,
    pub failed: Vec<ExportFailure>,
    pub cancelled: bool,
}

impl Vault {
    pub fn export(
        &self,
        ids: &[TrackId],
        dest: &Path,
        options: &ExportOptions,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<ExportReport> {
        fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
        // A cloud-only track's chunks are fetched from the bucket as it goes.
        self.enable_cloud_reads();
        let tracks: Vec<Track> = {
            let catalog = self.catalog();
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.push(
                    catalog
                        .track(id)?
                        .ok_or_else(|| Error::TrackNotFound(id.to_string()))?,
                );
            }
            out
        };
        progress.start(
            tracks.len() as u64,
            tracks.iter().map(|t| t.size_bytes).sum(),
        );
        let mut report = ExportReport::default();
        let mut placer = Placer::new(dest, options.overwrite, &SystemCalls);
        // Workers write and check each track's temp file side by side; this thread
        // makes a group of checked files durable with one flush of the destination's
        // file system and only then names them (in the tracks' order). So a name
        // appears only for bytes that matched their checksum and are on the disk,
        // at the price of one flush per group instead of one per file.
        let workers = crate::workers::file_workers().min(tracks.len()).max(1);
        let next = AtomicUsize::new(0);
        let mut outcomes: Vec<Option<Result<PathBuf, String>>> = vec![None; tracks.len()];
        let (written, checked) = mpsc::sync_channel::<(usize, Result<PathBuf, String>)>(workers);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let written = written.clone();
                let (tracks, next) = (&tracks, &next);
                scope.spawn(move || {
                    while !cancel.is_cancelled() {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(track) = tracks.get(i) else {
                            return;
                        };
                        progress.item_started(Path::new(&export_name(track)));
                        let result = self.write_checked(track, dest, progress, cancel);
                        if let Err(mpsc::SendError((_, Ok(tmp)))) = written.send((i, result)) {
                            let _ = fs::remove_file(tmp);
                        }
                    }
                });
            }
            drop(written);
            let mut group: Vec<(usize, PathBuf)> = Vec::new();
            let mut group_bytes = 0u64;
            let mut group_started = Instant::now();
            loop {
                let received = checked.recv_timeout(Duration::from_millis(100));
                let closed = matches!(received, Err(mpsc::RecvTimeoutError::Disconnected));
                match received {
                    Ok((i, Ok(tmp))) => {
                        if group.is_empty() {
                            group_started = Instant::now();
                        }
                        group_bytes += tracks[i].size_bytes;
                        group.push((i, tmp));
                    }
                    Ok((i, Err(reason))) => {
                        progress.item_finished(Path::new(&export_name(&tracks[i])), false);
                        outcomes[i] = Some(Err(reason));
                    }
                    Err(_) => {}
                }
                let due = closed
                    || group_bytes >= EXPORT_GROUP_BYTES
                    || group_started.elapsed() >= EXPORT_GROUP_TIME;
                if due && !group.is_empty() {
                    name_group(
                        &mut group,
                        &tracks,
                        &mut placer,
                        progress,
                        cancel,
                        &mut outcomes,
                    );
                    group_bytes = 0;
                }
                if closed {
                    break;
                }
            }
        });
        for (track, outcome) in tracks.iter().zip(outcomes) {
            match outcome {
                Some(Ok(path)) => {
                    report.exported.push(Exported {
                        id: track.id.clone(),
                        path: path.to_string_lossy().into_owned(),
                        sha256: track.sha256.clone(),
                    });
                }
                // Stopped part way by a cancel (or never started): not a failure of
                // the track, and its temp file is already gone.
                None => report.cancelled = true,
                Some(Err(_)) if cancel.is_cancelled() => report.cancelled = true,
                Some(Err(reason)) => {
                    report.failed.push(ExportFailure {
                        id: track.id.clone(),
                        file_name: track.file_name.clone(),
                        reason,
                    });
                }
            }
        }
        let _ = File::open(dest).and_then(|d| d.sync_all());
        self.catalog().log_activity(
            crate::catalog::LogKind::Export,
            &format!(
                "exported {} track(s) to {}, {} failed",
                report.exported.len(),
                dest.display(),
                report.failed.len()
            ),
        )?;
        Ok(report)
    }

    /// Writes a track to a temp file in `dest` and checks it against the track's
    /// SHA-256 (not yet durable, not yet named). A failure leaves nothing behind.
    fn write_checked(
        &self,
        track: &Track,
        dest: &Path,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> Result<PathBuf, String> {
        let chunks = self
            .catalog()
            .track_chunks(&track.id)
            .map_err(|e| e.to_string())?;
        let suffix: [u8; 6] = random_array().map_err(|e| e.to_string())?;
        let tmp = dest.join(format!(".audiovault-export-{}.part", hex(&suffix)));
        let written = (|| -> Result<(), String> {
            let mut out = File::create_new(&tmp).map_err(|e| write_failed(&tmp, &e))?;
            let mut sha = Sha256::new();
            let mut total = 0u64;
            let store = self.store();
            if let Some(first) = chunks.first() {
                store.prefetch(&first.id);
            }
            for (n, c) in chunks.iter().enumerate() {
                if cancel.is_cancelled() {
                    return Err("cancelled".into());
                }
                if let Some(next) = chunks.get(n + 1) {
                    store.prefetch(&next.id);
                }
                let data = self
                    .store()
                    .read_track_chunk(c)
                    .map_err(|e| e.to_string())?;
                sha.update(&data);
                out.write_all(&data).map_err(|e| write_failed(&tmp, &e))?;
                total += c.length;
                progress.advance(c.length);
            }
            if total != track.size_bytes || hex(&sha.finalize()) != track.sha256 {
                return Err("the exported bytes do not match the track's SHA-256 checksum".into());
            }
            if let Some(mtime) = track.source_mtime.filter(|m| *m >= 0) {
                let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime as u64);
                let _ = out.set_modified(t);
            }
            durable::start_writeback(&out);
            Ok(())
        })();
        match written {
            Ok(()) => Ok(tmp),
            Err(reason) => {
                let _ = fs::remove_file(&tmp);
                Err(reason)
            }
        }
    }
}

/// Makes a group of checked temp files durable (one flush of the destination's
/// file system), then names them in the tracks' order. After a cancel they are
/// removed unnamed. Empties `group`.
fn name_group(
    group: &mut Vec<(usize, PathBuf)>,
    tracks: &[Track],
    placer: &mut Placer<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
    outcomes: &mut [Option<Result<PathBuf, String>>],
) {
    group.sort_by_key(|(i, _)| *i);
    let dest = placer.dest;
    let flushed = if cancel.is_cancelled() {
        Err("cancelled".to_string())
    } else {
        durable::sync_file_system(dest).map_err(|e| write_failed(dest, &e))
    };
    for (i, tmp) in group.drain(..) {
        let named = flushed.clone().and_then(|()| {
            placer
                .place(&tmp, &export_name(&tracks[i]))
                .map_err(|e| write_failed(dest, &e))
        });
        match &named {
            Ok(path) => progress.item_finished(path, true),
            Err(_) => {
                let _ = fs::remove_file(&tmp);
                progress.item_finished(Path::new(&export_name(&tracks[i])), false);
            }
        }
        outcomes[i] = Some(named);
    }
    // The names themselves, durable before the next group is flushed.
    let _ = File::open(dest).and_then(|d| d.sync_all());
}

impl Vault {
    /// A track's embedded cover art, decrypted and authenticated: (mime type, bytes).
    pub fn artwork(&self, id: &TrackId) -> Result<Option<(String, Vec<u8>)>> {
        let Some(track) = self.catalog().track(id)? else {
            return Err(Error::TrackNotFound(id.to_string()));
        };
        let Some(chunk) = track.artwork_chunk else {
            return Ok(None);
        };
        let data = self.store().get(&chunk)?;
        let mime = track
            .meta
            .artwork_mime
            .unwrap_or_else(|| "application/octet-stream".into());
        Ok(Some((mime, data)))
    }

    /// A track's cover-art thumbnail (a small JPEG): (mime type, bytes).
    pub fn thumbnail(&self, id: &TrackId) -> Result<Option<(String, Vec<u8>)>> {
        Ok(self.catalog().thumbnail(id)?)
    }
}

/// A write into the destination that failed, in words a user can act on.
fn write_failed(path: &Path, e: &io::Error) -> String {
    if is_disk_full(e) {
        format!(
            "the destination's disk is full: {} (writing {})",
            describe_io_error(e),
            path.display()
        )
    } else {
        format!("{}: {e}", path.display())
    }
}

/// The file-system calls that give a verified temp file its name: the system's, or
/// in tests ones that refuse what FAT or a network share refuses.
trait NamingCalls {
    /// Fails with `AlreadyExists` when `to` exists.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Fails with `AlreadyExists` when `to` exists.
    fn rename_no_replace(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Replaces `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Whether `path` names anything; on a case-insensitive file system a name
    /// differing only in case counts.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// The names in `dir`.
    fn names_in(&self, dir: &Path) -> io::Result<Vec<OsString>>;
}

struct SystemCalls;

impl NamingCalls for SystemCalls {
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }

    #[cfg(target_os = "linux")]
    fn rename_no_replace(&self, from: &Path, to: &Path) -> io::Result<()> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let from = CString::new(from.as_os_str().as_bytes())?;
        let to = CString::new(to.as_os_str().as_bytes())?;
        // SAFETY: both are NUL-terminated paths that outlive the call; AT_FDCWD makes
        // relative paths resolve as std's own calls do.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn rename_no_replace(&self, _from: &Path, _to: &Path) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no no-replace rename on this platform",
        ))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        match fs::symlink_metadata(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn names_in(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect()
    }
}

/// Errors of a file system that has no hard links (FAT, exFAT, many shares) or
/// will not link here: worth trying a rename instead.
fn link_refused(e: &io::Error) -> bool {
    const REFUSALS: [i32; 6] = [
        libc::EPERM,
        libc::EXDEV,
        libc::ENOTSUP,
        libc::EOPNOTSUPP,
        libc::EMLINK,
        libc::ENOSYS,
    ];
    e.raw_os_error()
        .is_some_and(|code| REFUSALS.contains(&code))
        || e.kind() == io::ErrorKind::Unsupported
}

/// Errors of a file system or kernel that has no `RENAME_NOREPLACE`.
fn no_replace_rename_refused(e: &io::Error) -> bool {
    const REFUSALS: [i32; 4] = [libc::EINVAL, libc::ENOSYS, libc::ENOTSUP, libc::EOPNOTSUPP];
    e.raw_os_error()
        .is_some_and(|code| REFUSALS.contains(&code))
        || e.kind() == io::ErrorKind::Unsupported
}

/// A name compared the way a case-insensitive file system compares it (closely
/// enough: a name not in UTF-8 is compared by its lossy form, which at worst adds a
/// " (1)" that was not needed).
fn case_folded(name: &OsStr) -> String {
    name.to_string_lossy().to_lowercase()
}

/// Gives one export's verified temp files their final names in the destination.
struct Placer<'a> {
    dest: &'a Path,
    overwrite: bool,
    calls: &'a dyn NamingCalls,
    /// Names given out in this export, case-folded.
    given: HashSet<String>,
    /// With `overwrite`: the destination's names at the first replacement,
    /// case-folded, each with its exact spellings.
    existing: Option<HashMap<String, Vec<OsString>>>,
    /// The destination refused a hard link / a no-replace rename: not asked again.
    links_refused: bool,
    no_replace_refused: bool,
}

enum Claim {
    Named,
    Taken,
}

impl<'a> Placer<'a> {
    fn new(dest: &'a Path, overwrite: bool, calls: &'a dyn NamingCalls) -> Self {
        Placer {
            dest,
            overwrite,
            calls,
            given: HashSet::new(),
            existing: None,
            links_refused: false,
            no_replace_refused: false,
        }
    }

    /// Gives `tmp` the name `name`, or without `overwrite` the first of "name (1)",
    /// "name (2)"… that is free; returns the final path.
    fn place(&mut self, tmp: &Path, name: &OsStr) -> io::Result<PathBuf> {
        for n in 0..10_000u32 {
            let candidate = with_counter(name, n);
            let folded = case_folded(&candidate);
            if self.given.contains(&folded) {
                continue;
            }
            let target = self.dest.join(&candidate);
            let claim = if self.overwrite {
                self.replace(tmp, &target, &candidate, &folded)?
            } else {
                self.claim(tmp, &target)?
            };
            if let Claim::Named = claim {
                self.given.insert(folded);
                return Ok(target);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free file name left",
        ))
    }

    /// Names `tmp` as `target` unless that name exists. A hard link or a no-replace
    /// rename fails atomically if the name appears meanwhile. Where the file system
    /// has neither, the name is looked up and then renamed to: a file another
    /// program creates under the same name between those two steps, microseconds
    /// apart, would be replaced. Nothing of ours can be, since names given in this
    /// export are never tried twice.
    fn claim(&mut self, tmp: &Path, target: &Path) -> io::Result<Claim> {
        if !self.links_refused {
            match self.calls.hard_link(tmp, target) {
                Ok(()) => {
                    self.calls.remove_file(tmp)?;
                    return Ok(Claim::Named);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(Claim::Taken),
                Err(e) if link_refused(&e) => self.links_refused = true,
                Err(e) => return Err(e),
            }
        }
        if !self.no_replace_refused {
            match self.calls.rename_no_replace(tmp, target) {
                Ok(()) => return Ok(Claim::Named),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(Claim::Taken),
                Err(e) if no_replace_rename_refused(&e) => self.no_replace_refused = true,
                Err(e) => return Err(e),
            }
        }
        if self.calls.exists(target)? {
            return Ok(Claim::Taken);
        }
        self.calls.rename(tmp, target)?;
        Ok(Claim::Named)
    }

    /// With `overwrite`: replaces a file of exactly this name, but never one whose
    /// name differs in case, which on a case-insensitive file system the replacing
    /// rename would hit although the user never named it.
    fn replace(
        &mut self,
        tmp: &Path,
        target: &Path,
        candidate: &OsStr,
        folded: &str,
    ) -> io::Result<Claim> {
        if self.existing.is_none() {
            let mut existing: HashMap<String, Vec<OsString>> = HashMap::new();
            for name in self.calls.names_in(self.dest)? {
                existing.entry(case_folded(&name)).or_default().push(name);
            }
            self.existing = Some(existing);
        }
        let other_case_exists = self
            .existing
            .as_ref()
            .and_then(|e| e.get(folded))
            .is_some_and(|spellings| spellings.iter().any(|s| s != candidate));
        if other_case_exists {
            return Ok(Claim::Taken);
        }
        self.calls.rename(tmp, target)?;
        Ok(Claim::Named)
    }
}

fn with_counter(name: &OsStr, n: u32) -> OsString {
    if n == 0 {
        return name.to_os_string();
    }
    let path = Path::new(name);
    let mut out = path
        .file_stem()
        .map(OsStr::to_os_string)
        .unwrap_or_else(|| name.to_os_string());
    out.push(format!(" ({n})"));
    if let Some(ext) = path.extension() {
        out.push(".");
        out.push(ext);
    }
    out
}

/// The track's original file name, as bytes when it was not UTF-8. A name that
/// could escape the destination folder is replaced (it cannot come from an
/// import, but a catalog is only as trustworthy as its file).
fn export_name(track: &Track) -> OsString {
    #[cfg(unix)]
    let name: OsString = match &track.file_name_raw {
        Some(raw) => {
            use std::os::unix::ffi::OsStrExt;
            OsStr::from_bytes(raw).to_os_string()
        }
        None => OsString::from(&track.file_name),
    };
    #[cfg(not(unix))]
    let name = OsString::from(&track.file_name);
    let bytes = name.as_encoded_bytes();
    if bytes.is_empty()
        || bytes.contains(&b'/')
        || bytes.contains(&0)
        || name == "."
        || name == ".."
    {
        return OsString::from(format!("{}.{}", track.id, track.format));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// The real calls in a real folder, except that links and no-replace renames can
    /// be refused the way FAT or a network share refuses them, and that names can be
    /// compared ignoring case, as those file systems do. A replacing rename onto a
    /// name that exists in another case replaces that file, as it would there.
    #[derive(Default)]
    struct Refusing {
        refuse_links: bool,
        refuse_no_replace: bool,
        ignore_case: bool,
        link_attempts: Cell<u32>,
        no_replace_attempts: Cell<u32>,
    }

    impl Refusing {
        fn same_name_in_other_case(&self, path: &Path) -> Option<PathBuf> {
            if !self.ignore_case {
                return None;
            }
            let (dir, name) = (path.parent()?, path.file_name()?);
            fs::read_dir(dir)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .find(|n| n != name && case_folded(n) == case_folded(name))
                .map(|n| dir.join(n))
        }
    }

    fn refused(code: i32) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(code))
    }

    impl NamingCalls for Refusing {
        fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
            self.link_attempts.set(self.link_attempts.get() + 1);
            if self.refuse_links {
                return refused(libc::EPERM);
            }
            if self.same_name_in_other_case(to).is_some() {
                return refused(libc::EEXIST);
            }
            fs::hard_link(from, to)
        }
        fn rename_no_replace(&self, from: &Path, to: &Path) -> io::Result<()> {
            self.no_replace_attempts
                .set(self.no_replace_attempts.get() + 1);
            if self.refuse_no_replace {
                return refused(libc::EINVAL);
            }
            if self.same_name_in_other_case(to).is_some() {
                return refused(libc::EEXIST);
            }
            SystemCalls.rename_no_replace(from, to)
        }
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            if let Some(other) = self.same_name_in_other_case(to) {
                fs::remove_file(other)?;
            }
            fs::rename(from, to)
        }
        fn exists(&self, path: &Path) -> io::Result<bool> {
            Ok(self.same_name_in_other_case(path).is_some() || SystemCalls.exists(path)?)
        }
        fn remove_file(&self, path: &Path) -> io::Result<()> {
            fs::remove_file(path)
        }
        fn names_in(&self, dir: &Path) -> io::Result<Vec<OsString>> {
            SystemCalls.names_in(dir)
        }
    }

    /// Places files with these names and contents in `dest` in one export, and
    /// returns the final names.
    fn place_all(
        dest: &Path,
        overwrite: bool,
        calls: &dyn NamingCalls,
        files: &[(&str, &[u8])],
    ) -> Vec<String> {
        let mut placer = Placer::new(dest, overwrite, calls);
        let mut out = Vec::new();
        for (i, (name, contents)) in files.iter().enumerate() {
            let tmp = dest.join(format!(".audiovault-export-{i}.part"));
            fs::write(&tmp, contents).unwrap();
            let path = placer.place(&tmp, OsStr::new(name)).unwrap();
            assert!(!tmp.exists(), "the temp file is gone once named");
            assert_eq!(fs::read(&path).unwrap(), *contents);
            out.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        out
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn refused_links_fall_back_to_a_no_replace_rename_that_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.wav"), b"someone else's").unwrap();
        let calls = Refusing {
            refuse_links: true,
            ..Refusing::default()
        };
        let placed = place_all(
            dir.path(),
            false,
            &calls,
            &[("a.wav", b"one"), ("b.wav", b"two"), ("a.wav", b"three")],
        );
        assert_eq!(placed, ["a (1).wav", "b.wav", "a (2).wav"]);
        assert_eq!(
            fs::read(dir.path().join("a.wav")).unwrap(),
            b"someone else's"
        );
        assert_eq!(calls.link_attempts.get(), 1, "a refusal is remembered");
        assert_eq!(
            names_in(dir.path()),
            ["a (1).wav", "a (2).wav", "a.wav", "b.wav"]
        );
    }

    #[test]
    fn without_links_or_no_replace_renames_a_free_name_is_looked_up_first() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.wav"), b"someone else's").unwrap();
        let calls = Refusing {
            refuse_links: true,
            refuse_no_replace: true,
            ..Refusing::default()
        };
        let placed = place_all(
            dir.path(),
            false,
            &calls,
            &[("a.wav", b"one"), ("b.wav", b"two"), ("a.wav", b"three")],
        );
        assert_eq!(placed, ["a (1).wav", "b.wav", "a (2).wav"]);
        assert_eq!(
            fs::read(dir.path().join("a.wav")).unwrap(),
            b"someone else's"
        );
        assert_eq!(
            calls.no_replace_attempts.get(),
            1,
            "a refusal is remembered"
        );
    }

    #[test]
    fn names_differing_only_in_case_never_replace_each_other() {
        for (refuse_links, refuse_no_replace) in [(false, false), (true, false), (true, true)] {
            let ctx =
                format!("links refused {refuse_links}, no-replace refused {refuse_no_replace}");
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join("OLD.wav"), b"someone else's").unwrap();
            let calls = Refusing {
                refuse_links,
                refuse_no_replace,
                ignore_case: true,
                ..Refusing::default()
            };
            let placed = place_all(
                dir.path(),
                false,
                &calls,
                &[
                    ("Song.wav", b"one"),
                    ("song.wav", b"two"),
                    ("old.wav", b"three"),
                ],
            );
            assert_eq!(placed, ["Song.wav", "song (1).wav", "old (1).wav"], "{ctx}");
            assert_eq!(
                fs::read(dir.path().join("OLD.wav")).unwrap(),
                b"someone else's"
            );
            assert_eq!(
                fs::read(dir.path().join("Song.wav")).unwrap(),
                b"one",
                "{ctx}"
            );
        }
    }

    #[test]
    fn overwrite_replaces_the_exact_name_only_never_another_case() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Song.wav"), b"someone else's").unwrap();
        fs::write(dir.path().join("b.wav"), b"old b").unwrap();
        let calls = Refusing {
            ignore_case: true,
            ..Refusing::default()
        };
        let placed = place_all(
            dir.path(),
            true,
            &calls,
            &[
                ("song.wav", b"one"),
                ("b.wav", b"new b"),
                ("B.wav", b"other b"),
            ],
        );
        assert_eq!(placed, ["song (1).wav", "b.wav", "B (1).wav"]);
        assert_eq!(
            fs::read(dir.path().join("Song.wav")).unwrap(),
            b"someone else's"
        );
        assert_eq!(fs::read(dir.path().join("b.wav")).unwrap(), b"new b");
    }

    #[test]
    fn counters_go_before_the_extension() {
        assert_eq!(with_counter(OsStr::new("a b.flac"), 0), "a b.flac");
        assert_eq!(with_counter(OsStr::new("a b.flac"), 2), "a b (2).flac");
        assert_eq!(with_counter(OsStr::new("noext"), 1), "noext (1)");
    }
}
