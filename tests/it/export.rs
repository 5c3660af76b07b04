//! Export: original names, " (1)" on collisions, never an overwrite unless asked, by
//! query and by id prefix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use audiovault_tests::*;

/// File name → SHA-256 of everything in `dir`.
fn contents(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                sha256_file(&p),
            )
        })
        .collect()
}

#[test]
fn same_names_get_numbered_and_nothing_is_overwritten() {
    let corpus = corpus();
    let vault = TestVault::new();
    let mp3s = corpus.with_ext(".mp3");
    let (a, b) = (mp3s[0], mp3s[1]);
    let src = vault.scratch_dir("src");
    let pa = src.join("one/Same Name.mp3");
    let pb = src.join("two/Same Name.mp3");
    copy_to(&a.path, &pa);
    copy_to(&b.path, &pb);
    let report = vault.import(&[&pa, &pb]);
    assert_eq!(report.count("imported"), 2, "{}", report.run);

    let out = vault.scratch_dir("out");
    vault.export(&["--all"], &out, &[]).expect_ok();
    let first = contents(&out);
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        ["Same Name (1).mp3", "Same Name.mp3"],
        "{first:?}"
    );
    let mut shas: Vec<&String> = first.values().collect();
    shas.sort();
    let mut expected = vec![&a.sha256, &b.sha256];
    expected.sort();
    assert_eq!(shas, expected, "both tracks, byte-identical");

    // Again into the same folder: the existing files stay as they were.
    vault.export(&["--all"], &out, &[]).expect_ok();
    let second = contents(&out);
    assert_eq!(
        second.keys().collect::<Vec<_>>(),
        [
            "Same Name (1).mp3",
            "Same Name (2).mp3",
            "Same Name (3).mp3",
            "Same Name.mp3"
        ],
        "{second:?}"
    );
    for (name, sha) in &first {
        assert_eq!(&second[name], sha, "{name} was not overwritten");
    }
}

#[test]
fn overwrite_only_when_asked() {
    let corpus = corpus();
    let vault = TestVault::new();
    let flac = corpus.with_ext(".flac")[0];
    let id = str_field(vault.import(&[&flac.path]).entry(&flac.path), "id").to_owned();

    let out = vault.scratch_dir("out");
    let existing = out.join(flac.file_name());
    std::fs::write(&existing, b"someone else's file").unwrap();

    let export = vault.export(&[&id], &out, &[]).expect_ok().json();
    let path = PathBuf::from(str_field(&as_array(&export["exported"])[0], "path"));
    assert_ne!(path, existing, "without --overwrite, a new name");
    assert!(
        path.file_name()
            .unwrap()
            .to_string_lossy()
            .contains(" (1)."),
        "{}",
        path.display()
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"someone else's file");
    assert_eq!(sha256_file(&path), flac.sha256);

    let export = vault
        .export(&[&id], &out, &["--overwrite"])
        .expect_ok()
        .json();
    let path = PathBuf::from(str_field(&as_array(&export["exported"])[0], "path"));
    assert_eq!(path, existing, "--overwrite writes the original name");
    assert_eq!(sha256_file(&existing), flac.sha256);
    assert_eq!(contents(&out).len(), 2);
}

#[test]
fn export_by_query_and_by_id_prefix() {
    let corpus = corpus();
    let vault = TestVault::new();
    let src = vault.scratch_dir("src");
    let quokka = src.join("Quokka Sunrise.mp3");
    let heron = src.join("Heron Dusk.flac");
    let wombat = src.join("Wombat Noon.ogg");
    copy_to(&corpus.with_ext(".mp3")[0].path, &quokka);
    copy_to(&corpus.with_ext(".flac")[0].path, &heron);
    copy_to(&corpus.with_ext(".ogg")[0].path, &wombat);
    let report = vault.import(&[&quokka, &heron, &wombat]);
    assert_eq!(report.count("imported"), 3, "{}", report.run);

    // --query: only the matching track.
    let out = vault.scratch_dir("query");
    let export = vault
        .cmd(["export", "--query", "quokka", "--to"])
        .arg(&out)
        .arg("--json")
        .run()
        .expect_ok()
        .json();
    assert_eq!(as_array(&export["exported"]).len(), 1, "{export}");
    assert_eq!(
        contents(&out).into_iter().collect::<Vec<_>>(),
        [("Quokka Sunrise.mp3".to_owned(), sha256_file(&quokka))]
    );

    // An id prefix of 6 characters names the track.
    let id = str_field(report.entry(&heron), "id");
    let prefix = &id[..6];
    assert_eq!(
        str_field(&vault.show(prefix), "id"),
        id,
        "show accepts a prefix"
    );
    let out = vault.scratch_dir("prefix");
    let export = vault.export(&[prefix], &out, &[]).expect_ok().json();
    assert_eq!(ids(&export["exported"]), vec![id.to_owned()]);
    assert_eq!(
        contents(&out).into_iter().collect::<Vec<_>>(),
        [("Heron Dusk.flac".to_owned(), sha256_file(&heron))]
    );

    // An unknown id is an error that names it, and writes nothing.
    let out = vault.scratch_dir("unknown");
    let run = vault.export(&["ffffffffffffffff"], &out, &[]);
    assert!(run.code() == 1 || run.code() == 3, "{run}");
    assert!(
        run.output().contains("ffffffffffffffff"),
        "the message names the unknown id\n{run}"
    );
    assert!(entries_under(&out).is_empty());
}
