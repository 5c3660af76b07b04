//! No plaintext at rest: neither audio bytes nor tags nor names can be read from the
//! vault folder, except the catalog's tags and names (a documented choice).

use std::collections::HashSet;
use std::path::PathBuf;

use audiovault_tests::*;

const WINDOW: usize = 64;
const WINDOWS_PER_FILE: usize = 256;

/// 64-byte windows sampled evenly over every source file (start and end included).
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

fn is_catalog(path: &std::path::Path) -> bool {
    path.file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("catalog.db")
}

#[test]
fn no_audio_bytes_tags_or_names_outside_the_catalog() {
    let corpus = corpus();
    let vault = TestVault::new();
    let report = vault.import(&corpus.dirs());
    assert_eq!(
        report.count("imported"),
        corpus.by_sha().len(),
        "{}",
        report.run
    );

    let files: Vec<PathBuf> = vault
        .files()
        .into_iter()
        .filter(|p| !is_catalog(p))
        .collect();
    let chunk_bytes: u64 = vault.chunk_files().values().sum();
    assert!(
        chunk_bytes >= corpus.total_bytes() / 2,
        "the vault holds the audio ({chunk_bytes} bytes)"
    );

    let windows = audio_windows(corpus);
    assert!(windows.len() > 5000, "sampled {} windows", windows.len());
    // Control: the same search over the sources themselves finds every sampled window.
    let sources: Vec<PathBuf> = corpus.files.iter().map(|f| f.path.clone()).collect();
    let found: HashSet<usize> = find_needles(&sources, &windows, usize::MAX)
        .into_iter()
        .map(|(_, i, _)| i)
        .collect();
    assert_eq!(
        found.len(),
        windows.len(),
        "the search finds plaintext where it is"
    );
    let hits = find_needles(&files, &windows, 50);
    assert!(
        hits.is_empty(),
        "plaintext audio found in the vault: {:?}",
        hits.iter()
            .map(|(p, _, at)| format!("{} @ {at}", p.display()))
            .collect::<Vec<_>>()
    );

    let tags = tag_strings(corpus);
    assert!(tags.len() > 60, "{} tag strings", tags.len());
    let needles: Vec<Vec<u8>> = tags
        .iter()
        .flat_map(|(_, enc)| enc.iter().cloned())
        .collect();
    let owner = |needle: usize| &tags[needle / 3].0;
    // Control: every tag and name is in the sources (tags) or the catalog (names).
    let catalog: Vec<PathBuf> = vault
        .files()
        .into_iter()
        .filter(|p| is_catalog(p))
        .collect();
    let found: HashSet<&String> = find_needles(&[sources, catalog].concat(), &needles, usize::MAX)
        .into_iter()
        .map(|(_, i, _)| owner(i))
        .collect();
    let missed: Vec<&String> = tags
        .iter()
        .map(|(s, _)| s)
        .filter(|s| !found.contains(s))
        .collect();
    assert!(
        missed.is_empty(),
        "the search finds tags and names where they are; missed {missed:?}"
    );
    let hits = find_needles(&files, &needles, 50);
    assert!(
        hits.is_empty(),
        "plaintext tag or name found in the vault: {:?}",
        hits.iter()
            .map(|(p, i, at)| format!("{:?} in {} @ {at}", owner(*i), p.display()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn catalog_holds_no_audio_bytes() {
    // Tags and names in the catalog are a documented choice; the audio (and artwork,
    // which lives in chunks) is not.
    let corpus = corpus();
    let vault = TestVault::new();
    vault.import(&corpus.dirs());
    let catalog: Vec<PathBuf> = vault
        .files()
        .into_iter()
        .filter(|p| is_catalog(p))
        .collect();
    assert!(
        !catalog.is_empty(),
        "no catalog.db in {}",
        vault.path.display()
    );
    let windows = audio_windows(corpus);
    let hits = find_needles(&catalog, &windows, 50);
    assert!(
        hits.is_empty(),
        "source bytes found in the catalog: {:?}",
        hits.iter()
            .map(|(p, _, at)| format!("{} @ {at}", p.display()))
            .collect::<Vec<_>>()
    );
}
