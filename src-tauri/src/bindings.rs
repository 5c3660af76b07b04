//! `ui/src/lib/bindings.ts`, generated: the TypeScript side of every IPC type.
//! What the engine reports crosses as the engine's own type (its `ts` feature
//! derives `TS` on them): tracks, searches, reports, settings, sync, doctor — the
//! same serde shapes the CLI's `--json` prints. The shell declares only its own
//! (`crate::dto`: the app's status, a stream URL, the analysis progress; forms the
//! UI sends; progress and watch events).
//!
//! The engine's formats table goes in as data too: `FORMATS` (names, extensions,
//! MIME types), so the UI holds no list of formats of its own.
//!
//! `cargo test -p audiovault-app bindings` fails when the committed file differs
//! from what the Rust types say; `AUDIOVAULT_UPDATE_BINDINGS=1` with the same
//! command rewrites it.

use audiovault_engine::analysis::{DuplicatesReport, ExactCopyGroup, SameAudioGroup};
use audiovault_engine::catalog::remote::TrackLocation;
use audiovault_engine::catalog::{Activity, DuplicateTrack, LogKind};
use audiovault_engine::catalog::{
    AlbumSummary, AnalysisState, ArtistSummary, FirstPage, FormatStats, SearchPage, SearchQuery,
    SearchSummary, SortKey, Stats, Track, TrackChunk, TrackMetadata, TrackState,
};
use audiovault_engine::doctor::{Check, CheckName, DoctorReport, Level, Repair, RepairAction};
use audiovault_engine::export::{ExportFailure, Exported};
use audiovault_engine::formats::{FORMATS, Format};
use audiovault_engine::ids::TrackId;
use audiovault_engine::ingest::ImportSource;
use audiovault_engine::library::{ImportJob, ImportJobDetails, ImportJobItem, JobStatus};
use audiovault_engine::library::{Tag, TrackDetails, Waveform};
use audiovault_engine::strength::Strength;
use audiovault_engine::sync::{
    ConnectionReport, ConnectionStep, CredentialSource, DeviceLine, Incoming, MergeReport,
    PullFailure, PullReport, PushReport, RemoteConfig, RemoteDevices, RemoteSettings,
    RepairOutcome, RepairReport, RepairedChunk, SyncStatus, UnrepairableChunk, UnrepairedTrack,
};
use audiovault_engine::sync::{
    EvictOutcome, EvictReport, EvictState, KeepOutcome, KeepReport, KeepState, LocationTotals,
};
use audiovault_engine::vault::PurgeReport;
use audiovault_engine::verify::{ChunkDamage, CloudOnlyTrack, DamagedChunk, DamagedTrack};
use audiovault_engine::{
    ErrorKind, ExportReport, FileResult, ImportReport, Notice, NoticeKind, Outcome, SettingKey,
    Settings, VerifyReport,
};

use crate::dto::{About, AppSettings, LockReason, LockedEvent};
use ts_rs::{Config, TS};

use crate::cloud::*;
use crate::dto::*;
use crate::error::IpcError;
use crate::health::Recovery;
use crate::progress::ProgressEvent;

/// The file, relative to the repository root.
pub const PATH: &str = "ui/src/lib/bindings.ts";

macro_rules! declarations {
    ($cfg:expr, $($t:ty),* $(,)?) => {
        vec![$(format!("export {}", <$t as TS>::decl($cfg))),*]
    };
}

/// Every IPC type as one TypeScript module.
pub fn typescript() -> String {
    // JSON numbers: u64 counts of bytes stay far below 2^53.
    let cfg = Config::new().with_large_int("number");
    let decls = declarations!(
        &cfg,
        ErrorKind,
        IpcError,
        NoticeKind,
        Notice,
        Status,
        Strength,
        AppSettings,
        About,
        LockReason,
        LockedEvent,
        MenuAction,
        crate::desktop::DesktopSettingsChange,
        TrackId,
        TrackState,
        TrackLocation,
        TrackMetadata,
        TrackChunk,
        SortKey,
        SearchQuery,
        Track,
        Tag,
        AnalysisState,
        TrackDetails,
        SearchPage,
        SearchSummary,
        FirstPage,
        ProgressEvent,
        Outcome,
        FileResult,
        ImportReport,
        Exported,
        ExportFailure,
        ExportReport,
        Stream,
        FormatStats,
        Stats,
        ChunkDamage,
        DamagedChunk,
        DamagedTrack,
        CloudOnlyTrack,
        VerifyReport,
        EvictState,
        EvictOutcome,
        EvictReport,
        KeepState,
        KeepOutcome,
        KeepReport,
        LocationTotals,
        PurgeReport,
        Waveform,
        ImportSource,
        JobStatus,
        ImportJob,
        ImportJobItem,
        ImportJobDetails,
        LogKind,
        Activity,
        DuplicateTrack,
        ExactCopyGroup,
        SameAudioGroup,
        DuplicatesReport,
        AnalysisProgress,
        SettingKey,
        Settings,
        AlbumSummary,
        ArtistSummary,
        RemoteConfig,
        CredentialSource,
        RemoteSettings,
        RemoteForm,
        SyncOperation,
        AutoSyncState,
        AutoSyncStatus,
        ConnectionStep,
        ConnectionReport,
        SyncStatus,
        MergeReport,
        PushReport,
        PullFailure,
        PullReport,
        DeviceLine,
        Incoming,
        RemoteDevices,
        RestoreForm,
        RestoreReport,
        RepairedChunk,
        UnrepairableChunk,
        RepairReport,
        UnrepairedTrack,
        RepairOutcome,
        CheckName,
        Level,
        Check,
        RepairAction,
        Repair,
        DoctorReport,
        Recovery,
        Format,
    );
    let mut out = String::from(
        "// Generated by src-tauri/src/bindings.rs from the engine's types and formats table and\n\
         // the shell's own (src-tauri/src/dto/, events.rs, cloud.rs, health.rs, progress.rs). Do not edit:\n\
         // AUDIOVAULT_UPDATE_BINDINGS=1 cargo test -p audiovault-app bindings\n\n",
    );
    for d in decls
        .into_iter()
        .chain(crate::dto::watch::declarations(&cfg))
        .chain([crate::events::declaration()])
    {
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.push_str(&formats_constant());
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The engine's formats table, in the table's order.
fn formats_constant() -> String {
    let rows: Vec<String> = FORMATS
        .iter()
        .map(|f| serde_json::to_string(f).expect("a format serializes"))
        .collect();
    format!(
        "/** The engine's formats table (crates/engine/src/formats.rs), one format a line. */\n\
         export const FORMATS: readonly Format[] = [\n  {},\n];\n",
        rows.join(",\n  ")
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn bindings_are_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(super::PATH);
        let generated = super::typescript();
        if std::env::var("AUDIOVAULT_UPDATE_BINDINGS").as_deref() == Ok("1") {
            std::fs::write(&path, &generated).expect("write bindings");
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: run `AUDIOVAULT_UPDATE_BINDINGS=1 cargo test -p audiovault-app bindings` and commit it",
            super::PATH
        );
    }

    #[test]
    fn large_integers_are_numbers_and_enums_are_unions() {
        let ts = super::typescript();
        assert!(ts.contains("export type Stats = {"), "{ts}");
        assert!(!ts.contains("bigint"), "{ts}");
        assert!(
            ts.contains(r#"export type TrackState = "active" | "trashed";"#),
            "{ts}"
        );
    }
}
