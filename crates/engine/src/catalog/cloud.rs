//! Cloud-only tracks in the catalog (migration 0016): which chunks this device
//! evicted (their files deleted because the remote holds them), when each track
//! was last played here, and what an eviction may take. Device-local: snapshots
//! leave both tables empty (see `remote::write_snapshot`).

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::remote::Location;
use super::{Catalog, CatalogError, TrackId, now_unix};
use crate::store::ChunkId;

type Result<T> = std::result::Result<T, CatalogError>;

/// One chunk of a track an eviction considers.
#[derive(Debug, Clone)]
pub struct PlannedChunk {
    pub id: ChunkId,
    pub stored_size: u64,
    /// Already evicted (by an earlier run).
    pub evicted: bool,
    /// Another track that stays on this device references it: its file stays.
    pub shared_with_local: bool,
    /// Every pack known to hold it (none: not on the remote).
    pub locations: Vec<Location>,
}

/// A track as an eviction sees it.
#[derive(Debug, Clone)]
pub struct PlannedTrack {
    pub id: TrackId,
    pub file_name: String,
    /// Its content is in a manifest this device pushed or merged.
    pub in_a_manifest: bool,
    pub chunks: Vec<PlannedChunk>,
}

/// Where each chunk of `ids` lies and who else needs it. Tracks the catalog does
/// not hold are left out. A chunk counts as shared with a track that stays local
/// when a track outside `ids` references it and none of that track's chunks is
/// evicted (a track already cloud-only does not keep a shared chunk local).
pub fn plan(catalog: &Catalog, ids: &[TrackId]) -> Result<Vec<PlannedTrack>> {
    let conn = catalog.conn();
    let e = |x| catalog.err(x);
    let chosen: HashSet<&str> = ids.iter().map(|i| i.0.as_str()).collect();
    let mut track_stmt = conn
        .prepare_cached(
            "SELECT t.file_name, EXISTS (SELECT 1 FROM remote_contents rc WHERE rc.sha256 = t.sha256)
             FROM tracks t WHERE t.id = ?1",
        )
        .map_err(e)?;
    let mut chunk_stmt = conn
        .prepare_cached(
            "SELECT tc.chunk_id, c.stored_size,
                    EXISTS (SELECT 1 FROM evicted_chunks ev WHERE ev.chunk_id = tc.chunk_id)
             FROM track_chunks tc JOIN chunks c ON c.id = tc.chunk_id
             WHERE tc.track_id = ?1 ORDER BY tc.seq",
        )
        .map_err(e)?;
    let mut users_stmt = conn
        .prepare_cached(
            "SELECT DISTINCT tc.track_id,
                    EXISTS (SELECT 1 FROM track_chunks o JOIN evicted_chunks ev ON ev.chunk_id = o.chunk_id
                            WHERE o.track_id = tc.track_id)
             FROM track_chunks tc WHERE tc.chunk_id = ?1
             UNION
             SELECT t.id, 0 FROM tracks t WHERE t.artwork_id = ?1",
        )
        .map_err(e)?;
    let mut loc_stmt = conn
        .prepare_cached(
            "SELECT pack_id, offset, length FROM remote_chunks WHERE chunk_id = ?1 ORDER BY pack_id",
        )
        .map_err(e)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id.0.as_str()) {
            continue;
        }
        let Some((file_name, in_a_manifest)) = track_stmt
            .query_row([&id.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
            })
            .optional()
            .map_err(e)?
        else {
            continue;
        };
        let rows: Vec<(Vec<u8>, i64, bool)> = chunk_stmt
            .query_map([&id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(e)?
            .collect::<rusqlite::Result<_>>()
            .map_err(e)?;
        let mut chunks = Vec::with_capacity(rows.len());
        for (raw, stored_size, evicted) in rows {
            let Some(chunk) = ChunkId::from_slice(&raw) else {
                continue;
            };
            let users: Vec<(String, bool)> = users_stmt
                .query_map([&raw], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(e)?
                .collect::<rusqlite::Result<_>>()
                .map_err(e)?;
            let shared_with_local = users
                .iter()
                .any(|(user, cloud)| !chosen.contains(user.as_str()) && !cloud);
            let locations = loc_stmt
                .query_map([&raw], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(e)?
                .filter_map(|row| {
                    row.ok().and_then(|(pack, offset, length)| {
                        Some(Location {
                            chunk,
                            pack: pack.try_into().ok()?,
                            offset: offset.max(0) as u64,
                            length: length.max(0) as u64,
                        })
                    })
                })
                .collect();
            chunks.push(PlannedChunk {
                id: chunk,
                stored_size: stored_size.max(0) as u64,
                evicted,
                shared_with_local,
                locations,
            });
        }
        out.push(PlannedTrack {
            id: id.clone(),
            file_name,
            in_a_manifest,
            chunks,
        });
    }
    Ok(out)
}

/// Marks chunks evicted in one transaction (durable on return: the catalog runs
/// with `synchronous = FULL`). Called before any of their files is deleted.
pub fn mark_evicted(catalog: &Catalog, chunks: &[ChunkId]) -> Result<()> {
    let e = |x| catalog.err(x);
    let tx = catalog.conn().unchecked_transaction().map_err(e)?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO evicted_chunks (chunk_id, evicted_at) VALUES (?1, ?2)",
            )
            .map_err(e)?;
        let now = now_unix();
        for c in chunks {
            stmt.execute(params![&c.0[..], now]).map_err(e)?;
        }
    }
    tx.commit().map_err(e)
}

/// Clears the evicted state of chunks whose files are back (durable first).
pub fn clear_evicted(catalog: &Catalog, chunks: &[ChunkId]) -> Result<()> {
    let e = |x| catalog.err(x);
    let tx = catalog.conn().unchecked_transaction().map_err(e)?;
    {
        let mut stmt = tx
            .prepare_cached("DELETE FROM evicted_chunks WHERE chunk_id = ?1")
            .map_err(e)?;
        for c in chunks {
            stmt.execute([&c.0[..]]).map_err(e)?;
        }
    }
    tx.commit().map_err(e)
}

/// Every evicted chunk.
pub fn evicted_chunks(catalog: &Catalog) -> Result<HashSet<ChunkId>> {
    let mut stmt = catalog
        .conn()
        .prepare("SELECT chunk_id FROM evicted_chunks")
        .map_err(|x| catalog.err(x))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(|x| catalog.err(x))?;
    let mut out = HashSet::new();
    for row in rows {
        if let Some(id) = ChunkId::from_slice(&row.map_err(|x| catalog.err(x))?) {
            out.insert(id);
        }
    }
    Ok(out)
}

/// Whether the chunk is evicted, with every pack known to hold it.
pub fn evicted_locations(catalog: &Catalog, id: &ChunkId) -> Result<Option<Vec<Location>>> {
    let conn = catalog.conn();
    let e = |x| catalog.err(x);
    let evicted = conn
        .prepare_cached("SELECT 1 FROM evicted_chunks WHERE chunk_id = ?1")
        .and_then(|mut s| s.exists([&id.0[..]]))
        .map_err(e)?;
    if !evicted {
        return Ok(None);
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT pack_id, offset, length FROM remote_chunks WHERE chunk_id = ?1 ORDER BY pack_id",
        )
        .map_err(e)?;
    let rows = stmt
        .query_map([&id.0[..]], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(e)?;
    let mut out = Vec::new();
    for row in rows {
        let (pack, offset, length) = row.map_err(e)?;
        if let Ok(pack) = pack.try_into() {
            out.push(Location {
                chunk: *id,
                pack,
                offset: offset.max(0) as u64,
                length: length.max(0) as u64,
            });
        }
    }
    Ok(Some(out))
}

/// For each id, whether some chunk of its audio is evicted (the track plays from
/// the cloud). False for an unknown id. One cached statement per id.
pub fn tracks_evicted(catalog: &Catalog, ids: &[String]) -> Result<Vec<bool>> {
    let mut stmt = catalog
        .conn()
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM track_chunks tc JOIN evicted_chunks ev ON ev.chunk_id = tc.chunk_id
                            WHERE tc.track_id = ?1)",
        )
        .map_err(|x| catalog.err(x))?;
    ids.iter()
        .map(|id| {
            stmt.query_row([id], |r| r.get::<_, bool>(0))
                .map_err(|x| catalog.err(x))
        })
        .collect()
}

/// Records that this device played the track now. A track the catalog does not
/// hold is ignored.
pub fn record_play(catalog: &Catalog, id: &TrackId) -> Result<()> {
    catalog
        .conn()
        .execute(
            "INSERT INTO track_plays (track_id, last_played)
             SELECT id, ?2 FROM tracks WHERE id = ?1
             ON CONFLICT (track_id) DO UPDATE SET last_played = excluded.last_played
                 WHERE last_played < excluded.last_played - 60",
            params![id.0, now_unix()],
        )
        .map_err(|x| catalog.err(x))?;
    Ok(())
}

/// When this device last played each track (`None`: never).
pub fn last_played(catalog: &Catalog, id: &TrackId) -> Result<Option<i64>> {
    catalog
        .conn()
        .query_row(
            "SELECT last_played FROM track_plays WHERE track_id = ?1",
            [&id.0],
            |r| r.get(0),
        )
        .optional()
        .map_err(|x| catalog.err(x))
}

/// Active tracks not played on this device since `cutoff` (unix seconds); a track
/// never played counts from its import, so a fresh import is not "unplayed".
pub fn not_played_since(catalog: &Catalog, cutoff: i64) -> Result<Vec<TrackId>> {
    let mut stmt = catalog
        .conn()
        .prepare(
            "SELECT t.id FROM tracks t LEFT JOIN track_plays p ON p.track_id = t.id
             WHERE t.state = 'active' AND ifnull(p.last_played, t.imported_at) < ?1
             ORDER BY t.id",
        )
        .map_err(|x| catalog.err(x))?;
    let rows = stmt
        .query_map([cutoff], |r| r.get::<_, String>(0).map(TrackId))
        .map_err(|x| catalog.err(x))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|x| catalog.err(x))
}

/// Active tracks of an album by its name (any case; any album artist).
pub fn album_track_ids(catalog: &Catalog, album: &str) -> Result<Vec<TrackId>> {
    let mut stmt = catalog
        .conn()
        .prepare(
            "SELECT t.id FROM tracks t WHERE t.state = 'active'
               AND ifnull(t.album, '') = ?1 COLLATE NOCASE
             ORDER BY ifnull(t.disc_number, 0), ifnull(t.track_number, 0), t.id",
        )
        .map_err(|x| catalog.err(x))?;
    let rows = stmt
        .query_map([album], |r| r.get::<_, String>(0).map(TrackId))
        .map_err(|x| catalog.err(x))?;
    rows.collect::<rusqlite::Result<_>>()
        .map_err(|x| catalog.err(x))
}

/// Tracks by where their bytes are, and what eviction freed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocationTotals {
    /// Only on this device (not in the cloud yet).
    pub local: u64,
    /// On this device and in the cloud.
    pub both: u64,
    /// In the cloud only (some chunk evicted).
    pub cloud: u64,
    pub evicted_chunks: u64,
    /// Disk space eviction freed: the stored sizes of the evicted chunks.
    pub freed_bytes: u64,
}

/// Counts active tracks per location (a pass over the tracks; for the Storage
/// view and `stats`, not for every page).
pub fn location_totals(catalog: &Catalog) -> Result<LocationTotals> {
    let conn = catalog.conn();
    let e = |x| catalog.err(x);
    let (evicted_chunks, freed_bytes): (i64, i64) = conn
        .query_row(
            "SELECT count(*), ifnull(sum(c.stored_size), 0) FROM evicted_chunks ev
             JOIN chunks c ON c.id = ev.chunk_id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(e)?;
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM tracks WHERE state = 'active'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(e)?;
    let mut totals = LocationTotals {
        evicted_chunks: evicted_chunks.max(0) as u64,
        freed_bytes: freed_bytes.max(0) as u64,
        ..Default::default()
    };
    let on_remote = super::remote::tracks_on_remote(catalog, &ids)?;
    let evicted = tracks_evicted(catalog, &ids)?;
    for (remote, evicted) in on_remote.into_iter().zip(evicted) {
        match (evicted, remote) {
            (true, _) => totals.cloud += 1,
            (false, true) => totals.both += 1,
            (false, false) => totals.local += 1,
        }
    }
    Ok(totals)
}

/// Groups locations by pack, for fetching.
pub fn by_pack(locations: &[Location]) -> BTreeMap<[u8; 32], Vec<Location>> {
    let mut out: BTreeMap<[u8; 32], Vec<Location>> = BTreeMap::new();
    for l in locations {
        out.entry(l.pack).or_default().push(*l);
    }
    for v in out.values_mut() {
        v.sort_by_key(|l| l.offset);
    }
    out
}

/// The stored size of each chunk in `ids` (for bytes freed and fetched).
pub fn stored_sizes(catalog: &Catalog, ids: &[ChunkId]) -> Result<HashMap<ChunkId, u64>> {
    let mut stmt = catalog
        .conn()
        .prepare_cached("SELECT stored_size FROM chunks WHERE id = ?1")
        .map_err(|x| catalog.err(x))?;
    let mut out = HashMap::new();
    for id in ids {
        if let Some(size) = stmt
            .query_row([&id.0[..]], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(|x| catalog.err(x))?
        {
            out.insert(*id, size.max(0) as u64);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(dir: &std::path::Path) -> Catalog {
        crate::catalog::three_tracks_over_four_chunks(dir)
    }

    fn id(n: u8) -> TrackId {
        TrackId(format!("{n:016x}"))
    }

    fn shared(plan: &[PlannedTrack], track: u8) -> Vec<bool> {
        plan.iter()
            .find(|p| p.id == id(track))
            .unwrap()
            .chunks
            .iter()
            .map(|c| c.shared_with_local)
            .collect()
    }

    #[test]
    fn a_chunk_shared_with_a_track_that_stays_local_is_kept_and_the_state_is_this_devices() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        // Track 1 alone: b is track 2's too, which stays local.
        let plan = plan(&c, &[id(1)]).unwrap();
        assert_eq!(shared(&plan, 1), [false, true]);
        // Tracks 1 and 2 together: b goes too.
        let plan_both = plan_of(&c, &[id(1), id(2)]);
        assert_eq!(shared(&plan_both, 1), [false, false]);
        assert_eq!(shared(&plan_both, 2), [false, false]);
        // Once track 2 is cloud only (c evicted), it no longer keeps b local.
        mark_evicted(&c, &[ChunkId([3; 32])]).unwrap();
        assert_eq!(shared(&plan_of(&c, &[id(1)]), 1), [false, false]);
        assert_eq!(
            tracks_evicted(&c, &[id(1).0, id(2).0, id(3).0]).unwrap(),
            [false, true, false]
        );
        let totals = location_totals(&c).unwrap();
        assert_eq!(
            (
                totals.local,
                totals.cloud,
                totals.evicted_chunks,
                totals.freed_bytes
            ),
            (2, 1, 1, 129)
        );
        // The snapshot for the remote carries none of it.
        let snap = crate::catalog::remote::write_snapshot(&c).unwrap();
        let memory = crate::catalog::rows::decode(&snap.bytes).unwrap();
        let n: i64 = memory
            .query_row("SELECT count(*) FROM evicted_chunks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        clear_evicted(&c, &[ChunkId([3; 32])]).unwrap();
        assert!(evicted_chunks(&c).unwrap().is_empty());
    }

    fn plan_of(c: &Catalog, ids: &[TrackId]) -> Vec<PlannedTrack> {
        plan(c, ids).unwrap()
    }

    #[test]
    fn not_played_counts_from_the_last_play_else_the_import() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let now = now_unix();
        // Imported just now: not unplayed since a minute ago.
        assert!(not_played_since(&c, now - 60).unwrap().is_empty());
        // All three unplayed since an hour from now…
        assert_eq!(not_played_since(&c, now + 3600).unwrap().len(), 3);
        // …but imported an hour ago and track 2 played now: 1 and 3 are unplayed
        // since half an hour ago.
        c.conn()
            .execute("UPDATE tracks SET imported_at = ?1", [now - 3600])
            .unwrap();
        record_play(&c, &id(2)).unwrap();
        assert!(last_played(&c, &id(2)).unwrap().is_some());
        assert_eq!(not_played_since(&c, now - 1800).unwrap(), [id(1), id(3)]);
        // A play of an unknown track is ignored.
        record_play(&c, &TrackId("ffffffffffffffff".into())).unwrap();
        assert_eq!(
            last_played(&c, &TrackId("ffffffffffffffff".into())).unwrap(),
            None
        );
    }
}
