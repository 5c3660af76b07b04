//! Joining another device's catalog snapshot into this one: the SQL side of
//! `sync::merge`, which has the rules. The snapshot file is attached as `snap`
//! for as long as an [`AttachedSnapshot`] lives.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rusqlite::{Connection, params};

use super::{Catalog, CatalogError, clock, now_unix};
use crate::store::ChunkId;

type Result<T> = std::result::Result<T, CatalogError>;

/// A track of the snapshot that could not be merged: a chunk of it could not be
/// fetched.
#[derive(Debug, Clone)]
pub struct UnavailableTrack {
    pub track_id: String,
    pub file_name: String,
    pub chunk: ChunkId,
}

/// What a merge would bring: the snapshot's tracks to insert, and every chunk
/// they reference (id, stored size), each once.
pub(crate) struct MergePlan {
    pub new_tracks: Vec<String>,
    pub chunks: Vec<(ChunkId, u64)>,
}

/// What one merge changed.
#[derive(Debug, Clone, Default)]
pub struct MergeOutcome {
    pub tracks_added: u64,
    pub tracks_state_changed: u64,
    pub tracks_purged: u64,
    pub failed: Vec<UnavailableTrack>,
}

/// A catalog snapshot attached to this catalog as `snap`; detached on drop.
pub(crate) struct AttachedSnapshot<'a> {
    catalog: &'a Catalog,
}

impl Catalog {
    /// Attaches the catalog file at `path` (encrypted under `key`, as every
    /// catalog file in the vault folder is) as `snap`.
    pub(crate) fn attach_snapshot(
        &self,
        path: &Path,
        key: &super::CatalogKey,
    ) -> Result<AttachedSnapshot<'_>> {
        super::cipher::attach(&self.conn, path, "snap", key).map_err(|e| self.err(e))?;
        Ok(AttachedSnapshot { catalog: self })
    }
}

impl Drop for AttachedSnapshot<'_> {
    fn drop(&mut self) {
        let _ = self.catalog.conn.execute("DETACH DATABASE snap", []);
    }
}

impl AttachedSnapshot<'_> {
    /// Tracks of the snapshot whose content is alive after the join and missing
    /// here, and every chunk they need (id, stored size), each once.
    pub(crate) fn plan(&self) -> Result<MergePlan> {
        let catalog = self.catalog;
        let conn = catalog.conn();
        let err = |e| catalog.err(e);
        let mut stmt = conn
            .prepare(
                "SELECT s.id FROM snap.tracks s
             WHERE NOT EXISTS (SELECT 1 FROM main.tracks m WHERE m.sha256 = s.sha256)
             AND NOT EXISTS (SELECT 1 FROM main.tracks m WHERE m.id = s.id)
             AND (
                 EXISTS (SELECT 1 FROM snap.content_adds a
                         WHERE a.sha256 = s.sha256 AND a.removed = 0
                         AND NOT EXISTS (SELECT 1 FROM main.content_adds b
                                         WHERE b.sha256 = a.sha256 AND b.device = a.device
                                         AND b.clock = a.clock AND b.removed = 1))
                 OR (NOT EXISTS (SELECT 1 FROM snap.content_adds a WHERE a.sha256 = s.sha256)
                     AND NOT EXISTS (SELECT 1 FROM main.content_adds b
                                     WHERE b.sha256 = s.sha256 AND b.removed = 1)))
             ORDER BY s.rowid",
            )
            .map_err(&err)?;
        let new_tracks: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(&err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(&err)?;
        let mut needed = Vec::new();
        let mut seen = HashSet::new();
        let mut chunks = conn
            .prepare(
                "SELECT tc.chunk_id, c.stored_size FROM snap.track_chunks tc
                 JOIN snap.chunks c ON c.id = tc.chunk_id WHERE tc.track_id = ?1
             UNION ALL SELECT t.artwork_id, c.stored_size FROM snap.tracks t
                 JOIN snap.chunks c ON c.id = t.artwork_id WHERE t.id = ?1",
            )
            .map_err(&err)?;
        for t in &new_tracks {
            let ids: Vec<(Vec<u8>, i64)> = chunks
                .query_map([t], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(&err)?;
            for (raw, stored_size) in ids {
                let Some(id) = ChunkId::from_slice(&raw) else {
                    continue;
                };
                if seen.insert(id) {
                    needed.push((id, stored_size.max(0) as u64));
                }
            }
        }
        Ok(MergePlan {
            new_tracks,
            chunks: needed,
        })
    }

    /// How many tracks here would change state, and how many would be deleted as
    /// purged, if the snapshot were merged.
    pub(crate) fn count_changes(&self) -> Result<(u64, u64)> {
        let catalog = self.catalog;
        let conn = catalog.conn();
        let err = |e| catalog.err(e);
        let state_changes: i64 = conn
            .query_row(
                "SELECT count(*) FROM main.tracks m JOIN snap.tracks s ON s.sha256 = m.sha256
             WHERE m.state != s.state
               AND (s.state_clock > m.state_clock
                    OR (s.state_clock = m.state_clock AND s.state = 'active'))",
                [],
                |r| r.get(0),
            )
            .map_err(&err)?;
        // Tracks here none of whose adds would stay alive once the snapshot's are joined.
        let purges: i64 = conn
            .query_row(
                "SELECT count(*) FROM main.tracks m
             WHERE EXISTS (SELECT 1 FROM main.content_adds a WHERE a.sha256 = m.sha256)
               AND NOT EXISTS (
                   SELECT 1 FROM (
                       SELECT device, clock, removed FROM main.content_adds WHERE sha256 = m.sha256
                       UNION ALL
                       SELECT device, clock, removed FROM snap.content_adds WHERE sha256 = m.sha256)
                   GROUP BY device, clock HAVING max(removed) = 0)",
                [],
                |r| r.get(0),
            )
            .map_err(&err)?;
        Ok((state_changes as u64, purges as u64))
    }

    /// The join, in one transaction (see `sync::merge` for its rules): inserts
    /// `new_tracks` (skipping those with a chunk in `unavailable`), joins adds,
    /// tombstones, trash states and the Lamport clock, deletes tracks no longer
    /// alive, and raises `heads` when every track came over.
    pub(crate) fn apply(
        &self,
        new_tracks: &[String],
        unavailable: &HashSet<ChunkId>,
        heads: &BTreeMap<String, u64>,
        cloning: bool,
    ) -> Result<MergeOutcome> {
        let catalog = self.catalog;
        let conn = catalog.conn();
        let err = |e| catalog.err(e);
        let tx = conn.unchecked_transaction().map_err(&err)?;
        let mut report = MergeOutcome::default();

        let seen: i64 = tx
            .query_row(
                "SELECT max((SELECT value FROM snap.lamport WHERE id = 1),
                        ifnull((SELECT max(clock) FROM snap.content_adds), 0),
                        ifnull((SELECT max(state_clock) FROM snap.tracks), 0))",
                [],
                |r| r.get(0),
            )
            .map_err(&err)?;
        clock::observe(&tx, seen).map_err(&err)?;
        // An add is updated only when the snapshot removes it: rewriting the same value
        // still fires the update triggers, which re-sealed every track's record and
        // bumped the sync generation on every pull (O(library) file writes).
        tx.execute_batch(
        "INSERT INTO main.content_adds (sha256, device, clock, removed)
             SELECT sha256, device, clock, removed FROM snap.content_adds WHERE true
             ON CONFLICT (sha256, device, clock) DO UPDATE SET removed = 1
             WHERE excluded.removed > removed;
         INSERT INTO main.tombstones (sha256, clock, purged_at)
             SELECT sha256, clock, purged_at FROM snap.tombstones WHERE true
             ON CONFLICT (sha256) DO UPDATE SET clock = excluded.clock, purged_at = excluded.purged_at
             WHERE excluded.clock > clock;",
    )
    .map_err(&err)?;

        let track_cols = columns(&tx, "tracks").map_err(&err)?;
        let select_cols: Vec<String> = track_cols
            .iter()
            .map(|c| {
                if c == "import_job_id" {
                    "NULL".to_string()
                } else {
                    format!("s.\"{c}\"")
                }
            })
            .collect();
        let insert_track = format!(
            "INSERT INTO main.tracks ({}) SELECT {} FROM snap.tracks s WHERE s.id = ?1",
            track_cols
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            select_cols.join(", ")
        );
        {
            let mut chunk_ids = tx
            .prepare(
                "SELECT chunk_id FROM snap.track_chunks WHERE track_id = ?1
                 UNION ALL SELECT artwork_id FROM snap.tracks WHERE id = ?1 AND artwork_id IS NOT NULL",
            )
            .map_err(&err)?;
            let mut name = tx
                .prepare("SELECT file_name FROM snap.tracks WHERE id = ?1")
                .map_err(&err)?;
            for t in new_tracks {
                let ids: Vec<Vec<u8>> = chunk_ids
                    .query_map([t], |r| r.get(0))
                    .map_err(&err)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(&err)?;
                if let Some(bad) = ids
                    .iter()
                    .filter_map(|b| ChunkId::from_slice(b))
                    .find(|id| unavailable.contains(id))
                {
                    report.failed.push(UnavailableTrack {
                        track_id: t.clone(),
                        file_name: name.query_row([t], |r| r.get(0)).map_err(&err)?,
                        chunk: bad,
                    });
                    continue;
                }
                tx.execute(
                    "INSERT OR IGNORE INTO main.chunks (id, size, stored_size, created_at)
                 SELECT c.id, c.size, c.stored_size, ?2 FROM snap.chunks c
                 WHERE c.id IN (SELECT chunk_id FROM snap.track_chunks WHERE track_id = ?1
                                UNION SELECT artwork_id FROM snap.tracks WHERE id = ?1)",
                    params![t, now_unix()],
                )
                .map_err(&err)?;
                tx.execute(&insert_track, [t]).map_err(&err)?;
                tx.execute(
                "INSERT INTO main.track_chunks SELECT * FROM snap.track_chunks WHERE track_id = ?1",
                [t],
            )
            .map_err(&err)?;
                tx.execute(
                    "INSERT INTO main.track_tags SELECT * FROM snap.track_tags WHERE track_id = ?1",
                    [t],
                )
                .map_err(&err)?;
                report.tracks_added += 1;
            }
        }

        // State: the larger stamp wins; between equal ones, 'active'.
        report.tracks_state_changed = tx
            .execute(
                "UPDATE main.tracks AS m SET state = s.state, trashed_at = s.trashed_at,
                 state_changed_at = s.state_changed_at, state_clock = s.state_clock
             FROM snap.tracks AS s
             WHERE m.sha256 = s.sha256 AND m.state != s.state
               AND (s.state_clock > m.state_clock
                    OR (s.state_clock = m.state_clock AND s.state = 'active'))",
                [],
            )
            .map_err(&err)? as u64;
        tx.execute(
            "UPDATE main.tracks AS m SET state_clock = s.state_clock, trashed_at = s.trashed_at,
             state_changed_at = s.state_changed_at
         FROM snap.tracks AS s
         WHERE m.sha256 = s.sha256 AND m.state = s.state AND s.state_clock > m.state_clock",
            [],
        )
        .map_err(&err)?;

        // Contents no longer alive: every add removed (a purge that saw them all).
        // Tracks with no adds at all (never the case for synced catalogs) are left be.
        let purged: Vec<Vec<u8>> = {
            let mut stmt = tx
                .prepare(
                    "DELETE FROM main.tracks
                 WHERE EXISTS (SELECT 1 FROM main.content_adds a WHERE a.sha256 = tracks.sha256)
                   AND NOT EXISTS (SELECT 1 FROM main.content_adds a
                                   WHERE a.sha256 = tracks.sha256 AND a.removed = 0)
                 RETURNING sha256",
                )
                .map_err(&err)?;
            stmt.query_map([], |r| r.get(0))
                .map_err(&err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(&err)?
        };
        report.tracks_purged = purged.len() as u64;
        for sha in &purged {
            tx.execute("DELETE FROM main.remote_contents WHERE sha256 = ?1", [sha])
                .map_err(&err)?;
        }

        // Derived data keyed by content: whatever we lack.
        tx.execute_batch(
            "INSERT OR IGNORE INTO main.analysis SELECT * FROM snap.analysis
             WHERE sha256 IN (SELECT sha256 FROM main.tracks);
         INSERT OR IGNORE INTO main.thumbnails SELECT * FROM snap.thumbnails
             WHERE artwork_id IN (SELECT artwork_id FROM main.tracks);
         INSERT OR IGNORE INTO main.remote_contents (sha256)
             SELECT s.sha256 FROM snap.tracks s
             WHERE EXISTS (SELECT 1 FROM main.tracks m WHERE m.sha256 = s.sha256);",
        )
        .map_err(&err)?;
        if cloning {
            tx.execute_batch("INSERT OR REPLACE INTO main.settings SELECT * FROM snap.settings;")
                .map_err(&err)?;
        }
        if report.failed.is_empty() {
            super::remote::raise_heads(&tx, heads).map_err(&err)?;
        }
        // The join's records (tracks added, restored, trashed or purged, the adds
        // and tombstones) are durable before it commits, as for every write.
        let sealed = catalog.seal_records()?;
        tx.commit().map_err(&err)?;
        sealed.after_commit();
        Ok(report)
    }
}

/// Column names of a table in `main`, for INSERT … SELECT between schemas that
/// match (the snapshot was migrated to ours).
fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA main.table_info({table})"))?;
    stmt.query_map([], |r| r.get::<_, String>(1))?.collect()
}
