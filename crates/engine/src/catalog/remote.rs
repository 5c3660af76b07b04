//! What this device knows of its remote, kept in the catalog (migrations 0006 and
//! 0010): the remote's settings, sync state, the heads of the lines merged, and
//! where each chunk lies. Keeping it here is what lets a push with nothing new
//! finish without a single request. The sync module reads and writes it only
//! through these functions.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Catalog, CatalogError, format_time, now_unix};
use crate::store::ChunkId;

type Result<T> = std::result::Result<T, CatalogError>;

/// Where the remote is. No secrets: those live in the OS keyring. (Its checks and
/// the `s3://` form are in `sync`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteConfig {
    /// `None`: AWS S3 itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    /// Uploads and downloads in flight at once.
    pub parallelism: u32,
}

/// Where one chunk lies on the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub chunk: ChunkId,
    pub pack: [u8; 32],
    pub offset: u64,
    pub length: u64,
}

pub const PUSHED_GENERATION: &str = "pushed_generation";
pub const PUSHED_VAULT_JSON: &str = "pushed_vault_json";
pub const LAST_PUSH_AT: &str = "last_push_at";
pub const LAST_PULL_AT: &str = "last_pull_at";
pub const LAST_MANIFEST: &str = "last_manifest";

pub(crate) fn sql(catalog: &Catalog) -> impl Fn(rusqlite::Error) -> CatalogError + '_ {
    move |e| catalog.err(e)
}

pub fn load_config(catalog: &Catalog) -> Result<Option<RemoteConfig>> {
    catalog
        .conn()
        .query_row(
            "SELECT endpoint, region, bucket, prefix, path_style, parallelism FROM remote_config WHERE id = 1",
            [],
            |r| {
                Ok(RemoteConfig {
                    endpoint: r.get(0)?,
                    region: r.get(1)?,
                    bucket: r.get(2)?,
                    prefix: r.get(3)?,
                    path_style: r.get(4)?,
                    parallelism: r.get(5)?,
                })
            },
        )
        .optional()
        .map_err(sql(catalog))
}

pub fn save_config(catalog: &Catalog, c: &RemoteConfig) -> Result<()> {
    // The remote is in records/settings: written before this commits.
    catalog.sealed_write(|conn| {
        conn.execute(
            "INSERT INTO remote_config (id, endpoint, region, bucket, prefix, path_style, parallelism)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET endpoint = ?1, region = ?2, bucket = ?3, prefix = ?4,
                 path_style = ?5, parallelism = ?6",
            params![c.endpoint, c.region, c.bucket, c.prefix.trim_matches('/'), c.path_style, c.parallelism],
        )
    })?;
    Ok(())
}

pub fn get(catalog: &Catalog, key: &str) -> Result<Option<String>> {
    catalog
        .conn()
        .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql(catalog))
}

pub fn set(catalog: &Catalog, key: &str, value: &str) -> Result<()> {
    catalog
        .conn()
        .execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![key, value],
        )
        .map_err(sql(catalog))?;
    Ok(())
}

/// This copy of the vault's random id on the remote (manifest names carry it).
pub fn device_id(catalog: &Catalog) -> Result<String> {
    catalog.device_id()
}

/// For each device's line, the newest sequence number this catalog includes.
pub fn heads(catalog: &Catalog) -> Result<BTreeMap<String, u64>> {
    let mut stmt = catalog
        .conn()
        .prepare("SELECT device, seq FROM sync_heads")
        .map_err(sql(catalog))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(sql(catalog))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (device, seq) = row.map_err(sql(catalog))?;
        out.insert(device, seq.max(0) as u64);
    }
    Ok(out)
}

/// Records that the catalog now includes these manifests (never lowers a head).
pub fn raise_heads(conn: &Connection, heads: &BTreeMap<String, u64>) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO sync_heads (device, seq) VALUES (?1, ?2)
         ON CONFLICT (device) DO UPDATE SET seq = max(seq, excluded.seq)",
    )?;
    for (device, seq) in heads {
        stmt.execute(params![device, *seq as i64])?;
    }
    Ok(())
}

/// After a push: every track of the pushed snapshot is reachable from a manifest
/// that remote GC keeps (a device's newest manifest always is).
pub fn mark_contents_pushed(conn: &Connection, snapshot_shas: &[Vec<u8>]) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO remote_contents (sha256) VALUES (?1)")?;
    for sha in snapshot_shas {
        stmt.execute([sha])?;
    }
    Ok(())
}

pub fn generation(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT value FROM sync_generation WHERE id = 1", [], |r| {
        r.get(0)
    })
}

pub fn sync_generation(catalog: &Catalog) -> Result<i64> {
    generation(catalog.conn()).map_err(sql(catalog))
}

/// What a catalog snapshot for the remote holds, beside its row stream.
pub struct SnapshotContents {
    /// The catalog's sync generation when it was read (it travels inside the stream).
    pub generation: i64,
    pub schema_version: i64,
    pub tracks: u64,
    /// The SHA-256 of every track.
    pub shas: Vec<Vec<u8>>,
    /// Chunks it references that no known pack holds (audio in track order, then
    /// cover art), each once, with their stored sizes: what the push uploads.
    pub missing: Vec<(ChunkId, u64)>,
    /// The pack holding each referenced chunk that is on the remote (the first
    /// by id, as [`location`] picks): what the manifest must keep from GC.
    pub packs: Vec<[u8; 32]>,
}

/// Tables that belong to this device rather than to the library (remote settings
/// and knowledge, sync state, watched folders, record marks, evictions, plays): a
/// snapshot for the remote carries them without rows.
pub const DEVICE_TABLES: &[&str] = &[
    "remote_config",
    "sync_state",
    "remote_chunks",
    "remote_packs",
    "remote_indexes",
    "remote_gone_packs",
    "sync_totals",
    "track_sync",
    "sync_heads",
    "remote_contents",
    "watch_files",
    "watch_failures",
    "watch_folders",
    "record_dirty",
    "evicted_chunks",
    "track_plays",
];

/// Writes the library's snapshot for the remote into `sink` as a row stream
/// (`catalog::rows`; the push cuts, seals and uploads it as it comes), with
/// [`DEVICE_TABLES`] empty, and returns what the push needs beside it. One read
/// transaction, so the rows, the chunks missing from the remote and the
/// generation are one consistent state whatever another connection commits
/// meanwhile. Nothing is copied: memory stays the same whatever the library's size.
pub fn write_snapshot_to(
    catalog: &Catalog,
    sink: &mut dyn std::io::Write,
) -> Result<SnapshotContents> {
    let conn = catalog.conn();
    let e = sql(catalog);
    conn.execute_batch("BEGIN").map_err(&e)?;
    let contents = snapshot_in_transaction(catalog, sink);
    // A read transaction: ending it can only release the snapshot.
    let _ = conn.execute_batch("COMMIT");
    contents
}

fn snapshot_in_transaction(
    catalog: &Catalog,
    sink: &mut dyn std::io::Write,
) -> Result<SnapshotContents> {
    let conn = catalog.conn();
    let e = sql(catalog);
    let version: i64 = conn
        .query_row("PRAGMA main.user_version", [], |r| r.get(0))
        .map_err(&e)?;
    let generation: i64 = conn
        .query_row("SELECT value FROM sync_generation WHERE id = 1", [], |r| {
            r.get(0)
        })
        .map_err(&e)?;
    let shas: Vec<Vec<u8>> = conn
        .prepare("SELECT sha256 FROM tracks")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .map_err(&e)?;
    // Only the chunks the remote lacks are gathered, by the catalog's index on
    // `remote_chunks`: a push of a few tracks must not hold every chunk id of the
    // library (or of the remote) in memory.
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    for query in [
        "SELECT tc.chunk_id, c.stored_size FROM track_chunks tc
         JOIN chunks c ON c.id = tc.chunk_id
         WHERE NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = tc.chunk_id)
         ORDER BY tc.track_id, tc.seq",
        "SELECT DISTINCT c.id, c.stored_size FROM tracks t
         JOIN chunks c ON c.id = t.artwork_id
         WHERE NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = c.id)",
    ] {
        let mut stmt = conn.prepare(query).map_err(&e)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
            .map_err(&e)?;
        for row in rows {
            let (id, size) = row.map_err(&e)?;
            if let Some(id) = ChunkId::from_slice(&id)
                && seen.insert(id)
            {
                missing.push((id, size.max(0) as u64));
            }
        }
    }
    let packs: Vec<[u8; 32]> = conn
        .prepare(
            "SELECT DISTINCT (SELECT r.pack_id FROM remote_chunks r WHERE r.chunk_id = x.id
                              ORDER BY r.pack_id LIMIT 1) AS pack
             FROM (SELECT chunk_id AS id FROM track_chunks
                   UNION SELECT artwork_id FROM tracks WHERE artwork_id IS NOT NULL) x
             WHERE pack IS NOT NULL",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(&e)?
        .into_iter()
        .filter_map(|p| p.try_into().ok())
        .collect();
    // Rows, not the database file: see `rows` for why (a file's pages move).
    super::rows::encode_to(conn, "main", DEVICE_TABLES, sink)?;
    Ok(SnapshotContents {
        generation,
        schema_version: version,
        tracks: shas.len() as u64,
        shas,
        missing,
        packs,
    })
}

/// A snapshot and its row stream, whole in memory (tests).
#[cfg(test)]
pub struct WrittenSnapshot {
    pub bytes: Vec<u8>,
    pub contents: SnapshotContents,
}

#[cfg(test)]
pub fn write_snapshot(catalog: &Catalog) -> Result<WrittenSnapshot> {
    let mut bytes = Vec::new();
    let contents = write_snapshot_to(catalog, &mut bytes)?;
    Ok(WrittenSnapshot { bytes, contents })
}

/// After a push: this device's line is at `seq`, and every content of the pushed
/// snapshot is in the cloud. One transaction.
pub fn record_push(
    catalog: &Catalog,
    device: &str,
    seq: u64,
    snapshot_shas: &[Vec<u8>],
) -> Result<()> {
    let e = sql(catalog);
    let tx = catalog.conn().unchecked_transaction().map_err(&e)?;
    raise_heads(&tx, &BTreeMap::from([(device.to_string(), seq)])).map_err(&e)?;
    mark_contents_pushed(&tx, snapshot_shas).map_err(&e)?;
    tx.commit().map_err(&e)
}

/// Every known location of every remote chunk, by pack (what `verify --remote`
/// expects each pack to hold).
pub fn locations_by_pack(catalog: &Catalog) -> Result<HashMap<[u8; 32], Vec<Location>>> {
    let mut stmt = catalog
        .conn()
        .prepare("SELECT chunk_id, pack_id, offset, length FROM remote_chunks")
        .map_err(sql(catalog))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })
        .map_err(sql(catalog))?;
    let mut out: HashMap<[u8; 32], Vec<Location>> = HashMap::new();
    for row in rows {
        let (c, p, o, l) = row.map_err(sql(catalog))?;
        if let (Some(chunk), Ok(pack)) = (ChunkId::from_slice(&c), <[u8; 32]>::try_from(p)) {
            out.entry(pack).or_default().push(Location {
                chunk,
                pack,
                offset: o as u64,
                length: l as u64,
            });
        }
    }
    Ok(out)
}

/// Chunks a track references that no known remote pack holds. Chunk rows no
/// track references any more (a purge merged from another device, before local
/// GC) are not counted: no push would ever send them.
pub fn unsynced_chunks(catalog: &Catalog) -> Result<(u64, u64)> {
    catalog
        .conn()
        .query_row(
            "SELECT count(*), ifnull(sum(stored_size), 0) FROM chunks c
             WHERE NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = c.id)
               AND (EXISTS (SELECT 1 FROM track_chunks tc WHERE tc.chunk_id = c.id)
                    OR EXISTS (SELECT 1 FROM tracks t WHERE t.artwork_id = c.id))",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )
        .map_err(sql(catalog))
}

pub fn location(catalog: &Catalog, id: &ChunkId) -> Result<Option<Location>> {
    catalog
        .conn()
        .query_row(
            "SELECT pack_id, offset, length FROM remote_chunks WHERE chunk_id = ?1
             ORDER BY pack_id LIMIT 1",
            [&id.0[..]],
            |r| {
                let pack: Vec<u8> = r.get(0)?;
                Ok((pack, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            },
        )
        .optional()
        .map_err(sql(catalog))
        .map(|o| {
            o.and_then(|(pack, offset, length)| {
                Some(Location {
                    chunk: *id,
                    pack: pack.try_into().ok()?,
                    offset: offset as u64,
                    length: length as u64,
                })
            })
        })
}

/// Whether some known pack holds the chunk (one lookup in the primary key).
pub fn has_location(catalog: &Catalog, id: &ChunkId) -> Result<bool> {
    catalog
        .conn()
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM remote_chunks WHERE chunk_id = ?1)")
        .and_then(|mut stmt| stmt.query_row([&id.0[..]], |r| r.get(0)))
        .map_err(sql(catalog))
}

/// Records packs that are on the remote, with their chunks. `index_name` is None
/// for this device's own packs until an index object lists them.
pub fn record_packs(
    catalog: &Catalog,
    packs: &[([u8; 32], u64)],
    entries: &[Location],
    index_name: Option<&str>,
) -> Result<()> {
    let tx = catalog
        .conn()
        .unchecked_transaction()
        .map_err(sql(catalog))?;
    {
        let mut pack_stmt = tx
            .prepare_cached(
                "INSERT INTO remote_packs (id, size, index_name, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET index_name = ifnull(index_name, ?3)",
            )
            .map_err(sql(catalog))?;
        let mut gone_stmt = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM remote_gone_packs WHERE id = ?1)")
            .map_err(sql(catalog))?;
        let mut gone = HashSet::new();
        for (id, size) in packs {
            if gone_stmt
                .query_row([&id[..]], |r| r.get::<_, bool>(0))
                .map_err(sql(catalog))?
            {
                gone.insert(*id);
                continue;
            }
            pack_stmt
                .execute(params![&id[..], *size as i64, index_name, now_unix()])
                .map_err(sql(catalog))?;
        }
        // Every copy is recorded: two devices may have uploaded the same chunk, and
        // either pack may be collected later.
        let mut chunk_stmt = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO remote_chunks (chunk_id, pack_id, offset, length) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(sql(catalog))?;
        for e in entries.iter().filter(|e| !gone.contains(&e.pack)) {
            chunk_stmt
                .execute(params![
                    &e.chunk.0[..],
                    &e.pack[..],
                    e.offset as i64,
                    e.length as i64
                ])
                .map_err(sql(catalog))?;
        }
        if let Some(name) = index_name {
            tx.execute(
                "INSERT OR IGNORE INTO remote_indexes (name) VALUES (?1)",
                [name],
            )
            .map_err(sql(catalog))?;
        }
    }
    tx.commit().map_err(sql(catalog))?;
    Ok(())
}

/// Packs (id, size) with the chunks in them.
pub struct PackList {
    pub packs: Vec<([u8; 32], u64)>,
    pub entries: Vec<Location>,
}

/// This device's packs that no index object lists yet, with their chunks.
pub fn unindexed(catalog: &Catalog) -> Result<PackList> {
    let conn = catalog.conn();
    let mut packs_stmt = conn
        .prepare(
            "SELECT id, size FROM remote_packs WHERE index_name IS NULL ORDER BY created_at, id",
        )
        .map_err(sql(catalog))?;
    let packs: Vec<([u8; 32], u64)> = packs_stmt
        .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
        .map_err(sql(catalog))?
        .filter_map(|row| {
            row.ok()
                .and_then(|(id, size)| Some((id.try_into().ok()?, size as u64)))
        })
        .collect();
    let mut entries = Vec::new();
    let mut chunk_stmt = conn
        .prepare(
            "SELECT chunk_id, offset, length FROM remote_chunks WHERE pack_id = ?1 ORDER BY offset",
        )
        .map_err(sql(catalog))?;
    for (pack, _) in &packs {
        let rows = chunk_stmt
            .query_map([&pack[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(sql(catalog))?;
        for row in rows {
            let (chunk, offset, length) = row.map_err(sql(catalog))?;
            if let Some(chunk) = ChunkId::from_slice(&chunk) {
                entries.push(Location {
                    chunk,
                    pack: *pack,
                    offset: offset as u64,
                    length: length as u64,
                });
            }
        }
    }
    Ok(PackList { packs, entries })
}

pub fn mark_indexed(catalog: &Catalog, packs: &[[u8; 32]], index_name: &str) -> Result<()> {
    let tx = catalog
        .conn()
        .unchecked_transaction()
        .map_err(sql(catalog))?;
    for p in packs {
        tx.execute(
            "UPDATE remote_packs SET index_name = ?2 WHERE id = ?1",
            params![&p[..], index_name],
        )
        .map_err(sql(catalog))?;
    }
    tx.execute(
        "INSERT OR IGNORE INTO remote_indexes (name) VALUES (?1)",
        [index_name],
    )
    .map_err(sql(catalog))?;
    tx.commit().map_err(sql(catalog))?;
    Ok(())
}

pub fn known_indexes(catalog: &Catalog) -> Result<HashSet<String>> {
    let mut stmt = catalog
        .conn()
        .prepare("SELECT name FROM remote_indexes")
        .map_err(sql(catalog))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql(catalog))?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql(catalog))
}

pub fn known_packs(catalog: &Catalog) -> Result<Vec<([u8; 32], Option<String>)>> {
    let mut stmt = catalog
        .conn()
        .prepare("SELECT id, index_name FROM remote_packs")
        .map_err(sql(catalog))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .map_err(sql(catalog))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, index) = row.map_err(sql(catalog))?;
        if let Ok(id) = id.try_into() {
            out.push((id, index));
        }
    }
    Ok(out)
}

/// Forgets packs that are gone from the remote (or doomed by remote GC): their
/// chunks count as not uploaded again, so the next push re-sends them.
pub fn forget_packs(catalog: &Catalog, packs: &[[u8; 32]]) -> Result<()> {
    forget(catalog, packs, false)
}

/// [`forget_packs`], and with `gone` each recorded as deleted, in one transaction.
fn forget(catalog: &Catalog, packs: &[[u8; 32]], gone: bool) -> Result<()> {
    let tx = catalog
        .conn()
        .unchecked_transaction()
        .map_err(sql(catalog))?;
    for p in packs {
        if gone {
            tx.execute(
                "INSERT OR IGNORE INTO remote_gone_packs (id) VALUES (?1)",
                [&p[..]],
            )
            .map_err(sql(catalog))?;
        }
        tx.execute("DELETE FROM remote_chunks WHERE pack_id = ?1", [&p[..]])
            .map_err(sql(catalog))?;
        tx.execute("DELETE FROM remote_packs WHERE id = ?1", [&p[..]])
            .map_err(sql(catalog))?;
    }
    tx.commit().map_err(sql(catalog))?;
    Ok(())
}

/// Packs remote GC deleted (read from its `gone/` records, or written by this
/// device's GC): forgotten now and never recorded again.
pub fn record_gone(catalog: &Catalog, packs: &[[u8; 32]]) -> Result<()> {
    forget(catalog, packs, true)
}

/// Indexes read or written whose packs are all gone.
pub fn orphan_indexes(catalog: &Catalog) -> Result<Vec<String>> {
    let mut stmt = catalog
        .conn()
        .prepare(
            "SELECT name FROM remote_indexes i
             WHERE NOT EXISTS (SELECT 1 FROM remote_packs p WHERE p.index_name = i.name)",
        )
        .map_err(sql(catalog))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql(catalog))?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql(catalog))
}

pub fn forget_index(catalog: &Catalog, name: &str) -> Result<()> {
    catalog
        .conn()
        .execute("DELETE FROM remote_indexes WHERE name = ?1", [name])
        .map_err(sql(catalog))?;
    Ok(())
}

/// The sync side of the catalog at a glance.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    /// This device's id: its line of manifests on the remote is named after it.
    pub device: String,
    pub configured: bool,
    pub remote: Option<String>,
    pub last_push_at: Option<String>,
    pub last_pull_at: Option<String>,
    pub remote_packs: u64,
    pub remote_chunks: u64,
    /// Chunks the catalog references that are not on the remote yet.
    pub pending_chunks: u64,
    pub pending_bytes: u64,
    /// Tracks whose every chunk is on the remote.
    pub tracks_on_remote: u64,
    pub tracks_local_only: u64,
    /// True when the catalog changed since the last push.
    pub catalog_changed: bool,
}

/// The counts of [`SyncStatus`] that depend on the library's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncCounts {
    pub remote_packs: u64,
    pub remote_chunks: u64,
    pub pending_chunks: u64,
    pub pending_bytes: u64,
    pub tracks: u64,
    pub tracks_local_only: u64,
}

/// The counts as kept by migration 0018's triggers: a few rows read, whatever
/// the library's size.
pub fn sync_counts(catalog: &Catalog) -> Result<SyncCounts> {
    let conn = catalog.conn();
    let kept = conn
        .query_row(
            "SELECT s.remote_packs, s.remote_chunks, s.pending_chunks, s.pending_bytes,
                    t.active_tracks + t.trashed_tracks, s.tracks_local_only
             FROM sync_totals s, totals t WHERE s.id = 1 AND t.id = 1",
            [],
            |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                Ok(SyncCounts {
                    remote_packs: n(0)?,
                    remote_chunks: n(1)?,
                    pending_chunks: n(2)?,
                    pending_bytes: n(3)?,
                    tracks: n(4)?,
                    tracks_local_only: n(5)?,
                })
            },
        )
        .optional()
        .map_err(sql(catalog))?;
    match kept {
        Some(counts) => Ok(counts),
        // Only a catalog whose totals row went missing: counted the long way.
        None => sync_counts_by_scan(catalog),
    }
}

/// The counts from the rows themselves (what the totals must always equal).
pub fn sync_counts_by_scan(catalog: &Catalog) -> Result<SyncCounts> {
    let (pending_chunks, pending_bytes) = unsynced_chunks(catalog)?;
    let conn = catalog.conn();
    let count = |q: &str| -> Result<u64> {
        conn.query_row(q, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(sql(catalog))
    };
    Ok(SyncCounts {
        remote_packs: count("SELECT count(*) FROM remote_packs")?,
        remote_chunks: count("SELECT count(DISTINCT chunk_id) FROM remote_chunks")?,
        pending_chunks,
        pending_bytes,
        tracks: count("SELECT count(*) FROM tracks")?,
        tracks_local_only: count(
            "SELECT count(*) FROM tracks t WHERE NOT EXISTS (
                 SELECT 1 FROM remote_contents rc WHERE rc.sha256 = t.sha256)
             OR EXISTS (
                 SELECT 1 FROM track_chunks tc WHERE tc.track_id = t.id
                 AND NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = tc.chunk_id))",
        )?,
    })
}

pub fn status(catalog: &Catalog) -> Result<SyncStatus> {
    let config = load_config(catalog)?;
    let time = |key: &str| -> Result<Option<String>> {
        Ok(get(catalog, key)?
            .and_then(|v| v.parse::<i64>().ok())
            .map(format_time))
    };
    let counts = sync_counts(catalog)?;
    let pushed: Option<i64> = get(catalog, PUSHED_GENERATION)?.and_then(|v| v.parse().ok());
    let current = generation(catalog.conn()).map_err(sql(catalog))?;
    Ok(SyncStatus {
        device: catalog.device_id()?,
        configured: config.is_some(),
        remote: config.map(|c| c.url()),
        last_push_at: time(LAST_PUSH_AT)?,
        last_pull_at: time(LAST_PULL_AT)?,
        remote_packs: counts.remote_packs,
        remote_chunks: counts.remote_chunks,
        pending_chunks: counts.pending_chunks,
        pending_bytes: counts.pending_bytes,
        tracks_on_remote: counts.tracks.saturating_sub(counts.tracks_local_only),
        tracks_local_only: counts.tracks_local_only,
        catalog_changed: pushed != Some(current),
    })
}

/// Whether each track is in the cloud: its content is in a manifest this device
/// pushed or merged (and so reachable from a manifest remote GC keeps), and every
/// chunk lies in a pack known to be there. False for an id the catalog does not
/// hold. One cached statement per id: a page of the library is a few hundred
/// index lookups.
pub fn tracks_on_remote(catalog: &Catalog, ids: &[String]) -> Result<Vec<bool>> {
    let mut stmt = catalog
        .conn()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM tracks t JOIN remote_contents rc ON rc.sha256 = t.sha256
                            WHERE t.id = ?1)
             AND NOT EXISTS (
                 SELECT 1 FROM track_chunks tc WHERE tc.track_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM remote_chunks r WHERE r.chunk_id = tc.chunk_id))
             AND EXISTS (SELECT 1 FROM remote_chunks LIMIT 1)",
        )
        .map_err(sql(catalog))?;
    ids.iter()
        .map(|id| {
            stmt.query_row([id], |r| r.get::<_, bool>(0))
                .map_err(sql(catalog))
        })
        .collect()
}

/// Where a track's bytes are: only on this device, or also on the remote (held by
/// a catalog there that remote GC keeps, every chunk in a known pack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TrackLocation {
    #[default]
    Local,
    Both,
    /// In the cloud only: this device evicted some of its chunks (see
    /// `sync::evict`); it plays and exports from the bucket.
    Cloud,
}

/// Where each track's bytes are: evicted chunks make it `Cloud`, else
/// [`tracks_on_remote`] decides between `Both` and `Local`.
pub fn locations(catalog: &Catalog, ids: &[String]) -> Result<Vec<TrackLocation>> {
    let on_remote = tracks_on_remote(catalog, ids)?;
    let evicted = super::cloud::tracks_evicted(catalog, ids)?;
    Ok(on_remote
        .into_iter()
        .zip(evicted)
        .map(|(remote, evicted)| match (evicted, remote) {
            (true, _) => TrackLocation::Cloud,
            (false, true) => TrackLocation::Both,
            (false, false) => TrackLocation::Local,
        })
        .collect())
}

/// Sets each track's `location` (see [`locations`]).
pub fn fill_locations(catalog: &Catalog, tracks: &mut [super::Track]) -> Result<()> {
    let ids: Vec<String> = tracks.iter().map(|t| t.id.0.clone()).collect();
    for (track, location) in tracks.iter_mut().zip(locations(catalog, &ids)?) {
        track.location = location;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(dir: &std::path::Path) -> Catalog {
        crate::catalog::three_tracks_over_four_chunks(dir)
    }

    fn on_remote(catalog: &Catalog, chunks: &[u8]) {
        let pack = [chunks[0]; 32];
        let entries: Vec<Location> = chunks
            .iter()
            .enumerate()
            .map(|(n, c)| Location {
                chunk: ChunkId([*c; 32]),
                pack,
                offset: n as u64 * 129,
                length: 129,
            })
            .collect();
        record_packs(
            catalog,
            &[(pack, 129 * chunks.len() as u64)],
            &entries,
            None,
        )
        .unwrap();
    }

    fn ids() -> Vec<String> {
        (1..=4).map(|i| format!("{i:016x}")).collect()
    }

    fn sha(track: u8) -> Vec<u8> {
        let mut sha = vec![0u8; 32];
        sha[0] = track;
        sha
    }

    #[test]
    fn a_track_is_on_the_remote_only_when_a_manifest_holds_it_and_every_chunk_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        // Nothing pushed: every track, and an unknown id, is local only.
        assert_eq!(
            tracks_on_remote(&c, &ids()).unwrap(),
            [false, false, false, false]
        );
        // Every chunk uploaded, but no manifest holds the tracks yet (a push cut
        // short before its manifest): still local only.
        on_remote(&c, &[1, 2]);
        on_remote(&c, &[3]);
        assert_eq!(
            tracks_on_remote(&c, &ids()).unwrap(),
            [false, false, false, false]
        );
        forget_packs(&c, &[[1; 32], [3; 32]]).unwrap();
        mark_contents_pushed(c.conn(), &[sha(1), sha(2), sha(3)]).unwrap();
        // a and b up: track 1 is whole there; track 2 still lacks c.
        on_remote(&c, &[1, 2]);
        assert_eq!(
            tracks_on_remote(&c, &ids()).unwrap(),
            [true, false, false, false]
        );
        on_remote(&c, &[3]);
        assert_eq!(
            tracks_on_remote(&c, &ids()).unwrap(),
            [true, true, false, false]
        );
        // The answers follow the order asked, repeats included.
        let asked = vec![ids()[2].clone(), ids()[0].clone(), ids()[0].clone()];
        assert_eq!(tracks_on_remote(&c, &asked).unwrap(), [false, true, true]);
        // A pack the remote lost (or GC doomed) takes its tracks back to local only.
        forget_packs(&c, &[[1; 32]]).unwrap();
        assert_eq!(
            tracks_on_remote(&c, &ids()).unwrap(),
            [false, false, false, false]
        );
        let status = status(&c).unwrap();
        assert_eq!((status.tracks_on_remote, status.tracks_local_only), (0, 3));
    }

    /// `sync status` reads running totals (migration 0018) instead of scanning: through
    /// a random mix of everything that moves them — tracks sharing chunks and cover
    /// art, repeats inside a track, packs recorded (with chunks no track references),
    /// forgotten and deleted, contents pushed, trash, purge and GC, a metadata
    /// rescan's new artwork, and the migration over a catalog that already holds all
    /// of it — the totals equal the rows after every step.
    #[test]
    fn sync_totals_match_the_rows_through_every_change_that_moves_them() {
        use crate::catalog::{NewArtwork, NewChunk, TrackId, TrackMetadata};
        let dir = tempfile::tempdir().unwrap();
        let mut c =
            Catalog::open(&dir.path().join("catalog.db"), &crate::catalog::test_key()).unwrap();
        let check = |c: &Catalog, step: &str| {
            assert_eq!(
                sync_counts(c).unwrap(),
                sync_counts_by_scan(c).unwrap(),
                "after {step}"
            );
        };
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut packs: Vec<[u8; 32]> = Vec::new();
        let mut shas: Vec<[u8; 32]> = Vec::new();
        let mut tracks: Vec<TrackId> = Vec::new();
        for step in 0..300u32 {
            let op = next(9);
            let name = format!("step {step} (op {op})");
            match op {
                0..=2 => {
                    // A track over 1-4 chunks of a pool of 8 (repeats allowed), some with art.
                    let id = TrackId(format!("{:016x}", 1000 + step));
                    let mut sha = [0u8; 32];
                    sha[..4].copy_from_slice(&step.to_le_bytes());
                    let chunks: Vec<NewChunk> = (0..1 + next(4))
                        .map(|n| {
                            NewChunk::plain(
                                ChunkId([next(8) as u8 + 1; 32]),
                                n * 100,
                                100,
                                129 + next(3),
                            )
                        })
                        .collect();
                    let art = (next(3) == 0).then(|| NewArtwork {
                        chunk: ChunkId([next(12) as u8 + 1; 32]),
                        size: 50,
                        stored_size: 79,
                        mime_type: "image/png".into(),
                        thumbnail: None,
                    });
                    crate::catalog::commit_test_track(&mut c, &id, &sha, &chunks, art.as_ref());
                    tracks.push(id);
                    shas.push(sha);
                }
                3 => {
                    // A pack of 1-3 chunks, maybe one no track has (a snapshot's).
                    let pack = [
                        200 + (step % 50) as u8,
                        step as u8,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                        7,
                    ];
                    let entries: Vec<Location> = (0..1 + next(8))
                        .map(|n| Location {
                            chunk: ChunkId([next(14) as u8 + 1; 32]),
                            pack,
                            offset: n * 129,
                            length: 129,
                        })
                        .collect();
                    record_packs(&c, &[(pack, 400)], &entries, None).unwrap();
                    packs.push(pack);
                }
                4 if !packs.is_empty() => {
                    let p = packs.remove(next(packs.len() as u64) as usize);
                    if next(2) == 0 {
                        forget_packs(&c, &[p]).unwrap();
                    } else {
                        record_gone(&c, &[p]).unwrap();
                    }
                }
                5 if !shas.is_empty() => {
                    let sha = shas[next(shas.len() as u64) as usize];
                    mark_contents_pushed(c.conn(), &[sha.to_vec()]).unwrap();
                }
                6 if !tracks.is_empty() => {
                    let id = tracks[next(tracks.len() as u64) as usize].clone();
                    c.set_trashed(&[id], true).unwrap();
                    if next(2) == 0 {
                        for gone in c.purge_trashed(i64::MAX).unwrap() {
                            tracks.retain(|t| *t != gone);
                        }
                    }
                }
                7 => {
                    c.delete_unreferenced_chunks().unwrap();
                }
                8 if !tracks.is_empty() => {
                    // A rescan finds other cover art (or none).
                    let id = tracks[next(tracks.len() as u64) as usize].clone();
                    let art = (next(2) == 0).then(|| NewArtwork {
                        chunk: ChunkId([next(12) as u8 + 1; 32]),
                        size: 50,
                        stored_size: 79,
                        mime_type: "image/png".into(),
                        thumbnail: None,
                    });
                    c.update_metadata(&id, &TrackMetadata::default(), &[], art.as_ref(), 2)
                        .unwrap();
                }
                _ => {}
            }
            check(&c, &name);
        }
        // Everything up but one chunk, half the contents pushed: tracks on both sides.
        let pack = [199u8; 32];
        let entries: Vec<Location> = (2..=14u8)
            .map(|n| Location {
                chunk: ChunkId([n; 32]),
                pack,
                offset: u64::from(n) * 129,
                length: 129,
            })
            .collect();
        record_packs(&c, &[(pack, 2000)], &entries, None).unwrap();
        let half: Vec<Vec<u8>> = shas.iter().step_by(2).map(|s| s.to_vec()).collect();
        mark_contents_pushed(c.conn(), &half).unwrap();
        check(&c, "the last pack");
        let counts = sync_counts(&c).unwrap();
        assert!(counts.tracks > 0 && counts.remote_chunks > 0, "{counts:?}");
        assert!(
            counts.tracks_local_only > 0 && counts.tracks_local_only < counts.tracks,
            "{counts:?}"
        );

        // The migration counts a catalog that already holds all of this.
        let path = dir.path().join("catalog.db");
        c.conn()
            .execute_batch("DELETE FROM sync_totals; DELETE FROM track_sync;")
            .unwrap();
        c.conn()
            .pragma_update(
                None,
                "user_version",
                crate::catalog::version_before("0018_sync_totals"),
            )
            .unwrap();
        drop(c);
        let c = Catalog::open(&path, &crate::catalog::test_key()).unwrap();
        check(&c, "the migration");
        assert_eq!(sync_counts(&c).unwrap(), counts);
    }
}
