//! Putting a file in place so that a reader sees the old one or the new one,
//! never part of one: written under a temp name (private: 0600, in 0700
//! folders), then renamed. Chunks, sealed
//! records and vault.json all go through [`put_via_temp`].

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::keys::{KeyError, random_array};
use crate::store::hex;

/// When the bytes must be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flush {
    /// Before the call returns: the file, the rename and its folder.
    Now,
    /// With a batch, by the caller (one `syncfs` on Linux, far cheaper than an
    /// fsync per file; elsewhere the file is synced here and the caller syncs
    /// its folders).
    WithBatch,
}

/// `<dir>/<pid>-<16 hex>.tmp`: the pid lets a later open tell a crashed writer's
/// leftover from a live write (`store::clean_tmp`).
pub(crate) fn temp_path(dir: &Path) -> Result<PathBuf, KeyError> {
    let suffix: [u8; 8] = random_array()?;
    Ok(dir.join(format!("{}-{}.tmp", std::process::id(), hex(&suffix))))
}

/// Writes `bytes` to the new file `tmp` and renames it to `dest` (creating
/// `dest`'s folder); the temp file is removed when anything fails. The error
/// names the file it is about.
pub(crate) fn put_via_temp(
    tmp: &Path,
    dest: &Path,
    bytes: &[u8],
    flush: Flush,
) -> Result<(), (PathBuf, io::Error)> {
    let result = (|| {
        let at = |p: &Path| {
            let p = p.to_path_buf();
            move |e| (p, e)
        };
        let mut file = crate::private::create_new(tmp).map_err(at(tmp))?;
        file.write_all(bytes).map_err(at(tmp))?;
        if flush == Flush::Now {
            file.sync_all().map_err(at(tmp))?;
        } else if cfg!(target_os = "linux") {
            start_writeback(&file);
        } else {
            file.sync_data().map_err(at(tmp))?;
        }
        let parent = dest.parent().unwrap_or(Path::new("."));
        crate::private::create_dir_all(parent).map_err(at(parent))?;
        fs::rename(tmp, dest).map_err(at(dest))?;
        if flush == Flush::Now {
            File::open(parent)
                .and_then(|d| d.sync_all())
                .map_err(at(parent))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// Starts writing a file's dirty pages to the disk and returns without waiting.
/// The batch's `syncfs` still decides durability; this only spreads the writing
/// over the batch. Otherwise the kernel holds a batch's bytes in memory until the
/// flush (it starts on its own only past gigabytes of dirty pages), and the flush of
/// a whole 1 GiB import then ran after all its work instead of beside it.
pub(crate) fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: sync_file_range takes a valid open descriptor, which `file` owns
        // for the call; SYNC_FILE_RANGE_WRITE only queues the writing.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Flushes the whole file system `dir` is on: the data and the renames of every
/// file written with [`Flush::WithBatch`] there.
#[cfg(target_os = "linux")]
pub(crate) fn sync_file_system(dir: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let f = File::open(dir)?;
    // SAFETY: syncfs takes a valid open descriptor, which `f` owns for the call.
    if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_put_leaves_the_old_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/file");
        let tmp = temp_path(dir.path()).unwrap();
        put_via_temp(&tmp, &dest, b"old", Flush::Now).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"old");
        assert!(!tmp.exists());
        // A folder in the way of the rename: the put fails, naming the target.
        let blocked = dir.path().join("blocked");
        fs::create_dir_all(blocked.join("inside")).unwrap();
        let tmp = temp_path(dir.path()).unwrap();
        let (path, _) = put_via_temp(&tmp, &blocked, b"new", Flush::WithBatch).unwrap_err();
        assert_eq!(path, blocked);
        assert!(!tmp.exists(), "the temp file is removed");
        put_via_temp(
            &temp_path(dir.path()).unwrap(),
            &dest,
            b"new",
            Flush::WithBatch,
        )
        .unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
    }
}
