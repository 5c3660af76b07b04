//! Cloud sync on the command line: `remote set|show|test|gc|forget-credentials`,
//! `push`, `pull`, `clone`, and the `--remote`/`--repair` parts of `verify`.
//! Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else the OS
//! keyring (where `remote set` stores them), else a prompt on a terminal.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use audiovault_engine::sync::{
    EvictSelection, EvictState, KeepState, RemoteConfig, RemoteCredentials, RemoteGcOptions,
    SyncError, SyncOptions, clone_vault, test_connection,
};
use audiovault_engine::{CancelToken, SettingKey, Vault};
use clap::{Args, Subcommand};

use crate::output::{BarProgress, bytes, print_json, sanitize};
use crate::unlock::Secrets;
use crate::{EXIT_PARTIAL, cancel_on_ctrl_c};

#[derive(Subcommand)]
pub enum RemoteAction {
    /// Set the S3-compatible remote; the access keys go to the OS keyring
    Set(RemoteSetArgs),
    /// Show the remote and the sync state
    Show,
    /// Check the credentials and bucket, and write, read and delete a probe object
    Test,
    /// The devices that push to the remote, and what their pushes would bring here
    Devices {
        /// Count what pulling each line this device has not merged would change
        /// (fetches those catalogs, no audio)
        #[arg(long)]
        incoming: bool,
    },
    /// Delete what no kept catalog snapshot references (two phases, with a grace period;
    /// waits while another device pushes; each device's newest snapshot is always kept)
    Gc {
        /// Hours an unreferenced pack must wait before it is marked, and a mark before deletion
        #[arg(long, default_value_t = 24.0)]
        grace_hours: f64,
        /// Newest catalog snapshots kept of every device (at least 1)
        #[arg(long, default_value_t = 10)]
        keep_last: usize,
        /// Besides those, one snapshot per day for this many days
        #[arg(long, default_value_t = 30)]
        keep_daily: u32,
        /// Say what would be deleted, delete nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove the stored S3 access keys from the OS keyring
    ForgetCredentials,
}

#[derive(Args)]
pub struct RemoteSetArgs {
    /// Endpoint URL (omit for AWS S3), e.g. http://127.0.0.1:3900
    #[arg(long)]
    endpoint: Option<String>,
    #[arg(long)]
    bucket: String,
    /// Folder inside the bucket
    #[arg(long, default_value = "")]
    prefix: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Path-style addressing (most self-hosted stores: Garage, MinIO)
    #[arg(long)]
    path_style: bool,
    /// Uploads and downloads at once
    #[arg(long, default_value_t = 8)]
    parallelism: u32,
    /// Take the access keys from this profile of ~/.aws/credentials and
    /// ~/.aws/config (session tokens and roles too) instead of the OS keyring;
    /// "" goes back to the keyring
    #[arg(long, value_name = "NAME")]
    aws_profile: Option<String>,
}

#[derive(Args)]
pub struct CloneArgs {
    /// s3://BUCKET/PREFIX
    url: String,
    /// Endpoint URL (omit for AWS S3)
    #[arg(long)]
    endpoint: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long)]
    path_style: bool,
    #[arg(long, default_value_t = 8)]
    parallelism: u32,
    /// Remember the vault key and the S3 keys in the OS keyring
    #[arg(long)]
    remember: bool,
    /// Download at most this many bytes per second (e.g. 2MiB, 500KiB; 0 for no
    /// limit). Push and pull take their limits from `settings`.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    download_limit: Option<u64>,
    /// Take the access keys from this profile of ~/.aws/credentials and
    /// ~/.aws/config; the new vault keeps using it
    #[arg(long, value_name = "NAME")]
    aws_profile: Option<String>,
}

fn parse_rate(value: &str) -> std::result::Result<u64, String> {
    audiovault_engine::vault::parse_rate(value)
}

/// `AUDIOVAULT_S3_MAX_ATTEMPTS` bounds retries per request (tests use a short budget).
fn options() -> SyncOptions {
    let mut options = SyncOptions::default();
    if let Some(n) = std::env::var("AUDIOVAULT_S3_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        options.retry.max_attempts = n.max(1);
    }
    options
}

/// Credentials for commands that run against a vault.
fn credentials(vault: &Vault) -> Result<RemoteCredentials> {
    match vault.remote_credentials() {
        Ok(c) => return Ok(c),
        // An AWS profile chosen for this vault: its error (which names it) is the answer.
        Err(e) if vault.settings()?.aws_profile.is_some() => return Err(e.into()),
        Err(_) => {}
    }
    prompt_credentials()
}

fn prompt_credentials() -> Result<RemoteCredentials> {
    if let Some(c) = RemoteCredentials::from_env() {
        return Ok(c);
    }
    // The AWS shared config files (AWS_PROFILE, else default), when they have keys.
    if let Ok(c) = RemoteCredentials::from_aws_profile(None) {
        return Ok(c);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or store them with `audiovault remote set` in a terminal"
        );
    }
    let id = rpassword::prompt_password("S3 access key id: ").context("cannot read the key id")?;
    let secret =
        rpassword::prompt_password("S3 secret access key: ").context("cannot read the secret")?;
    Ok(RemoteCredentials::new(id.trim(), secret.trim()))
}

pub fn remote(action: RemoteAction, root: &Path, secrets: &Secrets, json: bool) -> Result<u8> {
    let vault = secrets.unlock(root)?;
    match action {
        RemoteAction::Set(a) => {
            let config = RemoteConfig::from_input(
                a.endpoint.as_deref().unwrap_or(""),
                &a.region,
                &a.bucket,
                &a.prefix,
                a.path_style,
                a.parallelism,
            )?;
            vault.set_remote_config(&config)?;
            if let Some(profile) = &a.aws_profile {
                vault.set_setting(SettingKey::AwsProfile, profile)?;
            }
            let profile = vault.settings()?.aws_profile;
            let stored = if let Some(profile) = &profile {
                // Checked now, so a wrong name is said here rather than at the first push.
                RemoteCredentials::from_aws_profile(Some(profile))?;
                "aws_profile"
            } else {
                match RemoteCredentials::from_env()
                    .map(Ok)
                    .unwrap_or_else(|| prompt_credentials().map_err(|e| e.to_string()))
                {
                    Ok(c) => match c.store(vault.vault_id()) {
                        Ok(()) => "keyring",
                        Err(e) => {
                            eprintln!(
                                "note: the S3 keys could not be stored in the OS keyring ({e}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for each sync"
                            );
                            "none"
                        }
                    },
                    Err(_) => "none",
                }
            };
            if json {
                print_json(
                    &serde_json::json!({"remote": config, "url": config.url(), "credentials": stored}),
                )?;
            } else {
                println!("Remote set to {}", config.url());
                if stored == "keyring" {
                    println!("The access keys are remembered in the OS keyring on this device.");
                }
                if let Some(p) = &profile {
                    println!("The access keys come from the AWS profile '{p}' (~/.aws).");
                }
            }
            Ok(0)
        }
        RemoteAction::Show => {
            let config = vault.remote_config()?;
            let status = vault.sync_status()?;
            if json {
                print_json(&serde_json::json!({"remote": config, "status": status}))?;
            } else {
                match &config {
                    Some(c) => {
                        println!("remote:        {}", c.url());
                        println!(
                            "endpoint:      {}",
                            c.endpoint.as_deref().unwrap_or("AWS S3")
                        );
                        println!("region:        {}", c.region);
                        println!("path style:    {}", c.path_style);
                    }
                    None => println!("no remote set: `audiovault remote set --bucket B ...`"),
                }
                println!(
                    "last push:     {}",
                    status.last_push_at.as_deref().unwrap_or("never")
                );
                println!(
                    "last pull:     {}",
                    status.last_pull_at.as_deref().unwrap_or("never")
                );
                println!(
                    "tracks:        {} on the remote, {} only here",
                    status.tracks_on_remote, status.tracks_local_only
                );
                println!(
                    "waiting:       {} chunk(s), {}{}",
                    status.pending_chunks,
                    bytes(status.pending_bytes),
                    if status.catalog_changed {
                        ", catalog changed"
                    } else {
                        ""
                    }
                );
            }
            Ok(0)
        }
        RemoteAction::Test => {
            let config = vault
                .remote_config()?
                .ok_or_else(|| anyhow!("no remote set: `audiovault remote set --bucket B ...`"))?;
            let creds = credentials(&vault)?;
            let report = test_connection(&config, &creds, &options())?;
            if json {
                print_json(&report)?;
            } else {
                for s in &report.steps {
                    match &s.error {
                        None => println!("ok      {}", s.step),
                        Some(e) => println!("FAILED  {}: {e}", s.step),
                    }
                }
                println!(
                    "{}: {}",
                    report.remote,
                    if report.ok { "ready" } else { "not usable" }
                );
            }
            Ok(if report.ok { 0 } else { 1 })
        }
        RemoteAction::Devices { incoming } => {
            let creds = credentials(&vault)?;
            let cancel = cancel_on_ctrl_c();
            let report = vault.remote_devices(&creds, &options(), incoming, &cancel)?;
            if json {
                print_json(&report)?;
            } else {
                for d in &report.devices {
                    println!(
                        "{}{}  {} track(s), push {} at {}{}",
                        d.device,
                        if d.this_device { " (this device)" } else { "" },
                        d.tracks,
                        d.newest_seq,
                        d.last_push_at.as_deref().unwrap_or("?"),
                        if d.this_device || d.merged_seq >= d.newest_seq {
                            String::new()
                        } else {
                            format!(", not merged here yet (merged up to {})", d.merged_seq)
                        }
                    );
                }
                if report.devices.is_empty() {
                    println!("No device has pushed to {} yet.", report.remote);
                }
                for i in &report.unmerged {
                    if incoming {
                        println!(
                            "from {}: {} new track(s) ({}), {} change(s) of state, {} purge(s): run `audiovault pull`",
                            i.device,
                            i.new_tracks,
                            bytes(i.new_bytes),
                            i.state_changes,
                            i.purges
                        );
                    } else {
                        println!(
                            "from {}: news not merged yet: run `audiovault pull`",
                            i.device
                        );
                    }
                }
            }
            Ok(0)
        }
        RemoteAction::Gc {
            grace_hours,
            keep_last,
            keep_daily,
            dry_run,
        } => {
            let creds = credentials(&vault)?;
            let cancel = cancel_on_ctrl_c();
            let gc = RemoteGcOptions {
                grace: Duration::from_secs_f64(grace_hours.max(0.0) * 3600.0),
                keep_last,
                keep_daily,
                dry_run,
            };
            let report = vault.gc_remote(&creds, &options(), &gc, &cancel)?;
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "{} snapshot(s) kept, {} deleted; {} pack(s) marked, {} deleted ({}){}",
                    report.manifests_kept,
                    report.manifests_deleted,
                    report.packs_marked,
                    report.packs_deleted,
                    bytes(report.bytes_deleted),
                    if report.dry_run { " [dry run]" } else { "" }
                );
                if report.deletions_deferred > 0 {
                    println!(
                        "{} pack(s) due for deletion wait: a push is in flight on {}",
                        report.deletions_deferred,
                        report.pushes_in_flight.join(", ")
                    );
                }
            }
            Ok(0)
        }
        RemoteAction::ForgetCredentials => {
            let removed = RemoteCredentials::forget(vault.vault_id())
                .map_err(|e| anyhow!("the OS keyring: {e}"))?;
            if json {
                print_json(&serde_json::json!({"removed": removed}))?;
            } else if removed {
                println!("The S3 keys were removed from the OS keyring.");
            } else {
                println!("No S3 keys were stored for this vault.");
            }
            Ok(0)
        }
    }
}

pub fn push(root: &Path, secrets: &Secrets, json: bool) -> Result<u8> {
    let vault = secrets.unlock(root)?;
    let creds = credentials(&vault)?;
    let cancel = cancel_on_ctrl_c();
    let bar = BarProgress::bytes("Uploading");
    let report = vault.push(&creds, &options(), &bar, &cancel);
    bar.finish();
    let report = report?;
    if json {
        print_json(&report)?;
    } else if report.nothing_new {
        println!("{} is up to date: nothing to push", report.remote);
    } else {
        if !report.merged.manifests.is_empty() {
            println!(
                "Merged first what {} other device push(es) brought: {} track(s) added, {} changed state, {} purged",
                report.merged.manifests.len(),
                report.merged.tracks_added,
                report.merged.tracks_state_changed,
                report.merged.tracks_purged
            );
        }
        if report.vault_json_adopted {
            println!(
                "The passphrase was changed on another device: this vault now opens with that one."
            );
        }
        println!(
            "Pushed to {}: {} pack(s), {} chunk(s), {} in {:.1} s ({} tracks in the catalog)",
            report.remote,
            report.packs_uploaded,
            report.chunks_uploaded,
            bytes(report.bytes_uploaded),
            report.seconds,
            report.tracks
        );
    }
    Ok(0)
}

pub fn pull(root: &Path, secrets: &Secrets, json: bool) -> Result<u8> {
    let vault = secrets.unlock(root)?;
    let creds = credentials(&vault)?;
    let cancel = cancel_on_ctrl_c();
    let bar = BarProgress::bytes("Downloading");
    let report = vault.pull(&creds, &options(), &bar, &cancel);
    bar.finish();
    let report = report?;
    if json {
        print_json(&report)?;
    } else {
        print_pull(&report);
    }
    Ok(if report.failed.is_empty() {
        0
    } else {
        EXIT_PARTIAL
    })
}

fn print_pull(report: &audiovault_engine::sync::PullReport) {
    if report.up_to_date {
        println!("Up to date with {}", report.remote);
        return;
    }
    for f in &report.failed {
        println!("failed    {} ({}): {}", f.file_name, f.track_id, f.reason);
    }
    if report.vault_json_adopted {
        println!(
            "The passphrase was changed on another device: this vault now opens with that one."
        );
    }
    println!(
        "{} device push(es) merged: {} track(s) added, {} changed state, {} purged; {} chunk(s) fetched ({})",
        report.manifests_merged.len(),
        report.tracks_added,
        report.tracks_state_changed,
        report.tracks_purged,
        report.chunks_fetched,
        bytes(report.bytes_fetched)
    );
}

pub fn clone(args: CloneArgs, root: &Path, secrets: &Secrets, json: bool) -> Result<u8> {
    let (bucket, prefix) = RemoteConfig::parse_url(&args.url)?;
    let config = RemoteConfig {
        endpoint: args.endpoint.filter(|e| !e.is_empty()),
        region: args.region,
        bucket,
        prefix,
        path_style: args.path_style,
        parallelism: args.parallelism,
    };
    let creds = match &args.aws_profile {
        Some(p) => RemoteCredentials::from_aws_profile(Some(p))?,
        None => prompt_credentials()?,
    };
    let passphrase = secrets.existing_passphrase("Passphrase of the vault in the cloud")?;
    let cancel = cancel_on_ctrl_c();
    let bar = BarProgress::bytes("Restoring");
    let mut options = options();
    options.bandwidth = Some(audiovault_engine::sync::Bandwidth {
        upload_bytes_per_second: None,
        download_bytes_per_second: args.download_limit.filter(|n| *n > 0),
    });
    let result = clone_vault(root, &config, &creds, &passphrase, &options, &bar, &cancel);
    bar.finish();
    let (vault, report) = result?;
    if let Some(p) = &args.aws_profile {
        vault.set_setting(SettingKey::AwsProfile, p)?;
    }
    if args.remember && args.aws_profile.is_none() {
        crate::unlock::remember(&vault);
        if let Err(e) = creds.store(vault.vault_id()) {
            eprintln!("note: the S3 keys could not be stored in the OS keyring ({e})");
        }
    }
    if json {
        print_json(&serde_json::json!({
            "vault": root,
            "vault_id": vault.vault_id(),
            "pull": report,
        }))?;
    } else {
        println!(
            "Restored vault {} from {} into {}",
            vault.vault_id(),
            config.url(),
            root.display()
        );
        print_pull(&report);
    }
    Ok(if report.failed.is_empty() {
        0
    } else {
        EXIT_PARTIAL
    })
}

/// `verify --remote [--sample PCT]`.
pub fn verify_remote(
    vault: &Vault,
    sample: Option<f64>,
    json: bool,
    cancel: &CancelToken,
) -> Result<u8> {
    let creds = credentials(vault)?;
    let bar = BarProgress::bytes("Verifying the remote");
    let report = vault.verify_remote(&creds, &options(), sample, &bar, cancel);
    bar.finish();
    let report = report?;
    if json {
        print_json(&report)?;
    } else {
        for d in &report.damaged {
            println!("damaged   {}: {}", d.object, d.reason);
        }
        println!(
            "{}: {} of {} pack(s), {} chunk(s), {} checked; {} snapshot(s), {} index(es): {}",
            report.remote,
            report.packs_checked,
            report.packs_total,
            report.chunks_checked,
            bytes(report.bytes_checked),
            report.manifests_checked,
            report.indexes_checked,
            if report.ok {
                "all intact"
            } else {
                "DAMAGE FOUND"
            }
        );
    }
    Ok(if report.ok { 0 } else { EXIT_PARTIAL })
}

/// `verify --repair`: verify, fetch what is damaged from the remote, verify again.
pub fn verify_and_repair(vault: &Vault, json: bool, cancel: &CancelToken) -> Result<u8> {
    let bar = BarProgress::bytes("Verifying");
    let outcome = vault.verify_and_repair(
        || credentials(vault).map_err(|e| SyncError::Other(e.to_string()).into()),
        &options(),
        &bar,
        cancel,
    );
    bar.finish();
    let outcome = outcome?;
    if json {
        print_json(&outcome)?;
    } else {
        if let Some(repair) = &outcome.repair {
            for r in &repair.repaired {
                println!("repaired  chunk {} ({})", r.id, r.tracks.join(", "));
            }
            for u in &repair.unrepairable {
                println!(
                    "NOT repaired chunk {}: {} ({})",
                    u.id,
                    u.reason,
                    u.tracks.join(", ")
                );
            }
        }
        crate::output::print_verify(&outcome.after);
    }
    Ok(if outcome.after.ok { 0 } else { EXIT_PARTIAL })
}

/// `audiovault evict ID...|--album A|--not-played-days N`.
pub fn evict(
    root: &Path,
    secrets: &Secrets,
    ids: Vec<String>,
    album: Option<String>,
    not_played_days: Option<u32>,
    json: bool,
) -> Result<u8> {
    let vault = secrets.unlock(root)?;
    let selection = match (album, not_played_days) {
        (Some(a), _) => EvictSelection::Album(a),
        (None, Some(n)) => EvictSelection::NotPlayedDays(n),
        (None, None) => EvictSelection::Tracks(vault.resolve_ids(&ids)?),
    };
    let creds = credentials(&vault)?;
    let cancel = cancel_on_ctrl_c();
    let report = vault.evict(&selection, &creds, &options(), &cancel)?;
    if json {
        print_json(&report)?;
    } else {
        for t in &report.tracks {
            let what = match t.outcome {
                EvictState::Evicted => format!("cloud only, {} freed", bytes(t.bytes_freed)),
                EvictState::AlreadyCloud => "already cloud only".into(),
                EvictState::Shared => {
                    "kept: every chunk is shared with a track on this device".into()
                }
                EvictState::Refused => format!(
                    "kept on this device: {}",
                    t.reason.as_deref().unwrap_or("refused")
                ),
            };
            println!("{} ({}): {what}", sanitize(&t.file_name), t.id);
        }
        println!(
            "{} track(s) now in the cloud only, {} freed; {} refused",
            report.evicted,
            bytes(report.bytes_freed),
            report.refused
        );
    }
    Ok(if report.refused > 0 { EXIT_PARTIAL } else { 0 })
}

/// `audiovault keep ID...`.
pub fn keep(root: &Path, secrets: &Secrets, ids: Vec<String>, json: bool) -> Result<u8> {
    let vault = secrets.unlock(root)?;
    let ids = vault.resolve_ids(&ids)?;
    let creds = credentials(&vault)?;
    let cancel = cancel_on_ctrl_c();
    let report = vault.keep(&ids, &creds, &options(), &cancel)?;
    if json {
        print_json(&report)?;
    } else {
        for t in &report.tracks {
            let what = match t.outcome {
                KeepState::Kept => {
                    format!("on this device again, {} fetched", bytes(t.bytes_fetched))
                }
                KeepState::AlreadyLocal => "already on this device".into(),
                KeepState::Failed => format!(
                    "still cloud only: {}",
                    t.reason.as_deref().unwrap_or("failed")
                ),
            };
            println!("{} ({}): {what}", sanitize(&t.file_name), t.id);
        }
        println!(
            "{} track(s) kept on this device, {} fetched; {} failed",
            report.kept,
            bytes(report.bytes_fetched),
            report.failed
        );
    }
    Ok(if report.failed > 0 { EXIT_PARTIAL } else { 0 })
}
