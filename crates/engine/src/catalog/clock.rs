//! The library's Lamport clock (migration 0010). Devices order their trash,
//! restore and purge choices by these stamps, never by wall clocks: a stamp is
//! taken after raising the clock past everything merged, so a choice made after
//! seeing another one always wins over it, and a device whose clock is hours off
//! reorders nothing.

use rusqlite::Connection;

/// The next stamp. Call inside the transaction that records the change.
pub(crate) fn tick(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "UPDATE lamport SET value = value + 1 WHERE id = 1 RETURNING value",
        [],
        |r| r.get(0),
    )
}

/// Raises the clock to at least `seen` (a stamp merged from another device).
#[allow(dead_code)] // used by sync merge (next commit)
pub(crate) fn observe(conn: &Connection, seen: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE lamport SET value = max(value, ?1) WHERE id = 1",
        [seen],
    )?;
    Ok(())
}

#[allow(dead_code)]
pub(crate) fn current(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT value FROM lamport WHERE id = 1", [], |r| r.get(0))
}
