fn main() {
    // The built UI is embedded by `generate_context!`, which does not tell cargo
    // about it: without this, a change to the UI alone (a pull, `npm run build`)
    // left an existing build serving the old one. Cargo scans a folder named
    // here for any changed file.
    println!("cargo:rerun-if-changed=../ui/dist");
    // The config (src-tauri/tauri.conf.json) sits where the Tauri CLI expects it,
    // so `cargo build` and `tauri build` read the same file.
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new()) {
        panic!("tauri build step failed: {e:#}");
    }
}
