//! Files the desktop hands the app ("Open with", or a second launch with file
//! arguments, which the single-instance plugin turns into a call in this one):
//! queued here until the library can take them, then taken once. The window's
//! library view takes them when it opens (after an unlock) and whenever the
//! `files-opened` event says more came, and imports them as it imports a drop.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct OpenedFiles {
    queue: Mutex<Vec<PathBuf>>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl OpenedFiles {
    /// Adds what is not queued yet; whether anything was added.
    pub fn add(&self, paths: Vec<PathBuf>) -> bool {
        let mut queue = guard(&self.queue);
        let before = queue.len();
        for p in paths {
            if !queue.contains(&p) {
                queue.push(p);
            }
        }
        queue.len() > before
    }

    /// Everything queued, which leaves the queue empty: each file is handed over once.
    pub fn take(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *guard(&self.queue))
    }
}

/// The files and folders named on a command line (`argv[0]` and options left out),
/// relative ones taken from `cwd`; names that do not exist are dropped (a launcher's
/// stray argument is not an import).
pub fn paths_from_args(args: &[String], cwd: &Path) -> Vec<PathBuf> {
    args.iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| {
            let p = Path::new(a.strip_prefix("file://").unwrap_or(a));
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                cwd.join(p)
            }
        })
        .filter(|p| p.exists())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_named_on_a_command_line_are_queued_once_and_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("take 1.wav"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("album")).unwrap();
        let args: Vec<String> = [
            "/usr/bin/audiovault-app",
            "--some-flag",
            "take 1.wav",
            "album",
            "missing.flac",
        ]
        .map(String::from)
        .to_vec();
        let paths = paths_from_args(&args, dir.path());
        assert_eq!(
            paths,
            vec![dir.path().join("take 1.wav"), dir.path().join("album")]
        );
        let opened = OpenedFiles::default();
        assert!(opened.add(paths.clone()));
        assert!(
            !opened.add(paths.clone()),
            "the same files twice are queued once"
        );
        assert_eq!(opened.take(), paths);
        assert!(opened.take().is_empty());
    }
}
