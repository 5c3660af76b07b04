//! The OS keyring: `init --remember` lets commands run without a passphrase, `forget`
//! undoes it, and without a keyring `--remember` degrades to asking (never to a key file).
//!
//! The positive test needs a Secret Service on the session bus: `scripts/test` runs the
//! tests inside `dbus-run-session` with an unlocked gnome-keyring-daemon. Without one it
//! is skipped locally, and fails when `CI` is set.

use std::process::{Command, Stdio};

use audiovault_tests::*;

/// Can we store, read and delete a secret through the Secret Service?
fn secret_service_reachable() -> Result<(), String> {
    let attrs = [
        "application",
        "audiovault-tests-probe",
        "pid",
        &std::process::id().to_string(),
    ];
    let mut store = Command::new("secret-tool")
        .args(["store", "--label=audiovault tests probe"])
        .args(attrs)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("secret-tool (libsecret-tools) not runnable: {e}"))?;
    use std::io::Write;
    store
        .stdin
        .take()
        .unwrap()
        .write_all(b"probe")
        .map_err(|e| e.to_string())?;
    let out = store.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "secret-tool store failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let lookup = Command::new("secret-tool")
        .arg("lookup")
        .args(attrs)
        .output()
        .map_err(|e| e.to_string())?;
    let _ = Command::new("secret-tool")
        .arg("clear")
        .args(attrs)
        .status();
    if lookup.stdout != b"probe" {
        return Err("secret-tool lookup did not return the stored secret".into());
    }
    Ok(())
}

#[test]
fn remembered_key_opens_the_vault_until_forgotten() {
    if let Err(why) = secret_service_reachable() {
        if std::env::var_os("CI").is_some() {
            panic!("no Secret Service reachable ({why}); run the tests through scripts/test");
        }
        eprintln!(
            "SKIPPED remembered_key_opens_the_vault_until_forgotten: no Secret Service ({why})"
        );
        return;
    }
    let mut vault = TestVault::uninitialised(Some(PASSPHRASE));
    vault.init(&["--remember"]).expect_ok();
    vault.set_passphrase(None);

    // No passphrase given: the keyring opens it.
    vault.cmd(["list", "--json"]).run().expect_ok();
    vault.cmd(["stats", "--json"]).run().expect_ok();

    vault.run(["forget"]).expect_ok();
    let locked = vault.run(["list"]).expect_code(1);
    assert!(
        mentions(&locked.stderr, &["passphrase"]),
        "after forget, a passphrase is needed again\n{locked}"
    );

    vault.set_passphrase(Some(PASSPHRASE));
    vault.cmd(["list", "--json"]).run().expect_ok();
}

#[test]
fn remember_without_a_keyring_still_creates_the_vault_and_says_so_once() {
    let mut vault = TestVault::uninitialised(Some(PASSPHRASE));
    let no_bus = |c: Cmd| {
        c.env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/audiovault-test-bus",
        )
        .env_remove("DISPLAY")
    };

    let init = no_bus(vault.cmd([
        "init",
        "--kdf-memory-kib",
        "1024",
        "--kdf-iterations",
        "1",
        "--remember",
    ]))
    .run()
    .expect_ok();
    let notices = init
        .stderr
        .lines()
        .filter(|l| mentions(l, &["keyring", "secret service"]))
        .count();
    assert_eq!(
        notices, 1,
        "one notice that no keyring is available\n{init}"
    );
    assert!(vault.path.join("vault.json").is_file());

    // The key was not kept anywhere else: a passphrase is still needed.
    vault.set_passphrase(None);
    let locked = no_bus(vault.cmd(["list"])).run().expect_code(1);
    assert!(mentions(&locked.stderr, &["passphrase"]), "{locked}");
    vault.set_passphrase(Some(PASSPHRASE));
    no_bus(vault.cmd(["list", "--json"])).run().expect_ok();
}
