//! The region splitter (`store::regions::boundaries`) on any bytes: it never
//! panics, and its cuts are strictly increasing offsets inside the file, so the
//! chunks it leads to always add up to the file.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: audiovault_fuzz::count_only_our_panics(), |data: &[u8]| {
    let size = data.len() as u64;
    let cuts = audiovault_engine::store::regions::boundaries(&mut Cursor::new(data), size);
    let mut last = 0;
    for cut in cuts {
        assert!(cut > last && cut < size, "cut {cut} after {last} in {size} bytes");
        last = cut;
    }
});
