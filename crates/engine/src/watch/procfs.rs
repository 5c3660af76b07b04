//! "Is some process still writing this file?" On Linux, every open file of every
//! process we may inspect is listed under `/proc/PID/fd`, and its open mode under
//! `/proc/PID/fdinfo/FD`. A size and mtime that have not changed for the settle
//! time do not prove a writer is done (a recorder or a DAW may pause); an open
//! write descriptor proves it is not.
//!
//! The sweep reads every process's descriptor table, so it runs once per batch
//! of settled files, never per event. Processes of other users are invisible
//! without privileges: the check is best effort on top of the settle time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A process that has a file open for writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Writer {
    pub pid: u32,
    /// The process's command name (`/proc/PID/comm`), for the user.
    pub command: String,
}

impl std::fmt::Display for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.command.is_empty() {
            write!(f, "process {}", self.pid)
        } else {
            write!(f, "process {} ({})", self.pid, self.command)
        }
    }
}

/// For each of `paths` that some process holds open for writing, that process.
#[cfg(target_os = "linux")]
pub(crate) fn writers(paths: &[&Path]) -> HashMap<PathBuf, Writer> {
    use std::fs;

    let mut wanted: HashMap<PathBuf, PathBuf> = HashMap::new();
    for p in paths {
        // /proc/PID/fd links name the resolved path: compare like with like.
        let canonical = fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        wanted.insert(canonical, p.to_path_buf());
    }
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return found;
    }
    let Ok(procs) = fs::read_dir("/proc") else {
        return found;
    };
    for proc_entry in procs.flatten() {
        let name = proc_entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let proc_dir = proc_entry.path();
        // Unreadable for processes of other users, and gone for those that just
        // exited: both are skipped.
        let Ok(fds) = fs::read_dir(proc_dir.join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            let Some(original) = wanted.get(&target) else {
                continue;
            };
            if found.contains_key(original) {
                continue;
            }
            let info = proc_dir.join("fdinfo").join(fd.file_name());
            if fs::read_to_string(&info)
                .ok()
                .and_then(|text| open_flags(&text))
                .is_some_and(is_write_mode)
            {
                let command = fs::read_to_string(proc_dir.join("comm"))
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default();
                found.insert(original.clone(), Writer { pid, command });
            }
        }
    }
    found
}

/// Elsewhere no cheap, reliable source exists: the settle time alone decides.
#[cfg(not(target_os = "linux"))]
pub(crate) fn writers(_paths: &[&Path]) -> HashMap<PathBuf, Writer> {
    HashMap::new()
}

/// The `flags:` line of an fdinfo file: the open(2) flags, in octal.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn open_flags(fdinfo: &str) -> Option<u32> {
    fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn is_write_mode(flags: u32) -> bool {
    let mode = flags & libc::O_ACCMODE as u32;
    mode == libc::O_WRONLY as u32 || mode == libc::O_RDWR as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fdinfo_flags() {
        let text = "pos:\t0\nflags:\t0100001\nmnt_id:\t29\nino:\t1234\n";
        let flags = open_flags(text).unwrap();
        assert!(is_write_mode(flags));
        assert!(!is_write_mode(
            open_flags("pos:\t0\nflags:\t0100000\n").unwrap()
        ));
        assert!(is_write_mode(open_flags("flags:\t02\n").unwrap()));
        assert_eq!(open_flags("pos:\t0\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_this_process_writing_and_not_reading() {
        let dir = tempfile::tempdir().unwrap();
        let written = dir.path().join("being written.wav");
        let read = dir.path().join("only read.wav");
        std::fs::write(&read, b"RIFF").unwrap();
        let w = std::fs::File::create(&written).unwrap();
        let r = std::fs::File::open(&read).unwrap();
        let found = writers(&[written.as_path(), read.as_path()]);
        let writer = found.get(&written).expect("the write descriptor is seen");
        assert_eq!(writer.pid, std::process::id());
        assert!(!found.contains_key(&read), "a reader is not a writer");
        drop(w);
        drop(r);
        assert!(
            writers(&[written.as_path()]).is_empty(),
            "closed: no writer"
        );
    }
}
