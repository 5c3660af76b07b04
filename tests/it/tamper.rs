//! Every byte read back is authenticated: a damaged chunk is found by `verify` and never
//! exported.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use audiovault_tests::*;

/// A vault with a handful of corpus files, including a multi-chunk MP3.
fn small_vault() -> (TestVault, Vec<&'static SourceFile>) {
    let corpus = corpus();
    let in_folder = |dir: &str, ext: &str| {
        corpus
            .files
            .iter()
            .find(|f| f.rel.starts_with(dir) && f.rel.ends_with(ext))
            .unwrap()
    };
    let sources: Vec<&SourceFile> = [
        corpus.file("dupes/original.mp3"),
        in_folder("cover/", ".flac"),
        in_folder("unicode/", ".mp3"),
    ]
    .into_iter()
    .chain(corpus.with_ext(".opus").into_iter().take(1))
    .chain(corpus.with_ext(".wav").into_iter().take(1))
    .collect();
    let vault = TestVault::new();
    let paths: Vec<&PathBuf> = sources.iter().map(|s| &s.path).collect();
    let report = vault.import(&paths);
    assert_eq!(report.count("imported"), sources.len(), "{}", report.run);
    (vault, sources)
}

/// A chunk of track `id` that no other track uses.
fn private_chunk(vault: &TestVault, id: &str) -> String {
    let mut users: HashMap<String, HashSet<String>> = HashMap::new();
    for t in vault.all_tracks() {
        let tid = str_field(&t, "id").to_owned();
        for (c, _) in vault.chunks_of(&tid) {
            users.entry(c).or_default().insert(tid.clone());
        }
    }
    let chunks = vault.chunks_of(id);
    // Prefer a chunk in the middle of the file.
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.rotate_left(chunks.len() / 2);
    order
        .into_iter()
        .map(|i| chunks[i].0.clone())
        .find(|c| users[c].len() == 1)
        .unwrap_or_else(|| panic!("track {id} has no chunk of its own"))
}

fn flip_byte(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn one_flipped_byte_is_caught_by_verify_and_export() {
    let (vault, sources) = small_vault();
    let tracks = vault.tracks();
    let victim = str_field(track_with_sha(&tracks, &sources[0].sha256), "id").to_owned();
    let chunk = private_chunk(&vault, &victim);

    let clean = vault.cmd(["verify", "--json"]).run().expect_ok().json();
    assert_eq!(clean["ok"], true, "{clean}");
    assert_eq!(u64_field(&clean, "tracks_checked"), tracks.len() as u64);
    assert_eq!(
        u64_field(&clean, "chunks_checked"),
        vault.chunk_files().len() as u64,
        "verify checks every chunk file, cover art included: {clean}"
    );
    let logical: u64 = sources.iter().map(|s| s.size).sum();
    assert!(u64_field(&clean, "bytes_checked") >= logical, "{clean}");

    flip_byte(&vault.chunk_path(&chunk));

    // verify: exit 3, the chunk is corrupt, the track is damaged, the others are not.
    let report = vault.cmd(["verify", "--json"]).run().expect_code(3).json();
    assert_eq!(report["ok"], false);
    let damaged_chunks = as_array(&report["damaged_chunks"]);
    assert_eq!(
        damaged_chunks.len(),
        1,
        "exactly the flipped chunk: {report}"
    );
    assert_eq!(str_field(&damaged_chunks[0], "id"), chunk);
    assert_eq!(str_field(&damaged_chunks[0], "reason"), "corrupt");
    let users: Vec<&str> = as_array(&damaged_chunks[0]["tracks"])
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(
        users,
        [victim.as_str()],
        "the damaged chunk names its track: {report}"
    );
    let damaged_tracks = as_array(&report["damaged_tracks"]);
    assert_eq!(
        ids(&report["damaged_tracks"]),
        vec![victim.clone()],
        "{report}"
    );
    assert_eq!(
        str_field(&damaged_tracks[0], "file_name"),
        sources[0].file_name()
    );
    // Human output names the track too.
    let human = vault.run(["verify"]).expect_code(3);
    assert!(
        human.output().contains(&victim) || human.output().contains(sources[0].file_name()),
        "verify's message names the damaged track\n{human}"
    );

    // Export of the damaged track: exit 3, listed as failed, nothing written.
    let out = vault.scratch_dir("one");
    let export = vault.export(&[&victim], &out, &[]).expect_code(3).json();
    assert_eq!(as_array(&export["exported"]).len(), 0, "{export}");
    assert_eq!(ids(&export["failed"]), vec![victim.clone()], "{export}");
    assert!(!str_field(&as_array(&export["failed"])[0], "reason").is_empty());
    assert_eq!(
        entries_under(&out),
        Vec::<PathBuf>::new(),
        "no file, partial or temporary, in the destination"
    );

    // Export of everything: the other tracks still come back intact.
    let out = vault.scratch_dir("all");
    let export = vault.export(&["--all"], &out, &[]).expect_code(3).json();
    assert_eq!(ids(&export["failed"]), vec![victim.clone()], "{export}");
    let exported = as_array(&export["exported"]);
    assert_eq!(exported.len(), sources.len() - 1, "{export}");
    for e in exported {
        let path = PathBuf::from(str_field(e, "path"));
        let sha = sha256_file(&path);
        assert!(
            sources[1..].iter().any(|s| s.sha256 == sha),
            "{} is byte-identical to a source",
            path.display()
        );
    }
    assert_eq!(
        files_under(&out).len(),
        sources.len() - 1,
        "only the intact tracks were written"
    );
}

#[test]
fn a_missing_chunk_is_reported_as_missing() {
    let (vault, sources) = small_vault();
    let tracks = vault.tracks();
    let victim = str_field(track_with_sha(&tracks, &sources[1].sha256), "id").to_owned();
    let chunk = private_chunk(&vault, &victim);
    std::fs::remove_file(vault.chunk_path(&chunk)).unwrap();

    let report = vault.cmd(["verify", "--json"]).run().expect_code(3).json();
    let damaged = as_array(&report["damaged_chunks"]);
    assert_eq!(damaged.len(), 1, "{report}");
    assert_eq!(str_field(&damaged[0], "id"), chunk);
    assert_eq!(str_field(&damaged[0], "reason"), "missing");
    assert_eq!(ids(&report["damaged_tracks"]), vec![victim.clone()]);

    let out = vault.scratch_dir("out");
    let export = vault.export(&[&victim], &out, &[]).expect_code(3).json();
    assert_eq!(ids(&export["failed"]), vec![victim]);
    assert!(entries_under(&out).is_empty());
}

#[test]
fn damaged_cover_art_is_caught_by_verify_and_the_audio_still_exports() {
    let corpus = corpus();
    let vault = TestVault::new();
    let cover = corpus
        .files
        .iter()
        .find(|f| f.rel.starts_with("cover/") && f.rel.ends_with(".mp3"))
        .unwrap();
    let report = vault.import(&[&cover.path]);
    let id = str_field(report.entry(&cover.path), "id").to_owned();
    let audio: HashSet<String> = vault.chunks_of(&id).into_iter().map(|(c, _)| c).collect();
    let art: Vec<String> = vault
        .chunk_files()
        .into_keys()
        .filter(|c| !audio.contains(c))
        .collect();
    assert_eq!(
        art.len(),
        1,
        "the cover art is stored as a chunk of its own: {art:?}"
    );

    let clean = vault.cmd(["verify", "--json"]).run().expect_ok().json();
    assert_eq!(
        u64_field(&clean, "chunks_checked"),
        audio.len() as u64 + 1,
        "verify authenticates every chunk, the artwork's too: {clean}"
    );

    flip_byte(&vault.chunk_path(&art[0]));
    let report = vault.cmd(["verify", "--json"]).run().expect_code(3).json();
    let damaged = as_array(&report["damaged_chunks"]);
    assert_eq!(damaged.len(), 1, "{report}");
    assert_eq!(str_field(&damaged[0], "id"), art[0]);
    assert_eq!(str_field(&damaged[0], "reason"), "corrupt");

    // The file's own bytes are intact: it still exports byte-identical.
    let out = vault.scratch_dir("out");
    vault.export(&[&id], &out, &[]).expect_ok();
    let files = files_under(&out);
    assert_eq!(files.len(), 1);
    assert_eq!(sha256_file(&files[0]), cover.sha256);
}
