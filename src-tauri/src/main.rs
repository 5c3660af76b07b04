// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // First, before any thread: no core dumps, and the passphrases out of the
    // environment (WebKit's and GStreamer's processes never inherit them).
    audiovault_engine::secret::protect_process();
    audiovault_app::run();
}
