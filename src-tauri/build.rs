fn main() {
    // The app's config lives at the repository root (beside README.md), so a
    // plain `cargo build -p audiovault-app` finds it without the Tauri CLI.
    if let Err(e) =
        tauri_build::try_build(tauri_build::Attributes::new().config_path("../tauri.conf.json"))
    {
        panic!("tauri build step failed: {e:#}");
    }
}
