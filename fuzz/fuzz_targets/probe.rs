//! The media probe (sniffing, symphonia, lofty and our own header parsers) on any
//! bytes: a file that lies about its lengths or sizes gets an error or partial
//! metadata, never a panic.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: audiovault_fuzz::count_only_our_panics(), |data: &[u8]| {
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
