//! The region splitter (`store::regions::boundaries`) and the file chunker of every
//! version (`store::chunker::chunk_file`, Ogg pages included) on any bytes: they
//! never panic, the cuts are strictly increasing offsets inside the file, the chunks
//! join to the file, and every normalised chunk restores to the file's bytes.
#![no_main]

use std::io::Cursor;

use audiovault_engine::store::chunker::{ChunkerAlgorithm, ChunkerParams, chunk_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: audiovault_fuzz::count_only_our_panics(), |data: &[u8]| {
    let size = data.len() as u64;
    let cuts = audiovault_engine::store::regions::boundaries(&mut Cursor::new(data), size);
    let mut last = 0;
    for cut in cuts {
        assert!(cut > last && cut < size, "cut {cut} after {last} in {size} bytes");
        last = cut;
    }
    // The smallest sizes the chunker allows, so a fuzzer's small inputs make many chunks.
    let params = ChunkerParams {
        algorithm: ChunkerAlgorithm::FastCdc2020RegionsOggPages,
        min_size: 64,
        avg_size: 256,
        max_size: 1024 * 70,
    };
    let mut joined = Vec::with_capacity(data.len());
    chunk_file(&mut Cursor::new(data), size, &params, |c| {
        assert_eq!(c.offset, joined.len() as u64);
        assert_eq!(c.original.len(), c.stored.len());
        if let Some(t) = c.transform {
            let mut back = c.stored.to_vec();
            t.restore(&mut back).expect("a normalised chunk restores");
            assert_eq!(back, c.original);
        } else {
            assert_eq!(c.stored, c.original);
        }
        joined.extend_from_slice(c.original);
        Ok::<(), std::io::Error>(())
    })
    .expect("chunking bytes in memory");
    assert_eq!(joined, data);
});
