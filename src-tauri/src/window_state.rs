//! The main window's size and position, remembered between runs in
//! `window.json` in the app's config folder (`$XDG_CONFIG_HOME/org.audiovault.desktop`).
//! Saved a moment after the window stops moving or resizing, and on close;
//! restored at start when the saved spot still lies on a monitor.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tauri::{Manager, PhysicalPosition, PhysicalSize, Runtime, WebviewWindow, WindowEvent};

pub const FILE: &str = "window.json";

/// Physical pixels, as the window system reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub maximized: bool,
}

/// A monitor's rectangle: (x, y, width, height).
pub type Rect = (i32, i32, u32, u32);

impl Geometry {
    /// Sane to restore: a usable size, and the title bar's area (the top-left
    /// 100×40 px) on one of the monitors, so a window saved on an unplugged screen
    /// does not come back out of sight.
    pub fn usable_on(&self, monitors: &[Rect]) -> bool {
        if self.width < 200 || self.height < 150 || self.width > 20_000 || self.height > 20_000 {
            return false;
        }
        monitors.iter().any(|&(mx, my, mw, mh)| {
            let (mx2, my2) = (mx + mw as i32, my + mh as i32);
            self.x + 100 > mx && self.x < mx2 - 40 && self.y + 40 > my && self.y < my2 - 20
        })
    }
}

fn path<R: Runtime>(window: &WebviewWindow<R>) -> Option<PathBuf> {
    window
        .app_handle()
        .path()
        .app_config_dir()
        .ok()
        .map(|d| d.join(FILE))
}

pub fn load(path: &std::path::Path) -> Option<Geometry> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn current<R: Runtime>(window: &WebviewWindow<R>) -> Option<Geometry> {
    let pos = window.outer_position().ok()?;
    let size = window.inner_size().ok()?;
    Some(Geometry {
        x: pos.x,
        y: pos.y,
        width: size.width,
        height: size.height,
        maximized: window.is_maximized().unwrap_or(false),
    })
}

fn save<R: Runtime>(window: &WebviewWindow<R>) {
    let (Some(path), Some(mut geometry)) = (path(window), current(window)) else {
        return;
    };
    // Keep the normal size under a maximized window, so un-maximizing next time
    // returns to it.
    if geometry.maximized
        && let Some(old) = load(&path)
    {
        geometry = Geometry {
            maximized: true,
            ..old
        };
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(json) = serde_json::to_vec_pretty(&geometry) {
        let tmp = path.with_extension("json.tmp");
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
}

/// Restores the saved geometry and keeps it up to date from now on.
pub fn manage<R: Runtime>(window: &WebviewWindow<R>) {
    if let Some(saved) = path(window).and_then(|p| load(&p)) {
        let monitors: Vec<Rect> = window
            .available_monitors()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                let (p, s) = (m.position(), m.size());
                (p.x, p.y, s.width, s.height)
            })
            .collect();
        if saved.usable_on(&monitors) {
            let _ = window.set_size(PhysicalSize::new(saved.width, saved.height));
            let _ = window.set_position(PhysicalPosition::new(saved.x, saved.y));
            if saved.maximized {
                let _ = window.maximize();
            }
        }
    }
    // Debounced: a drag sends dozens of events a second; write once it settles.
    let generation = Arc::new(AtomicU64::new(0));
    let handle = window.clone();
    window.on_window_event(move |event| match event {
        WindowEvent::Moved(_) | WindowEvent::Resized(_) => {
            let mine = generation.fetch_add(1, Ordering::SeqCst) + 1;
            let generation = generation.clone();
            let handle = handle.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(400));
                if generation.load(Ordering::SeqCst) == mine {
                    save(&handle);
                }
            });
        }
        WindowEvent::CloseRequested { .. } => save(&handle),
        _ => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCREEN: Rect = (0, 0, 1920, 1080);

    fn at(x: i32, y: i32) -> Geometry {
        Geometry {
            x,
            y,
            width: 1000,
            height: 700,
            maximized: false,
        }
    }

    #[test]
    fn a_window_on_a_monitor_is_restored() {
        assert!(at(100, 80).usable_on(&[SCREEN]));
        assert!(at(-50, 0).usable_on(&[SCREEN]), "partly off the left edge");
        // On the second of two monitors.
        assert!(at(2000, 100).usable_on(&[SCREEN, (1920, 0, 2560, 1440)]));
    }

    #[test]
    fn a_window_off_every_monitor_or_of_silly_size_is_not() {
        assert!(!at(2000, 100).usable_on(&[SCREEN]), "monitor unplugged");
        assert!(
            !at(100, 1070).usable_on(&[SCREEN]),
            "title bar below the screen"
        );
        assert!(!at(100, 100).usable_on(&[]));
        let tiny = Geometry {
            width: 10,
            ..at(100, 100)
        };
        assert!(!tiny.usable_on(&[SCREEN]));
    }

    #[test]
    fn the_file_round_trips_and_garbage_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE);
        std::fs::write(&p, serde_json::to_vec(&at(5, 6)).unwrap()).unwrap();
        assert_eq!(load(&p), Some(at(5, 6)));
        std::fs::write(&p, b"{not json").unwrap();
        assert_eq!(load(&p), None);
        assert_eq!(load(&dir.path().join("missing.json")), None);
    }
}
