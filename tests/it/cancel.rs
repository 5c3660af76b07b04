//! Ctrl-C during an import: the CLI stops cleanly, says so (exit 130), keeps
//! what had committed, and leaves a vault that verifies.

use std::time::Duration;

use audiovault_tests::*;

#[test]
fn ctrl_c_cancels_an_import_cleanly() {
    let long = long_corpus();
    let corpus = corpus();
    let v = TestVault::new();
    // Many files, so the import is still running when the signal comes.
    let mut inputs = vec![long.root.clone()];
    inputs.extend(corpus.dirs());
    let mut args: Vec<String> = vec!["import".into(), "--json".into()];
    args.extend(inputs.iter().map(|p| p.to_string_lossy().into_owned()));
    let mut running = v.cmd(&args).spawn();
    std::thread::sleep(Duration::from_millis(150));
    assert!(
        running.is_running(),
        "the import finished before it could be cancelled"
    );
    // SAFETY: kill only sends a signal to the child we spawned.
    let rc = unsafe { libc::kill(running.pid() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    let run = running.wait();
    assert_eq!(run.code(), 130, "Ctrl-C exits 130\n{run}");
    let report = run.json();
    assert_eq!(report["cancelled"], true, "{report}");
    let imported = report["imported"].as_u64().unwrap();
    let total = long.files.len() + corpus.files.len();
    assert!(
        (imported as usize) < total,
        "cancel stopped the batch early ({imported} of {total})"
    );

    // Whatever was reported imported is in the vault, intact; nothing else is.
    let tracks = v.json(["list", "--all"]);
    assert_eq!(
        tracks.as_array().unwrap().len() as u64,
        imported,
        "{tracks}"
    );
    let verify = v.json(["verify"]);
    assert_eq!(verify["ok"], true, "{verify}");
    // A later import picks up the rest: every distinct file ends up stored once.
    let again = v.import(&inputs);
    let stored = v.json(["list", "--all"]).as_array().unwrap().len();
    assert_eq!(stored as u64, imported + again.count("imported") as u64);
    let distinct: std::collections::HashSet<&str> = long
        .files
        .iter()
        .chain(corpus.files.iter())
        .map(|f| f.sha256.as_str())
        .collect();
    assert_eq!(stored, distinct.len(), "{}", again.run);
}
