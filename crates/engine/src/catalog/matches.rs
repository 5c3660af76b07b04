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

    /// The rowids, ascending.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = i64> + '_> {
        match &self.repr {
            Repr::Bits { base, words } => {
                // Word i exists only if rowid base + 64·i is within the set's
                // span, so this sum cannot overflow.
                Box::new(words.iter().enumerate().flat_map(move |(i, &w)| {
                    let at = base + 64 * i as i64;
                    (0..64)
                        .filter(move |b| w & (1 << b) != 0)
                        .map(move |b| at + b)
                }))
            }
            Repr::Sorted(rowids) => Box::new(rowids.iter().copied()),
        }
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

/// What the catalog's searchable content looked like when a set was evaluated:
/// the `search_generation` counter, which triggers bump on every insert and
/// delete of a track and every update of its text, state, duration or size
/// (migration 0007), whichever connection made it. Writes that cannot change a
/// search (waveforms, activity, settings, sync state) leave cached sets valid,
/// and no write method needs to remember to invalidate the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    generation: i64,
}

impl Marker {
    /// `None` inside a transaction: a rollback would take the counter back to a
    /// value that a later, different change reaches again, so nothing evaluated
    /// there may be reused.
    pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Option<Self>> {
        if !conn.is_autocommit() {
            return Ok(None);
        }
        let generation = conn
            .prepare_cached("SELECT value FROM search_generation WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        Ok(Some(Marker { generation }))
    }

    /// Whether something evaluated at `then` still holds at `now`.
    fn holds(then: Option<Self>, now: Option<Self>) -> bool {
        then.is_some() && then == now
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

/// Every track's state, duration and size by rowid, so the footer of a broad
/// match adds up numbers in memory instead of reading each matching row from
/// SQLite. Like the sets, it is kept while the catalog is unchanged, and one
/// copy serves the footer of every text typed meanwhile.
#[derive(Debug)]
pub(crate) struct Facts {
    base: i64,
    rows: Vec<Fact>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Fact {
    /// None where no track has this rowid.
    active: Option<bool>,
    duration: f64,
    size: i64,
}

/// A footer's numbers: tracks, seconds, bytes.
pub(crate) type Totals = (u64, f64, u64);

impl Facts {
    /// Reads every track; `None` when rowids are too sparse for a dense array.
    fn read(conn: &Connection) -> rusqlite::Result<Option<Self>> {
        let (count, min, max): (i64, i64, i64) = conn.query_row(
            "SELECT count(*), ifnull(min(rowid), 0), ifnull(max(rowid), 0) FROM tracks",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let span = max.abs_diff(min);
        if span > 2 * count.unsigned_abs() + 1024 {
            return Ok(None);
        }
        let mut rows = vec![Fact::default(); span as usize + 1];
        let mut stmt = conn.prepare_cached(
            "SELECT rowid, state = 'active', ifnull(duration_seconds, 0), size_bytes FROM tracks",
        )?;
        let mut cursor = stmt.query([])?;
        while let Some(r) = cursor.next()? {
            let rowid: i64 = r.get(0)?;
            // A row inserted since the count (another connection) may lie
            // outside the span; the marker will differ, so skipping it is safe.
            if let Some(f) = usize::try_from(rowid.wrapping_sub(min))
                .ok()
                .and_then(|i| rows.get_mut(i))
            {
                *f = Fact {
                    active: Some(r.get(1)?),
                    duration: r.get(2)?,
                    size: r.get(3)?,
                };
            }
        }
        Ok(Some(Facts { base: min, rows }))
    }

    /// The totals of the tracks in `set` that are active (or trashed).
    pub(crate) fn totals(&self, set: &RowidSet, active: bool) -> Totals {
        let mut totals = (0, 0.0, 0);
        for rowid in set.iter() {
            let fact = usize::try_from(rowid.wrapping_sub(self.base))
                .ok()
                .and_then(|i| self.rows.get(i));
            if let Some(f) = fact.filter(|f| f.active == Some(active)) {
                totals.0 += 1;
                totals.1 += f.duration;
                totals.2 += f.size as u64;
            }
        }
        totals
    }
}

#[derive(Debug)]
struct Entry {
    fts: String,
    marker: Option<Marker>,
    matches: Matches,
}

#[derive(Debug, Default)]
struct Sets {
    /// Most recently used last.
    entries: VecDeque<Entry>,
    facts: Option<(Marker, Arc<Facts>)>,
    next_id: i64,
    /// Text searches run through FTS5 so far (tests check what the cache saves).
    evaluations: u64,
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

    #[cfg(test)]
    pub(crate) fn evaluations(&self) -> u64 {
        self.lock().evaluations
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
            // Any change to the catalog makes every cached set suspect. A set
            // made in a transaction stays only until the next query: `av_match`
            // finds it by id while its own query runs.
            sets.entries.retain(|e| Marker::holds(e.marker, marker));
            if sets.facts.as_ref().is_some_and(|(m, _)| Some(*m) != marker) {
                sets.facts = None;
            }
            if let Some(i) = sets.entries.iter().position(|e| e.fts == fts)
                && let Some(e) = sets.entries.remove(i)
            {
                let matches = e.matches.clone();
                sets.entries.push_back(e);
                return Ok(matches);
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
        sets.evaluations += 1;
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

impl MatchCache {
    /// Every track's facts, read now unless cached from an unchanged catalog;
    /// `None` when the catalog's rowids are too sparse to hold them densely.
    pub(crate) fn facts(&self, conn: &Connection) -> rusqlite::Result<Option<Arc<Facts>>> {
        let marker = Marker::read(conn)?;
        if let Some((m, facts)) = &self.lock().facts
            && Marker::holds(Some(*m), marker)
        {
            return Ok(Some(facts.clone()));
        }
        let Some(facts) = Facts::read(conn)?.map(Arc::new) else {
            return Ok(None);
        };
        if let Some(marker) = marker {
            self.lock().facts = Some((marker, facts.clone()));
        }
        Ok(Some(facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_sets_agree() {
        let dense: Vec<i64> = (1..1000).filter(|r| r % 3 == 0).collect();
        let sparse = vec![-5, 0, 7, 1 << 40, i64::MAX];
        for rowids in [
            dense,
            sparse,
            vec![],
            vec![42],
            vec![i64::MAX - 1, i64::MAX],
        ] {
            let set = RowidSet::new(rowids.iter().rev().copied().collect());
            assert_eq!(set.len(), rowids.len());
            let mut sorted = rowids.clone();
            sorted.sort_unstable();
            assert_eq!(set.iter().collect::<Vec<_>>(), sorted);
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
                i64::MAX - 2,
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
