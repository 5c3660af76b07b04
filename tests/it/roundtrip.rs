//! Import everything, export everything: the bytes that come back are the bytes that went in.

use std::collections::HashSet;

use audiovault_tests::*;

#[test]
fn every_corpus_file_exports_byte_for_byte() {
    let corpus = corpus();
    let vault = TestVault::new();
    let modified = |p: &std::path::Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let before: Vec<_> = corpus.files.iter().map(|f| modified(&f.path)).collect();

    let report = vault.import(&corpus.dirs());
    assert!(report.run.status.success(), "{}", report.run);
    assert_eq!(
        report.files().len(),
        corpus.files.len(),
        "one report entry per source file\n{}",
        report.run
    );
    assert_eq!(
        report.count("imported"),
        corpus.by_sha().len(),
        "one new track per distinct file"
    );
    assert_eq!(
        report.count("duplicate"),
        corpus.exact_duplicates(),
        "byte copies are duplicates"
    );

    // Each report entry names its file's checksum and size.
    for source in &corpus.files {
        let entry = report.entry(&source.path);
        assert_eq!(
            str_field(entry, "sha256"),
            source.sha256,
            "sha256 of {}",
            source.rel
        );
        assert_eq!(
            u64_field(entry, "size_bytes"),
            source.size,
            "size of {}",
            source.rel
        );
    }

    // The library: one track per distinct file, with its checksum, size and name.
    let tracks = vault.tracks();
    assert_eq!(tracks.len(), corpus.files.len() - corpus.exact_duplicates());
    let by_sha = corpus.by_sha();
    for t in &tracks {
        let id = str_field(t, "id");
        assert!(
            id.len() == 16
                && id
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "track id {id:?}"
        );
        let sources = by_sha
            .get(str_field(t, "sha256"))
            .unwrap_or_else(|| panic!("track {t} has no source with its sha256"));
        assert_eq!(u64_field(t, "size_bytes"), sources[0].size, "{t}");
        let name = str_field(t, "file_name");
        assert!(
            sources.iter().any(|s| s.file_name() == name),
            "track name {name:?} is not its source's"
        );
        assert_eq!(str_field(t, "state"), "active");
        assert!(t["trashed_at"].is_null(), "{t}");
        assert!(u64_field(t, "chunk_count") >= 1, "{t}");
    }
    let ids: HashSet<&str> = tracks.iter().map(|t| str_field(t, "id")).collect();
    assert_eq!(ids.len(), tracks.len(), "track ids are unique");

    // Export all: every file byte-identical to its source, under its original name.
    let out = vault.scratch_dir("export");
    let export = vault.export(&["--all"], &out, &[]).expect_ok().json();
    assert_eq!(
        as_array(&export["failed"]).len(),
        0,
        "nothing fails: {export}"
    );
    let exported = as_array(&export["exported"]);
    assert_eq!(exported.len(), tracks.len(), "one exported file per track");
    let mut seen = HashSet::new();
    for e in exported {
        let path = std::path::PathBuf::from(str_field(e, "path"));
        assert!(
            path.starts_with(&out),
            "{} is outside the export folder",
            path.display()
        );
        let actual = sha256_file(&path);
        assert_eq!(
            actual,
            str_field(e, "sha256"),
            "reported checksum of {}",
            path.display()
        );
        let track = track_with_sha(&tracks, &actual);
        assert_eq!(
            str_field(track, "id"),
            str_field(e, "id"),
            "export of {} carries the wrong id",
            path.display()
        );
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            str_field(track, "file_name"),
            "exported under its original name"
        );
        seen.insert(actual);
    }
    let distinct: HashSet<String> = corpus.files.iter().map(|f| f.sha256.clone()).collect();
    assert_eq!(
        seen, distinct,
        "the exported files are exactly the distinct sources"
    );
    assert_eq!(
        files_under(&out).len(),
        tracks.len(),
        "no stray or temporary files in the export folder"
    );

    // The sources were only read: same bytes, same modification time.
    for (source, then) in corpus.files.iter().zip(before) {
        assert_eq!(
            sha256_file(&source.path),
            source.sha256,
            "{} changed",
            source.rel
        );
        assert_eq!(
            modified(&source.path),
            then,
            "{} was written to",
            source.rel
        );
    }
}
