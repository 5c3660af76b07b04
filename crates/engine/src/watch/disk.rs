//! What the watcher reads from the disk about a file: its size and times (to
//! tell whether anything wrote to it), its whole content (to prove it can be
//! read to the end), and what kind of file system holds a folder.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::error::describe_io_error;
use crate::progress::CancelToken;

/// Size and times of a file: if none of them moved, nothing wrote to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
    /// The inode change time: updated by every write and cannot be set back by
    /// a copy tool (as mtime can, with `cp -p`).
    pub(super) ctime_ns: i64,
}

impl Stamp {
    pub(super) fn of(meta: &Metadata) -> Stamp {
        Stamp {
            size: meta.len(),
            mtime_ns: meta.modified().map(nanos_since_epoch).unwrap_or(0),
            ctime_ns: ctime_ns(meta),
        }
    }

    /// When the file last changed, as far as its times tell.
    pub(super) fn last_change(&self) -> SystemTime {
        let ns = self.mtime_ns.max(self.ctime_ns).max(0) as u64;
        SystemTime::UNIX_EPOCH + Duration::from_nanos(ns)
    }
}

fn nanos_since_epoch(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

#[cfg(unix)]
fn ctime_ns(meta: &Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.ctime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.ctime_nsec())
}

#[cfg(not(unix))]
fn ctime_ns(meta: &Metadata) -> i64 {
    meta.modified().map(nanos_since_epoch).unwrap_or(0)
}

#[cfg(unix)]
pub(super) fn identity(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
pub(super) fn identity(_meta: &Metadata) -> (u64, u64) {
    (0, 0)
}

/// The kind of network file system `path` is on, if it is one: changes made by
/// other machines send no inotify events there, and its clock may differ from
/// ours, so such folders are polled and timed by observation only.
#[cfg(target_os = "linux")]
pub(super) fn network_fs(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statfs writes into the zeroed struct we own; `c` is a valid C string.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    // Magic numbers from statfs(2); f_type's width differs between targets.
    match s.f_type as u32 {
        0x6969 => Some("NFS"),
        0x517B => Some("SMB"),
        0xFF53_4D42 => Some("CIFS"),
        0xFE53_4D42 => Some("SMB2"),
        0x0102_1997 => Some("9P"),
        0x00C3_6400 => Some("Ceph"),
        0x5346_414F => Some("AFS"),
        0x7375_7245 => Some("Coda"),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn network_fs(_path: &Path) -> Option<&'static str> {
    None
}

pub(super) enum ReadCheck {
    Whole([u8; 32]),
    Changed,
    Unreadable(String),
    Cancelled,
}

/// Reads the file to the end, hashing it, and checks it is still the file that
/// settled: same length read as its size, same size and times afterwards.
pub(super) fn read_whole(path: &Path, stamp: &Stamp, cancel: &CancelToken) -> ReadCheck {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return ReadCheck::Changed,
        Err(e) => return ReadCheck::Unreadable(describe_io_error(&e)),
    };
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut total = 0u64;
    loop {
        if cancel.is_cancelled() {
            return ReadCheck::Cancelled;
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                sha.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return ReadCheck::Unreadable(describe_io_error(&e)),
        }
    }
    match fs::metadata(path) {
        Ok(m) if total == stamp.size && Stamp::of(&m) == *stamp => {
            ReadCheck::Whole(sha.finalize().into())
        }
        _ => ReadCheck::Changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::hex;

    #[test]
    fn read_whole_notices_a_file_that_changed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        fs::write(&p, b"hello").unwrap();
        let stamp = Stamp::of(&fs::metadata(&p).unwrap());
        let cancel = CancelToken::new();
        match read_whole(&p, &stamp, &cancel) {
            ReadCheck::Whole(sha) => assert_eq!(hex(&sha), hex(&Sha256::digest(b"hello"))),
            _ => panic!("an unchanged file reads whole"),
        }
        fs::write(&p, b"hello, world").unwrap();
        assert!(matches!(
            read_whole(&p, &stamp, &cancel),
            ReadCheck::Changed
        ));
        fs::remove_file(&p).unwrap();
        assert!(matches!(
            read_whole(&p, &stamp, &cancel),
            ReadCheck::Changed
        ));
    }
}
