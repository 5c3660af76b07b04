//! `ui/src/lib/bindings.ts`: the TypeScript side of [`crate::dto`], generated.
//! The sync reports and the remote's devices are the engine's own types (its
//! `ts` feature derives `TS` on them), so the shell keeps no copy of them. The
//! engine's formats table goes in as data too: `FORMATS` (names, extensions, MIME
//! types), so the UI holds no list of formats of its own.
//!
//! `cargo test -p audiovault-app bindings` fails when the committed file differs
//! from what the Rust types say; `AUDIOVAULT_UPDATE_BINDINGS=1` with the same
//! command rewrites it.

use audiovault_engine::formats::{FORMATS, Format};
use audiovault_engine::sync::{
    DeviceLine, Incoming, MergeReport, PullFailure, PullReport, PushReport, RemoteDevices,
};
use ts_rs::{Config, TS};

use crate::cloud::*;
use crate::dto::*;
use crate::error::IpcError;
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
        IpcError,
        Status,
        TrackState,
        SortKey,
        SearchQuery,
        Track,
        TrackDetails,
        SearchPage,
        SearchSummary,
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
        DamagedChunk,
        DamagedTrack,
        VerifyReport,
        PurgeReport,
        Waveform,
        AnalysisProgress,
        Settings,
        AlbumSummary,
        ArtistSummary,
        TrackLocation,
        RemoteSettings,
        RemoteForm,
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
        UnrepairedTrack,
        RepairReport,
        Format,
    );
    let mut out = String::from(
        "// Generated from the shell's IPC types (src-tauri/src/dto.rs, cloud.rs, watching/dto.rs)\n\
         // and the engine's sync reports and formats table by src-tauri/src/bindings.rs. Do not edit:\n\
         // AUDIOVAULT_UPDATE_BINDINGS=1 cargo test -p audiovault-app bindings\n\n",
    );
    for d in decls
        .into_iter()
        .chain(crate::watching::dto::declarations(&cfg))
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
