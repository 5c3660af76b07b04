//! The tray icon and its menu: Open, Pause/Resume watching, Push now, Lock, Quit.
//! It exists while the app runs; with the window closed to the tray it is the way
//! back. (Linux: an AppIndicator, shown by desktops with a StatusNotifier host.)

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::state::AppState;

const OPEN: &str = "tray-open";
const PAUSE: &str = "tray-pause";
const PUSH: &str = "tray-push";
const LOCK: &str = "tray-lock";
const QUIT: &str = "tray-quit";

/// The items whose label or state follows the app's.
struct Items<R: Runtime> {
    pause: MenuItem<R>,
    push: MenuItem<R>,
    lock: MenuItem<R>,
}

/// Adds the tray icon. Called once at start. A desktop without a tray host shows
/// none; a window hidden there comes back with a second launch (single instance).
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, OPEN, "Open Audiovault", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, PAUSE, "Pause watching", false, None::<&str>)?;
    let push = MenuItem::with_id(app, PUSH, "Push now", false, None::<&str>)?;
    let lock = MenuItem::with_id(app, LOCK, "Lock", false, None::<&str>)?;
    let quit = MenuItem::with_id(app, QUIT, "Quit Audiovault", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(
        app,
        &[&open, &separator, &pause, &push, &lock, &separator, &quit],
    )?;
    let icon = Image::from_bytes(include_bytes!("../../../icons/32x32.png"))?;
    TrayIconBuilder::with_id("audiovault")
        .icon(icon)
        .tooltip("Audiovault")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                super::show_window(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(Items { pause, push, lock });
    let handle = app.clone();
    app.state::<AppState>()
        .set_on_change(move || refresh(&handle));
    refresh(app);
    Ok(())
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        OPEN => super::show_window(app),
        PAUSE => {
            let paused = app.state::<AppState>().watching.is_paused();
            crate::watching::set_paused(app, !paused);
            refresh(app);
        }
        PUSH => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let result = crate::cloud::push_in_background(&app).await;
                crate::notify::tray_job_ended(&app, "Push", &result, crate::cloud::push_summary);
            });
        }
        LOCK => {
            // lock_now waits for the jobs to let go: off the event loop.
            let app = app.clone();
            let _ = std::thread::Builder::new()
                .name("audiovault-tray-lock".into())
                .spawn(move || {
                    crate::autolock::lock_now(&app, crate::dto::LockReason::Tray);
                });
        }
        QUIT => app.exit(0),
        _ => {}
    }
}

/// Sets the items to the app's state (after unlock, lock, pause, hide).
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let Some(items) = app.try_state::<Items<R>>() else {
        return;
    };
    let state = app.state::<AppState>();
    let unlocked = state.is_unlocked();
    let paused = state.watching.is_paused();
    let _ = items.pause.set_text(if paused {
        "Resume watching"
    } else {
        "Pause watching"
    });
    let _ = items.pause.set_enabled(super::watcher_in_use(app));
    let _ = items.push.set_enabled(unlocked);
    let _ = items.lock.set_enabled(unlocked);
}
