//! Audiovault's desktop app: a thin Tauri shell. Commands (in [`commands`])
//! translate UI calls into engine calls; the engine does the work.

pub mod analysis;
pub mod autolock;
pub mod autosync;
pub mod bindings;
pub mod cloud;
pub mod commands;
pub mod desktop;
pub mod dto;
pub mod error;
pub mod events;
pub mod health;
pub mod heldkeys;
pub mod jobs;
pub mod notify;
pub mod opened;
pub mod progress;
pub mod recent;
pub mod session;
pub mod state;
pub mod watching;
pub mod window;

use tauri::{Builder, Manager, Runtime};

/// The app without its context: the real window uses it in [`run`], tests use it
/// with Tauri's mock runtime.
pub fn builder<R: Runtime>(state: state::AppState) -> Builder<R> {
    Builder::<R>::new()
        .manage(state)
        .manage(cloud::CloudState::default())
        .manage(autolock::AutoLock::default())
        .manage(autosync::AutoSync::default())
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::status_of,
            commands::choose_vault,
            commands::create_vault,
            commands::unlock,
            commands::lock,
            commands::search,
            commands::search_summary,
            commands::search_first_page,
            commands::track_details,
            commands::artwork,
            commands::thumbnail,
            commands::stream_url,
            commands::import,
            commands::export,
            commands::cancel,
            commands::set_trashed,
            commands::stats,
            commands::verify,
            commands::pick_folder,
            commands::purge_trash,
            commands::waveform,
            commands::analysis_progress,
            commands::change_passphrase,
            commands::settings,
            commands::set_setting,
            commands::albums,
            commands::artists,
            commands::group_tracks,
            commands::passphrase_strength,
            commands::app_settings,
            commands::set_auto_lock,
            commands::activity,
            commands::about,
            commands::take_opened_files,
            commands::import_jobs,
            commands::import_job,
            commands::activity_log,
            commands::duplicates,
            desktop::set_desktop_settings,
            desktop::show_in_file_manager,
            watching::commands::watch_status,
            watching::commands::watch_add_folder,
            watching::commands::watch_update_folder,
            watching::commands::watch_remove_folder,
            watching::commands::watch_failures,
            watching::commands::watch_clear_failures,
            cloud::remote_settings,
            cloud::set_remote,
            cloud::test_connection,
            cloud::sync_status,
            cloud::remote_devices,
            cloud::push,
            cloud::pull,
            cloud::cancel_sync,
            cloud::restore_from_cloud,
            cloud::repair,
            autosync::auto_sync_status,
            cloud::space::free_up_space,
            cloud::space::keep_on_device,
            cloud::space::location_totals,
            health::doctor,
            health::cancel_doctor,
            health::repair_vault,
            health::recover,
        ])
}

pub fn run() {
    let app = builder::<tauri::Wry>(state::AppState::from_env())
        // First: a second launch hands its file arguments to this one and ends.
        .plugin(tauri_plugin_single_instance::init(|app, args, cwd| {
            desktop::show_window(app);
            let paths = opened::paths_from_args(&args, std::path::Path::new(&cwd));
            if app.state::<state::AppState>().opened.add(paths) {
                events::files_opened(app);
            }
        }))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .args([desktop::BACKGROUND_ARG])
                .build(),
        )
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(desktop::window_state_flags())
                .build(),
        )
        .menu(desktop::menu::build)
        .on_menu_event(|app, event| desktop::menu::on_event(app, event.id().as_ref()))
        .on_window_event(desktop::on_window_event)
        .setup(|app| {
            autolock::start(app.handle());
            // Without a tray host the app still runs; closing then quits (the
            // window cannot be hidden where nothing would bring it back).
            if let Err(e) = desktop::tray::create(app.handle()) {
                eprintln!("audiovault: no tray icon: {e}");
            }
            // "Open with": the files this launch was given wait for the library.
            let args: Vec<String> = std::env::args().collect();
            let cwd = std::env::current_dir().unwrap_or_default();
            app.state::<state::AppState>()
                .opened
                .add(opened::paths_from_args(&args, &cwd));
            if let Ok(config) = app.path().app_config_dir() {
                app.state::<state::AppState>()
                    .start_at_last_vault(config.join(recent::FILE));
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event {
                let state = handle.state::<state::AppState>();
                // Cloud work and doctor stop; a cancelled push still deletes its
                // lease on the remote, which takes a request: waited for briefly.
                let left = state.quit(std::time::Duration::from_secs(5));
                if !left.is_empty() {
                    eprintln!("audiovault: quitting while {left:?} still runs");
                }
                // A watcher import in flight finishes its file; nothing new starts.
                state
                    .watching
                    .stop_and_wait(std::time::Duration::from_secs(10));
            }
        }),
        Err(e) => {
            eprintln!("audiovault: the app could not start: {e}");
            std::process::exit(1);
        }
    }
}
