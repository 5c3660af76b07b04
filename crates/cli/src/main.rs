//! `audiovault`: the engine on the command line. Each subcommand parses its
//! arguments, unlocks the vault, calls one engine operation and prints its
//! report (text for people, `--json` for scripts). No logic of its own.

// Every line the CLI prints as text goes through `output::terminal_safe`: a
// file name or tag holding terminal control sequences (`\x1b]0;…\x07` retitles a
// terminal, others move the cursor or rewrite the screen) is printed escaped,
// never acted on. These two shadow std's macros in every module below; `--json`
// output passes unchanged (JSON escapes control characters itself).
macro_rules! println {
    ($($arg:tt)*) => {
        ::std::println!("{}", $crate::output::terminal_safe(&::std::format!($($arg)*)))
    };
}
macro_rules! eprintln {
    ($($arg:tt)*) => {
        ::std::eprintln!("{}", $crate::output::terminal_safe(&::std::format!($($arg)*)))
    };
}

mod output;
mod sync_cmd;
mod unlock;
mod watch_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use audiovault_engine::{
    CancelToken, CreateOptions, DoctorOptions, ExportOptions, ImportOptions, OsKeyring,
    TrackFilter, Vault, keys::KdfParams,
};
use clap::{Parser, Subcommand};

use crate::output::{BarProgress, print_json};
use crate::unlock::{Secrets, vault_dir};

#[derive(Parser)]
#[command(
    name = "audiovault",
    version,
    about = "Keep an audio library safe: encrypted, checksummed, deduplicated"
)]
struct Cli {
    /// Vault folder [default: the platform data folder]
    #[arg(long, global = true, env = "AUDIOVAULT_VAULT")]
    vault: Option<PathBuf>,
    /// Read the passphrase from the first line of this file (AUDIOVAULT_PASSPHRASE also works)
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new vault
    Init {
        /// Remember the key in the OS keyring so the vault opens without a passphrase
        #[arg(long)]
        remember: bool,
        #[arg(long, hide = true, default_value_t = KdfParams::DEFAULT_MEMORY_KIB)]
        kdf_memory_kib: u32,
        #[arg(long, hide = true, default_value_t = KdfParams::DEFAULT_ITERATIONS)]
        kdf_iterations: u32,
        /// Average chunk size in bytes (min a quarter, max four times): for the store
        /// benchmark, which needs a million chunks without a terabyte of audio
        #[arg(long, hide = true)]
        chunk_avg_bytes: Option<u32>,
    },
    /// Import files and folders (recursively)
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Files imported at once (default: two per core)
        #[arg(long, default_value_t = 0, hide = true)]
        workers: usize,
    },
    /// List tracks
    List {
        /// Only tracks in the trash
        #[arg(long)]
        trashed: bool,
        /// Active and trashed tracks
        #[arg(long, conflicts_with = "trashed")]
        all: bool,
    },
    /// Show one track: metadata, all tags, its chunk list
    Show { id: String },
    /// Search by text (prefix, any case, any accents) with filters, sorted and paged
    Search(SearchArgs),
    /// Write a track's cover art (or its list thumbnail) to a file
    Artwork {
        id: String,
        /// Destination file
        #[arg(long)]
        to: PathBuf,
        /// The small JPEG used in lists instead of the full picture
        #[arg(long)]
        thumbnail: bool,
    },
    /// Analyse tracks waiting for it: waveform peaks and the same-audio fingerprint (a full decode)
    Analyze,
    /// Exact copies and same-audio groups (a WAV and its FLAC, a re-tagged MP3), with the space they would free
    Duplicates,
    /// Read metadata again (after an extractor upgrade): tracks read by an older extractor, or --all, or the given ids
    Rescan {
        ids: Vec<String>,
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
    /// Export tracks to a folder, byte-identical to what was imported
    Export {
        /// Track ids (or unique prefixes)
        ids: Vec<String>,
        /// Export every active track
        #[arg(long, conflicts_with_all = ["ids", "query"])]
        all: bool,
        /// Export active tracks whose file name contains this text
        #[arg(long, conflicts_with = "ids")]
        query: Option<String>,
        /// Destination folder
        #[arg(long)]
        to: PathBuf,
        /// Replace files of the same name instead of adding " (1)"
        #[arg(long)]
        overwrite: bool,
    },
    /// Authenticate every chunk and re-hash every track
    Verify {
        /// Fetch damaged or missing chunks from the remote and put them back
        #[arg(long, conflicts_with = "remote")]
        repair: bool,
        /// Verify the remote instead: download and authenticate its objects
        #[arg(long)]
        remote: bool,
        /// With --remote: check this percentage of packs, chosen at random
        #[arg(long, requires = "remote")]
        sample: Option<f64>,
        /// Also download and check the cloud copies of cloud-only tracks (else
        /// they are reported as "cloud only, not checked locally")
        #[arg(long, conflicts_with_all = ["remote", "repair"])]
        cloud: bool,
    },
    /// Library statistics: tracks, bytes, dedup savings, quota
    Stats,
    /// Move tracks to the trash
    Trash {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Restore tracks from the trash
    Restore {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Delete trashed tracks for good, then remove their chunks
    Purge {
        /// Only tracks trashed at least this many days ago
        #[arg(long)]
        older_than_days: Option<u32>,
    },
    /// Remove chunks no track references
    Gc,
    /// Check that the vault is whole (catalog, chunks, records, disk, keyring, vault.json, remote)
    Doctor {
        /// Mend what the vault can mend itself: rebuild a lost or damaged catalog from the
        /// records, write missing or damaged records again, remove orphan chunk files
        #[arg(long)]
        repair: bool,
        /// Do not reach the remote
        #[arg(long)]
        offline: bool,
    },
    /// Change the passphrase (the master key is rewrapped; chunks are untouched)
    Passwd {
        /// Read the new passphrase from this file (AUDIOVAULT_NEW_PASSPHRASE also works)
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Remove the remembered key from the OS keyring
    Forget,
    /// Show or change settings
    Settings {
        #[command(subcommand)]
        action: Option<SettingsAction>,
    },
    /// Watch folders and import the audio files that land in them
    Watch(watch_cmd::WatchArgs),
    /// The S3-compatible remote: set, show, test, gc
    Remote {
        #[command(subcommand)]
        action: sync_cmd::RemoteAction,
    },
    /// Upload what the remote lacks: chunks, then the catalog, then its manifest
    Push,
    /// Bring in tracks added or trashed on other devices
    Pull,
    /// Free up space: delete the local chunks of tracks the remote holds (checked
    /// first); they stay in the library and play and export from the bucket
    Evict {
        /// Track ids (or unique prefixes)
        #[arg(required_unless_present_any = ["album", "not_played_days"], conflicts_with_all = ["album", "not_played_days"])]
        ids: Vec<String>,
        /// Every active track of this album (by name, any case)
        #[arg(long, conflicts_with = "not_played_days")]
        album: Option<String>,
        /// Active tracks this device has not played for N days
        #[arg(long, value_name = "N")]
        not_played_days: Option<u32>,
    },
    /// Keep cloud-only tracks on this device again: fetch their chunks back
    Keep {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Restore a vault from the remote into --vault DIR (resumes an interrupted clone)
    Clone(sync_cmd::CloneArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) on stdout
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff, for man) on stdout, or write every command's page
    Manpage {
        /// Write audiovault.1 and a page per command (audiovault-import.1, …) into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The import jobs, newest first; with an id, that job's files and their outcomes
    Jobs {
        /// One job's id: its files, each with its outcome and reason
        id: Option<i64>,
        /// How many jobs to list
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// The vault's activity log, newest first (imports, exports, verifies, trash, sync, ...)
    Log {
        /// Only entries of this kind
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(
            audiovault_engine::catalog::LogKind::ALL.map(audiovault_engine::catalog::LogKind::as_str)
        ))]
        kind: Option<String>,
        /// How many entries to show
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(clap::Args)]
struct SearchArgs {
    /// Words to find in titles, artists, albums, composers, genres, comments and file names
    query: Vec<String>,
    /// Only these formats (repeatable; the names in docs/FORMATS.md)
    #[arg(long = "format", value_name = "FORMAT", value_parser = clap::builder::PossibleValuesParser::new(audiovault_engine::formats::ids()))]
    formats: Vec<String>,
    #[arg(long)]
    codec: Option<String>,
    #[arg(long)]
    sample_rate: Option<u32>,
    #[arg(long)]
    bit_depth: Option<u32>,
    #[arg(long)]
    channels: Option<u32>,
    /// Seconds
    #[arg(long)]
    min_duration: Option<f64>,
    /// Seconds
    #[arg(long)]
    max_duration: Option<f64>,
    #[arg(long)]
    min_year: Option<i32>,
    #[arg(long)]
    max_year: Option<i32>,
    /// Only tracks with embedded cover art
    #[arg(long, conflicts_with = "no_artwork")]
    has_artwork: bool,
    /// Only tracks without cover art
    #[arg(long)]
    no_artwork: bool,
    /// Search the trash instead of the library
    #[arg(long)]
    trashed: bool,
    /// imported, title, artist, album, duration, format, sample_rate, size, year, file_name
    #[arg(long, default_value = "imported", value_parser = clap::builder::PossibleValuesParser::new(audiovault_engine::catalog::SortKey::NAMES))]
    sort: String,
    /// Sort descending
    #[arg(long)]
    desc: bool,
    /// Page size
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Continue after this cursor (the previous page's next_cursor)
    #[arg(long)]
    after: Option<String>,
}

impl SearchArgs {
    fn to_query(&self) -> audiovault_engine::catalog::SearchQuery {
        use audiovault_engine::catalog::{SearchQuery, SortKey};
        SearchQuery {
            text: (!self.query.is_empty()).then(|| self.query.join(" ")),
            state: self
                .trashed
                .then_some(audiovault_engine::TrackState::Trashed),
            formats: self.formats.clone(),
            codec: self.codec.clone(),
            sample_rate: self.sample_rate,
            bit_depth: self.bit_depth,
            channels: self.channels,
            min_duration: self.min_duration,
            max_duration: self.max_duration,
            min_year: self.min_year,
            max_year: self.max_year,
            has_artwork: if self.has_artwork {
                Some(true)
            } else if self.no_artwork {
                Some(false)
            } else {
                None
            },
            sort: SortKey::parse(&self.sort).unwrap_or_default(),
            descending: self.desc,
            limit: Some(self.limit),
            after: self.after.clone(),
        }
    }
}

#[derive(Subcommand)]
enum SettingsAction {
    /// Set a setting: allowed_extensions, max_file_size_bytes, quota_bytes,
    /// auto_sync (on|off: the app pushes after imports and pulls on unlock and
    /// every auto_sync_pull_minutes), auto_sync_pull_minutes (1-1440, default 15),
    /// upload_bytes_per_second and download_bytes_per_second (limits for push,
    /// pull and clone, e.g. 2MiB or 500KiB; 0 for no limit), aws_profile (take
    /// the remote's keys from this profile of ~/.aws/credentials and config)
    Set { key: String, value: String },
}

/// Exit status for a batch that completed with some items rejected, failed or damaged.
const EXIT_PARTIAL: u8 = 3;
const EXIT_CANCELLED: u8 = 130;

fn main() -> ExitCode {
    // First, before any thread: no core dumps, and the passphrases out of the
    // environment (children never inherit them).
    audiovault_engine::secret::protect_process();
    let cli = Cli::parse();
    // Neither needs a vault: answered before the vault folder is resolved.
    let generated = match cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "audiovault", &mut script);
            Some(Ok(script))
        }
        Command::Manpage { dir: None } => {
            let mut page = Vec::new();
            let man = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command());
            Some(man.render(&mut page).map(|()| page))
        }
        Command::Manpage { dir: Some(ref dir) } => Some(
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), dir)
                })
                .map(|()| Vec::new())
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
        ),
        _ => None,
    };
    if let Some(text) = generated {
        let written =
            text.and_then(|bytes| std::io::Write::write_all(&mut std::io::stdout(), &bytes));
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            // `audiovault manpage | head` closes the pipe early: not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        };
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_cancelled(&e) => {
            eprintln!("cancelled");
            ExitCode::from(EXIT_CANCELLED)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn is_cancelled(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<audiovault_engine::Error>(),
        Some(audiovault_engine::Error::Cancelled)
            | Some(audiovault_engine::Error::Sync(
                audiovault_engine::sync::SyncError::Cancelled
            ))
    )
}

fn cancel_on_ctrl_c() -> CancelToken {
    let cancel = CancelToken::new();
    let handle = cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if handle.is_cancelled() {
            std::process::exit(i32::from(EXIT_CANCELLED));
        }
        eprintln!("\ncancelling… (press Ctrl-C again to quit at once)");
        handle.cancel();
    });
    cancel
}

fn run(cli: Cli) -> Result<u8> {
    let root = vault_dir(cli.vault.clone())?;
    let secrets = Secrets::from_env(cli.passphrase_file.clone())?;
    let json = cli.json;
    match cli.command {
        Command::Init {
            remember,
            kdf_memory_kib,
            kdf_iterations,
            chunk_avg_bytes,
        } => {
            // Refused before the passphrase is typed twice for nothing.
            Vault::check_new_vault_folder(&root)?;
            let passphrase = secrets.new_passphrase("Passphrase for the new vault")?;
            let mut options = CreateOptions {
                kdf_memory_kib,
                kdf_iterations,
                ..CreateOptions::default()
            };
            if let Some(avg) = chunk_avg_bytes {
                options.chunker.avg_size = avg;
                options.chunker.min_size = avg / 4;
                options.chunker.max_size = avg.saturating_mul(4);
            }
            let vault = Vault::create(&root, &passphrase, &options)?;
            if remember {
                unlock::remember(&vault);
            }
            if json {
                print_json(&serde_json::json!({"vault": root, "vault_id": vault.vault_id()}))?;
            } else {
                println!("Created vault {} at {}", vault.vault_id(), root.display());
            }
            Ok(0)
        }
        Command::Import { paths, workers } => {
            let vault = secrets.unlock(&root)?;
            let cancel = cancel_on_ctrl_c();
            let bar = BarProgress::bytes("Importing");
            let options = ImportOptions {
                workers,
                ..ImportOptions::default()
            };
            let report = vault.import(&paths, &options, &bar, &cancel)?;
            bar.finish();
            if json {
                print_json(&report)?;
            } else {
                output::print_import(&report);
            }
            Ok(if report.cancelled {
                EXIT_CANCELLED
            } else if report.rejected + report.failed > 0 {
                EXIT_PARTIAL
            } else {
                0
            })
        }
        Command::List { trashed, all } => {
            let vault = secrets.unlock(&root)?;
            let filter = match (trashed, all) {
                (true, _) => TrackFilter::Trashed,
                (_, true) => TrackFilter::All,
                _ => TrackFilter::Active,
            };
            let tracks = vault.tracks(filter)?;
            if json {
                print_json(&tracks)?;
            } else {
                output::print_tracks(&tracks);
            }
            Ok(0)
        }
        Command::Show { id } => {
            let vault = secrets.unlock(&root)?;
            let id = vault.resolve_ids(&[id])?.remove(0);
            let details = vault.track_details(&id)?;
            if json {
                print_json(&details)?;
            } else {
                output::print_track_details(&details);
            }
            Ok(0)
        }
        Command::Search(args) => {
            let vault = secrets.unlock(&root)?;
            let query = args.to_query();
            let page = vault.search(&query)?;
            let summary = vault.search_summary(&query)?;
            if json {
                print_json(&serde_json::json!({
                    "tracks": page.tracks,
                    "next_cursor": page.next_cursor,
                    "total": summary,
                }))?;
            } else {
                output::print_tracks(&page.tracks);
                if let Some(c) = &page.next_cursor {
                    println!("more: --after '{c}'");
                }
            }
            Ok(0)
        }
        Command::Artwork { id, to, thumbnail } => {
            let vault = secrets.unlock(&root)?;
            let id = vault.resolve_ids(&[id])?.remove(0);
            let art = if thumbnail {
                vault.thumbnail(&id)?
            } else {
                vault.artwork(&id)?
            };
            let Some((mime, bytes)) = art else {
                bail!("track {id} has no cover art");
            };
            std::fs::write(&to, &bytes)
                .with_context(|| format!("cannot write {}", to.display()))?;
            if json {
                print_json(
                    &serde_json::json!({"path": to, "mime_type": mime, "size_bytes": bytes.len()}),
                )?;
            } else {
                println!("{} ({mime}, {} bytes)", to.display(), bytes.len());
            }
            Ok(0)
        }
        Command::Analyze => {
            let vault = secrets.unlock(&root)?;
            let cancel = cancel_on_ctrl_c();
            let bar = BarProgress::items("Analysing");
            let report = vault.analyze_pending(&bar, &cancel)?;
            bar.finish();
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "{} analysed, {} could not be decoded, {} still pending",
                    report.analyzed, report.failed, report.pending
                );
            }
            Ok(if report.cancelled { EXIT_CANCELLED } else { 0 })
        }
        Command::Duplicates => {
            let vault = secrets.unlock(&root)?;
            let cancel = cancel_on_ctrl_c();
            let bar = BarProgress::items("Analysing");
            let report = vault.duplicates(&bar, &cancel)?;
            bar.finish();
            if json {
                print_json(&report)?;
            } else {
                output::print_duplicates(&report);
            }
            Ok(0)
        }
        Command::Rescan { ids, all } => {
            let vault = secrets.unlock(&root)?;
            let ids = if ids.is_empty() {
                None
            } else {
                Some(vault.resolve_ids(&ids)?)
            };
            let report = vault.rescan(ids, all)?;
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "{} track(s) rescanned, {} failed",
                    report.rescanned,
                    report.failed.len()
                );
                for (id, reason) in &report.failed {
                    println!("failed    {id}: {reason}");
                }
            }
            Ok(0)
        }
        Command::Export {
            ids,
            all,
            query,
            to,
            overwrite,
        } => {
            let vault = secrets.unlock(&root)?;
            let ids = if all {
                vault
                    .tracks(TrackFilter::Active)?
                    .into_iter()
                    .map(|t| t.id)
                    .collect()
            } else if let Some(q) = query {
                vault.tracks_named(&q)?.into_iter().map(|t| t.id).collect()
            } else if ids.is_empty() {
                bail!("name the tracks to export: track ids, --all, or --query TEXT");
            } else {
                vault.resolve_ids(&ids)?
            };
            let cancel = cancel_on_ctrl_c();
            let bar = BarProgress::bytes("Exporting");
            let report = vault.export(&ids, &to, &ExportOptions { overwrite }, &bar, &cancel)?;
            bar.finish();
            if json {
                print_json(&report)?;
            } else {
                output::print_export(&report);
            }
            Ok(if report.cancelled {
                EXIT_CANCELLED
            } else if !report.failed.is_empty() {
                EXIT_PARTIAL
            } else {
                0
            })
        }
        Command::Verify {
            repair,
            remote,
            sample,
            cloud,
        } => {
            let vault = secrets.unlock(&root)?;
            let cancel = cancel_on_ctrl_c();
            if remote {
                return sync_cmd::verify_remote(&vault, sample, json, &cancel);
            }
            if repair {
                return sync_cmd::verify_and_repair(&vault, json, &cancel);
            }
            let bar = BarProgress::bytes("Verifying");
            let report = vault.verify_with(
                &audiovault_engine::verify::VerifyOptions { cloud },
                &bar,
                &cancel,
            )?;
            bar.finish();
            if json {
                print_json(&report)?;
            } else {
                output::print_verify(&report);
            }
            Ok(if report.cancelled {
                EXIT_CANCELLED
            } else if report.ok {
                0
            } else {
                EXIT_PARTIAL
            })
        }
        Command::Stats => {
            let vault = secrets.unlock(&root)?;
            let stats = vault.stats()?;
            if json {
                print_json(&stats)?;
            } else {
                output::print_stats(&stats);
            }
            Ok(0)
        }
        Command::Trash { ids } => trash(&secrets, &root, &ids, true, json),
        Command::Restore { ids } => trash(&secrets, &root, &ids, false, json),
        Command::Purge { older_than_days } => {
            let vault = secrets.unlock(&root)?;
            let report = vault.purge(older_than_days)?;
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "Purged {} track(s); removed {} chunk(s), {}",
                    report.purged_tracks.len(),
                    report.removed_chunks,
                    output::bytes(report.removed_bytes)
                );
            }
            Ok(0)
        }
        Command::Gc => {
            let vault = secrets.unlock(&root)?;
            let report = vault.gc()?;
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "Removed {} unreferenced chunk(s), {}",
                    report.removed_chunks,
                    output::bytes(report.removed_bytes)
                );
            }
            Ok(0)
        }
        Command::Doctor { repair, offline } => {
            let keys = secrets.unlock_keys(&root)?;
            let options = DoctorOptions {
                repair,
                check_remote: !offline,
                ..DoctorOptions::default()
            };
            let report = keys.doctor(&options, &OsKeyring)?;
            if json {
                print_json(&report)?;
            } else {
                output::print_doctor(&report);
            }
            Ok(if report.ok {
                0
            } else if report.repaired.is_empty() {
                1
            } else {
                EXIT_PARTIAL
            })
        }
        Command::Passwd {
            new_passphrase_file,
        } => {
            let mut vault = secrets.unlock(&root)?;
            let new = secrets.replacement_passphrase(new_passphrase_file)?;
            vault.change_passphrase(&new)?;
            if !json {
                println!("Passphrase changed.");
            }
            Ok(0)
        }
        Command::Forget => {
            let vault = secrets.unlock(&root)?;
            let removed = vault.forget_key(&OsKeyring)?;
            if json {
                print_json(&serde_json::json!({"removed": removed}))?;
            } else if removed {
                println!("The key is no longer remembered on this device.");
            } else {
                println!("No key was remembered for this vault.");
            }
            Ok(0)
        }
        Command::Settings { action } => {
            let vault = secrets.unlock(&root)?;
            if let Some(SettingsAction::Set { key, value }) = action {
                vault.set_setting(key.parse()?, &value)?;
            }
            let settings = vault.settings()?;
            if json {
                print_json(&settings)?;
            } else {
                output::print_settings(&settings);
            }
            Ok(0)
        }
        Command::Watch(args) => watch_cmd::run(args, &secrets, &root, json),
        Command::Remote { action } => sync_cmd::remote(action, &root, &secrets, json),
        Command::Push => sync_cmd::push(&root, &secrets, json),
        Command::Pull => sync_cmd::pull(&root, &secrets, json),
        Command::Evict {
            ids,
            album,
            not_played_days,
        } => sync_cmd::evict(&root, &secrets, ids, album, not_played_days, json),
        Command::Keep { ids } => sync_cmd::keep(&root, &secrets, ids, json),
        Command::Clone(args) => sync_cmd::clone(args, &root, &secrets, json),
        Command::Completions { .. } | Command::Manpage { .. } => Ok(0), // answered in main
        Command::Jobs { id, limit } => {
            let vault = secrets.unlock(&root)?;
            match id {
                Some(id) => {
                    let job = vault.import_job(id)?;
                    if json {
                        print_json(&job)?;
                    } else {
                        output::print_job(&job);
                    }
                }
                None => {
                    let jobs = vault.import_jobs(limit)?;
                    if json {
                        print_json(&jobs)?;
                    } else {
                        output::print_jobs(&jobs);
                    }
                }
            }
            Ok(0)
        }
        Command::Log { kind, limit } => {
            let vault = secrets.unlock(&root)?;
            let kind = kind
                .as_deref()
                .and_then(audiovault_engine::catalog::LogKind::parse);
            let entries = vault.activity_log(limit, kind)?;
            if json {
                print_json(&entries)?;
            } else {
                output::print_log(&entries);
            }
            Ok(0)
        }
    }
}

fn trash(
    secrets: &Secrets,
    root: &std::path::Path,
    ids: &[String],
    to_trash: bool,
    json: bool,
) -> Result<u8> {
    let vault = secrets.unlock(root)?;
    let ids = vault.resolve_ids(ids)?;
    let changed = vault.set_trashed(&ids, to_trash)?;
    if json {
        print_json(&serde_json::json!({"changed": changed}))?;
    } else if to_trash {
        println!("Moved {changed} track(s) to the trash.");
    } else {
        println!("Restored {changed} track(s) from the trash.");
    }
    Ok(0)
}
