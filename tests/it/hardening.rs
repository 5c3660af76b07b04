//! A vault that resists the people around it: weak passphrases and cheap KDFs are
//! refused (unless a test says otherwise, through the variable only), the passphrase
//! leaves the process environment once read, core dumps are off, and names and tags
//! cannot drive the terminal they are printed on.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use audiovault_tests::*;

/// A vault folder not made yet, whose commands run without
/// `AUDIOVAULT_ALLOW_WEAK_PASSPHRASE`.
fn strict(passphrase: &str) -> TestVault {
    let mut v = TestVault::uninitialised(Some(passphrase));
    v.allow_weak_passphrase = false;
    v
}

#[test]
fn weak_passphrases_are_refused_with_the_reason_and_only_the_variable_lets_them_through() {
    // A common password, then twenty times the same letter: refused with the
    // estimator's reason and suggestions; nothing is made.
    for weak in ["Password1!", "aaaaaaaaaaaaaaaaaaaa"] {
        let v = strict(weak);
        let run = v.cmd(["init"]).run().expect_code(1);
        assert!(
            run.stderr.contains("too weak") && run.stderr.contains("of 4"),
            "{run}"
        );
        assert!(
            run.stderr.contains("common") || run.stderr.contains("Repeat"),
            "the reason is given: {run}"
        );
        assert!(!v.path.join("vault.json").exists(), "nothing was made");
    }
    // Only `1` lifts the floor: other values do not.
    let v = strict("Password1!");
    let run = v
        .cmd(["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"])
        .env("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE", "yes")
        .run()
        .expect_code(1);
    assert!(
        run.stderr.contains("too weak") || run.stderr.contains("too cheap"),
        "{run}"
    );
    v.cmd(["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"])
        .env("AUDIOVAULT_ALLOW_WEAK_PASSPHRASE", "1")
        .run()
        .expect_ok();

    // A strong passphrase with a cheap KDF: refused for a new vault.
    let v = strict(PASSPHRASE);
    let run = v
        .cmd(["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"])
        .run()
        .expect_code(1);
    assert!(run.stderr.contains("key derivation is too cheap"), "{run}");
    assert!(!v.path.join("vault.json").exists());
    // With the defaults it is made.
    v.cmd(["init"]).run().expect_ok();

    // A passphrase change to a weak one: refused, the old one still opens.
    let run = v
        .cmd(["passwd"])
        .env("AUDIOVAULT_NEW_PASSPHRASE", "letmein123")
        .run()
        .expect_code(1);
    assert!(run.stderr.contains("too weak"), "{run}");
    v.json(["stats"]);
    v.cmd(["passwd"])
        .env(
            "AUDIOVAULT_NEW_PASSPHRASE",
            "velvet tundra lantern 93 orchard",
        )
        .run()
        .expect_ok();
}

/// Writes a short FLAC whose title is `title`, at `path`.
fn flac_titled(path: &Path, title: &str) {
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("sine=frequency=523:duration=1")
        .args(["-ar", "22050", "-ac", "1", "-metadata"])
        .arg(format!("title={title}"))
        .args(["-metadata", "artist=Escape Artist"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
}

#[test]
fn names_and_tags_with_terminal_escapes_print_escaped() {
    let vault = TestVault::new();
    let src = vault.scratch_dir("evil");
    let title = "\x1b]0;pwned\x07";
    let name = "red\x1b[31m\u{202e}name.flac";
    flac_titled(&src.join(name), title);
    let report = vault.import(&[&src]);
    assert_eq!(report.count("imported"), 1, "{}", report.run);
    let id = str_field(&vault.tracks()[0], "id").to_owned();

    for args in [vec!["list"], vec!["show", &id], vec!["search", "Escape"]] {
        let run = vault.run(&args).expect_ok();
        for c in ['\x1b', '\x07', '\u{202e}'] {
            assert!(
                !run.stdout.contains(c) && !run.stderr.contains(c),
                "{args:?} printed {c:?} raw:\n{run}"
            );
        }
        assert!(
            run.stdout.contains("\\x1b]0;pwned\\x07"),
            "{args:?} shows the title escaped:\n{run}"
        );
        if args[0] != "search" {
            assert!(
                run.stdout.contains("\\x1b[31m\\u{202e}name") || args[0] == "list",
                "{args:?} shows the name escaped:\n{run}"
            );
        }
    }
    // An error that repeats what it was given: escaped too.
    let run = vault.run(["show", "\x1b]0;pwned\x07"]).expect_code(1);
    assert!(!run.stderr.contains('\x1b'), "{run}");
    assert!(run.stderr.contains("\\x1b]0;pwned"), "{run}");

    // JSON escapes them as JSON does, and means the same string.
    let run = vault.run(["list", "--json"]).expect_ok();
    assert!(run.stdout.contains("\\u001b]0;pwned\\u0007"), "{run}");
    assert!(!run.stdout.contains('\x1b'), "{run}");
    let tracks = run.json();
    assert_eq!(str_field(&tracks[0], "title"), title);
    assert_eq!(str_field(&tracks[0], "file_name"), name);
}

/// Reads a whole /proc file of another process.
fn proc_file(pid: u32, name: &str) -> Vec<u8> {
    std::fs::read(format!("/proc/{pid}/{name}")).unwrap_or_default()
}

#[test]
fn the_passphrase_leaves_the_environment_and_core_dumps_are_off() {
    let vault = TestVault::new();
    let inbox = vault.scratch_dir("inbox");
    let mut running = vault
        .cmd(["watch"])
        .arg(&inbox)
        .env("AUDIOVAULT_NEW_PASSPHRASE", "another secret phrase 92")
        .spawn();
    // Until it has unlocked and settled into watching.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(running.is_running(), "the watcher runs");
    let pid = running.pid();
    let environ = proc_file(pid, "environ");
    assert!(
        !environ.is_empty(),
        "/proc/{pid}/environ is readable here (root)"
    );
    let text = String::from_utf8_lossy(&environ);
    assert!(
        !text.contains(PASSPHRASE) && !text.contains("another secret phrase"),
        "the passphrases are gone from the process's environment"
    );
    assert!(text.contains("AUDIOVAULT_VAULT="), "the rest of it stays");
    let limits = String::from_utf8_lossy(&proc_file(pid, "limits")).into_owned();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        core.split_whitespace().nth(4) == Some("0"),
        "no core dumps: {core}"
    );
    // Not dumpable: its /proc files belong to root, not to the user it runs as.
    let status = String::from_utf8_lossy(&proc_file(pid, "status")).into_owned();
    assert!(status.contains("VmLck:"), "{status}");
    // SAFETY: kill(2) with a pid we spawned and still own.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGINT);
    }
    running.wait();
}
