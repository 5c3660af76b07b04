//! The vault folders this app has opened, most recent first: this device's list, in
//! the app's config folder (`recent.json`, private to its owner). The first is where
//! the app starts when `AUDIOVAULT_VAULT` is not set, so a vault opened anywhere but
//! the default comes back to its unlock form; the first-run screen lists the others.
//! Only paths are kept; nothing about a vault's contents, and no key.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// How many folders the list keeps.
pub const KEPT: usize = 8;
pub const FILE: &str = "recent.json";

#[derive(Default)]
pub struct RecentVaults {
    file: Mutex<Option<PathBuf>>,
    folders: Mutex<Vec<PathBuf>>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RecentVaults {
    /// Reads the list saved in `file` (none, or an unreadable one, is an empty list:
    /// it is a convenience, never a reason not to start).
    pub fn load(&self, file: PathBuf) {
        let saved: Vec<PathBuf> = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        *guard(&self.folders) = saved.into_iter().take(KEPT).collect();
        *guard(&self.file) = Some(file);
    }

    /// `dir` was opened: first in the list from now on, and saved.
    pub fn opened(&self, dir: &Path) {
        let list = {
            let mut folders = guard(&self.folders);
            folders.retain(|d| d != dir);
            folders.insert(0, dir.to_path_buf());
            folders.truncate(KEPT);
            folders.clone()
        };
        let Some(file) = guard(&self.file).clone() else {
            return;
        };
        if let Err(e) = save(&file, &list) {
            eprintln!(
                "audiovault: the recent vaults were not saved ({}: {e})",
                file.display()
            );
        }
    }

    /// The last vault opened, when its folder still holds a vault.
    pub fn last(&self) -> Option<PathBuf> {
        guard(&self.folders)
            .first()
            .filter(|d| d.join("vault.json").is_file())
            .cloned()
    }

    /// The folders that still hold a vault, most recent first, but for `current`.
    pub fn others_than(&self, current: &Path) -> Vec<PathBuf> {
        guard(&self.folders)
            .iter()
            .filter(|d| d.as_path() != current && d.join("vault.json").is_file())
            .cloned()
            .collect()
    }
}

fn save(file: &Path, list: &[PathBuf]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(list).map_err(std::io::Error::other)?;
    let tmp = file.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&bytes)?;
    drop(f);
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault_at(dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("vault.json"), b"{}").unwrap();
        dir.to_path_buf()
    }

    #[test]
    fn the_last_vault_opened_comes_first_and_survives_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("config").join(FILE);
        let (a, b) = (
            vault_at(&tmp.path().join("a")),
            vault_at(&tmp.path().join("b")),
        );
        let recent = RecentVaults::default();
        recent.load(file.clone());
        assert_eq!(recent.last(), None);
        recent.opened(&a);
        recent.opened(&b);
        recent.opened(&a);

        let again = RecentVaults::default();
        again.load(file.clone());
        assert_eq!(again.last(), Some(a.clone()));
        assert_eq!(again.others_than(&a), vec![b.clone()]);
        // A folder whose vault is gone (an unplugged disk) is not offered.
        std::fs::remove_file(b.join("vault.json")).unwrap();
        assert!(again.others_than(&a).is_empty());
        std::fs::remove_file(a.join("vault.json")).unwrap();
        assert_eq!(again.last(), None);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn the_list_is_bounded_and_a_damaged_file_is_an_empty_list() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join(FILE);
        let recent = RecentVaults::default();
        recent.load(file.clone());
        for i in 0..(KEPT + 3) {
            recent.opened(&vault_at(&tmp.path().join(format!("v{i}"))));
        }
        let again = RecentVaults::default();
        again.load(file.clone());
        assert_eq!(again.others_than(Path::new("/none")).len(), KEPT);
        std::fs::write(&file, b"not json").unwrap();
        let damaged = RecentVaults::default();
        damaged.load(file);
        assert_eq!(damaged.last(), None);
    }
}
