//! The catalog's side of sealed records (`crate::records`): which records a
//! transaction changed (`record_dirty`, filled by triggers, migration 0011), their
//! rows read by column name, sealing them before the transaction commits, and
//! putting records' rows back when a catalog is rebuilt.
//!
//! Every write transaction on a catalog that has records attached calls
//! [`Catalog::seal_records`] right before its commit and
//! [`SealedRecords::after_commit`] after it. Paths that commit without it leave
//! their marks behind; [`Catalog::seal_leftover_records`] writes those when the
//! vault opens.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior, params};

use super::{Catalog, CatalogError, SCHEMA_VERSION};
use crate::catalog::TrackId;
use crate::records::{RecordName, RecordPayload, RecordStore, RecordTable};
use crate::store::{ChunkId, ChunkStore};

/// Records written per transaction when catching up on marks left behind (the
/// first open of a vault made before records, or after a crash).
const LEFTOVER_BATCH: i64 = 512;

/// The tables each kind of record carries, in the order a rebuild inserts them
/// (chunks before the tracks and chunk lists that reference them).
const TRACK_TABLES: &[&str] = &[
    "chunks",
    "tracks",
    "track_chunks",
    "track_tags",
    "content_adds",
];
const TOMBSTONE_TABLES: &[&str] = &["tombstones", "content_adds"];
const SETTINGS_TABLES: &[&str] = &["settings", "remote_config", "watch_folders"];

/// What sealing did in a transaction about to commit. Records of tracks the
/// transaction deleted are removed only once it has committed: before, a rollback
/// would leave a track without its record.
#[must_use = "call after_commit once the transaction has committed"]
#[derive(Default)]
pub struct SealedRecords {
    records: Option<Arc<RecordStore>>,
    deleted: Vec<TrackId>,
}

impl SealedRecords {
    /// Removes the records of the tracks the committed transaction deleted. A
    /// removal that fails leaves a record whose track is gone: harmless (the
    /// removed adds in records/tombstones outrank it in a rebuild) and removed by
    /// `gc` or `doctor --repair`.
    pub fn after_commit(self) {
        if let Some(records) = self.records {
            for id in self.deleted {
                let _ = records.remove(&RecordName::Track(id));
            }
        }
    }
}

/// A chunk the catalog references, with the tracks that use it.
#[derive(Debug, Clone)]
pub(crate) struct ChunkUse {
    pub stored_size: u64,
    pub tracks: Vec<TrackId>,
}

/// What rebuilding a catalog from records did.
#[derive(Debug, Default)]
pub(crate) struct RebuildOutcome {
    pub tracks: usize,
    pub trashed: usize,
    pub tombstones: usize,
    /// Records whose content every add of which a purge removed (a purge cut
    /// short before it removed them): left out, and their records can go.
    pub purged: Vec<TrackId>,
    /// Records that could not be put back, with the reason.
    pub refused: Vec<(TrackId, String)>,
    pub artwork: Vec<ChunkId>,
}

impl Catalog {
    /// From now on, every write transaction on this connection writes the records
    /// of what it changed before it commits.
    pub(crate) fn attach_records(&mut self, records: Arc<RecordStore>) {
        self.records = Some(records);
    }

    /// Writes the sealed records of every row changed so far in the open
    /// transaction, makes them durable (one `syncfs`), and clears their marks.
    /// Call it right before the commit, then [`SealedRecords::after_commit`]. A
    /// no-op on a catalog without records (tests, benchmarks, snapshots).
    pub fn seal_records(&self) -> Result<SealedRecords, CatalogError> {
        self.seal_marked(None, None).map(|(sealed, _)| sealed)
    }

    /// [`Catalog::seal_records`] for an import batch: the chunks it wrote are made
    /// durable by the same `syncfs` as its records.
    pub(crate) fn seal_records_with_chunks(
        &self,
        store: &ChunkStore,
        chunks: &[ChunkId],
    ) -> Result<SealedRecords, CatalogError> {
        if self.records.is_none() {
            store.make_durable(chunks)?;
            return Ok(SealedRecords::default());
        }
        self.seal_marked(Some((store, chunks)), None)
            .map(|(sealed, _)| sealed)
    }

    fn seal_marked(
        &self,
        chunks: Option<(&ChunkStore, &[ChunkId])>,
        limit: Option<i64>,
    ) -> Result<(SealedRecords, usize), CatalogError> {
        let Some(records) = self.records.clone() else {
            return Ok((SealedRecords::default(), 0));
        };
        let e = |e| self.err(e);
        let marked: Vec<(String, String)> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT kind, key FROM record_dirty ORDER BY kind, key LIMIT ?1")
                .map_err(e)?;
            stmt.query_map([limit.unwrap_or(-1)], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(e)?
                .collect::<Result<_, _>>()
                .map_err(e)?
        };
        let mut wrote = false;
        let mut deleted = Vec::new();
        for (kind, key) in &marked {
            let name = match kind.as_str() {
                "track" => RecordName::Track(TrackId(key.clone())),
                "tombstones" => RecordName::Tombstones,
                _ => RecordName::Settings,
            };
            match render(&self.conn, &name).map_err(e)? {
                Some(payload) => {
                    records.write(&name, &payload)?;
                    wrote = true;
                }
                None => {
                    if let RecordName::Track(id) = name {
                        deleted.push(id);
                    }
                }
            }
        }
        let chunks_synced = match chunks {
            Some((store, ids)) if !ids.is_empty() => {
                store.make_durable(ids)?;
                true
            }
            _ => false,
        };
        if wrote {
            records.make_durable(chunks_synced)?;
        }
        {
            let mut clear = self
                .conn
                .prepare_cached("DELETE FROM record_dirty WHERE kind = ?1 AND key = ?2")
                .map_err(e)?;
            for (kind, key) in &marked {
                clear.execute(params![kind, key]).map_err(e)?;
            }
        }
        Ok((
            SealedRecords {
                records: Some(records),
                deleted,
            },
            marked.len(),
        ))
    }

    /// Runs `write` in a transaction that writes the records of what it changed
    /// before it commits. Inside a transaction the caller opened, `write` simply
    /// runs: that transaction's commit seals.
    pub(crate) fn sealed_write<T>(
        &self,
        write: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, CatalogError> {
        if !self.conn.is_autocommit() {
            return write(&self.conn).map_err(|e| self.err(e));
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let value = write(&tx).map_err(|e| self.err(e))?;
        let sealed = self.seal_records()?;
        tx.commit().map_err(|e| self.err(e))?;
        sealed.after_commit();
        Ok(value)
    }

    /// Writes the records still marked: left by a crash between a commit and its
    /// records, by a writer that does not seal, or by migration 0011 on a vault
    /// made before records (every track). Batches of their own transactions, so an
    /// interrupted catch-up resumes where it stopped. Returns how many were written.
    pub(crate) fn seal_leftover_records(&self) -> Result<usize, CatalogError> {
        if self.records.is_none() || self.records_pending()? == 0 {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
                    .map_err(|e| self.err(e))?;
            let (sealed, n) = self.seal_marked(None, Some(LEFTOVER_BATCH))?;
            tx.commit().map_err(|e| self.err(e))?;
            sealed.after_commit();
            total += n;
            if (n as i64) < LEFTOVER_BATCH {
                return Ok(total);
            }
        }
    }

    /// Records marked but not written yet.
    pub(crate) fn records_pending(&self) -> Result<u64, CatalogError> {
        self.conn
            .query_row("SELECT count(*) FROM record_dirty", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Marks records to be written again (a repair), and writes them.
    pub(crate) fn rewrite_records(&self, names: &[RecordName]) -> Result<(), CatalogError> {
        self.sealed_write(|conn| {
            let mut mark = conn
                .prepare_cached("INSERT OR IGNORE INTO record_dirty (kind, key) VALUES (?1, ?2)")?;
            for name in names {
                match name {
                    RecordName::Track(id) => mark.execute(params!["track", id.as_str()])?,
                    RecordName::Tombstones => mark.execute(params!["tombstones", ""])?,
                    RecordName::Settings => mark.execute(params!["settings", ""])?,
                };
            }
            Ok(())
        })
    }

    /// A record as the catalog would write it now; `None` for a track that is gone.
    pub(crate) fn render_record(
        &self,
        name: &RecordName,
    ) -> Result<Option<RecordPayload>, CatalogError> {
        render(&self.conn, name).map_err(|e| self.err(e))
    }

    /// Every track id with its file name.
    pub(crate) fn track_names(&self) -> Result<HashMap<TrackId, String>, CatalogError> {
        let e = |e| self.err(e);
        let mut stmt = self
            .conn
            .prepare("SELECT id, file_name FROM tracks")
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| Ok((TrackId(r.get(0)?), r.get(1)?)))
            .map_err(e)?;
        rows.collect::<Result<_, _>>().map_err(e)
    }

    /// Every chunk a track references (audio or artwork), with its stored size and
    /// the tracks that use it.
    pub(crate) fn chunk_uses(&self) -> Result<HashMap<ChunkId, ChunkUse>, CatalogError> {
        let e = |e| self.err(e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.id, c.stored_size, u.track_id FROM chunks c
                 JOIN (SELECT chunk_id, track_id FROM track_chunks
                       UNION SELECT artwork_id, id FROM tracks WHERE artwork_id IS NOT NULL) u
                   ON u.chunk_id = c.id
                 -- An evicted chunk's file is meant to be absent (cloud-only tracks).
                 WHERE NOT EXISTS (SELECT 1 FROM evicted_chunks ev WHERE ev.chunk_id = c.id)",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    TrackId(r.get(2)?),
                ))
            })
            .map_err(e)?;
        let mut out: HashMap<ChunkId, ChunkUse> = HashMap::new();
        for row in rows {
            let (raw, stored, track) = row.map_err(e)?;
            let Some(id) = ChunkId::from_slice(&raw) else {
                continue;
            };
            out.entry(id)
                .or_insert_with(|| ChunkUse {
                    stored_size: stored.max(0) as u64,
                    tracks: Vec::new(),
                })
                .tracks
                .push(track);
        }
        Ok(out)
    }

    /// Fills an empty catalog (freshly migrated) from records, in one transaction:
    /// the settings, the tombstones and the adds of contents without a track, then
    /// every track whose content still has an add no purge removed (as a merge
    /// decides), with its chunks, chunk list, tags and adds. The Lamport clock
    /// restarts above every stamp the records carry; no mark is left (the records
    /// are the source). Derived data (analysis, thumbnails) is computed again.
    pub(crate) fn rebuild_from_records(
        &mut self,
        settings: Option<&RecordPayload>,
        tombstones: Option<&RecordPayload>,
        tracks: &mut dyn Iterator<Item = (TrackId, RecordPayload)>,
    ) -> Result<RebuildOutcome, CatalogError> {
        let path = self.path.clone();
        let err = |source| CatalogError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut outcome = RebuildOutcome::default();
        let mut max_clock = 0i64;
        if let Some(p) = settings {
            insert_tables(&tx, p, SETTINGS_TABLES, "OR REPLACE").map_err(err)?;
        }
        // Adds a purge removed, from the tombstones record: a track record written
        // before that purge (its removal cut short) must not bring the track back.
        let mut removed_adds: HashSet<(Vec<u8>, String, i64)> = HashSet::new();
        if let Some(p) = tombstones {
            insert_tables(&tx, p, TOMBSTONE_TABLES, "OR REPLACE").map_err(err)?;
            if let Some(t) = p.table("tombstones") {
                for row in 0..t.rows.len() {
                    if let Some(Value::Integer(clock)) = t.get(row, "clock") {
                        max_clock = max_clock.max(*clock);
                    }
                }
                outcome.tombstones = t.rows.len();
            }
            if let Some(adds) = p.table("content_adds") {
                for row in 0..adds.rows.len() {
                    if let Some(add) = content_add(adds, row) {
                        max_clock = max_clock.max(add.2);
                        if adds.get(row, "removed") == Some(&Value::Integer(1)) {
                            removed_adds.insert(add);
                        }
                    }
                }
            }
        }
        for (id, payload) in tracks {
            let id = &id;
            let payload = &payload;
            let Some(row) = payload.table("tracks").filter(|t| t.rows.len() == 1) else {
                outcome
                    .refused
                    .push((id.clone(), "the record holds no track row".into()));
                continue;
            };
            if let Some(Value::Integer(clock)) = row.get(0, "state_clock") {
                max_clock = max_clock.max(*clock);
            }
            // Alive while one add of its content is not removed (as a merge
            // decides); a content with no adds at all is kept.
            let mut any_add = false;
            let mut alive = false;
            if let Some(adds) = payload.table("content_adds") {
                for add_row in 0..adds.rows.len() {
                    let Some(add) = content_add(adds, add_row) else {
                        continue;
                    };
                    any_add = true;
                    max_clock = max_clock.max(add.2);
                    let removed = adds.get(add_row, "removed") == Some(&Value::Integer(1))
                        || removed_adds.contains(&add);
                    alive |= !removed;
                }
            }
            if any_add && !alive {
                outcome.purged.push(id.clone());
                continue;
            }
            if row.get(0, "id") != Some(&Value::Text(id.to_string())) {
                outcome
                    .refused
                    .push((id.clone(), "the record names another track".into()));
                continue;
            }
            // One savepoint per track: a record that does not fit (the same content
            // twice) is left out whole, never half inserted.
            tx.execute_batch("SAVEPOINT track").map_err(err)?;
            match insert_tables(&tx, payload, TRACK_TABLES, "") {
                Ok(()) => {
                    tx.execute_batch("RELEASE track").map_err(err)?;
                    outcome.tracks += 1;
                    if row.get(0, "state") == Some(&Value::Text("trashed".into())) {
                        outcome.trashed += 1;
                    }
                    if let Some(Value::Blob(art)) = row.get(0, "artwork_id")
                        && let Some(chunk) = ChunkId::from_slice(art)
                    {
                        outcome.artwork.push(chunk);
                    }
                }
                Err(e) => {
                    tx.execute_batch("ROLLBACK TO track; RELEASE track")
                        .map_err(err)?;
                    outcome.refused.push((id.clone(), e.to_string()));
                }
            }
        }
        tx.execute(
            "UPDATE lamport SET value = max(value, ?1) WHERE id = 1",
            [max_clock],
        )
        .map_err(err)?;
        tx.execute("DELETE FROM record_dirty", []).map_err(err)?;
        tx.commit().map_err(err)?;
        outcome.artwork.sort();
        outcome.artwork.dedup();
        Ok(outcome)
    }

    /// Leaves write-ahead logging for a catalog built aside: the file then holds
    /// everything on its own and can be renamed into place with no log beside it.
    pub(crate) fn detach_log(&self) -> Result<(), CatalogError> {
        let _: String = self
            .conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Keeps a thumbnail made again after a rebuild.
    pub(crate) fn put_thumbnail(
        &self,
        artwork: &ChunkId,
        thumbnail: &crate::media::Thumbnail,
    ) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO thumbnails (artwork_id, mime_type, width, height, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &artwork.0[..],
                    thumbnail.mime_type,
                    thumbnail.width,
                    thumbnail.height,
                    thumbnail.data
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// One add, `(sha256, device, clock)`, from row `row` of a record's adds.
fn content_add(t: &RecordTable, row: usize) -> Option<(Vec<u8>, String, i64)> {
    match (
        t.get(row, "sha256"),
        t.get(row, "device"),
        t.get(row, "clock"),
    ) {
        (Some(Value::Blob(sha)), Some(Value::Text(device)), Some(Value::Integer(clock))) => {
            Some((sha.clone(), device.clone(), *clock))
        }
        _ => None,
    }
}

/// Reads the rows a record holds, every column by name.
fn render(conn: &Connection, name: &RecordName) -> rusqlite::Result<Option<RecordPayload>> {
    let tables = match name {
        RecordName::Track(id) => {
            let mut track = rows(
                conn,
                "tracks",
                "SELECT * FROM tracks WHERE id = ?1",
                &[id.as_str()],
            )?;
            if track.rows.is_empty() {
                return Ok(None);
            }
            // The import job is this catalog's history, not the library's: a
            // rebuilt catalog has no jobs to point at.
            if let Some(i) = track.columns.iter().position(|c| c == "import_job_id") {
                track.columns.remove(i);
                for row in &mut track.rows {
                    row.remove(i);
                }
            }
            vec![
                rows(
                    conn,
                    "chunks",
                    "SELECT * FROM chunks WHERE id IN
                       (SELECT chunk_id FROM track_chunks WHERE track_id = ?1
                        UNION SELECT artwork_id FROM tracks WHERE id = ?1)
                     ORDER BY id",
                    &[id.as_str()],
                )?,
                track,
                rows(
                    conn,
                    "track_chunks",
                    "SELECT * FROM track_chunks WHERE track_id = ?1 ORDER BY seq",
                    &[id.as_str()],
                )?,
                rows(
                    conn,
                    "track_tags",
                    "SELECT * FROM track_tags WHERE track_id = ?1 ORDER BY seq",
                    &[id.as_str()],
                )?,
                rows(
                    conn,
                    "content_adds",
                    "SELECT * FROM content_adds
                     WHERE sha256 = (SELECT sha256 FROM tracks WHERE id = ?1)
                     ORDER BY device, clock",
                    &[id.as_str()],
                )?,
            ]
        }
        RecordName::Tombstones => vec![
            rows(
                conn,
                "tombstones",
                "SELECT * FROM tombstones ORDER BY sha256",
                &[],
            )?,
            rows(
                conn,
                "content_adds",
                "SELECT * FROM content_adds
                 WHERE sha256 NOT IN (SELECT sha256 FROM tracks)
                 ORDER BY sha256, device, clock",
                &[],
            )?,
        ],
        RecordName::Settings => vec![
            rows(conn, "settings", "SELECT * FROM settings ORDER BY key", &[])?,
            rows(
                conn,
                "remote_config",
                "SELECT * FROM remote_config ORDER BY id",
                &[],
            )?,
            rows(
                conn,
                "watch_folders",
                "SELECT * FROM watch_folders ORDER BY id",
                &[],
            )?,
        ],
    };
    Ok(Some(RecordPayload {
        schema_version: SCHEMA_VERSION,
        tables,
    }))
}

fn rows(conn: &Connection, table: &str, sql: &str, args: &[&str]) -> rusqlite::Result<RecordTable> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let n = columns.len();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            (0..n)
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<Vec<_>, _>>()
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordTable {
        name: table.to_string(),
        columns,
        rows,
    })
}

/// Inserts a record's rows into the tables in `allowed` (in that order), by
/// column name. Columns the catalog does not have are refused rather than
/// dropped.
fn insert_tables(
    conn: &Connection,
    payload: &RecordPayload,
    allowed: &[&str],
    conflict: &str,
) -> rusqlite::Result<()> {
    for table in allowed {
        let Some(t) = payload.table(table) else {
            continue;
        };
        if t.rows.is_empty() {
            continue;
        }
        let known: HashSet<String> = {
            let mut stmt = conn.prepare_cached(&format!("PRAGMA main.table_info({table})"))?;
            stmt.query_map([], |r| r.get::<_, String>(1))?
                .collect::<Result<_, _>>()?
        };
        if let Some(unknown) = t.columns.iter().find(|c| !known.contains(*c)) {
            return Err(rusqlite::Error::InvalidColumnName(format!(
                "{table}.{unknown} is not a column of this catalog"
            )));
        }
        // Tracks share chunks (dedup, a cover on every track of an album): a chunk
        // row is put back once, by whichever record comes first.
        // An add found in two records (a purge's removal cut short) is removed if
        // either says so.
        let (conflict, upsert) = match *table {
            "chunks" => ("OR IGNORE", ""),
            "content_adds" => (
                "",
                " ON CONFLICT (sha256, device, clock) DO UPDATE SET removed = max(removed, excluded.removed)",
            ),
            _ => (conflict, ""),
        };
        let sql = format!(
            "INSERT {conflict} INTO main.{table} ({}) VALUES ({}){upsert}",
            t.columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            vec!["?"; t.columns.len()].join(", ")
        );
        let mut insert = conn.prepare_cached(&sql)?;
        for row in &t.rows {
            insert.execute(rusqlite::params_from_iter(row))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use super::*;
    use crate::catalog::{NewTrack, TrackMetadata};
    use crate::keys::MasterKey;

    fn track(catalog: &mut Catalog, id: &str, sha: u8) {
        let meta = TrackMetadata::default();
        catalog
            .commit_track(
                &NewTrack {
                    id: &TrackId(id.into()),
                    sha256: &[sha; 32],
                    size_bytes: 100,
                    file_name: "a.flac",
                    file_name_raw: None,
                    source_path: "a.flac",
                    source_mtime: None,
                    format: "flac",
                    import_job_id: None,
                    chunks: &[crate::catalog::NewChunk::plain(
                        ChunkId([sha; 32]),
                        0,
                        100,
                        129,
                    )],
                    meta: &meta,
                    other_tags: &[("MOOD".into(), "calm".into())],
                    artwork: None,
                    metadata_version: 1,
                },
                None,
            )
            .unwrap();
    }

    /// A pull's join writes the records of what it brought in before it commits.
    #[test]
    fn the_join_of_another_devices_catalog_seals_its_records() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::create_dir_all(dir.path().join("chunks")).unwrap();
        let theirs_path = dir.path().join("theirs.db");
        let mut theirs = Catalog::open(&theirs_path, &crate::catalog::test_key()).unwrap();
        track(&mut theirs, "00000000000000aa", 1);
        track(&mut theirs, "00000000000000bb", 2);
        theirs
            .set_trashed(&[TrackId("00000000000000bb".into())], true)
            .unwrap();
        theirs.purge_trashed(i64::MAX).unwrap();
        drop(theirs);

        let records = Arc::new(RecordStore::new(
            dir.path(),
            &MasterKey::generate().unwrap(),
            "vault",
        ));
        let mut ours =
            Catalog::open(&dir.path().join("ours.db"), &crate::catalog::test_key()).unwrap();
        ours.attach_records(records.clone());
        ours.seal_leftover_records().unwrap();
        let outcome = {
            let snap = ours
                .attach_snapshot(&theirs_path, &crate::catalog::test_key())
                .unwrap();
            let plan = snap.plan().unwrap();
            snap.apply(&plan.new_tracks, &HashSet::new(), &BTreeMap::new(), false)
                .unwrap()
        };
        assert_eq!(outcome.tracks_added, 1);
        assert_eq!(
            ours.records_pending().unwrap(),
            0,
            "no mark outlives the join"
        );
        let id = TrackId("00000000000000aa".into());
        let record = records
            .read(&RecordName::Track(id.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(
            Some(record),
            ours.render_record(&RecordName::Track(id)).unwrap()
        );
        assert_eq!(records.track_ids().unwrap().len(), 1);
        // The purge made there travels in records/tombstones: its removed add.
        let tombstones = records.read(&RecordName::Tombstones).unwrap().unwrap();
        let adds = tombstones.table("content_adds").unwrap();
        assert_eq!(adds.rows.len(), 1, "{adds:?}");
        assert_eq!(adds.get(0, "removed"), Some(&Value::Integer(1)));
        assert_eq!(
            Some(tombstones),
            ours.render_record(&RecordName::Tombstones).unwrap()
        );
    }
}
