//! Export: tracks back to ordinary files, byte-identical. Each file is written
//! under a temporary name in the destination, its SHA-256 compared with the
//! import checksum, and only then given its real name; a track that fails
//! leaves nothing behind. Existing files are never replaced unless asked.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::catalog::{Track, TrackId};
use crate::error::{Error, Result};
use crate::keys::random_array;
use crate::progress::{CancelToken, Progress};
use crate::store::hex;
use crate::vault::Vault;

#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Replace files of the same name in the destination instead of adding a suffix.
    pub overwrite: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub id: TrackId,
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportFailure {
    pub id: TrackId,
    pub file_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
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
        let mut names_used: HashSet<OsString> = HashSet::new();
        for track in &tracks {
            if cancel.is_cancelled() {
                report.cancelled = true;
                break;
            }
            let name = export_name(track);
            progress.item_started(Path::new(&name));
            match self.export_one(
                track,
                dest,
                &name,
                options,
                &mut names_used,
                progress,
                cancel,
            ) {
                Ok(path) => {
                    progress.item_finished(&path, true);
                    report.exported.push(Exported {
                        id: track.id.clone(),
                        path: path.to_string_lossy().into_owned(),
                        sha256: track.sha256.clone(),
                    });
                }
                Err(reason) => {
                    progress.item_finished(Path::new(&name), false);
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
            "export",
            &format!(
                "exported {} track(s) to {}, {} failed",
                report.exported.len(),
                dest.display(),
                report.failed.len()
            ),
        )?;
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    fn export_one(
        &self,
        track: &Track,
        dest: &Path,
        name: &OsStr,
        options: &ExportOptions,
        names_used: &mut HashSet<OsString>,
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
            let mut out = File::create_new(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
            let mut sha = Sha256::new();
            let mut total = 0u64;
            for c in &chunks {
                if cancel.is_cancelled() {
                    return Err("cancelled".into());
                }
                let data = self.store().get(&c.id).map_err(|e| e.to_string())?;
                if data.len() as u64 != c.length {
                    return Err(format!("chunk {} has the wrong length", c.id));
                }
                sha.update(&data);
                out.write_all(&data)
                    .map_err(|e| format!("{}: {e}", tmp.display()))?;
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
            out.sync_all()
                .map_err(|e| format!("{}: {e}", tmp.display()))
        })();
        if let Err(reason) = written {
            let _ = fs::remove_file(&tmp);
            return Err(reason);
        }
        let placed = place(&tmp, dest, name, options.overwrite, names_used);
        if placed.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        placed.map_err(|e| format!("{}: {e}", dest.display()))
    }
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

/// Gives the verified temp file its final name. Without `overwrite`, a name
/// already taken gets " (1)", " (2)"… before the extension; the hard link fails
/// atomically if the name appears meanwhile, so nothing is ever replaced.
fn place(
    tmp: &Path,
    dest: &Path,
    name: &OsStr,
    overwrite: bool,
    names_used: &mut HashSet<OsString>,
) -> io::Result<PathBuf> {
    for n in 0..10_000u32 {
        let candidate = with_counter(name, n);
        if names_used.contains(&candidate) {
            continue;
        }
        let target = dest.join(&candidate);
        if overwrite {
            fs::rename(tmp, &target)?;
            names_used.insert(candidate);
            return Ok(target);
        }
        match fs::hard_link(tmp, &target) {
            Ok(()) => {
                fs::remove_file(tmp)?;
                names_used.insert(candidate);
                return Ok(target);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free file name left",
    ))
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

    #[test]
    fn counters_go_before_the_extension() {
        assert_eq!(with_counter(OsStr::new("a b.flac"), 0), "a b.flac");
        assert_eq!(with_counter(OsStr::new("a b.flac"), 2), "a b (2).flac");
        assert_eq!(with_counter(OsStr::new("noext"), 1), "noext (1)");
    }
}
