//! The media probe (sniffing, symphonia, lofty and our own header parsers) on any
//! bytes: a file that lies about its lengths or sizes gets an error or partial
//! metadata, never a panic.
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
    // The first byte picks the extension hint, so each format's path is reached
    // with and without the content agreeing.
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let formats = audiovault_engine::formats::FORMATS;
    let hint = formats
        .get(usize::from(pick) % (formats.len() + 1))
        .and_then(|f| f.extensions.first().copied());
    let mut reader = Cursor::new(bytes);
    let _ = audiovault_engine::media::probe_reader(&mut reader, bytes.len() as u64, hint);
});
