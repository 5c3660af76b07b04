//! The rows a text search matches, evaluated once and kept in memory.
//!
//! A broad word ('love' in half the library) makes the FTS-driven plan fetch and
//! sort every matching row for each page and again for the footer. Holding the
//! match as a set of rowids lets a page walk the sort index instead and test each
//! entry with `av_match(set, rowid)`, and lets search-as-you-type paging and the
//! footer reuse one evaluation. A set is only reused while the catalog is
//! unchanged: see [`Marker`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;

/// The SQL function a plan uses to test membership: `av_match(set id, rowid)`.
pub(crate) const MATCH_FUNCTION: &str = "av_match";

/// Sets kept: the last few texts typed, so backspacing or flipping between two
/// searches does not re-run FTS.
const CACHED_SETS: usize = 4;

/// Rowids in ascending order, stored as a bitmap when they are dense (tracks
/// get increasing rowids, so this is the usual case) and as a sorted list when
/// they are not, so a stray huge rowid cannot make the bitmap enormous.
#[derive(Debug)]
pub(crate) struct RowidSet {
    repr: Repr,
    len: usize,
}

#[derive(Debug)]
enum Repr {
    /// Bit `i` of the map is rowid `base + i`.
    Bits {
        base: i64,
        words: Vec<u64>,
    },
    Sorted(Vec<i64>),
}

impl RowidSet {
    pub(crate) fn new(mut rowids: Vec<i64>) -> Self {
        // FTS5 yields rowids in ascending order already; sorting sorted input is
        // linear, and dedup makes `len` a count of distinct rows either way.
        rowids.sort_unstable();
        rowids.dedup();
        let len = rowids.len();
        let (Some(&first), Some(&last)) = (rowids.first(), rowids.last()) else {
            return RowidSet {
                repr: Repr::Sorted(rowids),
                len,
            };
        };
        // A bitmap costs span/8 bytes, the list 8 bytes a row: take the bitmap
        // unless it would be the larger of the two.
        let span = last.abs_diff(first);
        if span / 64 < len as u64 {
            let mut words = vec![0u64; (span / 64 + 1) as usize];
            for r in &rowids {
                let bit = r.abs_diff(first);
                words[(bit / 64) as usize] |= 1 << (bit % 64);
            }
            RowidSet {
                repr: Repr::Bits { base: first, words },
                len,
            }
        } else {
            RowidSet {
                repr: Repr::Sorted(rowids),
                len,
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn contains(&self, rowid: i64) -> bool {
        match &self.repr {
            Repr::Bits { base, words } => {
                if rowid < *base {
                    return false;
                }
                let bit = rowid.abs_diff(*base);
                usize::try_from(bit / 64)
                    .ok()
                    .and_then(|i| words.get(i))
                    .is_some_and(|w| w & (1 << (bit % 64)) != 0)
            }
            Repr::Sorted(rowids) => rowids.binary_search(&rowid).is_ok(),
        }
    }
}

/// What the catalog looked like when a set was evaluated. `data_version`
/// changes when another connection commits; `total_changes` counts every row
/// this connection has inserted, updated or deleted (triggers included, even in
/// a transaction not yet committed), so no write method needs to remember to
/// invalidate the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    data_version: i64,
    total_changes: u64,
}

impl Marker {
    pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Self> {
        Ok(Marker {
            data_version: conn.query_row("PRAGMA data_version", [], |r| r.get(0))?,
            total_changes: conn.total_changes(),
        })
    }
}

/// One evaluated text search.
#[derive(Debug, Clone)]
pub(crate) struct Matches {
    /// What `av_match` takes as its first argument to find this set.
    pub(crate) id: i64,
    pub(crate) set: Arc<RowidSet>,
    /// The largest rowid in `tracks` when the set was made: an upper bound on
    /// the catalog's size, which the plan choice weighs the match against.
    pub(crate) max_rowid: i64,
}

#[derive(Debug)]
struct Entry {
    fts: String,
    marker: Marker,
    matches: Matches,
}

#[derive(Debug, Default)]
struct Sets {
    /// Most recently used last.
    entries: VecDeque<Entry>,
    next_id: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("text search set {0} is not held by this catalog connection")]
struct UnknownSet(i64);

/// The connection's cached sets, shared with its `av_match` function.
#[derive(Debug, Clone, Default)]
pub(crate) struct MatchCache(Arc<Mutex<Sets>>);

impl MatchCache {
    /// Creates the cache and registers `av_match` on `conn` to read it.
    pub(crate) fn register(conn: &Connection) -> rusqlite::Result<Self> {
        let cache = MatchCache::default();
        let sets = cache.clone();
        conn.create_scalar_function(
            MATCH_FUNCTION,
            2,
            // DIRECTONLY: the function reads state outside the database, so the
            // schema (triggers, views) must never be able to call it.
            FunctionFlags::SQLITE_UTF8
                | FunctionFlags::SQLITE_DETERMINISTIC
                | FunctionFlags::SQLITE_DIRECTONLY,
            move |ctx| {
                // The set id is a bound parameter, so SQLite keeps the looked-up
                // set as auxiliary data for the whole statement: one lock per
                // query, not one per row.
                let set = ctx.get_or_create_aux(0, |v| {
                    let id = v.as_i64().map_err(rusqlite::Error::from)?;
                    sets.find(id)
                        .ok_or_else(|| rusqlite::Error::UserFunctionError(Box::new(UnknownSet(id))))
                })?;
                let rowid: i64 = ctx.get(1)?;
                Ok(set.contains(rowid))
            },
        )?;
        Ok(cache)
    }

    fn lock(&self) -> MutexGuard<'_, Sets> {
        // The lock guards plain data that no panic can leave half-updated.
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn find(&self, id: i64) -> Option<Arc<RowidSet>> {
        let sets = self.lock();
        sets.entries
            .iter()
            .find(|e| e.matches.id == id)
            .map(|e| e.matches.set.clone())
    }

    /// The set for FTS query `fts`, evaluated now unless it is cached from an
    /// unchanged catalog.
    pub(crate) fn get(&self, conn: &Connection, fts: &str) -> rusqlite::Result<Matches> {
        let marker = Marker::read(conn)?;
        {
            let mut sets = self.lock();
            // Any change to the catalog makes every cached set suspect.
            sets.entries.retain(|e| e.marker == marker);
            if let Some(i) = sets.entries.iter().position(|e| e.fts == fts) {
                if let Some(e) = sets.entries.remove(i) {
                    let matches = e.matches.clone();
                    sets.entries.push_back(e);
                    return Ok(matches);
                }
            }
        }
        let mut stmt =
            conn.prepare_cached("SELECT rowid FROM tracks_fts WHERE tracks_fts MATCH ?")?;
        let rowids = stmt
            .query_map([fts], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        let max_rowid: i64 =
            conn.query_row("SELECT ifnull(max(rowid), 0) FROM tracks", [], |r| r.get(0))?;
        let mut sets = self.lock();
        let id = sets.next_id;
        sets.next_id += 1;
        let matches = Matches {
            id,
            set: Arc::new(RowidSet::new(rowids)),
            max_rowid,
        };
        if sets.entries.len() >= CACHED_SETS {
            sets.entries.pop_front();
        }
        sets.entries.push_back(Entry {
            fts: fts.to_string(),
            marker,
            matches: matches.clone(),
        });
        Ok(matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_sets_agree() {
        let dense: Vec<i64> = (1..1000).filter(|r| r % 3 == 0).collect();
        let sparse = vec![-5, 0, 7, 1 << 40, i64::MAX];
        for rowids in [dense, sparse, vec![], vec![42]] {
            let set = RowidSet::new(rowids.iter().rev().copied().collect());
            assert_eq!(set.len(), rowids.len());
            for r in [
                -6,
                -5,
                0,
                1,
                3,
                7,
                41,
                42,
                43,
                998,
                999,
                1000,
                1 << 40,
                i64::MAX,
            ] {
                assert_eq!(set.contains(r), rowids.contains(&r), "{r} in {rowids:?}");
            }
        }
        assert!(matches!(
            RowidSet::new((1..1000).collect()).repr,
            Repr::Bits { .. }
        ));
        assert!(matches!(
            RowidSet::new(vec![1, i64::MAX]).repr,
            Repr::Sorted(_)
        ));
    }
}
