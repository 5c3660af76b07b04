//! Formats: a file's content names its format, its extension only decides whether it is
//! taken; `--format` takes the formats table's names and refuses others, listing them.

use audiovault_tests::*;

/// The format a well-named corpus file has always had (by its extension).
fn format_by_name(file_name: &str) -> &'static str {
    match file_name.rsplit('.').next().unwrap_or_default() {
        "wav" => "wav",
        "aiff" => "aiff",
        "flac" => "flac",
        "m4a" => "m4a",
        "mp3" => "mp3",
        "ogg" => "ogg",
        "opus" => "opus",
        other => panic!("the corpus has a .{other} file: add it here"),
    }
}

#[test]
fn well_named_files_keep_their_format_and_misnamed_ones_get_their_real_one() {
    let corpus = corpus();
    let vault = TestVault::new();

    // Every file of the corpus, named as its encoder named it: unchanged formats.
    vault.import(&corpus.dirs());
    let tracks = vault.tracks();
    assert!(tracks.len() >= 30, "{}", tracks.len());
    for t in &tracks {
        let name = str_field(t, "file_name");
        assert_eq!(str_field(t, "format"), format_by_name(name), "{t}");
    }

    // A FLAC named .mp3 and an MP3 named .flac: taken (their extensions are allowed),
    // catalogued as what they are, exported byte-identical under the names they came with.
    let flac = corpus.with_ext(".flac")[0];
    let mp3 = corpus.with_ext(".mp3")[0];
    let src = vault.scratch_dir("misnamed");
    let flac_as_mp3 = src.join("really a flac.mp3");
    let mp3_as_flac = src.join("really an mp3.flac");
    // A byte changed at the end: new content, not a duplicate of the corpus's track.
    for (from, to) in [(&flac.path, &flac_as_mp3), (&mp3.path, &mp3_as_flac)] {
        let mut bytes = std::fs::read(from).unwrap();
        bytes.push(0);
        std::fs::write(to, bytes).unwrap();
    }
    let report = vault.import(&[&flac_as_mp3, &mp3_as_flac]);
    assert_eq!(report.count("imported"), 2, "{}", report.run);
    for (path, format) in [(&flac_as_mp3, "flac"), (&mp3_as_flac, "mp3")] {
        let id = str_field(report.entry(path), "id");
        let show = vault.show(id);
        let track = if show.get("track").is_some() {
            &show["track"]
        } else {
            &show
        };
        assert_eq!(str_field(track, "format"), format, "{show}");
        assert_eq!(str_field(track, "container"), format, "{show}");
    }
    let found = vault.json(["search", "really", "--format", "flac"]);
    let names: Vec<&str> = as_array(&found["tracks"])
        .iter()
        .map(|t| str_field(t, "file_name"))
        .collect();
    assert_eq!(names, ["really a flac.mp3"], "{found}");

    let out = vault.scratch_dir("out");
    vault.export(&["--query", "really"], &out, &[]).expect_ok();
    for path in [&flac_as_mp3, &mp3_as_flac] {
        let name = path.file_name().unwrap();
        assert_eq!(sha256_file(&out.join(name)), sha256_file(path), "{name:?}");
    }

    // The extension still decides whether a file is taken: a FLAC named .txt is not.
    let flac_as_txt = src.join("flac.txt");
    copy_to(&flac.path, &flac_as_txt);
    let report = vault.import(&[&flac_as_txt]);
    assert_eq!(
        str_field(report.entry(&flac_as_txt), "outcome"),
        "rejected",
        "{}",
        report.run
    );
}

#[test]
fn an_unknown_format_is_refused_with_the_known_ones() {
    let vault = TestVault::new();
    let run = vault.run(["search", "--format", "flca", "--json"]);
    assert_eq!(run.code(), 2, "a usage error\n{run}");
    let listed = run.stderr.to_lowercase();
    assert!(listed.contains("flca"), "{run}");
    for known in ["wav", "aiff", "flac", "m4a", "aac", "mp3", "ogg", "opus"] {
        assert!(listed.contains(known), "{known} not listed\n{run}");
    }
    // A known one is fine, even with nothing of it in the vault.
    let found = vault.json(["search", "--format", "flac", "--format", "opus"]);
    assert!(as_array(&found["tracks"]).is_empty(), "{found}");
}
