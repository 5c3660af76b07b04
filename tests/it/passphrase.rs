//! The passphrase: wrong ones are refused without harm, `passwd` rewraps the key, and no
//! passphrase is ever printed or stored.

use std::path::PathBuf;

use audiovault_tests::*;

const OLD: &str = "old passphrase: lilac otter 9156";
const NEW: &str = "new passphrase: saffron heron 2740";

#[test]
fn wrong_or_missing_passphrase_is_refused_and_changes_nothing() {
    let corpus = corpus();
    let vault = TestVault::with_passphrase(OLD);
    vault.import(&[&corpus.with_ext(".flac")[0].path]);
    let vault_json = std::fs::read(vault.path.join("vault.json")).unwrap();

    let wrong = vault
        .cmd(["list"])
        .env("AUDIOVAULT_PASSPHRASE", "not the passphrase")
        .run()
        .expect_code(1);
    assert!(
        mentions(&wrong.stderr, &["passphrase"]),
        "the error says the passphrase is wrong\n{wrong}"
    );
    assert!(
        !wrong.output().contains("not the passphrase"),
        "the passphrase is not echoed\n{wrong}"
    );

    let missing = vault
        .cmd(["list"])
        .env_remove("AUDIOVAULT_PASSPHRASE")
        .run()
        .expect_code(1);
    assert!(
        mentions(&missing.stderr, &["passphrase"]),
        "the error asks for a passphrase\n{missing}"
    );

    assert_eq!(
        std::fs::read(vault.path.join("vault.json")).unwrap(),
        vault_json,
        "vault.json unchanged"
    );
    assert_eq!(
        vault.tracks().len(),
        1,
        "the right passphrase still opens it"
    );

    // --passphrase-file: the first line.
    let file = vault.scratch("pass.txt");
    std::fs::write(&file, format!("{OLD}\nsecond line\n")).unwrap();
    vault
        .cmd(["--passphrase-file"])
        .arg(&file)
        .args(["list", "--json"])
        .env_remove("AUDIOVAULT_PASSPHRASE")
        .run()
        .expect_ok();
}

#[test]
fn passwd_rewraps_without_touching_chunks_and_no_secret_leaks() {
    let corpus = corpus();
    let mut vault = TestVault::with_passphrase(OLD);
    let source = corpus.file("dupes/original.mp3");
    let mut outputs = vec![vault.import(&[&source.path]).run.output()];
    let chunks = vault.chunk_files();
    let chunk_bytes: Vec<Vec<u8>> = chunks
        .keys()
        .map(|c| std::fs::read(vault.chunk_path(c)).unwrap())
        .collect();
    let vault_json = std::fs::read(vault.path.join("vault.json")).unwrap();

    let new_file = vault.scratch("new.txt");
    std::fs::write(&new_file, format!("{NEW}\n")).unwrap();
    let passwd = vault
        .cmd(["passwd", "--new-passphrase-file"])
        .arg(&new_file)
        .run()
        .expect_ok();
    outputs.push(passwd.output());

    assert_ne!(
        std::fs::read(vault.path.join("vault.json")).unwrap(),
        vault_json,
        "the key is rewrapped"
    );
    let again: Vec<Vec<u8>> = chunks
        .keys()
        .map(|c| std::fs::read(vault.chunk_path(c)).unwrap())
        .collect();
    assert!(again == chunk_bytes, "chunks are not re-encrypted");

    let old = vault.run(["list"]).expect_code(1);
    assert!(mentions(&old.stderr, &["passphrase"]), "{old}");
    outputs.push(old.output());

    vault.set_passphrase(Some(NEW));
    let list = vault.cmd(["list", "--json"]).run().expect_ok();
    outputs.push(list.output());
    let out = vault.scratch_dir("out");
    let export = vault.export(&["--all"], &out, &[]).expect_ok();
    outputs.push(export.output());
    let path = PathBuf::from(str_field(&as_array(&export.json()["exported"])[0], "path"));
    assert_eq!(
        sha256_file(&path),
        source.sha256,
        "the new passphrase opens the same data"
    );
    for args in [
        &["stats"][..],
        &["verify"],
        &["settings"],
        &["show", str_field(&list.json()[0], "id")],
    ] {
        outputs.push(vault.cmd(args).run().expect_ok().output());
    }

    // No passphrase in any output, nor in any file of the vault (catalog included).
    for out in &outputs {
        assert!(
            !out.contains(OLD) && !out.contains(NEW),
            "a passphrase was printed:\n{out}"
        );
    }
    let hits = find_needles(
        &vault.files(),
        &[OLD.as_bytes().to_vec(), NEW.as_bytes().to_vec()],
        10,
    );
    assert!(
        hits.is_empty(),
        "a passphrase is stored in the vault: {hits:?}"
    );
}
