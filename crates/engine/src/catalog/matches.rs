//! The rows a text search matches, evaluated once and kept in memory.
//!
//! A broad word ('love' in half the library) makes the FTS-driven plan fetch and
//! sort every matching row for each page and again for the footer. Holding the
//! match as a set of rowids lets a page walk the sort index instead and test each
//! entry with `av_match(set, rowid)`, and lets search-as-you-type paging and the
//! footer reuse one evaluation. A set is reused while the catalog is
//! unchanged (see [`Marker`]), and after a change it is caught up by re-testing
//! only the tracks the change touched (see [`MatchCache::catch_up`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};

/// The SQL function a plan uses to test membership: `av_match(set id, rowid)`.
pub(crate) const MATCH_FUNCTION: &str = "av_match";

/// Sets kept: the last few texts typed, so backspacing or flipping between two
/// searches does not re-run FTS.
const CACHED_SETS: usize = 4;

/// Rowids in ascending order, stored as a bitmap when they are dense (tracks
/// get increasing rowids, so this is the usual case) and as a sorted list when
/// they are not, so a stray huge rowid cannot make the bitmap enormous.
#[derive(Debug, Clone)]
pub(crate) struct RowidSet {
    repr: Repr,
    len: usize,
}

#[derive(Debug, Clone)]
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

    /// This set with each of `tested` in it or not as `present` says.
    fn updated(&self, tested: &[i64], present: &[bool]) -> RowidSet {
        let mut set = self.clone();
        for (&rowid, &present) in tested.iter().zip(present) {
            set.put(rowid, present);
        }
        set
    }

    /// Adds or removes one rowid in place; a bitmap grows for a new rowid past
    /// its end, and only a rowid before its start (or far past the end) rebuilds
    /// the set, which then picks its representation again.
    fn put(&mut self, rowid: i64, present: bool) {
        if self.contains(rowid) == present {
            return;
        }
        match &mut self.repr {
            Repr::Bits { base, words } if rowid >= *base => {
                let bit = rowid.abs_diff(*base);
                let word = usize::try_from(bit / 64).unwrap_or(usize::MAX);
                if word >= words.len() {
                    // Only an addition lands outside the map (removals were
                    // found in it): new tracks get the next rowids, so grow it,
                    // unless the rowid is far enough out to make it mostly empty.
                    if word > 2 * words.len() + 1024 {
                        *self = RowidSet::new(self.iter().chain([rowid]).collect());
                        return;
                    }
                    words.resize(word + 1, 0);
                }
                words[word] ^= 1 << (bit % 64);
            }
            Repr::Bits { .. } => {
                *self = RowidSet::new(self.iter().chain([rowid]).collect());
                return;
            }
            Repr::Sorted(rowids) => match rowids.binary_search(&rowid) {
                Ok(i) => {
                    rowids.remove(i);
                }
                Err(i) => rowids.insert(i, rowid),
            },
        }
        if present {
            self.len += 1;
        } else {
            self.len -= 1;
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
/// the newest entry of `search_changes`, which triggers append to on every
/// insert and delete of a track and every update of its text, state, duration
/// or size (migration 0009), whichever connection made it. Writes that cannot change a
/// search (waveforms, activity, settings, sync state) leave cached sets valid,
/// and no write method needs to remember to invalidate the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    generation: i64,
}

impl Marker {
    /// `None` inside a transaction: a rollback would take the log back to a
    /// value that a later, different change reaches again, so nothing evaluated
    /// there may be reused.
    pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Option<Self>> {
        if !conn.is_autocommit() {
            return Ok(None);
        }
        let generation = conn
            .prepare_cached("SELECT ifnull(max(generation), 0) FROM search_changes")?
            .query_row([], |r| r.get(0))?;
        Ok(Some(Marker { generation }))
    }

    /// The tracks (rowids, sorted, distinct) changed between `self` and `now`,
    /// or `None` when that is more than [`CATCH_UP_LIMIT`] changes or the log
    /// no longer holds all of them (migration 0009 keeps the last 4096).
    fn changes_until(self, now: Marker, conn: &Connection) -> rusqlite::Result<Option<Vec<i64>>> {
        let steps = now.generation - self.generation;
        if !(0..=CATCH_UP_LIMIT).contains(&steps) {
            return Ok(None);
        }
        let mut stmt = conn.prepare_cached(
            "SELECT track_rowid FROM search_changes WHERE generation > ?1 AND generation <= ?2",
        )?;
        let mut rowids = stmt
            .query_map([self.generation, now.generation], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        if rowids.len() as i64 != steps {
            return Ok(None);
        }
        rowids.sort_unstable();
        rowids.dedup();
        Ok(Some(rowids))
    }
}

/// How many changes a cached set is caught up over, re-testing each changed
/// track (tens of microseconds each); further behind, evaluating it again is
/// about as quick.
const CATCH_UP_LIMIT: i64 = 256;

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
/// SQLite. Like the sets, it is kept while the catalog is unchanged and caught
/// up over the tracks a change touched, and one copy serves the footer of every
/// text typed meanwhile.
#[derive(Debug, Clone)]
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
    /// One pass over the `tracks_size_footer` index (migration 0019), which holds
    /// exactly these columns: at 100,000 tracks a few MiB of pages to decrypt
    /// instead of the whole table's tens.
    fn read(conn: &Connection) -> rusqlite::Result<Option<Self>> {
        let mut stmt = conn.prepare_cached(
            "SELECT rowid, state = 'active', ifnull(duration_seconds, 0), size_bytes
             FROM tracks INDEXED BY tracks_size_footer",
        )?;
        let read: Vec<(i64, Fact)> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    Fact {
                        active: Some(r.get(1)?),
                        duration: r.get(2)?,
                        size: r.get(3)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let (min, max) = read.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (r, _)| {
            (lo.min(*r), hi.max(*r))
        });
        if read.is_empty() {
            return Ok(Some(Facts {
                base: 0,
                rows: Vec::new(),
            }));
        }
        let span = max.abs_diff(min);
        if span > 2 * read.len() as u64 + 1024 {
            return Ok(None);
        }
        let mut rows = vec![Fact::default(); span as usize + 1];
        for (rowid, fact) in read {
            // Within the span by construction of min and max.
            rows[rowid.abs_diff(min) as usize] = fact;
        }
        Ok(Some(Facts { base: min, rows }))
    }

    /// Reads the tracks in `changed` again; false (and half updated) when one
    /// lies before the array (rowids are assigned upwards, so this is rare).
    fn update(&mut self, conn: &Connection, changed: &[i64]) -> rusqlite::Result<bool> {
        let rows = &mut self.rows;
        let mut stmt = conn.prepare_cached(
            "SELECT state = 'active', ifnull(duration_seconds, 0), size_bytes FROM tracks WHERE rowid = ?",
        )?;
        for &rowid in changed {
            let Ok(i) = usize::try_from(rowid.wrapping_sub(self.base)) else {
                return Ok(false);
            };
            if i >= rows.len() {
                // Tracks added since: grow, within the bound `read` keeps.
                if i > 2 * rows.len() + 1024 {
                    return Ok(false);
                }
                rows.resize(i + 1, Fact::default());
            }
            rows[i] = stmt
                .query_row([rowid], |r| {
                    Ok(Fact {
                        active: Some(r.get(0)?),
                        duration: r.get(1)?,
                        size: r.get(2)?,
                    })
                })
                .optional()?
                .unwrap_or_default();
        }
        Ok(true)
    }

    /// The totals of every track that is active (or trashed): the footer of no text.
    pub(crate) fn totals_all(&self, active: bool) -> Totals {
        let mut totals = (0, 0.0, 0);
        for f in self.rows.iter().filter(|f| f.active == Some(active)) {
            totals.0 += 1;
            totals.1 += f.duration;
            totals.2 += f.size as u64;
        }
        totals
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
    /// Text searches run through FTS5 so far, and cached sets caught up over
    /// changes (tests check what the cache saves).
    evaluations: u64,
    catch_ups: u64,
    /// Footers asked of the facts, and reads of every track's facts for them
    /// (tests check that footers use them and share one read).
    facts_uses: u64,
    facts_reads: u64,
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

    #[cfg(test)]
    pub(crate) fn catch_ups(&self) -> u64 {
        self.lock().catch_ups
    }

    #[cfg(test)]
    pub(crate) fn facts_reads(&self) -> u64 {
        self.lock().facts_reads
    }

    #[cfg(test)]
    pub(crate) fn facts_uses(&self) -> u64 {
        self.lock().facts_uses
    }

    /// Brings a cached set made at `then` up to `now`: each track changed since
    /// is tested against its text (one FTS5 lookup by rowid) and put in or taken
    /// out. `None` when it is too far behind to be worth it.
    fn catch_up(
        conn: &Connection,
        fts: &str,
        matches: &Matches,
        then: Marker,
        now: Marker,
        next_id: &mut i64,
    ) -> rusqlite::Result<Option<Matches>> {
        let Some(changed) = then.changes_until(now, conn)? else {
            return Ok(None);
        };
        let mut probe = conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM tracks_fts WHERE tracks_fts MATCH ?1 AND rowid = ?2)",
        )?;
        let present = changed
            .iter()
            .map(|&rowid| probe.query_row(rusqlite::params![fts, rowid], |r| r.get(0)))
            .collect::<rusqlite::Result<Vec<bool>>>()?;
        // A new id: a statement that looked the old set up keeps it.
        let id = *next_id;
        *next_id += 1;
        Ok(Some(Matches {
            id,
            set: Arc::new(matches.set.updated(&changed, &present)),
            max_rowid: matches.max_rowid.max(changed.last().copied().unwrap_or(0)),
        }))
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
            // A set made inside a transaction served its own query and is done.
            sets.entries.retain(|e| e.marker.is_some());
            // Inside a transaction nothing cached is used: it waits for the
            // commit, since a rollback could take the log back.
            if let Some(now) = marker
                && let Some(i) = sets.entries.iter().position(|e| e.fts == fts)
                && let Some(mut e) = sets.entries.remove(i)
            {
                let then = e.marker.filter(|m| *m != now);
                let current = match then {
                    None => Some(e.matches.clone()),
                    Some(then) => {
                        let caught_up =
                            Self::catch_up(conn, fts, &e.matches, then, now, &mut sets.next_id)?;
                        if caught_up.is_some() {
                            sets.catch_ups += 1;
                        }
                        caught_up
                    }
                };
                if let Some(matches) = current {
                    e.matches = matches.clone();
                    e.marker = Some(now);
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
        self.lock().facts_uses += 1;
        let marker = Marker::read(conn)?;
        if let Some(now) = marker {
            let mut sets = self.lock();
            if let Some((then, facts)) = sets.facts.take() {
                let current = if then == now {
                    Some(facts)
                } else {
                    let mut facts = facts;
                    match then.changes_until(now, conn)? {
                        // In place unless a footer being added up still holds it.
                        Some(changed) if Arc::make_mut(&mut facts).update(conn, &changed)? => {
                            Some(facts)
                        }
                        _ => None,
                    }
                };
                if let Some(facts) = current {
                    sets.facts = Some((now, facts.clone()));
                    return Ok(Some(facts));
                }
            }
        }
        self.lock().facts_reads += 1;
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

    #[test]
    fn updates_in_place_agree_with_a_model() {
        use std::collections::BTreeSet;
        let mut state = 11u64;
        let mut next = move |n: i64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as i64 % n
        };
        for start in [
            (1..2000).filter(|r| r % 2 == 0).collect::<Vec<i64>>(),
            vec![5, 1 << 40],
            vec![],
        ] {
            let mut model: BTreeSet<i64> = start.iter().copied().collect();
            let mut set = RowidSet::new(start);
            for round in 0..50 {
                // Around the set (before it, inside, past its end) and far away.
                let tested: Vec<i64> = (0..20)
                    .map(|_| match next(4) {
                        0 => next(10) - 5,
                        1 | 2 => next(2100),
                        _ => 2100 + next(1 << 20),
                    })
                    .collect();
                let present: Vec<bool> = tested.iter().map(|_| next(2) == 0).collect();
                set = set.updated(&tested, &present);
                for (r, p) in tested.iter().zip(&present) {
                    if *p {
                        model.insert(*r);
                    } else {
                        model.remove(r);
                    }
                }
                assert_eq!(set.len(), model.len(), "round {round}");
                assert_eq!(
                    set.iter().collect::<Vec<_>>(),
                    model.iter().copied().collect::<Vec<_>>(),
                    "round {round}"
                );
            }
        }
    }
}
