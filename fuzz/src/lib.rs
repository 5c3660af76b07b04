//! What both fuzz targets share.

/// A panic in our own code is a finding; one inside a library the engine runs
/// under `catch_unwind` (symphonia's overflow checks in this instrumented build)
/// is contained by design and comes back as an error, as it would for a user.
pub fn count_only_our_panics() {
    let abort_on_ours = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let ours = info.location().is_some_and(|l| {
            l.file().contains("crates/engine/") || l.file().contains("fuzz_targets/")
        });
        if ours {
            abort_on_ours(info);
        }
    }));
}
