//! Search and paging over the library: FTS5 for text (prefix, case- and
//! diacritic-insensitive, every word must match), filters on technical
//! columns, any sort column in both directions, and keyset paging so page
//! 5,000 costs what page 1 does.
//!
//! A text search is evaluated once into a cached set of rowids (`matches`), and
//! its size picks the plan ([`TextPlan`]): few matches are fetched through FTS5
//! and sorted, many are found by walking the sort index and testing each entry
//! against the set.

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::matches::{MATCH_FUNCTION, Matches};
use super::tracks::{track_columns, track_from_row};
use super::{Catalog, CatalogError, Track, TrackState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchPage {
    pub tracks: Vec<Track>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchSummary {
    pub tracks: u64,
    pub duration_seconds: f64,
    pub bytes: u64,
}

/// What a new search shows first: its first page and its footer, read together on one
/// connection so the text is evaluated once (the footer reuses the page's match set).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FirstPage {
    pub page: SearchPage,
    pub summary: SearchSummary,
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

/// How a text search finds its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextPlan {
    /// Join FTS5's matches: every matching row is read, then the page is sorted
    /// out of them. Its cost follows the number of matches.
    Fts,
    /// Walk the sort index from the cursor and keep the entries `av_match`
    /// finds in the cached set. Its cost follows the index entries passed over
    /// to fill a page: about page size × catalog size / matches.
    Walk,
}

/// Passing over one sort-index entry in a walk costs about this fraction of
/// reading one matched row in the FTS plan (timed on the `catalog_bench`
/// catalog: ~0.1 µs for an index entry and an `av_match` call, ~1 µs for a
/// match read through FTS5 and a table lookup).
const WALK_ENTRY_COST: f64 = 0.1;

impl TextPlan {
    /// The cheaper plan for `matched` rows out of about `catalog`, when `rows`
    /// of them are wanted in sort order (`None`: all of them, as a count).
    fn choose(matched: usize, catalog: i64, rows: Option<u64>) -> Self {
        let matched = matched.max(1) as f64;
        let rows = rows.map_or(matched, |r| r as f64);
        let walk = rows * catalog.max(1) as f64 / matched * WALK_ENTRY_COST;
        if walk < matched {
            TextPlan::Walk
        } else {
            TextPlan::Fts
        }
    }
}

/// What a query's text asks of the rows.
enum Text {
    /// No text: every row.
    Any,
    /// Text that no row matches.
    Nothing,
    /// The FTS5 query, joined; with its evaluated set, for the footer.
    Fts(String, Matches),
    /// The cached set, which `av_match` finds by its id.
    Set(Matches),
}

struct Built {
    from_where: String,
    params: Vec<Value>,
}

fn build(q: &SearchQuery, text: &Text) -> Built {
    let mut clauses = vec!["t.state = ?".to_string()];
    let mut params: Vec<Value> = vec![Value::Text(
        match q.state.unwrap_or(TrackState::Active) {
            TrackState::Active => "active",
            TrackState::Trashed => "trashed",
        }
        .into(),
    )];
    let mut from = "tracks t".to_string();
    match text {
        Text::Any | Text::Nothing => {}
        Text::Fts(m, _) => {
            from.push_str(" JOIN (SELECT rowid AS fts_rowid FROM tracks_fts WHERE tracks_fts MATCH ?) f ON f.fts_rowid = t.rowid");
            params.insert(0, Value::Text(m.clone()));
        }
        Text::Set(m) => {
            clauses.push(format!("{MATCH_FUNCTION}(?, t.rowid)"));
            params.push(Value::Integer(m.id));
        }
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
        self.search_with(q, None)
    }

    /// What `q`'s text asks of the rows, evaluating it into a cached set, with
    /// the plan for wanting `rows` of them in order, or all of them for `None`
    /// (or `plan` when given).
    fn text(
        &self,
        q: &SearchQuery,
        rows: Option<u64>,
        plan: Option<TextPlan>,
    ) -> Result<Text, CatalogError> {
        let Some(fts) = q.text.as_deref().and_then(fts_query) else {
            return Ok(Text::Any);
        };
        let m = self
            .matches
            .get(&self.conn, &fts)
            .map_err(|e| self.err(e))?;
        if m.set.len() == 0 {
            return Ok(Text::Nothing);
        }
        Ok(
            match plan.unwrap_or_else(|| TextPlan::choose(m.set.len(), m.max_rowid, rows)) {
                TextPlan::Fts => Text::Fts(fts, m),
                TextPlan::Walk => Text::Set(m),
            },
        )
    }

    /// The page query and its parameters.
    fn page_sql(
        &self,
        q: &SearchQuery,
        text: &Text,
        limit: u32,
    ) -> Result<(String, Vec<Value>), CatalogError> {
        let mut built = build(q, text);
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
        // holds small rows, and the per-track aggregates in the track columns are
        // computed for the page only, not for every match.
        let track_columns = track_columns();
        let sql = format!(
            "SELECT {track_columns}, {expr} AS sort_value FROM tracks t
             WHERE t.rowid IN (SELECT t.rowid {} ORDER BY {expr} {dir}, t.id {dir} LIMIT {})
             ORDER BY {expr} {dir}, t.id {dir}",
            built.from_where,
            limit + 1
        );
        Ok((sql, built.params))
    }

    /// `search` with the text plan forced (tests compare the plans).
    pub(crate) fn search_with(
        &self,
        q: &SearchQuery,
        plan: Option<TextPlan>,
    ) -> Result<SearchPage, CatalogError> {
        let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
        let text = self.text(q, Some(u64::from(limit) + 1), plan)?;
        // Built first so a bad cursor is an error even when nothing matches.
        let (sql, params) = self.page_sql(q, &text, limit)?;
        if let Text::Nothing = text {
            return Ok(SearchPage {
                tracks: Vec::new(),
                next_cursor: None,
            });
        }
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                Ok((track_from_row(r)?, r.get::<_, Value>("sort_value")?))
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
        self.search_summary_with(q, None)
    }

    /// `search_summary` with the text plan forced (tests compare the plans).
    pub(crate) fn search_summary_with(
        &self,
        q: &SearchQuery,
        plan: Option<TextPlan>,
    ) -> Result<SearchSummary, CatalogError> {
        // With no filter but the text (and the state), the totals come from the
        // cached per-track facts, added up over the text's evaluated set (or over
        // every track, for no text): one read of the catalog serves the footer of
        // every text typed until it changes, whatever the plan, so the footer of a
        // keystroke costs the set's size in memory, not a read of each matching row.
        // Otherwise every match is counted in SQL, where the set plan passes over
        // the whole catalog instead of a page of it: it wins only for a broad match.
        // A forced FTS plan (the tests that compare plans) always takes SQL.
        let text = self.text(q, None, plan)?;
        if let Text::Nothing = text {
            return Ok(SearchSummary {
                tracks: 0,
                duration_seconds: 0.0,
                bytes: 0,
            });
        }
        if only_text(q) && plan != Some(TextPlan::Fts) {
            let set = match &text {
                Text::Set(m) | Text::Fts(_, m) => Some(&m.set),
                Text::Any | Text::Nothing => None,
            };
            if let Some(facts) = self.matches.facts(&self.conn).map_err(|e| self.err(e))? {
                let active = q.state.unwrap_or(TrackState::Active) == TrackState::Active;
                let (tracks, duration_seconds, bytes) = match set {
                    Some(set) => facts.totals(set, active),
                    None => facts.totals_all(active),
                };
                return Ok(SearchSummary {
                    tracks,
                    duration_seconds,
                    bytes,
                });
            }
        }
        let built = build(q, &text);
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

/// Whether text is `q`'s only filter besides the state, so its footer is the
/// match's totals.
fn only_text(q: &SearchQuery) -> bool {
    let SearchQuery {
        text: _,
        state: _,
        formats,
        codec,
        sample_rate,
        bit_depth,
        channels,
        min_duration,
        max_duration,
        min_year,
        max_year,
        has_artwork,
        sort: _,
        descending: _,
        limit: _,
        after: _,
    } = q;
    // Destructured in full so a filter added to SearchQuery fails to compile
    // here until it is considered.
    formats.is_empty()
        && codec.is_none()
        && sample_rate.is_none()
        && bit_depth.is_none()
        && channels.is_none()
        && min_duration.is_none()
        && max_duration.is_none()
        && min_year.is_none()
        && max_year.is_none()
        && has_artwork.is_none()
}

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
        let mut catalog =
            Catalog::open(&dir.path().join("catalog.db"), &crate::catalog::test_key()).unwrap();
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
                        chunks: &[crate::catalog::NewChunk::plain(
                            chunk,
                            0,
                            1000 * (i as u64 + 1),
                            1029,
                        )],
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

    /// A library of `n` tracks whose words range from broad ('love' in about
    /// half the titles) to rare, with a few trashed, for comparing plans.
    fn library(n: usize) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let catalog =
            Catalog::open(&dir.path().join("catalog.db"), &crate::catalog::test_key()).unwrap();
        const WORDS: &[&str] = &[
            "love", "night", "björk", "café", "river", "velvet", "neon", "echo", "storm",
        ];
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        catalog.conn().execute_batch("BEGIN").unwrap();
        for i in 0..n {
            // Word k appears with probability 1/(k+2): 'love' is broad, 'storm' rare.
            let words: Vec<&str> = WORDS
                .iter()
                .enumerate()
                .filter(|(k, _)| next() % (*k as u64 + 2) == 0)
                .map(|(_, w)| *w)
                .collect();
            let title = words.join(" ");
            let format = ["flac", "mp3", "wav"][(next() % 3) as usize];
            // Repeated values make ties in every sort, which the id must break.
            let meta = TrackMetadata {
                title: (!title.is_empty()).then(|| title.clone()),
                artist: Some(format!("Artist {}", next() % 7)),
                album: (i % 5 != 0).then(|| format!("Album {}", next() % 11)),
                duration_seconds: (i % 9 != 0).then(|| (next() % 13) as f64 * 30.0),
                sample_rate: Some([44100, 48000][(next() % 2) as usize]),
                year: (i % 4 != 0).then(|| 1990 + (next() % 6) as i32),
                ..TrackMetadata::default()
            };
            let mut sha = [0u8; 32];
            sha[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let size = 1000 + next() % 5;
            catalog
                .commit_track_unsynced(&NewTrack {
                    id: &TrackId(format!("{:016x}", next())),
                    sha256: &sha,
                    size_bytes: size,
                    file_name: &format!("{i:04}.{format}"),
                    file_name_raw: None,
                    source_path: "/music",
                    source_mtime: None,
                    format,
                    import_job_id: None,
                    chunks: &[crate::catalog::NewChunk::plain(
                        ChunkId(sha),
                        0,
                        size,
                        size + 29,
                    )],
                    meta: &meta,
                    other_tags: &[],
                    artwork: None,
                    metadata_version: 1,
                })
                .unwrap();
        }
        catalog
            .conn()
            .execute_batch("UPDATE tracks SET state = 'trashed' WHERE rowid % 11 = 0; COMMIT;")
            .unwrap();
        Fixture { _dir: dir, catalog }
    }

    /// Every page of `q` (pages of 23) joined, as track ids, with the plan forced.
    fn paged(c: &Catalog, q: &SearchQuery, plan: Option<TextPlan>) -> Vec<String> {
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let page = c
                .search_with(
                    &SearchQuery {
                        limit: Some(23),
                        after: after.take(),
                        ..q.clone()
                    },
                    plan,
                )
                .unwrap();
            assert!(page.tracks.len() <= 23);
            ids.extend(page.tracks.into_iter().map(|t| t.id.0));
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => return ids,
            }
        }
    }

    fn summary(c: &Catalog, q: &SearchQuery, plan: Option<TextPlan>) -> (u64, f64, u64) {
        let s = c.search_summary_with(q, plan).unwrap();
        (s.tracks, s.duration_seconds, s.bytes)
    }

    fn plan_chosen(c: &Catalog, q: &SearchQuery) -> Option<TextPlan> {
        match c.text(q, Some(101), None).unwrap() {
            Text::Fts(..) => Some(TextPlan::Fts),
            Text::Set(_) => Some(TextPlan::Walk),
            Text::Any | Text::Nothing => None,
        }
    }

    #[test]
    fn both_text_plans_find_the_same_rows_in_the_same_order() {
        let f = library(600);
        let c = &f.catalog;
        let love = SearchQuery {
            text: Some("LOVE".into()),
            ..SearchQuery::default()
        };
        assert_eq!(plan_chosen(c, &love), Some(TextPlan::Walk));
        let storm = SearchQuery {
            text: Some("storm velvet".into()),
            ..SearchQuery::default()
        };
        assert_eq!(plan_chosen(c, &storm), Some(TextPlan::Fts));
        let mut compared = 0;
        for text in ["love", "lo nig", "bjork", "cafe", "storm velvet", "zzz"] {
            for state in [TrackState::Active, TrackState::Trashed] {
                for formats in [vec![], vec!["flac".to_string()]] {
                    let base = SearchQuery {
                        text: Some(text.into()),
                        state: Some(state),
                        formats,
                        ..SearchQuery::default()
                    };
                    let fts = summary(c, &base, Some(TextPlan::Fts));
                    assert_eq!(summary(c, &base, Some(TextPlan::Walk)), fts, "{base:?}");
                    assert_eq!(summary(c, &base, None), fts, "{base:?}");
                    for sort in SortKey::NAMES.iter().filter_map(|n| SortKey::parse(n)) {
                        for descending in [false, true] {
                            let q = SearchQuery {
                                sort,
                                descending,
                                ..base.clone()
                            };
                            let expected = paged(c, &q, Some(TextPlan::Fts));
                            assert_eq!(expected.len() as u64, fts.0, "{q:?}");
                            assert_eq!(paged(c, &q, Some(TextPlan::Walk)), expected, "{q:?}");
                            assert_eq!(paged(c, &q, None), expected, "{q:?}");
                            compared += expected.len();
                        }
                    }
                }
            }
        }
        assert!(compared > 10_000, "the comparison saw {compared} rows");
    }

    /// The plan of the query that picks a page's row ids: the steps under
    /// the subquery, apart from the outer query that reads the page's rows.
    fn query_plan(c: &Catalog, q: &SearchQuery, plan: TextPlan) -> Vec<String> {
        let text = c.text(q, Some(101), Some(plan)).unwrap();
        let (sql, params) = c.page_sql(q, &text, 100).unwrap();
        let mut stmt = c
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let steps: Vec<(i64, i64, String)> = stmt
            .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(3)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let subquery = steps
            .iter()
            .find(|s| s.2.starts_with("LIST SUBQUERY"))
            .map(|s| s.0);
        // Descendants of the subquery, by walking parents.
        let under = |mut parent: i64| loop {
            if Some(parent) == subquery {
                return true;
            }
            match steps.iter().find(|s| s.0 == parent) {
                Some(s) => parent = s.1,
                None => return false,
            }
        };
        steps
            .iter()
            .filter(|s| under(s.1))
            .map(|s| s.2.clone())
            .collect()
    }

    #[test]
    fn a_broad_text_walks_the_sort_index_and_a_selective_one_starts_from_fts() {
        let f = library(300);
        let c = &f.catalog;
        for (sort, index) in [
            (SortKey::Artist, "tracks_sort_artist"),
            (SortKey::Year, "tracks_sort_year"),
            (SortKey::Imported, "tracks_state_imported"),
        ] {
            for descending in [false, true] {
                let first = c
                    .search(&SearchQuery {
                        sort,
                        descending,
                        limit: Some(5),
                        ..SearchQuery::default()
                    })
                    .unwrap();
                for after in [None, first.next_cursor] {
                    let q = SearchQuery {
                        text: Some("love".into()),
                        sort,
                        descending,
                        after,
                        ..SearchQuery::default()
                    };
                    // The page's row ids come from the sort index in order: no
                    // sorter, and FTS5 is not consulted.
                    let walk = query_plan(c, &q, TextPlan::Walk);
                    assert!(
                        walk.iter().any(|s| s.contains(index)),
                        "{sort:?} {descending}: {walk:?}"
                    );
                    assert!(
                        walk.iter()
                            .all(|s| !s.contains("TEMP B-TREE") && !s.contains("tracks_fts")),
                        "{sort:?} {descending}: {walk:?}"
                    );
                    let fts = query_plan(c, &q, TextPlan::Fts);
                    assert!(
                        fts.iter().any(|s| s.contains("VIRTUAL TABLE INDEX")),
                        "{fts:?}"
                    );
                }
            }
        }
    }

    /// With no filter but the text, a footer is the cached facts added up over the
    /// text's set, whichever plan its page takes (or over every track, for no
    /// text): each agrees with counting in SQL, and one read of the facts serves
    /// every footer until the catalog changes.
    #[test]
    fn footers_add_up_one_read_of_the_facts_whatever_the_plan() {
        let f = library(400);
        let c = &f.catalog;
        let q = |text: &str, state| SearchQuery {
            text: (!text.is_empty()).then(|| text.to_string()),
            state: Some(state),
            ..SearchQuery::default()
        };
        let selective = q("storm velvet", TrackState::Active);
        assert_eq!(plan_chosen(c, &selective), Some(TextPlan::Fts));
        assert!(
            matches!(c.text(&selective, None, None).unwrap(), Text::Fts(..)),
            "a selective text's footer would count through FTS5 in SQL"
        );
        let mut seen = 0;
        let texts = ["love", "lo", "storm velvet", "bjork", "e", ""];
        for text in texts {
            for state in [TrackState::Active, TrackState::Trashed] {
                let query = q(text, state);
                let sql = summary(c, &query, Some(TextPlan::Fts));
                assert_eq!(summary(c, &query, None), sql, "{query:?}");
                seen += sql.0;
            }
        }
        assert!(seen > 400, "the footers counted {seen} tracks");
        assert_eq!(
            c.matches.facts_uses(),
            2 * texts.len() as u64,
            "every footer (but 'nothing matches') came from the facts"
        );
        assert_eq!(c.matches.facts_reads(), 1, "one read serves every footer");

        // A change is caught up in the facts (not read again), and the footers follow it.
        let love = q("love", TrackState::Active);
        let before = summary(c, &love, None);
        let gone = TrackId(paged(c, &love, None)[0].clone());
        c.set_trashed(std::slice::from_ref(&gone), true).unwrap();
        let after = summary(c, &love, None);
        assert_eq!(after, summary(c, &love, Some(TextPlan::Fts)));
        assert_eq!(after.0 + 1, before.0);
        assert_eq!(
            summary(c, &q("", TrackState::Trashed), None),
            summary(c, &q("", TrackState::Trashed), Some(TextPlan::Fts))
        );
        assert_eq!(c.matches.facts_reads(), 1);
    }

    /// The footer's facts are read from their own index, and that index offers no
    /// way into a search by state: every first page still walks its sort index
    /// (an index led by `state` once made SQLite sort every track for the first
    /// page instead).
    #[test]
    fn facts_read_their_index_and_pages_keep_their_sort_indexes() {
        let f = library(300);
        let c = &f.catalog;
        let plan: Vec<String> = c
            .conn()
            .prepare(
                "EXPLAIN QUERY PLAN SELECT rowid, state = 'active', ifnull(duration_seconds, 0),
                 size_bytes FROM tracks INDEXED BY tracks_size_footer",
            )
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter()
                .any(|s| s.contains("COVERING INDEX tracks_size_footer")),
            "{plan:?}"
        );
        for sort in SortKey::NAMES.iter().filter_map(|n| SortKey::parse(n)) {
            for descending in [false, true] {
                for text in [None, Some("love")] {
                    let q = SearchQuery {
                        text: text.map(str::to_string),
                        sort,
                        descending,
                        ..SearchQuery::default()
                    };
                    let steps = query_plan(c, &q, TextPlan::Walk);
                    assert!(
                        steps.iter().all(
                            |s| !s.contains("TEMP B-TREE") && !s.contains("tracks_size_footer")
                        ),
                        "{q:?}: {steps:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn cached_matches_follow_changes_from_this_and_other_connections() {
        let f = library(200);
        let path = f._dir.path().join("catalog.db");
        let love = SearchQuery {
            text: Some("love".into()),
            sort: SortKey::Title,
            ..SearchQuery::default()
        };
        let titles = |c: &Catalog| -> Vec<String> {
            paged(c, &love, None)
                .iter()
                .map(|id| {
                    c.track(&TrackId(id.clone()))
                        .unwrap()
                        .unwrap()
                        .meta
                        .title
                        .unwrap_or_default()
                })
                .collect()
        };
        let count = |c: &Catalog| summary(c, &love, None).0;
        assert_eq!(plan_chosen(&f.catalog, &love), Some(TextPlan::Walk));
        let before = count(&f.catalog);
        assert_eq!(titles(&f.catalog).len() as u64, before);

        let add = |c: &Catalog, n: u8, title: &str| {
            let id = TrackId(format!("ffff{n:012x}"));
            let sha = [n; 32];
            c.commit_track_unsynced(&NewTrack {
                id: &id,
                sha256: &sha,
                size_bytes: 1,
                file_name: "new.flac",
                file_name_raw: None,
                source_path: "/new",
                source_mtime: None,
                format: "flac",
                import_job_id: None,
                chunks: &[crate::catalog::NewChunk::plain(ChunkId(sha), 0, 1, 30)],
                meta: &TrackMetadata {
                    title: Some(title.into()),
                    ..TrackMetadata::default()
                },
                other_tags: &[],
                artwork: None,
                metadata_version: 1,
            })
            .unwrap();
            id
        };

        // This connection, inside a transaction that is then rolled back.
        f.catalog.conn().execute_batch("BEGIN").unwrap();
        add(&f.catalog, 1, "Love Pending");
        assert!(titles(&f.catalog).contains(&"Love Pending".to_string()));
        assert_eq!(count(&f.catalog), before + 1);
        f.catalog.conn().execute_batch("ROLLBACK").unwrap();
        assert!(!titles(&f.catalog).contains(&"Love Pending".to_string()));
        assert_eq!(count(&f.catalog), before);

        // This connection: insert, then trash.
        let mine = add(&f.catalog, 2, "Love Mine");
        assert_eq!(count(&f.catalog), before + 1);
        f.catalog.set_trashed(&[mine], true).unwrap();
        assert_eq!(count(&f.catalog), before);

        // Another connection: insert, then retitle a match so it no longer matches.
        let other = Catalog::open(&path, &crate::catalog::test_key()).unwrap();
        add(&other, 3, "Love Theirs");
        assert!(titles(&f.catalog).contains(&"Love Theirs".to_string()));
        assert_eq!(count(&f.catalog), before + 1);
        let first = TrackId(paged(&f.catalog, &love, None)[0].clone());
        drop(other);
        let mut other = Catalog::open(&path, &crate::catalog::test_key()).unwrap();
        other
            .update_metadata(
                &first,
                &TrackMetadata {
                    title: Some("Hate".into()),
                    ..TrackMetadata::default()
                },
                &[],
                None,
                1,
            )
            .unwrap();
        assert!(!paged(&f.catalog, &love, None).contains(&first.0));
        assert_eq!(count(&f.catalog), before);
        assert_eq!(count(&other), before);
    }

    #[test]
    fn cached_matches_survive_writes_that_cannot_change_a_search() {
        let f = library(200);
        let love = SearchQuery {
            text: Some("love".into()),
            sort: SortKey::Title,
            ..SearchQuery::default()
        };
        let evaluations = || f.catalog.matches.evaluations();
        let first = paged(&f.catalog, &love, None);
        assert!(!first.is_empty());
        let after_first = evaluations();
        assert!(after_first >= 1);
        assert_eq!(paged(&f.catalog, &love, None), first);
        assert_eq!(
            evaluations(),
            after_first,
            "an unchanged catalog reuses the set"
        );

        // What the app writes while someone types: settings, the activity log.
        f.catalog.set_setting("quota_bytes", "123456789").unwrap();
        f.catalog
            .log_activity(crate::catalog::LogKind::Watch, "imported a file")
            .unwrap();
        assert_eq!(paged(&f.catalog, &love, None), first);
        assert_eq!(evaluations(), after_first, "unrelated writes keep the set");

        // Trashing a match changes the search: the set is caught up over the
        // one changed track, not evaluated again.
        let gone = TrackId(first[0].clone());
        let catch_ups = f.catalog.matches.catch_ups();
        f.catalog
            .set_trashed(std::slice::from_ref(&gone), true)
            .unwrap();
        let now = paged(&f.catalog, &love, None);
        assert!(!now.contains(&gone.0));
        assert_eq!(now.len() + 1, first.len());
        assert_eq!(evaluations(), after_first);
        assert!(f.catalog.matches.catch_ups() > catch_ups);
    }

    /// A catalog from before the search index was rebuilt (schema 7: positions
    /// stored, prefixes up to 3, no change log) is migrated with its tracks
    /// searchable, and its changes are logged from then on.
    #[test]
    fn an_older_search_index_is_rebuilt_on_open() {
        let f = library(120);
        let path = f._dir.path().join("catalog.db");
        let love = SearchQuery {
            text: Some("lov".into()),
            sort: SortKey::Title,
            ..SearchQuery::default()
        };
        let expected = paged(&f.catalog, &love, None);
        assert!(expected.len() > 20);
        drop(f.catalog);
        {
            let conn = crate::catalog::test_connection(&path);
            // Schema 7 had no records (0011) and no sync totals (0018): their triggers
            // go first.
            let triggers: Vec<String> = conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'
                          AND (name LIKE 'record_dirty_%' OR name LIKE 'sync_totals_%')",
                )
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for t in triggers {
                conn.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
            }
            conn.execute_batch("DROP TABLE record_dirty").unwrap();
            conn.execute_batch(
                "DROP TABLE tracks_fts;
                 CREATE VIRTUAL TABLE tracks_fts USING fts5(
                     title, artist, album, album_artist, composer, genre, comment, file_name,
                     content = 'tracks', content_rowid = 'rowid',
                     tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3');
                 INSERT INTO tracks_fts (tracks_fts) VALUES ('rebuild');
                 DROP TRIGGER search_changes_tracks_i;
                 DROP TRIGGER search_changes_tracks_d;
                 DROP TRIGGER search_changes_tracks_u;
                 DROP TABLE search_changes;
                 CREATE TABLE search_generation (id INTEGER PRIMARY KEY, value INTEGER NOT NULL);
                 INSERT INTO search_generation (id, value) VALUES (1, 500);
                 CREATE TRIGGER search_gen_tracks_i AFTER INSERT ON tracks BEGIN
                     UPDATE search_generation SET value = value + 1; END;
                 CREATE TRIGGER search_gen_tracks_d AFTER DELETE ON tracks BEGIN
                     UPDATE search_generation SET value = value + 1; END;
                 CREATE TRIGGER search_gen_tracks_u AFTER UPDATE OF title, state ON tracks BEGIN
                     UPDATE search_generation SET value = value + 1; END;
                 DROP TABLE lamport; DROP TABLE content_adds; DROP TABLE tombstones;
                 DROP TABLE sync_heads; DROP TABLE remote_contents; DROP INDEX tracks_artwork;
                 ALTER TABLE tracks DROP COLUMN state_clock;
                 ALTER TABLE track_chunks DROP COLUMN transform;
                 PRAGMA user_version = 7;",
            )
            .unwrap();
        }
        let c = Catalog::open(&path, &crate::catalog::test_key()).unwrap();
        assert_eq!(c.schema_version().unwrap(), super::super::SCHEMA_VERSION);
        let sql: String = c
            .conn()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'tracks_fts'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("detail = column"), "{sql}");
        assert_eq!(paged(&c, &love, None), expected);
        let first = TrackId(expected[0].clone());
        c.set_trashed(std::slice::from_ref(&first), true).unwrap();
        let logged: i64 = c
            .conn()
            .query_row(
                "SELECT count(*) FROM search_changes WHERE track_rowid = (SELECT rowid FROM tracks WHERE id = ?)",
                [first.as_str()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(logged, 1);
        let newest: i64 = c
            .conn()
            .query_row("SELECT max(generation) FROM search_changes", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(
            newest > 500,
            "the old counter's numbering goes on: {newest}"
        );
        assert_eq!(paged(&c, &love, None), expected[1..].to_vec());
    }

    /// Cached sets and footers caught up over a run of changes (from this and
    /// another connection) answer exactly what a fresh evaluation does, and a
    /// cache too far behind is evaluated again instead.
    #[test]
    fn caught_up_sets_agree_with_a_fresh_evaluation() {
        let mut f = library(300);
        let path = f._dir.path().join("catalog.db");
        let queries: Vec<SearchQuery> = ["love", "night", "love n", "zebra"]
            .iter()
            .map(|t| SearchQuery {
                text: Some(t.to_string()),
                sort: SortKey::Title,
                ..SearchQuery::default()
            })
            .collect();
        let answers = |c: &Catalog| -> Vec<(Vec<String>, (u64, f64, u64))> {
            queries
                .iter()
                .map(|q| (paged(c, q, None), summary(c, q, None)))
                .collect()
        };
        // Warm the cache: every text evaluated once, the footer facts read.
        let before = answers(&f.catalog);
        assert!(before[0].0.len() > 50, "'love' is broad in the fixture");
        let evaluated = f.catalog.matches.evaluations();

        let mut other = Catalog::open(&path, &crate::catalog::test_key()).unwrap();
        let ids: Vec<TrackId> = paged(&other, &SearchQuery::default(), None)
            .into_iter()
            .map(TrackId)
            .collect();
        // Retitle some into and out of the texts, trash some, delete one, add one.
        for (i, id) in ids.iter().take(12).enumerate() {
            let title = ["Zebra Love", "Plain", "Night Zebra"][i % 3];
            let c = if i % 2 == 0 {
                &mut f.catalog
            } else {
                &mut other
            };
            c.update_metadata(
                id,
                &TrackMetadata {
                    title: Some(title.into()),
                    ..TrackMetadata::default()
                },
                &[],
                None,
                1,
            )
            .unwrap();
        }
        f.catalog.set_trashed(&ids[20..25], true).unwrap();
        other.set_trashed(&ids[21..22], false).unwrap();
        // The four still trashed are deleted (the fixture's own trashed tracks
        // have no trash time).
        assert_eq!(
            other
                .purge_trashed(crate::catalog::now_unix() + 1)
                .unwrap()
                .len(),
            4
        );
        let after = answers(&f.catalog);
        assert_eq!(
            after,
            answers(&Catalog::open(&path, &crate::catalog::test_key()).unwrap())
        );
        assert_ne!(after, before);
        assert_eq!(after[3].1.0, 8, "retitled tracks are found: {:?}", after[3]);
        assert_eq!(
            f.catalog.matches.evaluations(),
            evaluated,
            "caught up, not evaluated again"
        );

        // Beyond the catch-up limit: evaluated again, and still right.
        let many: Vec<TrackId> = ids.iter().take(200).cloned().collect();
        for _ in 0..2 {
            other.set_trashed(&many, true).unwrap();
            other.set_trashed(&many, false).unwrap();
        }
        let again = answers(&f.catalog);
        assert_eq!(
            again,
            answers(&Catalog::open(&path, &crate::catalog::test_key()).unwrap())
        );
        assert!(f.catalog.matches.evaluations() > evaluated);
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
