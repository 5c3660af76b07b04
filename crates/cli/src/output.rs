//! What the CLI prints: human-readable reports and the progress bar.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use audiovault_engine::doctor::{DoctorReport, Level};
use audiovault_engine::library::TrackDetails;
use audiovault_engine::{
    ExportReport, ImportReport, Outcome, Progress, Settings, Stats, Track, VerifyReport,
};
use indicatif::{ProgressBar, ProgressStyle};

/// A name, tag or path as it can be printed on a terminal: control characters
/// (C0, DEL, C1, line breaks and tabs included) and the bidirectional-text
/// controls that reorder what a line shows are written as escapes (`\x1b`,
/// `\u{202e}`); everything else as it is.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// A whole line of the CLI's own text: as [`sanitize`], but the line breaks the
/// CLI itself writes stay.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn needs_escape(c: char, keep_newlines: bool) -> bool {
    (c.is_control() && !(keep_newlines && c == '\n'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| needs_escape(c, keep_newlines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c, keep_newlines) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    // std's println: JSON escapes control characters itself (as `\u001b`), and
    // must stay JSON.
    ::std::println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

/// A terminal progress bar over bytes, with rate and ETA. Hidden when stderr
/// is not a terminal, so scripts and logs stay clean.
pub struct BarProgress {
    bar: ProgressBar,
    by_items: bool,
}

impl BarProgress {
    pub fn bytes(verb: &str) -> Self {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template(&format!(
            "{verb} {{pos_files}}[{{bar:30}}] {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}} ETA {{eta}} {{wide_msg}}"
        ))
        .map(|s| s.progress_chars("=> ").with_key("pos_files", |_: &indicatif::ProgressState, _: &mut dyn std::fmt::Write| {}))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        BarProgress {
            bar,
            by_items: false,
        }
    }

    /// A bar over items (tracks) rather than bytes.
    pub fn items(verb: &str) -> Self {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template(&format!(
            "{verb} [{{bar:30}}] {{pos}}/{{len}} ETA {{eta}} {{wide_msg}}"
        ))
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        BarProgress {
            bar,
            by_items: true,
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for BarProgress {
    fn start(&self, items: u64, bytes: u64) {
        self.bar
            .set_length(if self.by_items { items } else { bytes });
    }

    fn item_started(&self, path: &Path) {
        let name = path
            .file_name()
            .unwrap_or(path.as_os_str())
            .to_string_lossy();
        self.bar.set_message(sanitize(&name).into_owned());
    }

    fn advance(&self, bytes: u64) {
        if !self.by_items {
            self.bar.inc(bytes);
        }
    }

    fn item_finished(&self, _path: &Path, _ok: bool) {
        if self.by_items {
            self.bar.inc(1);
        }
    }
}

pub fn print_import(r: &ImportReport) {
    for f in &r.files {
        if f.outcome != Outcome::Imported {
            println!(
                "{:<9} {}: {}",
                f.outcome.as_str(),
                sanitize(&f.path),
                sanitize(f.reason.as_deref().unwrap_or(""))
            );
        }
    }
    println!(
        "{} imported, {} duplicate(s), {} rejected, {} failed{}",
        r.imported,
        r.duplicates,
        r.rejected,
        r.failed,
        if r.cancelled { " (cancelled)" } else { "" }
    );
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
}

pub fn print_tracks(tracks: &[Track]) {
    for t in tracks {
        let title = match (&t.meta.artist, &t.meta.title) {
            (Some(a), Some(ti)) => format!("{} – {}", sanitize(a), sanitize(ti)),
            (None, Some(ti)) => sanitize(ti).into_owned(),
            _ => sanitize(&t.file_name).into_owned(),
        };
        let duration = t
            .meta
            .duration_seconds
            .map(|d| format!("{}:{:02}", (d / 60.0) as u64, (d % 60.0) as u64))
            .unwrap_or_else(|| "-".into());
        println!(
            "{}  {:<5} {:>6} {:>10}  {}{}{}",
            t.id,
            t.format,
            duration,
            bytes(t.size_bytes),
            title,
            if t.trashed_at.is_some() {
                "  (trashed)"
            } else {
                ""
            },
            // Only the unusual place is said: a track here is the default.
            if t.location == audiovault_engine::catalog::remote::TrackLocation::Cloud {
                "  (cloud only)"
            } else {
                ""
            }
        );
    }
    println!("{} track(s)", tracks.len());
}

pub fn print_track_details(details: &TrackDetails) {
    let t = &details.track;
    let (chunks, tags) = (&details.chunks, &details.tags);
    let m = &t.meta;
    println!("id:          {}", t.id);
    println!("file name:   {}", sanitize(&t.file_name));
    println!("format:      {}", t.format);
    let opt = |v: Option<String>| v.map_or_else(|| "-".into(), |s| sanitize(&s).into_owned());
    println!("title:       {}", opt(m.title.clone()));
    println!("artist:      {}", opt(m.artist.clone()));
    println!("album:       {}", opt(m.album.clone()));
    println!(
        "audio:       {} {} Hz, {} bit, {} ch, {} kb/s, {} s",
        opt(m.codec.clone()),
        opt(m.sample_rate.map(|v| v.to_string())),
        opt(m.bit_depth.map(|v| v.to_string())),
        opt(m.channels.map(|v| v.to_string())),
        opt(m.bitrate.map(|v| (v / 1000).to_string())),
        opt(m.duration_seconds.map(|v| format!("{v:.2}")))
    );
    if let Some(e) = &m.metadata_error {
        println!("metadata:    incomplete: {e}");
    }
    if m.has_artwork {
        println!(
            "artwork:     {} ({} bytes)",
            opt(m.artwork_mime.clone()),
            m.artwork_size.unwrap_or(0)
        );
    }
    for tag in tags {
        println!("tag {}: {}", sanitize(&tag.key), sanitize(&tag.value));
    }
    println!(
        "size:        {} ({} bytes)",
        bytes(t.size_bytes),
        t.size_bytes
    );
    println!("sha256:      {}", t.sha256);
    println!("imported:    {}", t.imported_at);
    println!("state:       {:?}", t.state);
    if let Some(src) = &t.source_path {
        println!("imported from: {}", sanitize(src));
    }
    println!(
        "chunks:      {} ({} stored)",
        chunks.len(),
        bytes(t.stored_bytes)
    );
    println!(
        "location:    {}",
        match t.location {
            audiovault_engine::catalog::remote::TrackLocation::Both => "this device and the cloud",
            audiovault_engine::catalog::remote::TrackLocation::Local => "this device only",
            audiovault_engine::catalog::remote::TrackLocation::Cloud =>
                "the cloud only (evicted from this device)",
        }
    );
    match (&details.analysis, &details.analysis_error) {
        (audiovault_engine::catalog::AnalysisState::Failed, Some(e)) => {
            println!("analysis:    failed: {e}")
        }
        (state, _) => println!("analysis:    {}", format!("{state:?}").to_lowercase()),
    }
}

pub fn print_duplicates(r: &audiovault_engine::analysis::DuplicatesReport) {
    for g in &r.exact_copies {
        println!(
            "exact copies of {} ({}):",
            sanitize(&g.track.file_name),
            g.track.id
        );
        for c in &g.copies {
            println!("    {}", sanitize(c));
        }
    }
    for g in &r.same_audio {
        println!("same audio ({}):", g.fingerprint_kind);
        for (i, t) in g.tracks.iter().enumerate() {
            println!(
                "  {} {}  {:<5} {:>10}  {}",
                if i == 0 { "keep" } else { "    " },
                t.id,
                t.format,
                bytes(t.size_bytes),
                sanitize(&t.file_name)
            );
        }
        println!("  frees {}", bytes(g.reclaimable_bytes));
    }
    if r.unanalyzed > 0 {
        println!("{} track(s) could not be analysed", r.unanalyzed);
    }
    println!(
        "{} exact-copy group(s), {} same-audio group(s); {} could be freed",
        r.exact_copies.len(),
        r.same_audio.len(),
        bytes(r.reclaimable_bytes)
    );
}

pub fn print_export(r: &ExportReport) {
    for f in &r.failed {
        println!(
            "failed    {} ({}): {}",
            sanitize(&f.file_name),
            f.id,
            sanitize(&f.reason)
        );
    }
    println!("{} exported, {} failed", r.exported.len(), r.failed.len());
}

pub fn print_verify(r: &VerifyReport) {
    for c in &r.damaged_chunks {
        let tracks: Vec<String> = c.tracks.iter().map(|t| t.to_string()).collect();
        println!(
            "chunk {} is {}: breaks {}",
            c.id,
            c.reason,
            tracks.join(", ")
        );
    }
    for t in &r.damaged_tracks {
        println!(
            "damaged   {} ({}): {}",
            sanitize(&t.file_name),
            t.id,
            sanitize(&t.reason)
        );
    }
    for t in &r.cloud_only {
        println!(
            "{} {} ({})",
            if t.checked {
                "cloud     checked in the cloud:"
            } else {
                "cloud     cloud only, not checked locally:"
            },
            sanitize(&t.file_name),
            t.id
        );
    }
    println!(
        "{} track(s), {} chunk(s), {} checked: {}",
        r.tracks_checked,
        r.chunks_checked,
        bytes(r.bytes_checked),
        if r.ok { "all intact" } else { "DAMAGE FOUND" }
    );
}

pub fn print_doctor(r: &DoctorReport) {
    for repair in &r.repaired {
        println!("repaired  {}", repair.detail);
    }
    for c in &r.checks {
        let status = match (c.ok, c.level) {
            (true, _) => "ok",
            (false, Level::Warning) => "WARN",
            (false, Level::Error) => "FAIL",
        };
        println!("{status:<5} {:<19} {}", c.check.as_str(), c.detail);
        for a in &c.affected {
            println!("{:<25} {}", "", sanitize(a));
        }
    }
    println!(
        "{}",
        if r.ok {
            "The vault is whole."
        } else if r.repaired.is_empty() {
            "PROBLEMS FOUND: `audiovault doctor --repair` mends what the vault can mend itself."
        } else {
            "PROBLEMS REMAIN after the repairs above."
        }
    );
}

pub fn print_stats(s: &Stats) {
    println!("tracks:        {} ({} in the trash)", s.tracks, s.trashed);
    println!("library size:  {}", bytes(s.logical_bytes));
    println!(
        "stored size:   {} in {} chunks",
        bytes(s.stored_bytes),
        s.chunks
    );
    println!(
        "dedup saves:   {} (re-tags {}, other {}); exact copies not stored: {}",
        bytes(s.dedup_saved_bytes),
        bytes(s.dedup_retag_bytes),
        bytes(s.dedup_other_bytes),
        bytes(s.dedup_exact_copies_bytes)
    );
    if let (Some(q), Some(f)) = (s.quota_bytes, s.quota_used_fraction) {
        println!("size limit:    {} ({:.1}% used)", bytes(q), f * 100.0);
    }
    for f in &s.by_format {
        println!(
            "  {:<6} {:>6} track(s) {:>12}",
            f.format,
            f.tracks,
            bytes(f.logical_bytes)
        );
    }
    for w in &s.warnings {
        println!("warning: {w}");
    }
}

pub fn print_settings(s: &Settings) {
    println!("allowed_extensions   {}", s.allowed_extensions.join(","));
    println!(
        "max_file_size_bytes  {}",
        s.max_file_size_bytes
            .map_or("0 (no limit)".into(), |n| n.to_string())
    );
    println!(
        "quota_bytes          {}",
        s.quota_bytes
            .map_or("0 (no limit)".into(), |n| n.to_string())
    );
    println!(
        "auto_sync            {}",
        if s.auto_sync { "on" } else { "off" }
    );
    println!("auto_sync_pull_minutes  {}", s.auto_sync_pull_minutes);
    let rate =
        |r: Option<u64>| r.map_or("0 (no limit)".into(), |n| format!("{n} ({}/s)", bytes(n)));
    println!(
        "upload_bytes_per_second    {}",
        rate(s.upload_bytes_per_second)
    );
    println!(
        "download_bytes_per_second  {}",
        rate(s.download_bytes_per_second)
    );
    println!(
        "aws_profile          {}",
        s.aws_profile
            .as_deref()
            .unwrap_or("(none: keys from the keyring)")
    );
}

pub fn print_jobs(jobs: &[audiovault_engine::library::ImportJob]) {
    if jobs.is_empty() {
        println!("No import yet.");
        return;
    }
    for j in jobs {
        println!(
            "{:>5}  {}  {:<5}  {:<11}  {} file(s): {} imported, {} duplicate(s), {} rejected, {} failed",
            j.id,
            j.started_at,
            j.source.as_str(),
            j.status.as_str(),
            j.files_total,
            j.imported,
            j.duplicates,
            j.rejected,
            j.failed
        );
    }
}

pub fn print_job(job: &audiovault_engine::library::ImportJobDetails) {
    print_jobs(std::slice::from_ref(&job.job));
    for item in &job.items {
        match &item.reason {
            Some(reason) => println!(
                "  {:<9} {}: {}",
                item.outcome.as_str(),
                sanitize(&item.path),
                sanitize(reason)
            ),
            None => println!("  {:<9} {}", item.outcome.as_str(), sanitize(&item.path)),
        }
    }
}

pub fn print_log(entries: &[audiovault_engine::catalog::Activity]) {
    if entries.is_empty() {
        println!("Nothing logged yet.");
        return;
    }
    for e in entries {
        println!("{}  {:<8}  {}", e.at, e.kind.as_str(), sanitize(&e.message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(sanitize("plain – Björk 日本"), "plain – Björk 日本");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
        assert_eq!(sanitize("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
        assert_eq!(sanitize("a\nb\tc\rd\u{7f}"), "a\\x0ab\\x09c\\x0dd\\x7f");
        assert_eq!(sanitize("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(sanitize("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        assert_eq!(
            terminal_safe("line one\nline \x1b[2J two"),
            "line one\nline \\x1b[2J two"
        );
    }
}
