//! What happens to a file after the import's verdict: removal only after the
//! vault's copy was read back and matched; failures moved aside, never deleted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::NOT_IMPORTED_DIR;
use crate::catalog::{Catalog, TrackId, TrackState};
use crate::store::hex;
use crate::vault::Vault;

/// Reads the track back from the vault, authenticating every chunk, and checks
/// it is the file's content: the condition for deleting the user's file.
pub(super) fn verify_track(
    vault: &Vault,
    catalog: &Catalog,
    id: &TrackId,
    sha_hex: &str,
) -> Result<(), String> {
    let track = catalog
        .track(id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("track {id} is not in the catalog"))?;
    if track.state != TrackState::Active {
        return Err(format!("the vault's copy (track {id}) is in the trash"));
    }
    if track.sha256 != sha_hex {
        return Err(format!("track {id} has another checksum"));
    }
    let chunks = catalog.track_chunks(id).map_err(|e| e.to_string())?;
    let mut sha = Sha256::new();
    let mut total = 0u64;
    for c in &chunks {
        let data = vault
            .store()
            .read_track_chunk(c)
            .map_err(|e| format!("reading track {id} back failed: {e}"))?;
        sha.update(&data);
        total += data.len() as u64;
    }
    if total != track.size_bytes || hex(&sha.finalize()) != sha_hex {
        return Err(format!(
            "track {id} read back does not match the file's SHA-256"
        ));
    }
    Ok(())
}

/// `name (1).ext`, `name (2).ext`, … for the n-th collision.
fn numbered(path: &Path, n: u32) -> PathBuf {
    if n == 0 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem} ({n}).{}", ext.to_string_lossy()),
        None => format!("{stem} ({n})"),
    };
    path.with_file_name(name)
}

/// Moves a file that failed into `root/Not imported/`, keeping its place in
/// the tree and never replacing a file already there. The file is never
/// deleted: a hard link to the new name comes first, then the old name goes;
/// where links are not supported (FAT cards) a rename takes a free name.
pub(super) fn move_aside(root: &Path, path: &Path) -> io::Result<PathBuf> {
    let rel = path
        .strip_prefix(root)
        .ok()
        .map(Path::to_path_buf)
        .or_else(|| path.file_name().map(PathBuf::from))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let target = root.join(NOT_IMPORTED_DIR).join(rel);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
    }
    for n in 0..10_000 {
        let candidate = numbered(&target, n);
        match fs::hard_link(path, &candidate) {
            Ok(()) => {
                if let Err(e) = fs::remove_file(path) {
                    // Undo rather than leave the file under two names.
                    let _ = fs::remove_file(&candidate);
                    return Err(e);
                }
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                if fs::symlink_metadata(&candidate).is_ok() {
                    continue;
                }
                fs::rename(path, &candidate)?;
                return Ok(candidate);
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name in 'Not imported'",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_keep_the_extension() {
        let p = Path::new("/in/Not imported/a b.wav");
        assert_eq!(numbered(p, 0), p);
        assert_eq!(numbered(p, 2), Path::new("/in/Not imported/a b (2).wav"));
        assert_eq!(
            numbered(Path::new("/x/noext"), 1),
            Path::new("/x/noext (1)")
        );
    }

    #[test]
    fn moving_aside_keeps_the_tree_and_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("album")).unwrap();
        fs::write(root.join("album/bad.wav"), b"one").unwrap();
        let to = move_aside(root, &root.join("album/bad.wav")).unwrap();
        assert_eq!(to, root.join("Not imported/album/bad.wav"));
        assert!(!root.join("album/bad.wav").exists());
        fs::write(root.join("album/bad.wav"), b"two").unwrap();
        let to2 = move_aside(root, &root.join("album/bad.wav")).unwrap();
        assert_eq!(to2, root.join("Not imported/album/bad (1).wav"));
        assert_eq!(fs::read(&to).unwrap(), b"one");
        assert_eq!(fs::read(&to2).unwrap(), b"two");
    }
}
