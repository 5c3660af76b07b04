//! Export to file systems that refuse hard links (FAT/exFAT sticks, SD cards, many
//! network shares) and that ignore case.
//!
//! A preloaded shim makes `link`/`linkat` fail with EPERM, as vfat does; a second one
//! also refuses `renameat2(RENAME_NOREPLACE)` with EINVAL, as some shares do, so the
//! last fallback runs. The shim logs each refusal, so the test knows the path it took.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use audiovault_tests::*;

const SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static void note(const char *what) {
    const char *log = getenv("AV_SHIM_LOG");
    if (!log) return;
    FILE *f = fopen(log, "a");
    if (!f) return;
    fprintf(f, "%s\n", what);
    fclose(f);
}

int link(const char *from, const char *to) {
    (void)from; (void)to;
    note("link refused");
    errno = EPERM;
    return -1;
}

int linkat(int fromdir, const char *from, int todir, const char *to, int flags) {
    (void)fromdir; (void)from; (void)todir; (void)to; (void)flags;
    note("link refused");
    errno = EPERM;
    return -1;
}

#ifdef REFUSE_NOREPLACE
int renameat2(int fromdir, const char *from, int todir, const char *to, unsigned int flags) {
    if (flags & 1u /* RENAME_NOREPLACE */) {
        note("renameat2 noreplace refused");
        errno = EINVAL;
        return -1;
    }
    int (*real)(int, const char *, int, const char *, unsigned int) =
        (int (*)(int, const char *, int, const char *, unsigned int))dlsym(RTLD_NEXT, "renameat2");
    return real(fromdir, from, todir, to, flags);
}
#endif
"#;

/// The shim, built into `dir`; `refuse_no_replace` adds the renameat2 refusal.
fn shim(test: &str, dir: &Path, refuse_no_replace: bool) -> Option<PathBuf> {
    let (name, source) = if refuse_no_replace {
        (
            "no-links-no-noreplace",
            format!("#define REFUSE_NOREPLACE 1\n{SHIM}"),
        )
    } else {
        ("no-links", SHIM.to_string())
    };
    let so = build_preload_shim(test, dir, name, &source)?;
    // The shim must bite: `ln` (linkat) fails under it.
    let probe = dir.join("probe");
    fs::write(&probe, b"x").unwrap();
    let ln = std::process::Command::new("ln")
        .arg(&probe)
        .arg(dir.join("probe link"))
        .env("LD_PRELOAD", &so)
        .output()
        .unwrap();
    assert!(
        !ln.status.success() && !dir.join("probe link").exists(),
        "the preloaded shim does not refuse links: {ln:?}"
    );
    Some(so)
}

/// File name → SHA-256 of every file in `dir`.
fn contents(dir: &Path) -> BTreeMap<String, String> {
    fs::read_dir(dir)
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

/// Three tracks, two of them named alike in different case.
struct Library {
    vault: TestVault,
    /// File name → SHA-256 of the source.
    sources: BTreeMap<&'static str, String>,
    ids: Vec<String>,
}

fn library() -> Library {
    let vault = TestVault::new();
    let src = vault.scratch_dir("src");
    let mut sources = BTreeMap::new();
    let mut paths = Vec::new();
    for (i, name) in ["Song.wav", "song.wav", "Other.wav"]
        .into_iter()
        .enumerate()
    {
        let p = src.join(name);
        write_noise_wav(&p, 80 + i as u64, 1_500_000 + i as u64 * 100_000);
        sources.insert(name, sha256_file(&p));
        paths.push(p);
    }
    let report = vault.import(&paths);
    assert_eq!(report.count("imported"), 3, "{}", report.run);
    let ids = paths
        .iter()
        .map(|p| str_field(report.entry(p), "id").to_owned())
        .collect();
    Library {
        vault,
        sources,
        ids,
    }
}

fn export_without_links(refuse_no_replace: bool) {
    let test = if refuse_no_replace {
        "export_without_links_or_no_replace_renames"
    } else {
        "export_without_hard_links"
    };
    let lib = library();
    let vault = &lib.vault;
    let Some(so) = shim(test, &vault.scratch_dir("shim"), refuse_no_replace) else {
        return;
    };
    let log = vault.scratch("shim.log");
    let out = vault.scratch_dir("stick");
    fs::write(out.join("Other.wav"), b"someone else's file").unwrap();

    let run = vault
        .cmd(["export"])
        .args(&lib.ids)
        .arg("--to")
        .arg(&out)
        .arg("--json")
        .env("LD_PRELOAD", &so)
        .env("AV_SHIM_LOG", &log)
        .run();
    assert_eq!(run.code(), 0, "{run}");
    let shim_log = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        shim_log.contains("link refused"),
        "the shim refused links: {shim_log:?}"
    );
    assert_eq!(
        shim_log.contains("renameat2 noreplace refused"),
        refuse_no_replace,
        "{shim_log:?}"
    );
    assert_eq!(ids(&run.json()["exported"]), lib.ids, "{run}");

    let got = contents(&out);
    assert_eq!(
        got.keys().map(String::as_str).collect::<Vec<_>>(),
        ["Other (1).wav", "Other.wav", "Song.wav", "song (1).wav"],
        "every track under its own name; no temp file left: {got:?}"
    );
    assert_eq!(
        fs::read(out.join("Other.wav")).unwrap(),
        b"someone else's file",
        "an existing file is not overwritten"
    );
    assert_eq!(got["Other (1).wav"], lib.sources["Other.wav"]);
    assert_eq!(got["Song.wav"], lib.sources["Song.wav"]);
    assert_eq!(got["song (1).wav"], lib.sources["song.wav"]);

    // The same export again: new names, nothing replaced.
    let again = vault
        .cmd(["export", "--all", "--to"])
        .arg(&out)
        .arg("--json")
        .env("LD_PRELOAD", &so)
        .run();
    assert_eq!(again.code(), 0, "{again}");
    let second = contents(&out);
    assert_eq!(second.len(), 7, "{second:?}");
    for (name, sha) in &got {
        assert_eq!(&second[name], sha, "{name} was not overwritten");
    }
}

#[test]
fn export_without_hard_links() {
    export_without_links(false);
}

#[test]
fn export_without_links_or_no_replace_renames() {
    export_without_links(true);
}

/// On a case-insensitive file system "song.wav" is "Song.wav": one export never gives
/// two tracks names that differ only in case, so neither replaces the other.
#[test]
fn names_that_differ_only_in_case_stay_two_files() {
    let lib = library();
    let out = lib.vault.scratch_dir("out");
    let alike: Vec<&str> = lib.ids[..2].iter().map(String::as_str).collect();
    let run = lib.vault.export(&alike, &out, &[]).expect_ok();
    let exported = as_array(&run.json()["exported"]).clone();
    assert_eq!(exported.len(), 2, "{run}");
    let got = contents(&out);
    let folded: HashSet<String> = got.keys().map(|n| n.to_lowercase()).collect();
    assert_eq!(
        folded.len(),
        2,
        "names distinct even ignoring case: {got:?}"
    );
    for (e, source) in exported.iter().zip(["Song.wav", "song.wav"]) {
        let path = PathBuf::from(str_field(e, "path"));
        assert_eq!(
            sha256_file(&path),
            lib.sources[source],
            "{}",
            path.display()
        );
    }

    // --overwrite replaces the same name, still never the other case's file.
    let run = lib.vault.export(&alike, &out, &["--overwrite"]).expect_ok();
    let names: Vec<String> = as_array(&run.json()["exported"])
        .iter()
        .map(|e| {
            Path::new(str_field(e, "path"))
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["Song.wav", "song (1).wav"], "{run}");
    assert_eq!(contents(&out), got, "same files, same contents");
}
