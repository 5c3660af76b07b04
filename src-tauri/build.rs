fn main() {
    // The built UI is embedded by `generate_context!`, which does not tell cargo
    // about it: without this, a change to the UI alone (a pull, `npm run build`)
    // left an existing build serving the old one. Cargo scans a folder named
    // here for any changed file.
    println!("cargo:rerun-if-changed=../ui/dist");
    // The app's config lives at the repository root (beside README.md), so a
    // plain `cargo build -p audiovault-app` finds it without the Tauri CLI.
    if let Err(e) =
        tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
    {
        panic!("tauri build step failed: {e:#}");
    }
}
