//! The AWS shared config files as a source of the remote's keys (issue #15): a profile
//! of `~/.aws/credentials` (under a temporary HOME) with Garage's keys and a session
//! token. `remote set --aws-profile` chooses it; every request is then signed with its
//! keys and carries the token (`x-amz-security-token`, seen at a proxy; Garage ignores
//! it); a clone takes it by `--aws-profile` or `AWS_PROFILE`; a profile that does not
//! exist is an error that names it.

use std::path::Path;

use audiovault_tests::*;

use crate::sync::{Remote, exported_checksums, garage, u64_of};

const TOKEN: &str = "audiovault-test-session-token-4f1c";

/// `audiovault ARGS` with HOME at `home` and no AWS keys in the environment.
fn cmd_at_home<'a>(vault: &TestVault, home: &Path, args: impl IntoIterator<Item = &'a str>) -> Cmd {
    vault
        .cmd(args)
        .env("HOME", home)
        .env("AUDIOVAULT_S3_MAX_ATTEMPTS", "3")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_CONFIG_FILE")
}

#[test]
fn an_aws_profile_with_a_session_token_signs_every_request() {
    let Some(g) = garage() else { return };
    let proxy = FaultProxy::start(g.s3_addr());
    let remote = Remote::on(&g, "aws-profile").via(proxy.endpoint());
    let a = TestVault::new();
    let home = a.scratch_dir("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        format!(
            "[default]\naws_access_key_id = AKIAWRONGWRONGWRONG\naws_secret_access_key = wrong\n\n\
             [garage]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {TOKEN}\n",
            g.access_key(),
            g.secret_key()
        ),
    )
    .unwrap();
    let music = a.scratch_dir("music");
    write_noise_wav(&music.join("song.wav"), 7, 3 << 20);
    a.cmd(["import", "--json"]).arg(&music).run().expect_ok();

    // A profile that is not there: refused when set, naming it.
    let run = cmd_at_home(
        &a,
        &home,
        [
            "remote",
            "set",
            "--endpoint",
            &remote.endpoint,
            "--bucket",
            &remote.bucket,
            "--prefix",
            &remote.prefix,
            "--region",
            &remote.region,
            "--path-style",
            "--aws-profile",
            "nosuch",
        ],
    )
    .run();
    assert_ne!(run.code(), 0, "{run}");
    assert!(run.output().contains("'nosuch'"), "{run}");

    let set = cmd_at_home(
        &a,
        &home,
        [
            "remote",
            "set",
            "--endpoint",
            &remote.endpoint,
            "--bucket",
            &remote.bucket,
            "--prefix",
            &remote.prefix,
            "--region",
            &remote.region,
            "--path-style",
            "--aws-profile",
            "garage",
            "--json",
        ],
    )
    .run()
    .expect_ok()
    .json();
    assert_eq!(set["credentials"], "aws_profile", "{set}");
    assert_eq!(a.json(["settings"])["aws_profile"], "garage");

    proxy.reset_counters();
    let push = cmd_at_home(&a, &home, ["push", "--json"])
        .run()
        .expect_ok()
        .json();
    assert_eq!(push["nothing_new"], false, "{push}");
    let tokens = proxy.header_values("x-amz-security-token");
    assert_eq!(
        tokens.len() as u64,
        proxy.requests(),
        "every request carries the session token: {tokens:?}"
    );
    assert!(tokens.iter().all(|(_, t)| t == TOKEN), "{tokens:?}");
    assert!(tokens.iter().any(|(m, _)| m == "PUT"), "{tokens:?}");

    // The keys the profile names are the ones used: the default profile's are wrong,
    // and the error of a profile that disappeared names it.
    a.cmd(["settings", "set", "aws_profile", "gone"])
        .run()
        .expect_ok();
    let run = cmd_at_home(&a, &home, ["push"]).run();
    assert_ne!(run.code(), 0, "{run}");
    assert!(run.output().contains("AWS profile 'gone'"), "{run}");
    assert!(
        !run.output().contains(g.secret_key()),
        "no secret in errors: {run}"
    );
    a.cmd(["settings", "set", "aws_profile", "garage"])
        .run()
        .expect_ok();

    // A clone finds the keys by --aws-profile, or by AWS_PROFILE.
    let url = remote.url();
    for (name, by_flag) in [("b", true), ("c", false)] {
        let v = TestVault::uninitialised(Some(PASSPHRASE));
        let mut args = vec![
            "clone",
            &url,
            "--endpoint",
            &remote.endpoint,
            "--region",
            &remote.region,
            "--path-style",
            "--json",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
        if by_flag {
            args.extend(["--aws-profile".to_string(), "garage".to_string()]);
        }
        let mut c = cmd_at_home(&v, &home, args.iter().map(String::as_str));
        if !by_flag {
            c = c.env("AWS_PROFILE", "garage");
        }
        proxy.reset_counters();
        let cloned = c.run().expect_ok().json();
        assert_eq!(
            u64_of(&cloned["pull"], "tracks_added"),
            1,
            "{name}: {cloned}"
        );
        let tokens = proxy.header_values("x-amz-security-token");
        assert_eq!(tokens.len() as u64, proxy.requests(), "{name}: {tokens:?}");
        assert_eq!(
            exported_checksums(&v, &format!("{name}-out")),
            exported_checksums(&a, &format!("a-out-{name}"))
        );
        // Settings are the vault's and travel with its catalog: A's choice came along.
        assert_eq!(v.json(["settings"])["aws_profile"], "garage", "{name}");
    }
}
