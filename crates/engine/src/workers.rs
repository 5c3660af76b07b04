//! How many threads the file-by-file jobs (import, export, verify) run.

/// Two per core. Each thread alternates between waiting on the disk (a cold read, a
/// full write-back queue) and hashing, chunking or encrypting; with one per core, a
/// core sits idle whenever its thread waits. On 2 cores, importing the 856 MiB bench
/// corpus took 1.54 s with 2 threads and 1.31 s with 4 (6 and 8 were no faster).
pub(crate) fn file_workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 2).min(32)
}
