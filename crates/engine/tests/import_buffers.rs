//! An import reuses its buffers (issue 16: "no per-chunk copies, and buffers are
//! reused"): the large allocations an import makes are its workers' buffers, a
//! few each, not one per chunk or per file. Counted by a global allocator that
//! wraps the system's, over a real import into a real vault.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use audiovault_engine::store::chunker::ChunkerParams;
use audiovault_engine::vault::CreateOptions;
use audiovault_engine::{CancelToken, ImportOptions, NoProgress, Outcome, Passphrase, Vault};

/// Allocations at least this large are counted: the smallest chunk a default
/// vault cuts (a chunk's buffer is at least this), far above anything else an
/// import allocates per file or per chunk (paths, rows, ids).
const LARGE: usize = 256 * 1024;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LARGE_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LARGE_BYTES: AtomicUsize = AtomicUsize::new(0);

struct Counting;

impl Counting {
    fn note(size: usize) {
        if size >= LARGE && COUNTING.load(Ordering::Relaxed) {
            LARGE_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            LARGE_BYTES.fetch_add(size, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is passed to the system allocator unchanged; the counting
// touches only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Counting::note(layout.size());
        // SAFETY: the caller's layout, as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Counting::note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Counting::note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A 16-bit stereo WAV of `frames` pseudo-random frames (audio that chunks by
/// content like a recording, no two files alike).
fn wav(frames: u32, seed: u64) -> Vec<u8> {
    let data_len = frames * 4;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend(b"RIFF");
    out.extend((36 + data_len).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(44_100u32.to_le_bytes());
    out.extend((44_100u32 * 4).to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend(data_len.to_le_bytes());
    let mut state = seed | 1;
    while out.len() < 44 + data_len as usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend(state.to_le_bytes());
    }
    out.truncate(44 + data_len as usize);
    out
}

#[test]
fn an_imports_large_allocations_are_its_workers_buffers_not_one_per_chunk() {
    // A fast KDF for a throwaway vault, as every test's vault has.
    // SAFETY: set before this binary's only test starts any thread of its own.
    unsafe { std::env::set_var(audiovault_engine::strength::ALLOW_WEAK_VAR, "1") };
    let dir = tempfile::tempdir().unwrap();
    let options = CreateOptions {
        kdf_memory_kib: 1024,
        kdf_iterations: 1,
        chunker: ChunkerParams::default(),
    };
    let vault = Vault::create(&dir.path().join("vault"), &Passphrase::new("pw"), &options)
        .expect("create the vault");
    let src = dir.path().join("in");
    std::fs::create_dir(&src).unwrap();
    let files = 16u32;
    let mut bytes = 0u64;
    for i in 0..files {
        // 5 to 7 MiB each, every size different.
        let w = wav(1_300_000 + i * 31_000, u64::from(i) + 1);
        bytes += w.len() as u64;
        std::fs::write(src.join(format!("{i:02}.wav")), w).unwrap();
    }
    let workers = 2;
    let import_options = ImportOptions {
        workers,
        ..ImportOptions::default()
    };

    COUNTING.store(true, Ordering::SeqCst);
    let report = vault
        .import(
            std::slice::from_ref(&src),
            &import_options,
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("import");
    COUNTING.store(false, Ordering::SeqCst);

    assert_eq!(report.imported, files as usize, "{:?}", report.files);
    assert!(report.files.iter().all(|f| f.outcome == Outcome::Imported));
    let chunks: usize = report
        .files
        .iter()
        .map(|f| {
            let id = f.id.as_ref().expect("an imported file has a track id");
            vault
                .track_details(id)
                .expect("the track's details")
                .chunks
                .len()
        })
        .sum();
    let large = LARGE_ALLOCATIONS.load(Ordering::SeqCst);
    let large_bytes = LARGE_BYTES.load(Ordering::SeqCst);
    eprintln!(
        "{files} files, {bytes} bytes, {chunks} chunks, {workers} workers: {large} allocations of 256 KiB or more ({:.1} MiB)",
        large_bytes as f64 / 1048576.0
    );
    // A file is more than four chunks, so a per-chunk buffer would count more than
    // the chunks, and a per-file one the files; each worker here keeps a read
    // buffer and an object buffer that grows a few times to the largest chunk.
    assert!(chunks > 4 * files as usize, "{chunks} chunks");
    assert!(
        large <= 8 * workers,
        "{large} large allocations for {chunks} chunks of {files} files"
    );
    // And the bytes allocated are a few buffers', not the data's.
    assert!(
        (large_bytes as u64) < bytes / 2,
        "{large_bytes} bytes allocated in large blocks for {bytes} bytes imported"
    );
}
