//! The IPC contract: every value that crosses between the shell and the web UI.
//!
//! These are the shell's own types, converted from the engine's, so the wire
//! format is written down in one place and the engine can change its internals
//! freely. Each derives [`TS`]; `crate::bindings` writes them all to
//! `ui/src/lib/bindings.ts`, which the UI imports, and a test fails when that
//! file is stale. Secrets never appear here (a passphrase only travels UI → shell,
//! as a command argument).

use audiovault_engine as engine;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where the app stands: which vault folder, whether it exists and is open.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Status {
    pub vault_dir: String,
    pub default_dir: Option<String>,
    /// A vault exists in `vault_dir`.
    pub exists: bool,
    pub unlocked: bool,
    pub vault_id: Option<String>,
    /// Why the vault did not open by itself (keyring unavailable, wrong passphrase in
    /// the environment…), for the unlock screen.
    pub notice: Option<String>,
    /// The last unlock (by hand, or by itself at start) found the catalog missing
    /// or damaged: the unlock screen offers Check and repair (`recover`).
    pub catalog_damaged: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum TrackState {
    Active,
    Trashed,
}

impl From<engine::TrackState> for TrackState {
    fn from(s: engine::TrackState) -> Self {
        match s {
            engine::TrackState::Active => TrackState::Active,
            engine::TrackState::Trashed => TrackState::Trashed,
        }
    }
}

impl From<TrackState> for engine::TrackState {
    fn from(s: TrackState) -> Self {
        match s {
            TrackState::Active => engine::TrackState::Active,
            TrackState::Trashed => engine::TrackState::Trashed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Imported,
    Title,
    Artist,
    Album,
    Duration,
    Format,
    SampleRate,
    Size,
    Year,
    FileName,
}

impl From<SortKey> for engine::catalog::SortKey {
    fn from(k: SortKey) -> Self {
        use engine::catalog::SortKey as E;
        match k {
            SortKey::Imported => E::Imported,
            SortKey::Title => E::Title,
            SortKey::Artist => E::Artist,
            SortKey::Album => E::Album,
            SortKey::Duration => E::Duration,
            SortKey::Format => E::Format,
            SortKey::SampleRate => E::SampleRate,
            SortKey::Size => E::Size,
            SortKey::Year => E::Year,
            SortKey::FileName => E::FileName,
        }
    }
}

/// One search of the library: free text, filters, a sort and a page.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct SearchQuery {
    pub text: Option<String>,
    /// Active tracks (the Library) or trashed ones (the Trash); default active.
    pub state: Option<TrackState>,
    /// File formats ("flac", "mp3"…); empty means every format.
    pub formats: Vec<String>,
    pub sort: SortKey,
    pub descending: bool,
    /// Page size (the engine's default when null).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

impl From<SearchQuery> for engine::catalog::SearchQuery {
    fn from(q: SearchQuery) -> Self {
        engine::catalog::SearchQuery {
            text: q.text,
            state: q.state.map(Into::into),
            formats: q.formats,
            sort: q.sort.into(),
            descending: q.descending,
            limit: q.limit,
            after: q.after,
            ..Default::default()
        }
    }
}

/// Where a track's bytes are: only on this device, or also whole on the
/// cloud remote. (A catalogued track is always on this device.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum TrackLocation {
    #[default]
    Local,
    Both,
}

/// A track as the library table and the details drawer show it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Track {
    pub id: String,
    pub sha256: String,
    pub file_name: String,
    pub size_bytes: u64,
    pub format: String,
    pub imported_at: String,
    pub state: TrackState,
    pub trashed_at: Option<String>,
    pub chunk_count: u64,
    /// Encrypted bytes of the chunks this track references.
    pub stored_bytes: u64,
    pub source_path: Option<String>,
    pub container: Option<String>,
    pub codec: Option<String>,
    pub duration_seconds: Option<f64>,
    pub sample_rate: Option<u32>,
    pub bit_depth: Option<u32>,
    pub channels: Option<u32>,
    pub bitrate: Option<u32>,
    pub decodable: Option<bool>,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub album_artist: Option<String>,
    pub track_number: Option<u32>,
    pub track_total: Option<u32>,
    pub disc_number: Option<u32>,
    pub disc_total: Option<u32>,
    pub year: Option<i32>,
    pub date: Option<String>,
    pub genre: Option<String>,
    pub composer: Option<String>,
    pub comment: Option<String>,
    pub has_artwork: bool,
    pub artwork_mime: Option<String>,
    pub artwork_size: Option<u64>,
    pub metadata_error: Option<String>,
    /// Filled by the commands that list tracks (`crate::cloud::fill_locations`).
    pub location: TrackLocation,
}

impl From<engine::Track> for Track {
    fn from(t: engine::Track) -> Self {
        let m = t.meta;
        Track {
            id: t.id.0,
            sha256: t.sha256,
            file_name: t.file_name,
            size_bytes: t.size_bytes,
            format: t.format,
            imported_at: t.imported_at,
            state: t.state.into(),
            trashed_at: t.trashed_at,
            chunk_count: t.chunk_count,
            stored_bytes: t.stored_bytes,
            source_path: t.source_path,
            container: m.container,
            codec: m.codec,
            duration_seconds: m.duration_seconds,
            sample_rate: m.sample_rate,
            bit_depth: m.bit_depth,
            channels: m.channels,
            bitrate: m.bitrate,
            decodable: m.decodable,
            title: m.title,
            artist: m.artist,
            album: m.album,
            album_artist: m.album_artist,
            track_number: m.track_number,
            track_total: m.track_total,
            disc_number: m.disc_number,
            disc_total: m.disc_total,
            year: m.year,
            date: m.date,
            genre: m.genre,
            composer: m.composer,
            comment: m.comment,
            has_artwork: m.has_artwork,
            artwork_mime: m.artwork_mime,
            artwork_size: m.artwork_size,
            metadata_error: m.metadata_error,
            location: TrackLocation::Local,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TrackDetails {
    #[serde(flatten)]
    pub track: Track,
    /// Tags beyond the common ones, as read.
    pub other_tags: Vec<(String, String)>,
    /// Where the track's bytes live: "local", and "cloud" when the remote has it whole.
    pub locations: Vec<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct SearchPage {
    pub tracks: Vec<Track>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<engine::catalog::SearchPage> for SearchPage {
    fn from(p: engine::catalog::SearchPage) -> Self {
        SearchPage {
            tracks: p.tracks.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct SearchSummary {
    pub tracks: u64,
    pub duration_seconds: f64,
    pub bytes: u64,
}

impl From<engine::catalog::SearchSummary> for SearchSummary {
    fn from(s: engine::catalog::SearchSummary) -> Self {
        SearchSummary {
            tracks: s.tracks,
            duration_seconds: s.duration_seconds,
            bytes: s.bytes,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Imported,
    Duplicate,
    Rejected,
    Failed,
}

impl From<engine::Outcome> for Outcome {
    fn from(o: engine::Outcome) -> Self {
        match o {
            engine::Outcome::Imported => Outcome::Imported,
            engine::Outcome::Duplicate => Outcome::Duplicate,
            engine::Outcome::Rejected => Outcome::Rejected,
            engine::Outcome::Failed => Outcome::Failed,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct FileResult {
    pub path: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub id: Option<String>,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportReport {
    pub job_id: i64,
    pub files: Vec<FileResult>,
    pub imported: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub failed: u64,
    pub cancelled: bool,
    pub warnings: Vec<String>,
}

impl From<engine::ImportReport> for ImportReport {
    fn from(r: engine::ImportReport) -> Self {
        ImportReport {
            job_id: r.job_id,
            files: r
                .files
                .into_iter()
                .map(|f| FileResult {
                    path: f.path,
                    outcome: f.outcome.into(),
                    reason: f.reason,
                    id: f.id.map(|i| i.0),
                    size_bytes: f.size_bytes,
                    sha256: f.sha256,
                })
                .collect(),
            imported: r.imported as u64,
            duplicates: r.duplicates as u64,
            rejected: r.rejected as u64,
            failed: r.failed as u64,
            cancelled: r.cancelled,
            warnings: r.warnings,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct Exported {
    pub id: String,
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ExportFailure {
    pub id: String,
    pub file_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct ExportReport {
    pub exported: Vec<Exported>,
    pub failed: Vec<ExportFailure>,
    pub cancelled: bool,
}

impl From<engine::ExportReport> for ExportReport {
    fn from(r: engine::ExportReport) -> Self {
        ExportReport {
            exported: r
                .exported
                .into_iter()
                .map(|e| Exported {
                    id: e.id.0,
                    path: e.path,
                    sha256: e.sha256,
                })
                .collect(),
            failed: r
                .failed
                .into_iter()
                .map(|f| ExportFailure {
                    id: f.id.0,
                    file_name: f.file_name,
                    reason: f.reason,
                })
                .collect(),
            cancelled: r.cancelled,
        }
    }
}

/// A signed, expiring URL on the loopback playback server.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Stream {
    pub url: String,
    pub content_type: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct FormatStats {
    pub format: String,
    pub tracks: u64,
    pub logical_bytes: u64,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct Stats {
    /// Active tracks.
    pub tracks: u64,
    pub trashed: u64,
    pub logical_bytes: u64,
    pub trashed_bytes: u64,
    pub stored_bytes: u64,
    pub unique_bytes: u64,
    pub dedup_saved_bytes: u64,
    pub chunks: u64,
    pub quota_bytes: Option<u64>,
    pub quota_used_fraction: Option<f64>,
    pub by_format: Vec<FormatStats>,
    pub warnings: Vec<String>,
}

impl From<engine::Stats> for Stats {
    fn from(s: engine::Stats) -> Self {
        Stats {
            tracks: s.tracks,
            trashed: s.trashed,
            logical_bytes: s.logical_bytes,
            trashed_bytes: s.trashed_bytes,
            stored_bytes: s.stored_bytes,
            unique_bytes: s.unique_bytes,
            dedup_saved_bytes: s.dedup_saved_bytes,
            chunks: s.chunks,
            quota_bytes: s.quota_bytes,
            quota_used_fraction: s.quota_used_fraction,
            by_format: s
                .by_format
                .into_iter()
                .map(|f| FormatStats {
                    format: f.format,
                    tracks: f.tracks,
                    logical_bytes: f.logical_bytes,
                })
                .collect(),
            warnings: s.warnings,
        }
    }
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct DamagedChunk {
    pub id: String,
    /// "missing" or "corrupt"
    pub reason: String,
    pub tracks: Vec<String>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct DamagedTrack {
    pub id: String,
    pub file_name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct VerifyReport {
    pub ok: bool,
    pub chunks_checked: u64,
    pub tracks_checked: u64,
    pub bytes_checked: u64,
    pub damaged_chunks: Vec<DamagedChunk>,
    pub damaged_tracks: Vec<DamagedTrack>,
    pub cancelled: bool,
}

impl From<engine::VerifyReport> for VerifyReport {
    fn from(r: engine::VerifyReport) -> Self {
        VerifyReport {
            ok: r.ok,
            chunks_checked: r.chunks_checked,
            tracks_checked: r.tracks_checked,
            bytes_checked: r.bytes_checked,
            damaged_chunks: r
                .damaged_chunks
                .into_iter()
                .map(|c| DamagedChunk {
                    id: c.id,
                    reason: c.reason,
                    tracks: c.tracks.into_iter().map(|t| t.0).collect(),
                })
                .collect(),
            damaged_tracks: r
                .damaged_tracks
                .into_iter()
                .map(|t| DamagedTrack {
                    id: t.id.0,
                    file_name: t.file_name,
                    reason: t.reason,
                })
                .collect(),
            cancelled: r.cancelled,
        }
    }
}

/// What emptying the Trash did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct PurgeReport {
    pub purged_tracks: u64,
    pub removed_chunks: u64,
    pub removed_bytes: u64,
}

impl From<engine::vault::PurgeReport> for PurgeReport {
    fn from(r: engine::vault::PurgeReport) -> Self {
        PurgeReport {
            purged_tracks: r.purged_tracks.len() as u64,
            removed_chunks: r.removed_chunks,
            removed_bytes: r.removed_bytes,
        }
    }
}

/// A track's waveform: `status` is "pending" (not analysed yet), "done", or
/// "failed: reason"; `peaks` are (min, max) pairs, -128..127, once done.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Waveform {
    pub status: String,
    pub peaks: Option<Vec<(i8, i8)>>,
}

/// The background analysis (waveforms, fingerprints) as the status line shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AnalysisProgress {
    pub running: bool,
    pub done: u64,
    pub total: u64,
}

/// The vault's import settings, for the Settings view.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Settings {
    pub allowed_extensions: Vec<String>,
    pub max_file_size_bytes: Option<u64>,
    pub quota_bytes: Option<u64>,
}

impl From<engine::Settings> for Settings {
    fn from(s: engine::Settings) -> Self {
        Settings {
            allowed_extensions: s.allowed_extensions,
            max_file_size_bytes: s.max_file_size_bytes,
            quota_bytes: s.quota_bytes,
        }
    }
}

/// One album of the Albums view ("" album: tracks without an album tag).
#[derive(Debug, Clone, Serialize, TS)]
pub struct AlbumSummary {
    pub album: String,
    pub artist: String,
    pub tracks: u64,
    pub duration_seconds: f64,
    pub year: Option<i32>,
    /// A track with cover art, for the album's thumbnail.
    pub artwork_track: Option<String>,
}

impl From<engine::catalog::AlbumSummary> for AlbumSummary {
    fn from(a: engine::catalog::AlbumSummary) -> Self {
        AlbumSummary {
            album: a.album,
            artist: a.artist,
            tracks: a.tracks,
            duration_seconds: a.duration_seconds,
            year: a.year,
            artwork_track: a.artwork_track.map(|t| t.0),
        }
    }
}

/// One artist of the Artists view ("" artist: tracks without an artist tag).
#[derive(Debug, Clone, Serialize, TS)]
pub struct ArtistSummary {
    pub artist: String,
    pub albums: u64,
    pub tracks: u64,
    pub duration_seconds: f64,
}

impl From<engine::catalog::ArtistSummary> for ArtistSummary {
    fn from(a: engine::catalog::ArtistSummary) -> Self {
        ArtistSummary {
            artist: a.artist,
            albums: a.albums,
            tracks: a.tracks,
            duration_seconds: a.duration_seconds,
        }
    }
}
