//! `init` makes a vault only in a new or empty folder: a folder holding anything is
//! refused untouched (opening a vault cleans its temp files, and a user's `tmp/`
//! folder must never be taken for the vault's).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use audiovault_tests::*;

/// Every entry under `dir` with the contents of files (folders map to None).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    entries_under(dir)
        .into_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            let contents = p.is_file().then(|| fs::read(&p).unwrap());
            (rel, contents)
        })
        .collect()
}

#[test]
fn init_refuses_a_folder_that_is_not_empty_and_touches_nothing() {
    let vault = TestVault::uninitialised(Some(PASSPHRASE));
    let files: [(&str, &[u8]); 4] = [
        ("tmp/take 1.wav", b"a recording in a folder called tmp"),
        (
            "tmp/123-0123456789abcdef.tmp",
            b"looks like a temp name, still the user's",
        ),
        ("Album/01 Song.flac", b"music"),
        (".hidden", b"dot file"),
    ];
    for (rel, bytes) in files {
        let p = vault.path.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
    let before = tree(&vault.path);

    let run = vault.init(&[]);
    assert_eq!(run.code(), 1, "an error, exit 1 as docs/CLI.md says\n{run}");
    assert!(
        run.stderr.contains(&vault.path.display().to_string()) && run.stderr.contains("not empty"),
        "the message names the folder and the reason\n{run}"
    );
    assert_eq!(
        tree(&vault.path),
        before,
        "nothing added, removed or changed"
    );

    // Said before a passphrase is asked for (here there is none to give).
    let mut no_passphrase =
        vault.cmd(["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"]);
    no_passphrase = no_passphrase.env_remove("AUDIOVAULT_PASSPHRASE");
    let run = no_passphrase.run();
    assert_eq!(run.code(), 1, "{run}");
    assert!(run.stderr.contains("not empty"), "{run}");
    assert_eq!(tree(&vault.path), before);

    // Commands that open a vault find none there, and still delete nothing.
    let stats = vault.run(["stats"]);
    assert_eq!(stats.code(), 1, "{stats}");
    assert_eq!(tree(&vault.path), before);
}

#[test]
fn init_works_in_a_missing_or_an_empty_folder_and_not_twice() {
    let missing = TestVault::uninitialised(Some(PASSPHRASE));
    assert!(!missing.path.exists());
    missing.init(&[]).expect_ok();
    assert!(missing.path.join("vault.json").is_file());

    let empty = TestVault::uninitialised(Some(PASSPHRASE));
    fs::create_dir_all(&empty.path).unwrap();
    empty.init(&[]).expect_ok();
    assert!(empty.path.join("vault.json").is_file());
    assert_eq!(u64_field(&empty.json(["stats"]), "tracks"), 0);

    let config = fs::read(empty.path.join("vault.json")).unwrap();
    let again = empty.init(&[]);
    assert_eq!(again.code(), 1, "{again}");
    assert!(mentions(&again.stderr, &["already exists"]), "{again}");
    assert_eq!(fs::read(empty.path.join("vault.json")).unwrap(), config);
}
