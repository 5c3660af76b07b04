//! `audiovault watch`: the watched import folder. `watch [DIR...]` runs the
//! watcher in the foreground; `watch add|list|remove|enable|disable` manage the
//! stored folders; `watch failures` is the 'Not imported' list; `watch log` the
//! watcher's activity.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use audiovault_engine::Vault;
use audiovault_engine::watch::{
    ActivityKind, AfterImport, FolderState, WatchConfig, WatchEvent, WatchEvents, WatchFolder,
    WatchReport, Watcher,
};
use clap::{Args, Subcommand};

use crate::output::print_json;
use crate::unlock::Secrets;
use crate::{EXIT_CANCELLED, EXIT_PARTIAL, cancel_on_ctrl_c};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WatchArgs {
    #[command(subcommand)]
    action: Option<WatchAction>,
    /// Folders to watch [default: every enabled folder added with `watch add`]
    dirs: Vec<PathBuf>,
    /// Scan once, import what is stable (waiting about one settle time), then exit
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    policy: PolicyFlags,
}

/// Settings of a watched folder. On `watch DIR`, they override the folder's
/// stored settings for this run; on `watch add`, they change them.
#[derive(Args)]
struct PolicyFlags {
    /// Seconds a file's size and date must stay unchanged before it is imported [default: 3]
    #[arg(long, value_name = "N")]
    settle_seconds: Option<f64>,
    /// Delete each file from the folder once its import is verified
    #[arg(long)]
    remove_after_import: bool,
    /// Keep each file after import, remembered so it is not imported again (the default)
    #[arg(long, conflicts_with = "remove_after_import")]
    keep_after_import: bool,
    /// Watch subfolders too (the default)
    #[arg(long, overrides_with = "no_recursive")]
    recursive: bool,
    /// Only files directly in the folder
    #[arg(long, overrides_with = "recursive")]
    no_recursive: bool,
    /// Poll the folder instead of using file-system events
    #[arg(long)]
    poll: bool,
    /// Leave files that cannot be imported where they are, instead of moving them into 'Not imported'
    #[arg(long)]
    leave_failures: bool,
}

#[derive(Subcommand)]
enum WatchAction {
    /// Add folders to watch, or change the settings of folders already added
    Add {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Store the folder but do not watch it until `watch enable`
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        policy: PolicyFlags,
    },
    /// List the watched folders and their settings
    List,
    /// Stop watching folders for good (their files and tracks are untouched)
    Remove {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Watch stored folders again
    Enable {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Keep folders stored but stop watching them
    Disable {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// The 'Not imported' list: files the watcher could not import, and why
    Failures {
        /// Empty the list (files are not touched; files left in place are tried again)
        #[arg(long)]
        clear: bool,
    },
    /// What the watcher did recently: imported, skipped, not imported, folder states
    Log {
        /// How many entries, newest first
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

impl PolicyFlags {
    fn apply(&self, folder: &mut WatchFolder) -> Result<()> {
        if let Some(s) = self.settle_seconds {
            folder.settle = WatchFolder::settle_from_seconds(s)
                .map_err(|e| anyhow!("--settle-seconds: {e}"))?;
        }
        if self.remove_after_import {
            folder.after_import = AfterImport::Remove;
        }
        if self.keep_after_import {
            folder.after_import = AfterImport::Keep;
        }
        if self.recursive {
            folder.recursive = true;
        }
        if self.no_recursive {
            folder.recursive = false;
        }
        if self.poll {
            folder.poll = true;
        }
        if self.leave_failures {
            folder.move_failures = false;
        }
        Ok(())
    }
}

pub fn run(args: WatchArgs, secrets: &Secrets, root: &Path, json: bool) -> Result<u8> {
    let vault = secrets.unlock(root)?;
    match args.action {
        None => watch(&vault, args.dirs, args.once, &args.policy, json),
        Some(WatchAction::Add {
            dirs,
            disabled,
            policy,
        }) => {
            let mut added = Vec::new();
            for dir in dirs {
                let mut folder = vault.watch_folder_or_default(&dir)?;
                policy.apply(&mut folder)?;
                folder.enabled = !disabled;
                added.push(vault.add_watch_folder(&folder)?);
            }
            if json {
                print_json(&added)?;
            } else {
                for f in &added {
                    println!("watching {} ({})", f.path.display(), describe(f));
                }
            }
            Ok(0)
        }
        Some(WatchAction::List) => {
            let folders = vault.watch_folders()?;
            if json {
                print_json(&folders)?;
            } else if folders.is_empty() {
                println!("No watched folders. Add one with `audiovault watch add DIR`.");
            } else {
                for f in &folders {
                    println!(
                        "{:<8} {}  ({})",
                        if f.enabled { "enabled" } else { "disabled" },
                        f.path.display(),
                        describe(f)
                    );
                }
            }
            Ok(0)
        }
        Some(WatchAction::Remove { dirs }) => {
            for dir in &dirs {
                vault.remove_watch_folder(dir)?;
            }
            done(json, "removed", &dirs)
        }
        Some(WatchAction::Enable { dirs }) => {
            for dir in &dirs {
                vault.set_watch_folder_enabled(dir, true)?;
            }
            done(json, "enabled", &dirs)
        }
        Some(WatchAction::Disable { dirs }) => {
            for dir in &dirs {
                vault.set_watch_folder_enabled(dir, false)?;
            }
            done(json, "disabled", &dirs)
        }
        Some(WatchAction::Failures { clear }) => {
            if clear {
                let n = vault.clear_watch_failures()?;
                if json {
                    print_json(&serde_json::json!({ "cleared": n }))?;
                } else {
                    println!(
                        "Cleared {n} entr{} of the 'Not imported' list.",
                        if n == 1 { "y" } else { "ies" }
                    );
                }
                return Ok(0);
            }
            let failures = vault.watch_failures()?;
            if json {
                print_json(&failures)?;
            } else {
                for f in &failures {
                    let place = match &f.moved_to {
                        Some(to) => format!(" (now {})", to.display()),
                        None => " (left in place)".to_string(),
                    };
                    println!("{}  {}: {}{place}", f.at, f.path.display(), f.reason);
                }
                println!("{} file(s) not imported", failures.len());
            }
            Ok(0)
        }
        Some(WatchAction::Log { limit }) => {
            let entries = vault.watch_activity(limit)?;
            if json {
                print_json(&entries)?;
            } else {
                for a in entries.iter().rev() {
                    println!("{}  {}", a.at, a.message);
                }
            }
            Ok(0)
        }
    }
}

fn describe(f: &WatchFolder) -> String {
    format!(
        "{}, {} after import, failures {}, settle {} s{}",
        if f.recursive {
            "with subfolders"
        } else {
            "no subfolders"
        },
        f.after_import.as_str(),
        if f.move_failures {
            "moved to 'Not imported'"
        } else {
            "left in place"
        },
        f.settle.as_secs_f64(),
        if f.poll { ", polled" } else { "" }
    )
}

fn done(json: bool, what: &str, dirs: &[PathBuf]) -> Result<u8> {
    if json {
        print_json(&serde_json::json!({ what: dirs }))?;
    } else {
        for d in dirs {
            println!("{what} {}", d.display());
        }
    }
    Ok(0)
}

fn watch(
    vault: &Vault,
    dirs: Vec<PathBuf>,
    once: bool,
    policy: &PolicyFlags,
    json: bool,
) -> Result<u8> {
    let mut folders = Vec::new();
    if dirs.is_empty() {
        for mut f in vault.watch_folders()?.into_iter().filter(|f| f.enabled) {
            policy.apply(&mut f)?;
            folders.push(f);
        }
    } else {
        for dir in &dirs {
            let mut f = vault
                .watch_folder_or_default(dir)
                .with_context(|| format!("cannot watch {}", dir.display()))?;
            // Named on the command line: watched even if stored as disabled.
            f.enabled = true;
            policy.apply(&mut f)?;
            folders.push(f);
        }
    }
    let config = WatchConfig {
        once,
        ..WatchConfig::new(folders)
    };
    let cancel = cancel_on_ctrl_c();
    // A one-pass run with --json prints one report document; a continuous run
    // prints one JSON event per line as it goes.
    let printer = EventPrinter {
        mode: match (json, once) {
            (true, true) => PrintMode::Quiet,
            (true, false) => PrintMode::JsonLines,
            (false, _) => PrintMode::Text,
        },
    };
    let report = Watcher::new(config).run(vault, &printer, &cancel)?;
    if once {
        if json {
            print_json(&report)?;
        } else {
            print_summary(&report);
        }
        let unavailable = report
            .folders
            .iter()
            .any(|f| f.state == FolderState::Unavailable);
        return Ok(if report.cancelled {
            EXIT_CANCELLED
        } else if !report.not_imported.is_empty() || unavailable {
            EXIT_PARTIAL
        } else {
            0
        });
    }
    // A continuous watcher ends when it is stopped: that is success.
    Ok(0)
}

fn print_summary(r: &WatchReport) {
    println!(
        "{} imported, {} skipped, {} not imported, {} still waiting{}",
        r.imported.len(),
        r.skipped.len(),
        r.not_imported.len(),
        r.waiting.len(),
        if r.cancelled { " (cancelled)" } else { "" }
    );
}

enum PrintMode {
    Text,
    JsonLines,
    Quiet,
}

struct EventPrinter {
    mode: PrintMode,
}

impl WatchEvents for EventPrinter {
    fn event(&self, event: &WatchEvent) {
        match self.mode {
            PrintMode::Quiet => {}
            PrintMode::JsonLines => {
                if let Ok(line) = serde_json::to_string(event) {
                    println!("{line}");
                }
            }
            PrintMode::Text => print_event(event),
        }
    }
}

fn print_event(event: &WatchEvent) {
    let Some(line) = event.describe() else {
        return;
    };
    match (line.kind, &line.path) {
        (ActivityKind::Notice, _) => eprintln!("notice: {}", line.message),
        (kind, Some(path)) => println!("{:<12} {}: {}", kind.label(), path.display(), line.message),
        (kind, None) => println!("{:<12} {}", kind.label(), line.message),
    }
}
