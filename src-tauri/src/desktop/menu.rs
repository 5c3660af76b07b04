//! The native menu bar: File, Edit, View, Help. An item either acts here (Quit,
//! Close window) or is handed to the window as a `menu-action` event with its
//! [`MenuAction`], which the UI runs exactly as its own button would.
//!
//! Accelerators are given only to keys the web view does not use itself: GTK
//! takes an accelerator before the page sees the key, so a menu Ctrl+C would
//! stop copying in a text field. Edit's items therefore carry no accelerator;
//! the page's own Ctrl+C, Ctrl+V, Ctrl+A go on working.

use crate::dto::MenuAction;
use tauri::menu::{Menu, MenuBuilder, MenuItem, Submenu, SubmenuBuilder};
use tauri::{AppHandle, Manager, Runtime};

/// Every item: its id (the action's name), label, accelerator, and submenu.
const ITEMS: &[(MenuAction, &str, Option<&str>, &str)] = &[
    (
        MenuAction::AddFiles,
        "Add Files…",
        Some("CmdOrCtrl+O"),
        "File",
    ),
    (
        MenuAction::AddFolder,
        "Add Folder…",
        Some("CmdOrCtrl+Shift+O"),
        "File",
    ),
    (
        MenuAction::Export,
        "Export Selected…",
        Some("CmdOrCtrl+E"),
        "File",
    ),
    (MenuAction::Lock, "Lock", Some("CmdOrCtrl+L"), "File"),
    (MenuAction::Undo, "Undo", None, "Edit"),
    (MenuAction::Redo, "Redo", None, "Edit"),
    (MenuAction::Cut, "Cut", None, "Edit"),
    (MenuAction::Copy, "Copy", None, "Edit"),
    (MenuAction::Paste, "Paste", None, "Edit"),
    (MenuAction::SelectAll, "Select All", None, "Edit"),
    (MenuAction::Find, "Find", None, "Edit"),
    (
        MenuAction::ShowLibrary,
        "Library",
        Some("CmdOrCtrl+1"),
        "View",
    ),
    (
        MenuAction::ShowAlbums,
        "Albums",
        Some("CmdOrCtrl+2"),
        "View",
    ),
    (
        MenuAction::ShowArtists,
        "Artists",
        Some("CmdOrCtrl+3"),
        "View",
    ),
    (
        MenuAction::ShowImports,
        "Imports",
        Some("CmdOrCtrl+4"),
        "View",
    ),
    (
        MenuAction::ShowDuplicates,
        "Duplicates",
        Some("CmdOrCtrl+5"),
        "View",
    ),
    (MenuAction::ShowCloud, "Cloud", Some("CmdOrCtrl+6"), "View"),
    (
        MenuAction::ShowSettings,
        "Settings",
        Some("CmdOrCtrl+Comma"),
        "View",
    ),
    (MenuAction::About, "About Audiovault", None, "Help"),
];

const CLOSE_WINDOW: &str = "close-window";
const QUIT: &str = "quit";

fn id(action: MenuAction) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn action(id: &str) -> Option<MenuAction> {
    ITEMS.iter().map(|i| i.0).find(|a| self::id(*a) == id)
}

fn submenu<R: Runtime>(app: &AppHandle<R>, title: &str) -> tauri::Result<Submenu<R>> {
    let mut builder = SubmenuBuilder::new(app, title);
    for (action, label, accelerator, menu) in ITEMS {
        if *menu != title {
            continue;
        }
        builder = builder.item(&MenuItem::with_id(
            app,
            id(*action),
            *label,
            true,
            *accelerator,
        )?);
        // File: the window and the app come after the vault's own items.
        if *action == MenuAction::Lock {
            builder = builder
                .separator()
                .item(&MenuItem::with_id(
                    app,
                    CLOSE_WINDOW,
                    "Close Window",
                    true,
                    Some("CmdOrCtrl+W"),
                )?)
                .item(&MenuItem::with_id(
                    app,
                    QUIT,
                    "Quit",
                    true,
                    Some("CmdOrCtrl+Q"),
                )?);
        }
    }
    builder.build()
}

/// The menu bar, for [`tauri::Builder::menu`].
pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let file = submenu(app, "File")?;
    let edit = submenu(app, "Edit")?;
    let view = submenu(app, "View")?;
    let help = submenu(app, "Help")?;
    MenuBuilder::new(app)
        .items(&[&file, &edit, &view, &help])
        .build()
}

/// A menu item was chosen.
pub fn on_event<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        QUIT => app.exit(0),
        // Through the window's close request, so the tray rule applies.
        CLOSE_WINDOW => {
            if let Some(window) = app.get_webview_window(crate::window::MAIN) {
                let _ = window.close();
            }
        }
        other => {
            if let Some(action) = action(other) {
                crate::events::menu_action(app, action);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_item_and_round_trips_its_id() {
        for (a, ..) in ITEMS {
            assert_eq!(action(&id(*a)), Some(*a), "{a:?}");
            assert_eq!(ITEMS.iter().filter(|i| i.0 == *a).count(), 1, "{a:?}");
        }
        assert_eq!(action("quit"), None);
    }

    #[test]
    fn accelerators_leave_the_pages_editing_keys_alone() {
        let taken: Vec<&str> = ITEMS.iter().filter_map(|i| i.2).collect();
        for key in [
            "CmdOrCtrl+C",
            "CmdOrCtrl+V",
            "CmdOrCtrl+X",
            "CmdOrCtrl+A",
            "CmdOrCtrl+Z",
            "CmdOrCtrl+F",
        ] {
            assert!(!taken.contains(&key), "{key} belongs to the page");
        }
        let mut unique = taken.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), taken.len(), "an accelerator used twice");
    }
}
