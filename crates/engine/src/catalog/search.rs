//! Search and paging over the library: FTS5 for text (prefix, case- and
//! diacritic-insensitive, every word must match), filters on technical
//! columns, any sort column in both directions, and keyset paging so page
//! 5,000 costs what page 1 does.

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::tracks::{TRACK_COLUMNS, track_from_row};
use super::{Catalog, CatalogError, Track, TrackState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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

impl SortKey {
    pub const NAMES: &'static [&'static str] = &[
        "imported",
        "title",
        "artist",
        "album",
        "duration",
        "format",
        "sample_rate",
        "size",
        "year",
        "file_name",
    ];

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// The ordering expression; each matches an index in migration 0003 exactly,
    /// which is what lets SQLite walk the index instead of sorting.
    fn expr(self) -> &'static str {
        match self {
            SortKey::Imported => "t.imported_at",
            SortKey::Title => "ifnull(t.title, '') COLLATE NOCASE",
            SortKey::Artist => "ifnull(t.artist, '') COLLATE NOCASE",
            SortKey::Album => "ifnull(t.album, '') COLLATE NOCASE",
            SortKey::Duration => "ifnull(t.duration_seconds, 0)",
            SortKey::Format => "t.format",
            SortKey::SampleRate => "ifnull(t.sample_rate, 0)",
            SortKey::Size => "t.size_bytes",
            SortKey::Year => "ifnull(t.year, 0)",
            SortKey::FileName => "t.file_name COLLATE NOCASE",
        }
    }
}

/// A search: free text plus filters, a sort, and a page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    pub text: Option<String>,
    /// Default: active tracks.
    pub state: Option<TrackState>,
    pub formats: Vec<String>,
    pub codec: Option<String>,
    pub sample_rate: Option<u32>,
    pub bit_depth: Option<u32>,
    pub channels: Option<u32>,
    pub min_duration: Option<f64>,
    pub max_duration: Option<f64>,
    pub min_year: Option<i32>,
    pub max_year: Option<i32>,
    pub has_artwork: Option<bool>,
    pub sort: SortKey,
    pub descending: bool,
    /// Page size (default 100, at most 10,000).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub tracks: Vec<Track>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchSummary {
    pub tracks: u64,
    pub duration_seconds: f64,
    pub bytes: u64,
}

/// Turns what a user typed into an FTS5 query: every word must match, each as a
/// prefix; quotes are escaped so no input is FTS syntax.
pub fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

struct Built {
    from_where: String,
    params: Vec<Value>,
}

fn build(q: &SearchQuery) -> Built {
    let mut clauses = vec!["t.state = ?".to_string()];
    let mut params: Vec<Value> = vec![Value::Text(
        match q.state.unwrap_or(TrackState::Active) {
            TrackState::Active => "active",
            TrackState::Trashed => "trashed",
        }
        .into(),
    )];
    let mut from = "tracks t".to_string();
    if let Some(m) = q.text.as_deref().and_then(fts_query) {
        from.push_str(" JOIN (SELECT rowid AS fts_rowid FROM tracks_fts WHERE tracks_fts MATCH ?) f ON f.fts_rowid = t.rowid");
        params.insert(0, Value::Text(m));
    }
    if !q.formats.is_empty() {
        clauses.push(format!(
            "t.format IN ({})",
            vec!["?"; q.formats.len()].join(", ")
        ));
        params.extend(
            q.formats
                .iter()
                .map(|f| Value::Text(f.to_ascii_lowercase())),
        );
    }
    let mut eq = |sql: &str, v: Option<Value>| {
        if let Some(v) = v {
            clauses.push(sql.to_string());
            params.push(v);
        }
    };
    eq("t.codec = ?", q.codec.clone().map(Value::Text));
    eq(
        "t.sample_rate = ?",
        q.sample_rate.map(|v| Value::Integer(v.into())),
    );
    eq(
        "t.bit_depth = ?",
        q.bit_depth.map(|v| Value::Integer(v.into())),
    );
    eq(
        "t.channels = ?",
        q.channels.map(|v| Value::Integer(v.into())),
    );
    eq(
        "ifnull(t.duration_seconds, 0) >= ? AND t.duration_seconds IS NOT NULL",
        q.min_duration.map(Value::Real),
    );
    eq(
        "ifnull(t.duration_seconds, 0) <= ? AND t.duration_seconds IS NOT NULL",
        q.max_duration.map(Value::Real),
    );
    // Range filters use the sort indexes' own expressions, so a range and a sort on
    // one column are a single index range scan. Unknown (NULL) never matches.
    eq(
        "ifnull(t.year, 0) >= ? AND t.year IS NOT NULL",
        q.min_year.map(|v| Value::Integer(v.into())),
    );
    eq(
        "ifnull(t.year, 0) <= ? AND t.year IS NOT NULL",
        q.max_year.map(|v| Value::Integer(v.into())),
    );
    match q.has_artwork {
        Some(true) => clauses.push("t.artwork_id IS NOT NULL".into()),
        Some(false) => clauses.push("t.artwork_id IS NULL".into()),
        None => {}
    }
    Built {
        from_where: format!("FROM {from} WHERE {}", clauses.join(" AND ")),
        params,
    }
}

/// Cursor: the sort value and id of the last row, so the next page starts
/// strictly after it.
fn encode_cursor(sort: SortKey, t: &Track, raw: &Value) -> String {
    let v = match raw {
        Value::Integer(i) => serde_json::json!(i),
        Value::Real(f) => serde_json::json!(f),
        Value::Text(s) => serde_json::json!(s),
        _ => serde_json::Value::Null,
    };
    serde_json::json!([sort, v, t.id.as_str()]).to_string()
}

fn decode_cursor(sort: SortKey, cursor: &str) -> Option<(Value, String)> {
    let v: serde_json::Value = serde_json::from_str(cursor).ok()?;
    let arr = v.as_array()?;
    if arr.len() != 3 || SortKey::parse(arr[0].as_str()?)? != sort {
        return None;
    }
    let value = match &arr[1] {
        serde_json::Value::Number(n) if n.is_i64() => Value::Integer(n.as_i64()?),
        serde_json::Value::Number(n) => Value::Real(n.as_f64()?),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        _ => return None,
    };
    Some((value, arr[2].as_str()?.to_string()))
}

impl Catalog {
    pub fn search(&self, q: &SearchQuery) -> Result<SearchPage, CatalogError> {
        let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
        let mut built = build(q);
        let expr = q.sort.expr();
        let (cmp, dir) = if q.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(cursor) = &q.after {
            let (value, id) = decode_cursor(q.sort, cursor).ok_or_else(|| {
                self.err(rusqlite::Error::InvalidParameterName(
                    "the paging cursor does not belong to this sort".into(),
                ))
            })?;
            // Spelled out rather than as a row value, so SQLite can seek the sort
            // index to the cursor instead of scanning from the first row.
            built.from_where.push_str(&format!(
                " AND {expr} {cmp}= ? AND ({expr} {cmp} ? OR t.id {cmp} ?)"
            ));
            built.params.push(value.clone());
            built.params.push(value);
            built.params.push(Value::Text(id));
        }
        // The page is chosen on row ids alone, then its rows are read: the sorter
        // holds small rows, and the per-track aggregates in TRACK_COLUMNS are
        // computed for the page only, not for every match.
        let sql = format!(
            "SELECT {TRACK_COLUMNS}, {expr} AS sort_value FROM tracks t
             WHERE t.rowid IN (SELECT t.rowid {} ORDER BY {expr} {dir}, t.id {dir} LIMIT {})
             ORDER BY {expr} {dir}, t.id {dir}",
            built.from_where,
            limit + 1
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let sort_col = TRACK_COLUMN_COUNT;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(built.params.iter()), |r| {
                Ok((track_from_row(r)?, r.get::<_, Value>(sort_col)?))
            })
            .map_err(|e| self.err(e))?;
        let mut tracks = Vec::new();
        let mut last_value = None;
        let mut more = false;
        for row in rows {
            let (track, value) = row.map_err(|e| self.err(e))?;
            if tracks.len() as u32 == limit {
                more = true;
                break;
            }
            last_value = Some(value);
            tracks.push(track);
        }
        let next_cursor = match (more, tracks.last(), last_value) {
            (true, Some(t), Some(v)) => Some(encode_cursor(q.sort, t, &v)),
            _ => None,
        };
        Ok(SearchPage {
            tracks,
            next_cursor,
        })
    }

    /// How many tracks a search finds in all, their total duration and size
    /// (the library footer).
    pub fn search_summary(&self, q: &SearchQuery) -> Result<SearchSummary, CatalogError> {
        let built = build(q);
        let sql = format!(
            "SELECT count(*), coalesce(sum(t.duration_seconds), 0), coalesce(sum(t.size_bytes), 0) {}",
            built.from_where
        );
        self.conn
            .query_row(&sql, rusqlite::params_from_iter(built.params.iter()), |r| {
                Ok(SearchSummary {
                    tracks: r.get::<_, i64>(0)? as u64,
                    duration_seconds: r.get(1)?,
                    bytes: r.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(|e| self.err(e))
    }
}

/// Columns in `TRACK_COLUMNS`; the sort value follows them.
const TRACK_COLUMN_COUNT: usize = 38;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{NewTrack, TrackId, TrackMetadata};
    use crate::store::ChunkId;

    struct Fixture {
        _dir: tempfile::TempDir,
        catalog: Catalog,
    }

    /// (file name, title, artist, album, format, sample rate, bit depth, duration, year, artwork)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        u32,
        Option<u32>,
        f64,
        i32,
        bool,
    );

    const ROWS: &[Row] = &[
        (
            "01 Come Together.flac",
            "Come Together",
            "The Beatles",
            "Abbey Road",
            "flac",
            44100,
            Some(16),
            259.0,
            1969,
            true,
        ),
        (
            "02 Something.flac",
            "Something",
            "The Beatles",
            "Abbey Road",
            "flac",
            96000,
            Some(24),
            182.0,
            1969,
            false,
        ),
        (
            "joga.mp3",
            "Jóga",
            "Björk",
            "Homogenic",
            "mp3",
            44100,
            None,
            305.0,
            1997,
            true,
        ),
        (
            "hunter.mp3",
            "Hunter",
            "Björk",
            "Homogenic",
            "mp3",
            48000,
            None,
            255.0,
            1997,
            false,
        ),
        (
            "beat it.m4a",
            "Beat It",
            "Michael Jackson",
            "Thriller",
            "m4a",
            44100,
            None,
            258.0,
            1982,
            false,
        ),
        (
            "field-01.wav",
            "Dawn Chorus",
            "Field Recordist",
            "Woods",
            "wav",
            96000,
            Some(24),
            1200.0,
            2021,
            false,
        ),
        (
            "Ünïcødé 日本語.opus",
            "Sakura 桜",
            "Ensemble",
            "Haru",
            "opus",
            48000,
            None,
            61.5,
            2010,
            false,
        ),
    ];

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = Catalog::open(&dir.path().join("catalog.db")).unwrap();
        for (i, r) in ROWS.iter().enumerate() {
            let id = TrackId(format!("{:016x}", i + 1));
            let mut sha = [0u8; 32];
            sha[0] = i as u8 + 1;
            let chunk = ChunkId([i as u8 + 1; 32]);
            let meta = TrackMetadata {
                title: Some(r.1.into()),
                artist: Some(r.2.into()),
                album: Some(r.3.into()),
                sample_rate: Some(r.5),
                bit_depth: r.6,
                duration_seconds: Some(r.7),
                year: Some(r.8),
                channels: Some(2),
                ..TrackMetadata::default()
            };
            let artwork = crate::catalog::NewArtwork {
                chunk: ChunkId([200 + i as u8; 32]),
                size: 10,
                stored_size: 39,
                mime_type: "image/png".into(),
                thumbnail: None,
            };
            catalog
                .commit_track(
                    &NewTrack {
                        id: &id,
                        sha256: &sha,
                        size_bytes: 1000 * (i as u64 + 1),
                        file_name: r.0,
                        file_name_raw: None,
                        source_path: r.0,
                        source_mtime: None,
                        format: r.4,
                        import_job_id: None,
                        chunks: &[(chunk, 0, 1000 * (i as u64 + 1), 1029)],
                        meta: &meta,
                        other_tags: &[],
                        artwork: r.9.then_some(&artwork),
                        metadata_version: 1,
                    },
                    None,
                )
                .unwrap();
        }
        Fixture { _dir: dir, catalog }
    }

    fn titles(f: &Fixture, q: SearchQuery) -> Vec<String> {
        f.catalog
            .search(&q)
            .unwrap()
            .tracks
            .into_iter()
            .map(|t| t.meta.title.unwrap_or_default())
            .collect()
    }

    fn text(t: &str) -> SearchQuery {
        SearchQuery {
            text: Some(t.into()),
            sort: SortKey::Title,
            ..SearchQuery::default()
        }
    }

    #[test]
    fn prefix_case_and_diacritics() {
        let f = fixture();
        assert_eq!(
            titles(&f, text("beat")),
            ["Beat It", "Come Together", "Something"]
        );
        assert_eq!(titles(&f, text("BJORK")), ["Hunter", "Jóga"]);
        assert_eq!(titles(&f, text("joga")), ["Jóga"]);
        assert_eq!(titles(&f, text("unic")), ["Sakura 桜"]);
        assert_eq!(titles(&f, text("日本語")), ["Sakura 桜"]);
        assert_eq!(
            titles(&f, text("abbey some")),
            ["Something"],
            "every word must match"
        );
        assert_eq!(
            titles(&f, text("field-01")),
            ["Dawn Chorus"],
            "file names are searched"
        );
        assert!(titles(&f, text("zzz")).is_empty());
    }

    #[test]
    fn filters() {
        let f = fixture();
        let q = |mut q: SearchQuery| {
            q.sort = SortKey::Title;
            titles(&f, q)
        };
        assert_eq!(
            q(SearchQuery {
                formats: vec!["flac".into(), "wav".into()],
                ..Default::default()
            }),
            ["Come Together", "Dawn Chorus", "Something"]
        );
        assert_eq!(
            q(SearchQuery {
                sample_rate: Some(96000),
                bit_depth: Some(24),
                ..Default::default()
            }),
            ["Dawn Chorus", "Something"]
        );
        assert_eq!(
            q(SearchQuery {
                min_duration: Some(250.0),
                max_duration: Some(260.0),
                ..Default::default()
            }),
            ["Beat It", "Come Together", "Hunter"]
        );
        assert_eq!(
            q(SearchQuery {
                min_year: Some(1990),
                max_year: Some(2015),
                ..Default::default()
            }),
            ["Hunter", "Jóga", "Sakura 桜"]
        );
        assert_eq!(
            q(SearchQuery {
                has_artwork: Some(true),
                ..Default::default()
            }),
            ["Come Together", "Jóga"]
        );
        assert_eq!(
            q(SearchQuery {
                text: Some("bjork".into()),
                has_artwork: Some(false),
                ..Default::default()
            }),
            ["Hunter"]
        );
    }

    #[test]
    fn sort_both_directions_and_keyset_paging() {
        let f = fixture();
        let by_duration = titles(
            &f,
            SearchQuery {
                sort: SortKey::Duration,
                ..Default::default()
            },
        );
        assert_eq!(
            by_duration,
            [
                "Sakura 桜",
                "Something",
                "Hunter",
                "Beat It",
                "Come Together",
                "Jóga",
                "Dawn Chorus"
            ]
        );
        let mut desc = titles(
            &f,
            SearchQuery {
                sort: SortKey::Duration,
                descending: true,
                ..Default::default()
            },
        );
        desc.reverse();
        assert_eq!(desc, by_duration);

        // Pages of 3 by artist, descending, joined, equal one big page.
        for sort in [
            SortKey::Artist,
            SortKey::Year,
            SortKey::Size,
            SortKey::FileName,
        ] {
            for descending in [false, true] {
                let all = titles(
                    &f,
                    SearchQuery {
                        sort,
                        descending,
                        ..Default::default()
                    },
                );
                let mut paged = Vec::new();
                let mut after = None;
                loop {
                    let page = f
                        .catalog
                        .search(&SearchQuery {
                            sort,
                            descending,
                            limit: Some(3),
                            after: after.clone(),
                            ..Default::default()
                        })
                        .unwrap();
                    assert!(page.tracks.len() <= 3);
                    paged.extend(
                        page.tracks
                            .into_iter()
                            .map(|t| t.meta.title.unwrap_or_default()),
                    );
                    match page.next_cursor {
                        Some(c) => after = Some(c),
                        None => break,
                    }
                }
                assert_eq!(paged, all, "{sort:?} descending={descending}");
                assert_eq!(all.len(), ROWS.len());
            }
        }
    }

    #[test]
    fn trashed_tracks_are_searched_only_on_request_and_summary_adds_up() {
        let f = fixture();
        f.catalog
            .set_trashed(&[TrackId(format!("{:016x}", 3))], true)
            .unwrap();
        assert_eq!(titles(&f, text("bjork")), ["Hunter"]);
        let trashed = titles(
            &f,
            SearchQuery {
                state: Some(TrackState::Trashed),
                ..Default::default()
            },
        );
        assert_eq!(trashed, ["Jóga"]);
        let s = f.catalog.search_summary(&text("beatles")).unwrap();
        assert_eq!(s.tracks, 2);
        assert_eq!(s.duration_seconds, 259.0 + 182.0);
        assert_eq!(s.bytes, 3000);
    }

    #[test]
    fn user_text_becomes_safe_prefix_terms() {
        assert_eq!(fts_query("beat"), Some("\"beat\"*".into()));
        assert_eq!(
            fts_query("  Björk  jóga "),
            Some("\"Björk\"* AND \"jóga\"*".into())
        );
        assert_eq!(
            fts_query("a\"b OR c*"),
            Some("\"a\"* AND \"b\"* AND \"OR\"* AND \"c\"*".into())
        );
        assert_eq!(fts_query(" -*- "), None);
    }
}
