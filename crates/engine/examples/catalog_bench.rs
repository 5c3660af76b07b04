//! Catalog latency at library scale: builds a synthetic catalog of N tracks
//! (default 100,000) with realistic tag distributions, then times search,
//! filter, sort and keyset paging, and the stats, printing p50/p95/max per query.
//!
//!     cargo run --release -p audiovault-engine --example catalog_bench [N]

use std::time::{Duration, Instant};

use audiovault_engine::catalog::{SearchQuery, SortKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let catalog = audiovault_engine::catalog::open_for_bench(&dir.path().join("catalog.db"))?;
    let started = Instant::now();
    catalog.conn().execute_batch("BEGIN")?;
    audiovault_engine::catalog::synthetic::fill(&catalog, n, 42)?;
    catalog.conn().execute_batch("COMMIT; ANALYZE;")?;
    println!(
        "built {n} tracks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    report_size(&catalog, &dir.path().join("catalog.db"))?;

    let q = |text: Option<&str>, sort: SortKey| SearchQuery {
        text: text.map(str::to_string),
        sort,
        limit: Some(100),
        ..SearchQuery::default()
    };
    let cases: Vec<(&str, SearchQuery)> = vec![
        ("first page, by import time", q(None, SortKey::Imported)),
        ("first page, by artist", q(None, SortKey::Artist)),
        (
            "first page, by title desc",
            SearchQuery {
                descending: true,
                ..q(None, SortKey::Title)
            },
        ),
        ("first page, by duration", q(None, SortKey::Duration)),
        (
            "selective search 'velvet neon'",
            q(Some("velvet neon"), SortKey::Title),
        ),
        ("prefix search 'bjo'", q(Some("bjo"), SortKey::Artist)),
        (
            "broad search 'love' by artist",
            q(Some("love"), SortKey::Artist),
        ),
        (
            "filter flac 96k/24",
            SearchQuery {
                formats: vec!["flac".into()],
                sample_rate: Some(96000),
                bit_depth: Some(24),
                ..q(None, SortKey::Title)
            },
        ),
        (
            "filter years 1990-1999 by year",
            SearchQuery {
                min_year: Some(1990),
                max_year: Some(1999),
                ..q(None, SortKey::Year)
            },
        ),
        (
            "search + filter 'jazz' mp3",
            SearchQuery {
                formats: vec!["mp3".into()],
                ..q(Some("jazz"), SortKey::Title)
            },
        ),
    ];
    println!(
        "{:<36} {:>9} {:>9} {:>9} {:>7}",
        "query (100 rows a page)", "p50 ms", "p95 ms", "max ms", "rows"
    );
    for (name, query) in &cases {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..60 {
            let t = Instant::now();
            let page = catalog.search(query)?;
            times.push(t.elapsed());
            rows = page.tracks.len();
        }
        report(name, &mut times, rows);
    }
    // The figures every import ends with (and `stats` without its dedup breakdown).
    let mut times = Vec::new();
    let mut tracks = 0;
    for _ in 0..30 {
        let t = Instant::now();
        tracks = catalog.stats(None)?.tracks as usize;
        times.push(t.elapsed());
    }
    report("stats (totals, by format)", &mut times, tracks);
    // Deep keyset paging: walk 200 pages by artist, time each page.
    let mut times = Vec::new();
    let mut after = None;
    for _ in 0..200 {
        let query = SearchQuery {
            after: after.clone(),
            ..q(None, SortKey::Artist)
        };
        let t = Instant::now();
        let page = catalog.search(&query)?;
        times.push(t.elapsed());
        after = page.next_cursor;
    }
    report("keyset paging, 200 pages by artist", &mut times, 100);
    let mut times = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        catalog.search_summary(&q(Some("love"), SortKey::Artist))?;
        times.push(t.elapsed());
    }
    report("count + duration of 'love'", &mut times, 1);
    // A change to a track drops the cached text sets: the first page after it
    // pays for evaluating the text again (what a new word typed costs, too).
    let some_track = catalog
        .search(&q(None, SortKey::Title))?
        .tracks
        .first()
        .map(|t| t.id.clone());
    let mut times = Vec::new();
    for i in 0..30 {
        if let Some(id) = &some_track {
            catalog.set_trashed(std::slice::from_ref(id), i % 2 == 0)?;
        }
        let t = Instant::now();
        catalog.search(&q(Some("love"), SortKey::Artist))?;
        times.push(t.elapsed());
    }
    report("'love' by artist after a track change", &mut times, 100);
    // Search as you type: every keystroke of a broad two-word search is a text
    // never evaluated before, each a page and its footer, as the app asks.
    let typed = "love night";
    let mut times = Vec::new();
    for i in 0..20 {
        if let Some(id) = &some_track {
            catalog.set_trashed(std::slice::from_ref(id), i % 2 == 0)?;
        }
        for end in 1..=typed.len() {
            let query = q(Some(&typed[..end]), SortKey::Artist);
            let t = Instant::now();
            catalog.search(&query)?;
            catalog.search_summary(&query)?;
            times.push(t.elapsed());
        }
    }
    report("typing 'love night': page + footer", &mut times, 100);
    // The same, where each text is new to the connection (what typing a word the
    // library has not been searched for costs): the page evaluates the text, the
    // footer reuses the set.
    for typed in ["river city", "bjork", "shadow moon", "gold"] {
        let mut pages = Vec::new();
        let mut footers = Vec::new();
        for end in typed.char_indices().map(|(i, c)| i + c.len_utf8()) {
            if typed[..end].ends_with(' ') {
                continue;
            }
            let query = q(Some(&typed[..end]), SortKey::Imported);
            let t = Instant::now();
            catalog.search(&query)?;
            pages.push(t.elapsed());
            let t = Instant::now();
            catalog.search_summary(&query)?;
            footers.push(t.elapsed());
        }
        let rows = pages.len();
        report(&format!("new text '{typed}': page"), &mut pages, rows);
        report(&format!("new text '{typed}': footer"), &mut footers, rows);
    }
    // Writes that cannot change a search (settings, activity, waveforms) keep them.
    let mut times = Vec::new();
    for i in 0..30 {
        catalog.set_setting("catalog_bench", &i.to_string())?;
        let t = Instant::now();
        catalog.search(&q(Some("love"), SortKey::Artist))?;
        times.push(t.elapsed());
    }
    report("'love' by artist after a setting write", &mut times, 100);
    Ok(())
}

/// The catalog's size, and its pages by table where SQLite's `dbstat` is built in:
/// a row that spills into overflow pages costs a page of its own and a second read.
fn report_size(
    catalog: &audiovault_engine::catalog::Catalog,
    path: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let conn = catalog.conn();
    let pragma = |p: &str| -> rusqlite::Result<i64> {
        conn.query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
    };
    let pages = pragma("page_count")?;
    let bytes = std::fs::metadata(path)?.len();
    println!(
        "catalog: {:.1} MiB ({pages} pages)",
        bytes as f64 / (1024.0 * 1024.0)
    );
    let by_table = conn.prepare(
        "SELECT name, count(*), sum(pagetype = 'overflow') FROM dbstat GROUP BY name
         ORDER BY count(*) DESC LIMIT 8",
    );
    match by_table {
        Ok(mut stmt) => {
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (name, count, overflow) = row?;
                println!("  {name:<28} {count:>8} pages, {overflow:>8} of them overflow");
            }
        }
        Err(_) => println!("  (no dbstat in this SQLite: pages by table not shown)"),
    }
    Ok(())
}

fn report(name: &str, times: &mut [Duration], rows: usize) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
    println!(
        "{name:<36} {:>9.2} {:>9.2} {:>9.2} {rows:>7}",
        p(0.5),
        p(0.95),
        ms(times[times.len() - 1])
    );
}
