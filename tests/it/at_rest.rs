//! No plaintext at rest: no audio bytes, tag, name, path or checksum can be read from
//! any file of the vault folder (the catalog and its log included: it is encrypted),
//! every file and folder is private to its owner, and the catalog opens only with its
//! key.

use std::collections::HashSet;
use std::path::PathBuf;

use audiovault_tests::*;

const WINDOW: usize = 48;
const WINDOWS_PER_FILE: usize = 256;

/// 48-byte windows sampled evenly over every source file (start and end included).
/// Windows with few distinct byte values (padding, silence) are left out: they could
/// occur anywhere by chance.
pub(crate) fn audio_windows(corpus: &Corpus) -> Vec<Vec<u8>> {
    let mut set = HashSet::new();
    for f in &corpus.files {
        let bytes = std::fs::read(&f.path).unwrap();
        let last = bytes.len() - WINDOW;
        for i in 0..=WINDOWS_PER_FILE {
            let at = last * i / WINDOWS_PER_FILE;
            let w = &bytes[at..at + WINDOW];
            if w.iter().collect::<HashSet<_>>().len() >= 24 {
                set.insert(w.to_vec());
            }
        }
    }
    set.into_iter().collect()
}

/// Tag values and file names from the corpus, long enough (≥ 6 bytes) not to occur by
/// chance, each in UTF-8 and in UTF-16 (LE and BE: ID3v2.3 stores non-Latin-1 text so).
/// Returns (string, encodings of it).
pub(crate) fn tag_strings(corpus: &Corpus) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut set = std::collections::BTreeSet::new();
    for t in &corpus.tags {
        for s in [&t.title, &t.artist, &t.album, &t.genre] {
            set.insert(s.clone());
        }
    }
    for f in &corpus.files {
        let name = f.file_name();
        set.insert(name.to_owned());
        set.insert(
            name.rsplit_once('.')
                .map_or(name, |(stem, _)| stem)
                .to_owned(),
        );
    }
    set.into_iter()
        .filter(|s| s.len() >= 6)
        .map(|s| {
            let le = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            let be = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
            let utf8 = s.clone().into_bytes();
            (s, vec![utf8, le, be])
        })
        .collect()
}

/// Every SHA-256 of the sources, as lower- and upper-case hex and as raw bytes.
pub(crate) fn checksum_needles(corpus: &Corpus) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in &corpus.files {
        let raw: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&f.sha256[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        out.push(raw);
        out.push(f.sha256.clone().into_bytes());
        out.push(f.sha256.to_uppercase().into_bytes());
    }
    out
}

/// The sources' paths as an import sees them (absolute, relative to the corpus, and
/// the folders they sit in).
fn path_strings(corpus: &Corpus) -> Vec<String> {
    let mut set = std::collections::BTreeSet::new();
    for f in &corpus.files {
        set.insert(f.path.display().to_string());
        set.insert(f.rel.clone());
        if let Some(parent) = f.path.parent() {
            set.insert(parent.display().to_string());
        }
    }
    set.insert(corpus.root.display().to_string());
    set.into_iter().filter(|s| s.len() >= 6).collect()
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every folder under (and including) `root`.
fn folders_under(root: &std::path::Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_dir())
        .map(|e| e.into_path())
        .collect()
}

/// Checks that every folder of the vault is 0700 and every file 0600.
pub(crate) fn assert_private(vault: &std::path::Path) {
    let mut wrong = Vec::new();
    for d in folders_under(vault) {
        if mode(&d) != 0o700 {
            wrong.push(format!("{} is {:o}", d.display(), mode(&d)));
        }
    }
    for f in files_under(vault) {
        if mode(&f) != 0o600 {
            wrong.push(format!("{} is {:o}", f.display(), mode(&f)));
        }
    }
    assert!(wrong.is_empty(), "files 0600 and folders 0700: {wrong:#?}");
}

/// Import the corpus, analyse, trash and purge a track; then nothing of the sources
/// (names, paths, tags, checksums, audio) is anywhere in the vault folder, and the
/// folder is private, whatever the umask.
#[test]
fn no_name_path_tag_checksum_or_audio_anywhere_in_the_vault_folder() {
    let corpus = corpus();
    // A permissive umask: the vault's modes must not depend on it.
    let mut vault = TestVault::uninitialised(Some(PASSPHRASE));
    vault.umask = Some(0);
    vault.init(&[]).expect_ok();
    let vault_path = vault.path.clone();
    // A reader that keeps the catalog open the whole time (as the app does while a
    // CLI works on the same vault), so the write-ahead log and its index are not
    // folded back and removed when each command exits: they are scanned too.
    let reader = vault.catalog_behind_the_vaults_back();
    let report = vault.import(&corpus.dirs());
    assert_eq!(
        report.count("imported"),
        corpus.by_sha().len(),
        "{}",
        report.run
    );
    vault.json(["analyze"]);
    // What the CLI prints with the key, before the purge: the control below.
    let listing = vault.scratch("listing.json");
    let printed = vault.run(["list", "--all", "--json"]).expect_ok().stdout;
    std::fs::write(&listing, printed).unwrap();
    let tracks = vault.tracks();
    let victim = str_field(&tracks[0], "id").to_owned();
    vault.run(["trash", &victim]).expect_ok();
    vault.json(["purge"]);
    assert_eq!(vault.all_tracks().len(), tracks.len() - 1);

    let files = vault.files();
    for side in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let p = vault_path.join(side);
        assert!(
            files.contains(&p) && std::fs::metadata(&p).unwrap().len() > 0,
            "{side} is there to be scanned"
        );
    }
    assert!(
        std::fs::metadata(vault_path.join("catalog.db-wal"))
            .unwrap()
            .len()
            > 32 * 1024,
        "the log holds the session's writes"
    );
    let chunk_bytes: u64 = vault.chunk_files().values().sum();
    assert!(
        chunk_bytes >= corpus.total_bytes() / 2,
        "the vault holds the audio ({chunk_bytes} bytes)"
    );
    let sources: Vec<PathBuf> = corpus.files.iter().map(|f| f.path.clone()).collect();

    // 1. Audio: 48-byte windows of every source.
    let windows = audio_windows(corpus);
    assert!(windows.len() > 5000, "sampled {} windows", windows.len());
    let found: HashSet<usize> = find_needles(&sources, &windows, usize::MAX)
        .into_iter()
        .map(|(_, i, _)| i)
        .collect();
    assert_eq!(
        found.len(),
        windows.len(),
        "the search finds audio where it is"
    );
    let hits = find_needles(&files, &windows, 50);
    assert!(
        hits.is_empty(),
        "plaintext audio found in the vault: {:?}",
        hits.iter()
            .map(|(p, _, at)| format!("{} @ {at}", p.display()))
            .collect::<Vec<_>>()
    );

    // 2. Names (and stems), tags, paths, checksums; each needle once (a search
    // reports one of equal needles).
    let mut by_bytes: std::collections::BTreeMap<Vec<u8>, String> = Default::default();
    for (s, encodings) in tag_strings(corpus) {
        for e in encodings {
            by_bytes.entry(e).or_insert(format!("tag or name {s:?}"));
        }
    }
    for p in path_strings(corpus) {
        by_bytes
            .entry(p.clone().into_bytes())
            .or_insert(format!("path {p:?}"));
    }
    for (i, c) in checksum_needles(corpus).into_iter().enumerate() {
        let form = ["raw", "hex", "HEX"][i % 3];
        by_bytes
            .entry(c)
            .or_insert(format!("checksum ({form}) of {}", corpus.files[i / 3].rel));
    }
    let (needles, labels): (Vec<Vec<u8>>, Vec<String>) = by_bytes.into_iter().unzip();
    assert!(needles.len() > 300, "{} needles", needles.len());
    // Control: each one is where it belongs: tags in the sources, names and hex
    // checksums in what the CLI prints with the key, paths in the path list (the
    // raw and upper-case checksums are the same bytes in other dress).
    let paths = vault.scratch("paths.txt");
    std::fs::write(&paths, path_strings(corpus).join("\n")).unwrap();
    let found: HashSet<usize> = find_needles(
        &[sources, vec![listing, paths]].concat(),
        &needles,
        usize::MAX,
    )
    .into_iter()
    .map(|(_, i, _)| i)
    .collect();
    let missed: Vec<&String> = (0..needles.len())
        .filter(|i| {
            !found.contains(i)
                && !labels[*i].starts_with("tag or name")
                && !labels[*i].contains("(raw)")
                && !labels[*i].contains("(HEX)")
        })
        .map(|i| &labels[i])
        .collect();
    assert!(
        missed.is_empty(),
        "the search finds them where they are; missed {missed:?}"
    );
    let hits = find_needles(&files, &needles, 50);
    assert!(
        hits.is_empty(),
        "plaintext found in the vault folder: {:#?}",
        hits.iter()
            .map(|(p, i, at)| format!("{} in {} @ {at}", labels[*i], p.display()))
            .collect::<Vec<_>>()
    );

    // 3. Private: folders 0700, files 0600 (the log and its index included).
    assert_private(&vault_path);
    drop(reader);
}

/// The catalog opens only with its key: SQLite's own shell cannot read it, a wrong
/// key is refused with a clear error, and a vault given another vault's catalog says
/// so (and how to rebuild it).
#[test]
fn the_catalog_cannot_be_read_without_its_key() {
    let corpus = corpus();
    let vault = TestVault::new();
    vault.import(&corpus.dirs());
    let db = vault.path.join("catalog.db");
    let header = std::fs::read(&db).unwrap();
    assert_ne!(
        &header[..16],
        b"SQLite format 3\0",
        "no plain SQLite header"
    );

    // SQLite's shell.
    let out = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT count(*) FROM tracks;")
        .output()
        .expect("run sqlite3 (apt install sqlite3)");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "sqlite3 read the catalog: {said}");
    assert!(said.contains("not a database"), "{said}");

    // A wrong key, through SQLCipher itself.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", "ab".repeat(32)))
        .unwrap();
    let err = conn
        .query_row("SELECT count(*) FROM tracks", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase),
        "{err}"
    );
    drop(conn);
    // The engine with another key: an error that says what it means.
    let err = match audiovault_engine::catalog::open_for_tests(
        &db,
        &audiovault_engine::catalog::CatalogKey::random(),
    ) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a random key opened the catalog"),
    };
    assert!(
        err.contains("cannot be decrypted with this vault's key"),
        "{err}"
    );
    // With its key it opens.
    let catalog = vault.catalog_behind_the_vaults_back();
    let n: i64 = catalog
        .conn()
        .query_row("SELECT count(*) FROM tracks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, corpus.by_sha().len());
    drop(catalog);

    // Another vault's catalog in its place: refused, with the way out.
    let other = TestVault::new();
    for side in ["catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(vault.path.join(side));
    }
    std::fs::copy(other.path.join("catalog.db"), &db).unwrap();
    let run = vault.run(["list", "--json"]);
    assert_eq!(run.code(), 1, "{run}");
    assert!(
        run.stderr
            .contains("cannot be decrypted with this vault's key")
            && run.stderr.contains("doctor --repair"),
        "{run}"
    );
    assert!(
        run.stderr.contains("catalog_damaged") || run.stdout.is_empty(),
        "{run}"
    );
}
