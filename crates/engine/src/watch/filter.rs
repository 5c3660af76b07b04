//! Which names the watcher leaves alone: files still being downloaded or saved
//! under a temporary name (imported once they are renamed to their real name),
//! hidden files and folders, and the folder's own 'Not imported' subfolder.

use std::path::{Component, Path};

use super::NOT_IMPORTED_DIR;

/// Why a file is not taken up (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ignore {
    /// A dotfile or a file in a dot-folder: never reported (there are many, and
    /// the user did not put them there for import).
    Hidden,
    /// A partial download or an editor's temporary or lock file: reported once,
    /// taken up when renamed.
    Temporary(&'static str),
}

/// Endings that browsers, download managers, copy tools and editors give a file
/// while it is incomplete. Compared case-insensitively.
const TEMPORARY_SUFFIXES: &[(&str, &str)] = &[
    (".part", "a partial download"),
    (".partial", "a partial download"),
    (".crdownload", "a partial download (Chrome)"),
    (".download", "a partial download (Safari)"),
    (".opdownload", "a partial download (Opera)"),
    (".!qb", "a partial download (qBittorrent)"),
    (".!ut", "a partial download (µTorrent)"),
    (".filepart", "a partial upload (WinSCP)"),
    (".tmp", "a temporary file"),
    (".temp", "a temporary file"),
    (".swp", "an editor's swap file"),
    (".lock", "a lock file"),
    ("~", "an editor's backup file"),
];

/// `Some` when the file named `name` is not to be imported as it is.
pub(crate) fn ignore_name(name: &str) -> Option<Ignore> {
    if name.starts_with('.') {
        return Some(Ignore::Hidden);
    }
    // Microsoft Office and some audio editors keep '~$name' lock files.
    if name.starts_with("~$") {
        return Some(Ignore::Temporary("a lock file"));
    }
    let lower = name.to_lowercase();
    TEMPORARY_SUFFIXES
        .iter()
        .find(|(suffix, _)| lower.ends_with(suffix))
        .map(|(_, what)| Ignore::Temporary(what))
}

/// Whether a path below the watched `root` is out of the watcher's sight: inside
/// 'Not imported' (files the watcher itself put aside) or under a hidden folder.
/// The file's own name is judged by [`ignore_name`].
pub(crate) fn excluded_dir(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        // Not below the folder at all (an event for a path elsewhere).
        return true;
    };
    let mut components = rel.components().peekable();
    let mut first = true;
    while let Some(c) = components.next() {
        let is_last = components.peek().is_none();
        let Component::Normal(name) = c else {
            return true;
        };
        if first && name == NOT_IMPORTED_DIR {
            return true;
        }
        first = false;
        if !is_last && name.to_string_lossy().starts_with('.') {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_and_temporary_names_are_ignored_until_renamed() {
        for name in [
            "song.wav.part",
            "song.WAV.PART",
            "album.zip.crdownload",
            "take 3.wav.tmp",
            "x.flac.download",
            "~$session.wav",
            "mix.wav~",
            "track.mp3.!qB",
        ] {
            assert!(
                matches!(ignore_name(name), Some(Ignore::Temporary(_))),
                "{name} should be ignored as temporary"
            );
        }
        for name in [
            ".DS_Store",
            ".song.wav.swp",
            ".~lock.mix.wav#",
            ".hidden.wav",
        ] {
            assert_eq!(ignore_name(name), Some(Ignore::Hidden), "{name}");
        }
        for name in [
            "song.wav",
            "part.wav",
            "partial mix.flac",
            "tmp.mp3",
            "a.b.c.ogg",
        ] {
            assert_eq!(ignore_name(name), None, "{name} is a real name");
        }
    }

    #[test]
    fn not_imported_and_hidden_folders_are_out_of_sight() {
        let root = Path::new("/in");
        assert!(!excluded_dir(root, Path::new("/in/a.wav")));
        assert!(!excluded_dir(root, Path::new("/in/album/a.wav")));
        assert!(excluded_dir(root, Path::new("/in/Not imported/a.wav")));
        assert!(excluded_dir(root, Path::new("/in/Not imported")));
        assert!(
            !excluded_dir(root, Path::new("/in/album/Not imported/a.wav")),
            "only the folder's own 'Not imported' is special"
        );
        assert!(excluded_dir(root, Path::new("/in/.Trash-1000/a.wav")));
        assert!(excluded_dir(root, Path::new("/elsewhere/a.wav")));
        assert!(
            !excluded_dir(root, Path::new("/in/.a.wav")),
            "the file's own name is judged by ignore_name"
        );
    }
}
