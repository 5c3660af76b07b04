//! Trash, restore, purge, gc, and the statistics that follow them.

use std::collections::HashSet;

use audiovault_tests::*;

#[test]
fn stats_describe_the_library() {
    let corpus = corpus();
    let vault = TestVault::new();
    vault.import(&corpus.dirs());
    let stats = vault.stats();
    let tracks = vault.tracks();

    assert_eq!(u64_field(&stats, "tracks"), tracks.len() as u64, "{stats}");
    assert_eq!(u64_field(&stats, "trashed"), 0);
    let logical: u64 = tracks.iter().map(|t| u64_field(t, "size_bytes")).sum();
    assert_eq!(
        u64_field(&stats, "logical_bytes"),
        logical,
        "logical bytes are the tracks' sizes"
    );
    let on_disk = vault.chunk_files();
    assert_eq!(
        u64_field(&stats, "chunks"),
        on_disk.len() as u64,
        "one chunk file per chunk"
    );
    assert_eq!(
        u64_field(&stats, "stored_bytes"),
        on_disk.values().sum::<u64>(),
        "stored bytes are the chunk files' sizes"
    );
    let unique = u64_field(&stats, "unique_bytes");
    let saved = u64_field(&stats, "dedup_saved_bytes");
    assert_eq!(
        saved,
        logical - unique,
        "dedup_saved_bytes = logical_bytes - unique_bytes: {stats}"
    );
    // The exact copy adds no track; the re-tagged copy of the same MP3 shares its chunks.
    assert!(
        saved > 0,
        "the re-tagged copy in dupes/ shares chunks: {stats}"
    );
    assert!(stats["quota_bytes"].is_null(), "{stats}");

    // After gc, the chunk files on disk are exactly the chunks the tracks reference
    // (audio and cover art), as `show --json` tells them.
    vault.json(["gc"]);
    let on_disk: HashSet<String> = vault.chunk_files().into_keys().collect();
    let referenced = vault.referenced_chunks();
    let unlisted: Vec<&String> = on_disk.difference(&referenced).collect();
    assert!(
        unlisted.is_empty(),
        "chunk files that no `show --json` mentions: {unlisted:?}"
    );
    assert_eq!(on_disk, referenced);

    let by_format = as_array(&stats["by_format"]);
    let formats: HashSet<&str> = by_format.iter().map(|f| str_field(f, "format")).collect();
    assert!(
        formats.len() >= 6,
        "wav, aiff, flac, m4a/mp4, mp3, ogg, opus…: {formats:?}"
    );
    assert_eq!(
        by_format
            .iter()
            .map(|f| u64_field(f, "tracks"))
            .sum::<u64>(),
        tracks.len() as u64
    );
    assert_eq!(
        by_format
            .iter()
            .map(|f| u64_field(f, "logical_bytes"))
            .sum::<u64>(),
        logical
    );
}

#[test]
fn trash_restore_purge_and_gc() {
    let corpus = corpus();
    let vault = TestVault::new();
    vault.import(&corpus.dirs());
    let stats0 = vault.stats();
    let chunks0 = vault.chunk_files();
    let n = u64_field(&stats0, "tracks");

    // The victim: a WAV, whose chunks no other track shares.
    let wav = corpus.with_ext(".wav")[0];
    let victim = str_field(track_with_sha(&vault.tracks(), &wav.sha256), "id").to_owned();
    let victim_chunks: HashSet<String> = vault
        .chunks_of(&victim)
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let others: HashSet<String> = vault
        .tracks()
        .iter()
        .map(|t| str_field(t, "id"))
        .filter(|id| *id != victim)
        .flat_map(|id| vault.chunks_of(id))
        .map(|(c, _)| c)
        .collect();
    assert!(
        victim_chunks.is_disjoint(&others),
        "the WAV shares no chunk"
    );

    // Trash: out of the library, into the trash; its data stays.
    vault.run(["trash", &victim]).expect_ok();
    assert!(
        !ids(&serde_json::Value::Array(vault.tracks())).contains(&victim),
        "trashed tracks leave the library"
    );
    let trashed = vault.trashed_tracks();
    assert_eq!(
        ids(&serde_json::Value::Array(trashed.clone())),
        vec![victim.clone()]
    );
    assert_eq!(str_field(&trashed[0], "state"), "trashed");
    assert!(trashed[0]["trashed_at"].is_string(), "{}", trashed[0]);
    assert_eq!(vault.all_tracks().len() as u64, n);
    let stats = vault.stats();
    assert_eq!(u64_field(&stats, "tracks"), n - 1, "{stats}");
    assert_eq!(u64_field(&stats, "trashed"), 1, "{stats}");

    // gc keeps what a trashed track references.
    let gc = vault.json(["gc"]);
    assert_eq!(u64_field(&gc, "removed_chunks"), 0, "{gc}");
    assert_eq!(vault.chunk_files(), chunks0);

    // A purge limited to tracks trashed more than a day ago leaves it alone.
    vault.json(["purge", "--older-than-days", "1"]);
    assert_eq!(
        vault.trashed_tracks().len(),
        1,
        "trashed just now: not older than 1 day"
    );
    assert_eq!(vault.chunk_files(), chunks0);

    // Restore: back as it was.
    vault.run(["restore", &victim]).expect_ok();
    let stats = vault.stats();
    assert_eq!(u64_field(&stats, "tracks"), n);
    assert_eq!(u64_field(&stats, "trashed"), 0);
    assert_eq!(stats["logical_bytes"], stats0["logical_bytes"]);
    let out = vault.scratch_dir("restored");
    let export = vault.export(&[&victim], &out, &[]).expect_ok().json();
    assert_eq!(
        sha256_file(std::path::Path::new(str_field(
            &as_array(&export["exported"])[0],
            "path"
        ))),
        wav.sha256
    );

    // Trash and purge: gone for good, and so are its chunk files.
    vault.run(["trash", &victim]).expect_ok();
    vault.json(["purge"]);
    assert!(vault.trashed_tracks().is_empty());
    assert!(!ids(&serde_json::Value::Array(vault.all_tracks())).contains(&victim));
    assert_eq!(
        vault.run(["show", &victim]).code(),
        1,
        "a purged track is unknown"
    );
    let chunks = vault.chunk_files();
    for c in &victim_chunks {
        assert!(!chunks.contains_key(c), "purge removed chunk {c}");
    }
    assert_eq!(
        chunks.len(),
        chunks0.len() - victim_chunks.len(),
        "purge removed only the victim's chunks"
    );
    let stats = vault.stats();
    assert_eq!(u64_field(&stats, "tracks"), n - 1);
    assert_eq!(u64_field(&stats, "trashed"), 0);
    assert_eq!(
        u64_field(&stats, "logical_bytes"),
        u64_field(&stats0, "logical_bytes") - wav.size
    );
    assert_eq!(
        u64_field(&stats, "stored_bytes"),
        chunks.values().sum::<u64>()
    );
    let gc = vault.json(["gc"]);
    assert_eq!(
        u64_field(&gc, "removed_chunks"),
        0,
        "purge already ran gc: {gc}"
    );
    let verify = vault.cmd(["verify", "--json"]).run().expect_ok().json();
    assert_eq!(verify["ok"], true);
}

#[test]
fn gc_removes_unreferenced_chunk_files_and_reports_them() {
    let corpus = corpus();
    let flac = corpus.with_ext(".flac")[0];
    let mp3 = corpus.with_ext(".mp3")[0];

    // A chunk file no track of this vault references: one from another vault, planted in
    // the store (as a crashed import would leave it), dated two days back so that a
    // grace period for imports in flight does not apply.
    let other = TestVault::new();
    other.import(&[&mp3.path]);
    let (foreign, _) = other.chunks_of(str_field(&other.tracks()[0], "id"))[0].clone();
    let foreign_file = other.chunk_path(&foreign);
    let size = std::fs::metadata(&foreign_file).unwrap().len();

    let vault = TestVault::new();
    vault.import(&[&flac.path]);
    let before = vault.chunk_files();
    let planted = vault
        .path
        .join("chunks")
        .join(&foreign[..2])
        .join(&foreign[2..4])
        .join(&foreign);
    copy_to(&foreign_file, &planted);
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&planted)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();

    let gc = vault.json(["gc"]);
    assert_eq!(u64_field(&gc, "removed_chunks"), 1, "{gc}");
    assert_eq!(u64_field(&gc, "removed_bytes"), size, "{gc}");
    assert!(!planted.exists(), "the unreferenced chunk file is gone");
    assert_eq!(
        vault.chunk_files(),
        before,
        "the track's chunks are untouched"
    );
    let gc = vault.json(["gc"]);
    assert_eq!(
        u64_field(&gc, "removed_chunks"),
        0,
        "nothing left to collect: {gc}"
    );
    assert_eq!(u64_field(&gc, "removed_bytes"), 0, "{gc}");
    assert_eq!(
        vault.cmd(["verify", "--json"]).run().expect_ok().json()["ok"],
        true
    );
}

#[test]
fn shared_cover_art_is_purged_with_the_last_track_that_uses_it() {
    let corpus = corpus();
    let vault = TestVault::new();
    let covers: Vec<&SourceFile> = corpus
        .files
        .iter()
        .filter(|f| f.rel.starts_with("cover/"))
        .collect();
    assert_eq!(covers.len(), 2, "an MP3 and a FLAC with the same cover");
    let report = vault.import(&covers.iter().map(|f| &f.path).collect::<Vec<_>>());
    let ids: Vec<String> = covers
        .iter()
        .map(|f| str_field(report.entry(&f.path), "id").to_owned())
        .collect();
    let audio: HashSet<String> = ids
        .iter()
        .flat_map(|id| vault.chunks_of(id))
        .map(|(c, _)| c)
        .collect();
    let art: Vec<String> = vault
        .chunk_files()
        .into_keys()
        .filter(|c| !audio.contains(c))
        .collect();
    assert_eq!(art.len(), 1, "one cover, stored once: {art:?}");

    vault.run(["trash", &ids[0]]).expect_ok();
    vault.json(["purge"]);
    assert!(
        vault.chunk_files().contains_key(&art[0]),
        "the other track still shows this cover"
    );
    let verify = vault.cmd(["verify", "--json"]).run().expect_ok().json();
    assert_eq!(verify["ok"], true);

    vault.run(["trash", &ids[1]]).expect_ok();
    vault.json(["purge"]);
    assert_eq!(
        vault.chunk_files().len(),
        0,
        "no track left: no chunk left, the cover's included"
    );
    assert_eq!(u64_field(&vault.stats(), "stored_bytes"), 0);
}
