//! The catalog snapshot a push sends, as a stable stream of rows rather than a
//! database file (manifest format 3).
//!
//! Why: a snapshot was the SQLite file itself, cut by content-defined chunking so
//! that unchanged parts are not sent again. It did not work: a file laid out
//! afresh by the copy moves every later page when a table grows by one, and every
//! interior page names its children by page number, so five new tracks in a
//! 20,000-track library changed 19 of its 23 chunks (25 of 28 MiB sent again). Rows
//! do not move: each table's rows are written in the order SQLite keeps them
//! (insertion order for rowid tables, the key for the others), so new tracks change
//! the stream where their rows go (mostly at the tails) and nowhere else, and CDC
//! then sends those few chunks only.
//!
//! ```text
//! "AVROWS1\0"  i64 user_version
//! u32 schema entries × (str type, str name, str sql)   sqlite_master in order
//! u32 tables × (str name, u32 columns × str column, rows × (0x01, values), 0x00)
//! value: 0x00 NULL | 0x01 i64 | 0x02 f64 | 0x03 str | 0x04 blob      str, blob: u32 length, bytes
//! ```
//! Little-endian. Derived data is left out and made again by the reader: indexes
//! (created after the rows) and the full-text index (its shadow tables; rebuilt from
//! `tracks`), which FTS5's segment merges would otherwise rewrite at random.
//! Rowid tables carry their rowid (a column `rowid` first, unless a column is its
//! alias), as the copy they replace did: the search index refers to tracks by rowid.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, params_from_iter};

use super::CatalogError;
use crate::store::chunker::{ChunkerAlgorithm, ChunkerParams};

/// How a push cuts the row stream. Small chunks, unlike audio's 1 MiB: what a
/// push resends is a chunk around every place rows changed, so their size is the
/// cost of a change; 16 KiB on average keeps five new tracks' rows (a few dozen
/// places) well under a megabyte, while a 20,000-track catalog is still about a
/// thousand manifest entries.
pub(crate) const SNAPSHOT_CHUNKER: ChunkerParams = ChunkerParams {
    algorithm: ChunkerAlgorithm::FastCdc2020,
    min_size: 4 << 10,
    avg_size: 16 << 10,
    max_size: 64 << 10,
};

const MAGIC: &[u8; 8] = b"AVROWS1\0";

type Result<T> = std::result::Result<T, CatalogError>;

fn malformed(reason: &str) -> CatalogError {
    CatalogError::MalformedSnapshot(reason.to_string())
}

/// `"name"`, quoted for SQL.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A schema entry of `sqlite_master`.
struct Entry {
    kind: String,
    name: String,
    sql: String,
}

/// FTS5 tables (their names), from their `CREATE VIRTUAL TABLE … USING fts5(…)`.
fn fts5_tables(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .filter(|e| e.kind == "table" && e.sql.to_ascii_lowercase().contains("using fts5"))
        .map(|e| e.name.clone())
        .collect()
}

/// Tables a virtual table made for itself (FTS5's `_data`, `_idx`, `_config`,
/// `_docsize`, `_content`): the reader's `CREATE VIRTUAL TABLE` makes them again.
fn is_shadow(name: &str, fts: &[String]) -> bool {
    fts.iter().any(|v| {
        name.strip_prefix(v.as_str()).is_some_and(|rest| {
            ["_data", "_idx", "_config", "_docsize", "_content"].contains(&rest)
        })
    })
}

fn is_virtual(sql: &str) -> bool {
    sql.trim_start()
        .get(..20)
        .is_some_and(|s| s.eq_ignore_ascii_case("create virtual table"))
}

fn without_rowid(sql: &str) -> bool {
    sql.to_ascii_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0] == "without" && w[1].trim_end_matches([';', ')']) == "rowid")
}

fn put_u32(out: &mut Vec<u8>, n: usize) -> Result<()> {
    let n = u32::try_from(n).map_err(|_| malformed("a value longer than 4 GiB"))?;
    out.extend_from_slice(&n.to_le_bytes());
    Ok(())
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) -> Result<()> {
    put_u32(out, s.len())?;
    out.extend_from_slice(s);
    Ok(())
}

fn sqlite(source: rusqlite::Error) -> CatalogError {
    CatalogError::Sqlite {
        path: "catalog snapshot (in memory)".into(),
        source,
    }
}

/// Whether a rowid table has a column that is its rowid (`INTEGER PRIMARY KEY`).
fn has_rowid_alias(conn: &Connection, schema: &str, table: &str) -> Result<bool> {
    let pk: Vec<String> = conn
        .prepare(&format!(
            "SELECT type FROM {}.pragma_table_info(?1) WHERE pk > 0",
            quoted(schema)
        ))
        .and_then(|mut s| s.query_map([table], |r| r.get(0))?.collect())
        .map_err(sqlite)?;
    Ok(pk.len() == 1 && pk[0].eq_ignore_ascii_case("integer"))
}

/// How much of the stream is gathered before it goes to the sink.
const SINK_BATCH: usize = 64 << 10;

/// Writes the database attached as `schema` on `conn` as a row stream into
/// `sink`, as it goes: the stream is never whole in memory. The tables named in
/// `emptied` are written with their columns and no rows (what belongs to the
/// device, not the library). Call it inside a read transaction for one
/// consistent state.
pub(crate) fn encode_to(
    conn: &Connection,
    schema: &str,
    emptied: &[&str],
    sink: &mut dyn std::io::Write,
) -> Result<()> {
    let send = |sink: &mut dyn std::io::Write, out: &mut Vec<u8>| -> Result<()> {
        sink.write_all(out).map_err(|source| CatalogError::Io {
            path: "catalog snapshot".into(),
            source,
        })?;
        out.clear();
        Ok(())
    };
    // The rows are plaintext: the batch buffer is cleared when dropped.
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(2 * SINK_BATCH));
    out.extend_from_slice(MAGIC);
    let version: i64 = conn
        .query_row(
            &format!("PRAGMA {}.user_version", quoted(schema)),
            [],
            |r| r.get(0),
        )
        .map_err(sqlite)?;
    out.extend_from_slice(&version.to_le_bytes());
    let entries: Vec<Entry> = conn
        .prepare(&format!(
            "SELECT type, name, sql FROM {}.sqlite_master
             WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
            quoted(schema)
        ))
        .and_then(|mut stmt| {
            stmt.query_map([], |r| {
                Ok(Entry {
                    kind: r.get(0)?,
                    name: r.get(1)?,
                    sql: r.get(2)?,
                })
            })?
            .collect()
        })
        .map_err(sqlite)?;
    put_u32(&mut out, entries.len())?;
    for e in &entries {
        for s in [&e.kind, &e.name, &e.sql] {
            put_str(&mut out, s.as_bytes())?;
        }
    }
    let fts = fts5_tables(&entries);
    let tables: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.kind == "table" && !is_virtual(&e.sql) && !is_shadow(&e.name, &fts))
        .collect();
    put_u32(&mut out, tables.len())?;
    for t in tables {
        let rowid = if without_rowid(&t.sql) || has_rowid_alias(conn, schema, &t.name)? {
            ""
        } else {
            "rowid AS rowid, "
        };
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {rowid}* FROM {}.{}",
                quoted(schema),
                quoted(&t.name)
            ))
            .map_err(sqlite)?;
        put_str(&mut out, t.name.as_bytes())?;
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        put_u32(&mut out, columns.len())?;
        for c in &columns {
            put_str(&mut out, c.as_bytes())?;
        }
        if emptied.contains(&t.name.as_str()) {
            out.push(0);
            continue;
        }
        let mut rows = stmt.query([]).map_err(sqlite)?;
        while let Some(row) = rows.next().map_err(sqlite)? {
            if out.len() >= SINK_BATCH {
                send(sink, &mut out)?;
            }
            out.push(1);
            for i in 0..columns.len() {
                match row.get_ref(i).map_err(sqlite)? {
                    ValueRef::Null => out.push(0),
                    ValueRef::Integer(n) => {
                        out.push(1);
                        out.extend_from_slice(&n.to_le_bytes());
                    }
                    ValueRef::Real(f) => {
                        out.push(2);
                        out.extend_from_slice(&f.to_le_bytes());
                    }
                    ValueRef::Text(s) => {
                        out.push(3);
                        put_str(&mut out, s)?;
                    }
                    ValueRef::Blob(b) => {
                        out.push(4);
                        put_str(&mut out, b)?;
                    }
                }
            }
        }
        out.push(0);
    }
    send(sink, &mut out)
}

/// Reads a row stream as it comes, owning what it returns (the stream's chunks are
/// read one at a time, never whole).
struct Reader<R> {
    inner: R,
}

impl<R: std::io::Read> Reader<R> {
    fn exact<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b).map_err(cut_short)?;
        Ok(b)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.exact::<1>()?[0])
    }
    fn u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.exact()?) as usize)
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.exact()?))
    }
    fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.u32()?;
        // Grown as the bytes come: a damaged length cannot ask for gigabytes up front.
        let mut out = Vec::with_capacity(n.min(1 << 20));
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut self.inner, n as u64),
            &mut out,
        )
        .map_err(cut_short)?;
        if out.len() != n {
            return Err(malformed("cut short"));
        }
        Ok(out)
    }
    fn string(&mut self) -> Result<String> {
        String::from_utf8(self.bytes()?).map_err(|_| malformed("a name is not UTF-8"))
    }
    /// Whether the stream ends here.
    fn at_end(&mut self) -> Result<bool> {
        let mut b = [0u8; 1];
        loop {
            match self.inner.read(&mut b) {
                Ok(n) => return Ok(n == 0),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(cut_short(e)),
            }
        }
    }
}

/// A read that stopped early: the stream is cut short, or its source failed
/// (whose own error the caller keeps).
fn cut_short(e: std::io::Error) -> CatalogError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        malformed("cut short")
    } else {
        CatalogError::Io {
            path: "catalog snapshot".into(),
            source: e,
        }
    }
}

/// Whether `bytes` is a row stream (a format-2 snapshot is a SQLite file).
pub(crate) fn is_rows(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Builds the database a row stream describes, in memory (tests, and snapshots
/// of manifests before format 3, which are small).
pub(crate) fn decode(bytes: &[u8]) -> Result<Connection> {
    let conn = Connection::open_in_memory().map_err(sqlite)?;
    conn.execute_batch("PRAGMA temp_store = MEMORY;")
        .map_err(sqlite)?;
    decode_into(&conn, bytes)?;
    Ok(conn)
}

/// Builds the database a row stream describes into `conn` (empty; a pull's is an
/// encrypted file in `tmp/`), reading the stream as it comes: the schema first
/// (virtual tables, then tables), then the rows, then the full-text index rebuilt,
/// then indexes, triggers and views, so no trigger fires while the rows go in.
pub(crate) fn decode_into(conn: &Connection, stream: impl std::io::Read) -> Result<()> {
    let e = sqlite;
    let mut r = Reader { inner: stream };
    if r.exact::<8>()? != *MAGIC {
        return Err(malformed("not a row stream"));
    }
    let version = r.i64()?;
    let n = r.u32()?;
    let mut entries = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        entries.push(Entry {
            kind: r.string()?,
            name: r.string()?,
            sql: r.string()?,
        });
    }
    conn.execute_batch("PRAGMA foreign_keys = OFF;")
        .map_err(e)?;
    conn.execute_batch("BEGIN").map_err(e)?;
    let fts = fts5_tables(&entries);
    for e2 in entries
        .iter()
        .filter(|x| x.kind == "table" && is_virtual(&x.sql))
    {
        conn.execute_batch(&e2.sql).map_err(e)?;
    }
    for e2 in entries
        .iter()
        .filter(|x| x.kind == "table" && !is_virtual(&x.sql) && !is_shadow(&x.name, &fts))
    {
        conn.execute_batch(&e2.sql).map_err(e)?;
    }
    let tables = r.u32()?;
    for _ in 0..tables {
        let name = r.string()?;
        let n_cols = r.u32()?;
        let mut cols = Vec::with_capacity(n_cols.min(1024));
        for _ in 0..n_cols {
            let col = r.string()?;
            // The rowid is named bare: quoted, it would be a column of that name.
            cols.push(if col == "rowid" { col } else { quoted(&col) });
        }
        if cols.is_empty() {
            return Err(malformed("a table without columns"));
        }
        let mut stmt = conn
            .prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quoted(&name),
                cols.join(", "),
                vec!["?"; cols.len()].join(", ")
            ))
            .map_err(e)?;
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(cols.len());
        while r.u8()? == 1 {
            values.clear();
            for _ in 0..cols.len() {
                use rusqlite::types::Value;
                values.push(match r.u8()? {
                    0 => Value::Null,
                    1 => Value::Integer(r.i64()?),
                    2 => Value::Real(f64::from_bits(r.i64()? as u64)),
                    3 => Value::Text(
                        String::from_utf8(r.bytes()?)
                            .map_err(|_| malformed("a text value is not UTF-8"))?,
                    ),
                    4 => Value::Blob(r.bytes()?),
                    _ => return Err(malformed("an unknown value type")),
                });
            }
            stmt.execute(params_from_iter(values.iter())).map_err(e)?;
        }
    }
    if !r.at_end()? {
        return Err(malformed("trailing bytes"));
    }
    for v in &fts {
        conn.execute(
            &format!("INSERT INTO {0} ({0}) VALUES ('rebuild')", quoted(v)),
            [],
        )
        .map_err(e)?;
    }
    for kind in ["index", "trigger", "view"] {
        for e2 in entries.iter().filter(|x| x.kind == kind) {
            conn.execute_batch(&e2.sql).map_err(e)?;
        }
    }
    conn.pragma_update(None, "user_version", version)
        .map_err(e)?;
    conn.execute_batch("COMMIT").map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::catalog::{Catalog, NewTrack, TrackId, TrackMetadata};
    use crate::store::ChunkId;
    use crate::store::chunker::Chunker;

    const WORDS: &[&str] = &["night", "river", "blue", "dance", "gold", "échos", "rain"];

    /// Tracks `from..to`, each with two chunks and a few words of metadata.
    fn add_tracks(c: &mut Catalog, from: u32, to: u32) {
        let ids: Vec<TrackId> = (from..to)
            .map(|i| TrackId(format!("{:016x}", i.wrapping_mul(2_654_435_761))))
            .collect();
        let shas: Vec<[u8; 32]> = (from..to)
            .map(|i| {
                let mut s = [0u8; 32];
                s[..4].copy_from_slice(&i.to_le_bytes());
                s[31] = 1;
                s
            })
            .collect();
        let chunks: Vec<Vec<crate::catalog::NewChunk>> = (from..to)
            .map(|i| {
                (0..2u32)
                    .map(|n| {
                        let mut id = [0u8; 32];
                        id[..4].copy_from_slice(&i.wrapping_mul(40_503).to_le_bytes());
                        id[4] = n as u8;
                        crate::catalog::NewChunk::plain(
                            ChunkId(id),
                            u64::from(n) * 1000,
                            1000,
                            1029,
                        )
                    })
                    .collect()
            })
            .collect();
        let metas: Vec<TrackMetadata> = (from..to)
            .map(|i| TrackMetadata {
                title: Some(format!(
                    "{} {} {i}",
                    WORDS[i as usize % 7],
                    WORDS[i as usize / 7 % 7]
                )),
                artist: Some(format!("Artist {}", i / 40)),
                album: Some(format!("Album {}", i / 12)),
                ..Default::default()
            })
            .collect();
        let names: Vec<String> = (from..to).map(|i| format!("{i:05} track.flac")).collect();
        let tracks: Vec<NewTrack<'_>> = (0..ids.len())
            .map(|k| NewTrack {
                id: &ids[k],
                sha256: &shas[k],
                size_bytes: 2000,
                file_name: &names[k],
                file_name_raw: None,
                source_path: &names[k],
                source_mtime: None,
                format: "flac",
                import_job_id: None,
                chunks: &chunks[k],
                meta: &metas[k],
                other_tags: &[],
                artwork: None,
                metadata_version: 1,
            })
            .collect();
        c.commit_tracks(&tracks, None).unwrap();
    }

    fn catalog(dir: &std::path::Path, tracks: u32) -> Catalog {
        let mut c = Catalog::open(&dir.join("catalog.db"), &crate::catalog::test_key()).unwrap();
        for from in (0..tracks).step_by(500) {
            add_tracks(&mut c, from, (from + 500).min(tracks));
        }
        c
    }

    #[test]
    fn a_snapshot_round_trips_through_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path(), 300);
        let snap = crate::catalog::remote::write_snapshot(&c).unwrap();
        assert!(is_rows(&snap.bytes));
        let memory = decode(&snap.bytes).unwrap();
        // Every row of every table came back, rowids included; what belongs to the
        // device and not the library was left out.
        let local = [
            "remote_config",
            "sync_state",
            "remote_chunks",
            "remote_packs",
            "remote_indexes",
            "sync_heads",
            "remote_contents",
            "watch_files",
            "watch_failures",
            "watch_folders",
            "record_dirty",
            "evicted_chunks",
            "track_plays",
            "remote_gone_packs",
            "sync_totals",
            "track_sync",
        ];
        let tables: Vec<(String, String)> = memory
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
            .unwrap()
            .query_map([], |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let rows_of =
            |conn: &Connection, name: &str, sql: &str| -> Vec<Vec<rusqlite::types::Value>> {
                let rowid = if without_rowid(sql) { "" } else { "rowid, " };
                let mut stmt = conn
                    .prepare(&format!("SELECT {rowid}* FROM {}", quoted(name)))
                    .unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect()
            };
        let mut compared = 0;
        for (name, sql) in &tables {
            if is_virtual(sql) || name.starts_with("tracks_fts") {
                continue;
            }
            let got = rows_of(&memory, name, sql);
            if local.contains(&name.as_str()) {
                assert!(got.is_empty(), "{name} is this device's");
            } else {
                assert_eq!(got, rows_of(c.conn(), name, sql), "{name}");
                compared += got.len();
            }
        }
        assert!(compared > 300 * 3, "{compared} rows compared");
        let q = |conn: &Connection, sql: &str| -> i64 {
            conn.query_row(sql, [], |r| r.get(0)).unwrap()
        };
        for sql in [
            "SELECT count(*) FROM tracks",
            "SELECT count(*) FROM track_chunks",
            "SELECT sum(rowid) FROM tracks",
            "PRAGMA user_version",
            // The search index was made again from the rows.
            "SELECT count(*) FROM tracks_fts WHERE tracks_fts MATCH 'river'",
        ] {
            assert_eq!(q(&memory, sql), q(c.conn(), sql), "{sql}");
        }
        assert!(
            q(
                &memory,
                "SELECT count(*) FROM tracks_fts WHERE tracks_fts MATCH 'river'"
            ) > 0
        );
        let ok: String = memory
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        // Indexes and triggers are back too.
        assert!(
            q(
                &memory,
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
            ) > 0
        );
        assert_eq!(
            q(
                &memory,
                "SELECT count(*) FROM sqlite_master WHERE type IN ('index', 'trigger')"
            ),
            q(
                c.conn(),
                "SELECT count(*) FROM sqlite_master WHERE type IN ('index', 'trigger')"
            )
        );
        // A cut or altered stream is refused, never half read.
        assert!(decode(&snap.bytes[..snap.bytes.len() - 1]).is_err());
        assert!(decode(b"SQLite format 3\0").is_err());
    }

    /// What a push sends again: chunks of the new stream that the old one lacks.
    fn changed_bytes(old: &[u8], new: &[u8]) -> (u64, usize) {
        let cut = |b: &[u8]| -> Vec<Vec<u8>> {
            let mut ch = Chunker::new(b, &SNAPSHOT_CHUNKER);
            let mut out = Vec::new();
            while let Some((_, data)) = ch.next_chunk().unwrap() {
                out.push(data.to_vec());
            }
            out
        };
        let before: HashSet<Vec<u8>> = cut(old).into_iter().collect();
        let after = cut(new);
        let changed: Vec<&Vec<u8>> = after.iter().filter(|c| !before.contains(*c)).collect();
        (changed.iter().map(|c| c.len() as u64).sum(), changed.len())
    }

    /// The snapshot as a database file changed almost every chunk when five tracks
    /// were added (pages move, and interior pages name them); as rows it changes
    /// the few chunks where the new rows go.
    #[test]
    fn five_new_tracks_change_a_few_chunks_of_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = catalog(dir.path(), 4000);
        let before = crate::catalog::remote::write_snapshot(&c).unwrap().bytes;
        add_tracks(&mut c, 4000, 4005);
        let after = crate::catalog::remote::write_snapshot(&c).unwrap().bytes;
        let (bytes, chunks) = changed_bytes(&before, &after);
        eprintln!(
            "snapshot {} KiB; 5 new tracks changed {chunks} chunks, {} KiB",
            after.len() >> 10,
            bytes >> 10
        );
        assert!(
            after.len() > 1 << 20,
            "a snapshot big enough to tell: {}",
            after.len()
        );
        // As a database file, about 80% of it changed; as rows, a chunk or two
        // around each place new rows went (random keys put some mid-table).
        assert!(
            bytes < 1 << 20,
            "5 new tracks changed {bytes} bytes of a {}-byte snapshot",
            after.len()
        );
    }

    /// A pull reads the stream chunk by chunk into an encrypted file: a source that
    /// hands out a few bytes at a time builds the same database as the whole stream,
    /// and a stream cut anywhere, or with bytes after its end, is refused.
    #[test]
    fn a_stream_read_a_few_bytes_at_a_time_builds_the_same_database_and_a_cut_one_is_refused() {
        struct Dribble<'a>(&'a [u8]);
        impl std::io::Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path(), 120);
        let snap = crate::catalog::remote::write_snapshot(&c).unwrap();
        let whole = decode(&snap.bytes).unwrap();
        let key = crate::catalog::test_key();
        let path = dir.path().join("pulled.db");
        let file = crate::catalog::cipher::create_encrypted(&path, &key).unwrap();
        decode_into(&file, Dribble(&snap.bytes)).unwrap();
        let dump = |conn: &Connection| -> Vec<(String, i64)> {
            conn.prepare("SELECT id, rowid FROM tracks ORDER BY rowid")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        assert_eq!(dump(&file), dump(&whole));
        assert_eq!(dump(&file).len(), 120);
        drop(file);
        // Encrypted at rest: no SQLite header, and the catalog key opens it.
        assert!(
            !std::fs::read(&path)
                .unwrap()
                .starts_with(b"SQLite format 3")
        );
        let reopened = Catalog::open(&path, &key).unwrap();
        assert_eq!(
            reopened
                .conn()
                .query_row("SELECT count(*) FROM tracks", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            120
        );

        for cut in [0, 9, snap.bytes.len() / 2, snap.bytes.len() - 1] {
            let conn = Connection::open_in_memory().unwrap();
            let err = decode_into(&conn, Dribble(&snap.bytes[..cut])).unwrap_err();
            assert!(
                err.to_string().contains("cut short")
                    || err.to_string().contains("not a row stream"),
                "cut at {cut}: {err}"
            );
        }
        let mut longer = snap.bytes.clone();
        longer.push(0);
        let conn = Connection::open_in_memory().unwrap();
        let err = decode_into(&conn, Dribble(&longer)).unwrap_err();
        assert!(err.to_string().contains("trailing bytes"), "{err}");
    }
}
