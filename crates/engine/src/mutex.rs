//! Mutexes that worker threads share. A worker that panics while holding one
//! leaves the data as it was between two whole updates (no invariant spans the
//! lock), so the other workers go on rather than panic in turn.

use std::sync::{Mutex, MutexGuard};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
