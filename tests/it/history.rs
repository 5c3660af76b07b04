//! What happened, read back: `jobs` lists each import with its counts, `jobs ID` its
//! files with their outcomes and reasons, and `log` the activity log by kind.

use audiovault_tests::*;

#[test]
fn jobs_list_each_import_and_name_why_a_file_was_not_imported() {
    let corpus = corpus();
    let vault = TestVault::new();
    let dir = tempfile::tempdir().expect("a temp dir");
    let wav = corpus.with_ext(".wav")[0];
    std::fs::copy(&wav.path, dir.path().join("take.wav")).expect("a copy of a WAV");
    std::fs::write(dir.path().join("notes.txt"), b"not audio").expect("a text file");

    let report = vault.import(&[dir.path()]);
    assert_eq!(report.count("imported"), 1, "{}", report.run);
    assert_eq!(report.count("rejected"), 1, "{}", report.run);
    // The same WAV again: a second job, a duplicate.
    let again = vault.import(&[dir.path().join("take.wav")]);
    assert_eq!(again.count("duplicate"), 1, "{}", again.run);

    let jobs = vault.json(["jobs"]);
    let jobs = jobs.as_array().expect("a list of jobs");
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let (newest, first) = (&jobs[0], &jobs[1]);
    assert!(
        u64_field(newest, "id") > u64_field(first, "id"),
        "newest first"
    );
    for j in jobs {
        assert_eq!(str_field(j, "source"), "cli", "{j}");
        assert_eq!(str_field(j, "status"), "completed", "{j}");
        assert!(j["finished_at"].is_string(), "{j}");
    }
    assert_eq!(u64_field(first, "files_total"), 2, "{first}");
    assert_eq!(u64_field(first, "imported"), 1, "{first}");
    assert_eq!(u64_field(first, "rejected"), 1, "{first}");
    assert_eq!(u64_field(newest, "duplicates"), 1, "{newest}");

    let id = u64_field(first, "id").to_string();
    let job = vault.json(["jobs", id.as_str()]);
    assert_eq!(u64_field(&job, "imported"), 1, "{job}");
    let items = job["items"].as_array().expect("the job's files");
    assert_eq!(items.len(), 2, "{job}");
    let rejected = items
        .iter()
        .find(|i| i["outcome"] == "rejected")
        .expect("the text file's entry");
    assert!(
        str_field(rejected, "path").ends_with("notes.txt"),
        "{rejected}"
    );
    assert!(
        str_field(rejected, "reason").contains("extension"),
        "the reason names the extension: {rejected}"
    );
    let imported = items
        .iter()
        .find(|i| i["outcome"] == "imported")
        .expect("the WAV's entry");
    assert!(imported["reason"].is_null(), "{imported}");
    assert_eq!(
        str_field(imported, "track_id"),
        str_field(&vault.tracks()[0], "id")
    );

    // The text form says the same, and an unknown job is refused by its id.
    let text = vault.run(["jobs", id.as_str()]).expect_ok();
    assert!(text.stdout.contains("notes.txt"), "{text}");
    let missing = vault.run(["jobs", "999999"]);
    assert_ne!(missing.code(), 0, "{missing}");
    assert!(missing.output().contains("999999"), "{missing}");
}

#[test]
fn the_log_holds_trash_and_restore_and_filters_by_kind() {
    let corpus = corpus();
    let vault = TestVault::new();
    let wav = corpus.with_ext(".wav")[0];
    vault.import(&[&wav.path]);
    let id = str_field(&vault.tracks()[0], "id").to_string();
    vault.run(["trash", id.as_str()]).expect_ok();
    vault.run(["restore", id.as_str()]).expect_ok();
    vault
        .run(["settings", "set", "quota_bytes", "0"])
        .expect_ok();

    let trash = vault.json(["log", "--kind", "trash"]);
    let trash = trash.as_array().expect("log entries");
    assert_eq!(trash.len(), 2, "{trash:?}");
    assert!(trash.iter().all(|e| e["kind"] == "trash"), "{trash:?}");
    assert!(
        str_field(&trash[0], "message").contains("restored"),
        "newest first: {trash:?}"
    );
    assert!(str_field(&trash[1], "message").contains("moved to trash"));
    let all = vault.json(["log"]);
    let kinds: Vec<&str> = all
        .as_array()
        .expect("log entries")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"settings") && kinds.contains(&"trash"),
        "{kinds:?}"
    );
    let refused = vault.run(["log", "--kind", "nonsense"]);
    assert_ne!(refused.code(), 0, "{refused}");
}
