//! The region splitter (`store::regions::boundaries`) on any bytes: it never
//! panics, and its cuts are strictly increasing offsets inside the file, so the
//! chunks it leads to always add up to the file.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

/// A panic in our own code is a finding; one inside a library the engine runs
/// under `catch_unwind` (symphonia's overflow checks in this instrumented build)
/// is contained by design and comes back as an error, as it would for a user.
fn audiovault_fuzz_init() {
    let abort_on_ours = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let ours = info
            .location()
            .is_some_and(|l| l.file().contains("crates/engine/") || l.file().contains("fuzz_targets/"));
        if ours {
            abort_on_ours(info);
        }
    }));
}

fuzz_target!(init: audiovault_fuzz_init(), |data: &[u8]| {
    let size = data.len() as u64;
    let cuts = audiovault_engine::store::regions::boundaries(&mut Cursor::new(data), size);
    let mut last = 0;
    for cut in cuts {
        assert!(cut > last && cut < size, "cut {cut} after {last} in {size} bytes");
        last = cut;
    }
});
