//! The library as both front ends read it: pages of a search, one track's
//! details, albums and artists, a track's waveform. The rules they show — where a
//! track lives, how analysis stands, which tags it has — are applied here once,
//! so the command line and the app never disagree about them.

use serde::Serialize;

use crate::catalog::remote::{self, TrackLocation};
use crate::catalog::{
    Activity, AlbumSummary, AnalysisState, ArtistSummary, Catalog, FirstPage, ImportJobItemRow,
    ImportJobRow, LogKind, SearchPage, SearchQuery, SearchSummary, Track, TrackChunk, TrackFilter,
    TrackId, format_time,
};
use crate::error::{Error, Result};
use crate::ingest::ImportSource;
use crate::progress::Outcome;
use crate::store::ChunkId;
use crate::vault::Vault;

/// A tag beyond the common ones, as the file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Everything about one track: `show` on the command line, the details drawer in
/// the app.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrackDetails {
    #[serde(flatten)]
    pub track: Track,
    /// Its ordered chunk list.
    pub chunks: Vec<TrackChunk>,
    /// The chunk holding its cover art.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub artwork_chunk: Option<ChunkId>,
    /// Where its deep analysis (waveform, same-audio fingerprint) stands.
    pub analysis: AnalysisState,
    /// Why the analysis failed, when it did.
    pub analysis_error: Option<String>,
    /// Tags beyond the common ones, in file order.
    pub tags: Vec<Tag>,
}

/// A track's waveform, once analysed: (min, max) pairs in -128..=127.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Waveform {
    pub analysis: AnalysisState,
    pub analysis_error: Option<String>,
    pub peaks: Option<Vec<(i8, i8)>>,
}

/// How an import job ended (or that it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Running,
    Completed,
    Cancelled,
    Failed,
    /// Cut short by a crash, a kill or a power cut (found on the next open).
    Interrupted,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Failed => "failed",
            JobStatus::Interrupted => "interrupted",
        }
    }

    /// The status a stored name stands for; one this version does not know is a failure.
    fn parse(name: &str) -> JobStatus {
        [
            JobStatus::Running,
            JobStatus::Completed,
            JobStatus::Cancelled,
            JobStatus::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
        .unwrap_or(JobStatus::Failed)
    }
}

/// One import run: `audiovault jobs`, the app's Imports view.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportJob {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    /// Who started it: the command line, the app (a drop, Add files), a watched folder.
    pub source: ImportSource,
    pub status: JobStatus,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub files_total: u32,
    pub imported: u32,
    pub duplicates: u32,
    pub rejected: u32,
    pub failed: u32,
}

/// One file of an import job, with its outcome and, when not imported, why.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportJobItem {
    pub path: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub track_id: Option<TrackId>,
}

/// A job with its files (`audiovault jobs ID`, a job opened in the Imports view).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportJobDetails {
    #[serde(flatten)]
    pub job: ImportJob,
    pub items: Vec<ImportJobItem>,
}

fn import_job(row: ImportJobRow) -> ImportJob {
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    ImportJob {
        id: row.id,
        // A source this version does not know is shown as the command line's.
        source: ImportSource::parse(&row.source).unwrap_or_default(),
        status: JobStatus::parse(&row.status),
        started_at: format_time(row.started_at),
        finished_at: row.finished_at.map(format_time),
        files_total: count(row.files_total),
        imported: count(row.imported),
        duplicates: count(row.duplicates),
        rejected: count(row.rejected),
        failed: count(row.failed),
    }
}

fn import_job_item(row: ImportJobItemRow) -> ImportJobItem {
    ImportJobItem {
        path: row.path,
        outcome: Outcome::parse(&row.outcome).unwrap_or(Outcome::Failed),
        reason: row.reason,
        track_id: row.track_id.map(TrackId),
    }
}

impl Vault {
    /// The newest import jobs first, at most `limit`.
    pub fn import_jobs(&self, limit: u32) -> Result<Vec<ImportJob>> {
        self.read(|catalog| {
            Ok(catalog
                .import_jobs(limit)?
                .into_iter()
                .map(import_job)
                .collect())
        })
    }

    /// One import job with its files, in the order it took them.
    pub fn import_job(&self, id: i64) -> Result<ImportJobDetails> {
        let (job, items) = self
            .read(|catalog| Ok(catalog.import_job(id)?))?
            .ok_or_else(|| Error::Invalid(format!("there is no import job {id}")))?;
        Ok(ImportJobDetails {
            job: import_job(job),
            items: items.into_iter().map(import_job_item).collect(),
        })
    }

    /// The activity log, newest first, at most `limit`, optionally of one kind.
    pub fn activity_log(&self, limit: u32, kind: Option<LogKind>) -> Result<Vec<Activity>> {
        self.read(|catalog| Ok(catalog.recent_activity(limit, kind)?))
    }

    /// One page of a search, each track with where it lives.
    pub fn search(&self, query: &SearchQuery) -> Result<SearchPage> {
        self.search_read(|catalog| {
            let mut page = catalog.search(query)?;
            remote::fill_locations(catalog, &mut page.tracks)?;
            Ok(page)
        })
    }

    /// A search's first page (each track with where it lives) and its footer, on one
    /// read connection and in one call: what a keystroke in the search box asks for.
    pub fn search_first_page(&self, query: &SearchQuery) -> Result<FirstPage> {
        self.search_read(|catalog| {
            let mut page = catalog.search(query)?;
            remote::fill_locations(catalog, &mut page.tracks)?;
            let summary = catalog.search_summary(query)?;
            Ok(FirstPage { page, summary })
        })
    }

    /// How many tracks a search matches, their duration and size.
    pub fn search_summary(&self, query: &SearchQuery) -> Result<SearchSummary> {
        self.search_read(|catalog| Ok(catalog.search_summary(query)?))
    }

    /// Tracks by state (active, trashed or all), oldest import first, each with
    /// where it lives.
    pub fn tracks(&self, filter: TrackFilter) -> Result<Vec<Track>> {
        self.read(|catalog| {
            let mut tracks = catalog.tracks(filter)?;
            remote::fill_locations(catalog, &mut tracks)?;
            Ok(tracks)
        })
    }

    /// One track, with where it lives.
    pub fn track(&self, id: &TrackId) -> Result<Track> {
        self.read(|catalog| track_on(catalog, id))
    }

    /// Everything about one track.
    pub fn track_details(&self, id: &TrackId) -> Result<TrackDetails> {
        // One connection for all of it: the details are of one commit.
        self.read(|catalog| {
            let track = track_on(catalog, id)?;
            let chunks = catalog.track_chunks(id)?;
            let tags = catalog
                .other_tags(id)?
                .into_iter()
                .map(|(key, value)| Tag { key, value })
                .collect();
            let (analysis, analysis_error) = catalog.analysis_status(id)?;
            Ok(TrackDetails {
                artwork_chunk: track.artwork_chunk,
                track,
                chunks,
                analysis,
                analysis_error,
                tags,
            })
        })
    }

    /// Active tracks whose file name contains `text` (any case).
    pub fn tracks_named(&self, text: &str) -> Result<Vec<Track>> {
        self.read(|catalog| Ok(catalog.tracks_matching_name(text)?))
    }

    pub fn albums(&self) -> Result<Vec<AlbumSummary>> {
        self.read(|catalog| Ok(catalog.albums()?))
    }

    pub fn artists(&self) -> Result<Vec<ArtistSummary>> {
        self.read(|catalog| Ok(catalog.artists()?))
    }

    /// The tracks of one album (by name and album artist), in disc and track order.
    pub fn album_tracks(&self, album: &str, artist: &str) -> Result<Vec<Track>> {
        self.read(|catalog| {
            let mut tracks = catalog.album_tracks(album, artist)?;
            remote::fill_locations(catalog, &mut tracks)?;
            Ok(tracks)
        })
    }

    /// The tracks of one artist, by album.
    pub fn artist_tracks(&self, artist: &str) -> Result<Vec<Track>> {
        self.read(|catalog| {
            let mut tracks = catalog.artist_tracks(artist)?;
            remote::fill_locations(catalog, &mut tracks)?;
            Ok(tracks)
        })
    }

    /// A track's waveform, once its analysis is done.
    pub fn waveform(&self, id: &TrackId) -> Result<Waveform> {
        self.read(|catalog| {
            let (analysis, analysis_error) = catalog.analysis_status(id)?;
            let peaks = match analysis {
                AnalysisState::Done => catalog.waveform(id)?,
                _ => None,
            };
            Ok(Waveform {
                analysis,
                analysis_error,
                peaks,
            })
        })
    }

    /// Where each track is: this device only, also the cloud, or the cloud only.
    pub fn track_locations(&self, ids: &[TrackId]) -> Result<Vec<TrackLocation>> {
        let ids: Vec<String> = ids.iter().map(|i| i.0.clone()).collect();
        self.read(|catalog| Ok(remote::locations(catalog, &ids)?))
    }
}

/// One track with where it lives, read on `catalog`.
fn track_on(catalog: &Catalog, id: &TrackId) -> Result<Track> {
    let mut track = catalog
        .track(id)?
        .ok_or_else(|| Error::TrackNotFound(id.to_string()))?;
    remote::fill_locations(catalog, std::slice::from_mut(&mut track))?;
    Ok(track)
}
