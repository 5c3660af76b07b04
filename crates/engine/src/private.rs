//! Private permissions: everything the engine makes in a vault folder is its
//! owner's alone, whatever the process's umask. Folders 0700, files 0600; a umask
//! only takes bits away, so asking for these modes at creation is enough (no
//! window in which a file exists with wider rights). SQLite's own files get the
//! mode of an empty file created here first (it gives its `-wal`, `-shm` and
//! `-journal` the database file's mode).
//!
//! A vault folder that others can read (made by an older version, restored from
//! a backup without its modes, or changed by hand) is reported: a notice when the
//! vault opens, a warning from `doctor`, which `doctor --repair` mends.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub(crate) const DIR_MODE: u32 = 0o700;
pub(crate) const FILE_MODE: u32 = 0o600;

/// `fs::create_dir_all` with every folder it makes 0700.
pub(crate) fn create_dir_all(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)
}

/// A new file (it must not exist), 0600, open for writing.
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Options that create a missing file 0600 (for callers that add their own
/// flags: a lock file, opened for writing without truncation).
pub(crate) fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.mode(FILE_MODE);
    o
}

/// Makes an empty 0600 file at `path` unless something is there already: done
/// before SQLite creates a database, so that it and its side files are private.
pub(crate) fn precreate(path: &Path) -> io::Result<()> {
    match create_new(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The mode bits (rwx for user, group, others) of `path`, links not followed.
fn mode_of(meta: &fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o777
}

/// Whether group or others have any right on the vault folder itself: the
/// cheap look the open makes.
pub(crate) fn folder_is_shared(root: &Path) -> io::Result<Option<u32>> {
    let mode = mode_of(&fs::symlink_metadata(root)?);
    Ok((mode & 0o077 != 0).then_some(mode))
}

/// Every folder and file under `root` (itself included) whose mode is not the
/// private one, with its mode. Links are neither followed nor reported.
pub(crate) fn not_private(root: &Path) -> io::Result<Vec<(PathBuf, u32)>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = entry.map_err(|e| {
            e.into_io_error()
                .unwrap_or_else(|| io::Error::other("walking the vault folder failed"))
        })?;
        let meta = match entry.metadata() {
            Ok(m) => m,
            // Gone meanwhile (a temp file renamed): nothing to say about it.
            Err(_) => continue,
        };
        let want = if meta.is_dir() {
            DIR_MODE
        } else if meta.is_file() {
            FILE_MODE
        } else {
            continue;
        };
        let mode = mode_of(&meta);
        if mode != want {
            out.push((entry.into_path(), mode));
        }
    }
    Ok(out)
}

/// Sets the private mode on each of `paths` (folders 0700, files 0600); returns
/// how many were changed. A path gone meanwhile is skipped.
pub(crate) fn make_private(paths: &[PathBuf]) -> io::Result<usize> {
    let mut changed = 0;
    for p in paths {
        let meta = match fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let want = if meta.is_dir() {
            DIR_MODE
        } else if meta.is_file() {
            FILE_MODE
        } else {
            continue;
        };
        if mode_of(&meta) != want {
            fs::set_permissions(p, fs::Permissions::from_mode(want))?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process umask, set for the test's duration (tests in this module only
    /// make files in their own folders; the umask is per process, so they run
    /// under a lock).
    fn with_umask<T>(mask: u32, f: impl FnOnce() -> T) -> T {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: umask cannot fail.
        let old = unsafe { libc::umask(mask as libc::mode_t) };
        let out = f();
        unsafe { libc::umask(old) };
        out
    }

    #[test]
    fn folders_and_files_are_private_whatever_the_umask() {
        for mask in [0o000, 0o022, 0o002, 0o077] {
            let dir = tempfile::tempdir().unwrap();
            let deep = dir.path().join("a/b/c");
            with_umask(mask, || {
                create_dir_all(&deep).unwrap();
                create_new(&deep.join("f")).unwrap();
                precreate(&deep.join("db")).unwrap();
                options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(deep.join("lock"))
                    .unwrap();
            });
            for d in ["a", "a/b", "a/b/c"] {
                let m = mode_of(&fs::metadata(dir.path().join(d)).unwrap());
                assert_eq!(m, DIR_MODE, "{d} under umask {mask:o}");
            }
            for f in ["f", "db", "lock"] {
                let m = mode_of(&fs::metadata(deep.join(f)).unwrap());
                assert_eq!(m, FILE_MODE, "{f} under umask {mask:o}");
            }
            assert_eq!(
                not_private(&dir.path().join("a")).unwrap(),
                Vec::<(PathBuf, u32)>::new()
            );
        }
    }

    #[test]
    fn shared_folders_and_files_are_found_and_mended() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vault");
        create_dir_all(&root.join("chunks")).unwrap();
        create_new(&root.join("vault.json")).unwrap();
        assert_eq!(folder_is_shared(&root).unwrap(), None);
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(root.join("vault.json"), fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(folder_is_shared(&root).unwrap(), Some(0o755));
        let found = not_private(&root).unwrap();
        assert_eq!(
            found,
            vec![(root.clone(), 0o755), (root.join("vault.json"), 0o644)]
        );
        let paths: Vec<PathBuf> = found.into_iter().map(|(p, _)| p).collect();
        assert_eq!(make_private(&paths).unwrap(), 2);
        assert!(not_private(&root).unwrap().is_empty());
        assert_eq!(folder_is_shared(&root).unwrap(), None);
    }
}
