//! The app's command table through Tauri's mock runtime, as the UI calls it: shared
//! by the test binaries that drive the shell without a window (`commands`,
//! `autosync`). Each binary uses part of it.
#![allow(dead_code)]

use std::path::Path;

use audiovault_app::state::AppState;
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{MockRuntime, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};

pub type Outcome = Result<Value, Value>;

/// The UI passes a channel for progress as this string; the mock runtime
/// discards what is sent on it.
pub const CHANNEL: &str = "__CHANNEL__:7";

pub struct Shell {
    pub webview: WebviewWindow<MockRuntime>,
    /// The app's own key: an invoke without it is dropped, as from a stranger.
    pub invoke_key: String,
    /// The app must outlive the webview's invocations.
    pub app: App<MockRuntime>,
}

impl Shell {
    pub fn new(vault_dir: &Path) -> Shell {
        let app = audiovault_app::builder::<MockRuntime>(AppState::new(vault_dir.to_path_buf()))
            .build(mock_context(noop_assets()))
            .expect("the mock app builds");
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("the mock webview opens");
        Shell {
            webview,
            invoke_key: app.invoke_key().to_string(),
            app,
        }
    }

    /// One command, as the UI's `invoke(cmd, args)` sends it.
    pub fn invoke(&self, cmd: &str, args: Value) -> Outcome {
        invoke_on(&self.webview, &self.invoke_key, cmd, args)
    }

    /// The same command on another thread (it answers through the join handle),
    /// so that the test can do something while it runs.
    pub fn invoke_in_background(
        &self,
        cmd: &'static str,
        args: Value,
    ) -> std::thread::JoinHandle<Outcome> {
        let webview = self.webview.clone();
        let key = self.invoke_key.clone();
        std::thread::spawn(move || invoke_on(&webview, &key, cmd, args))
    }

    pub fn state(&self) -> tauri::State<'_, AppState> {
        self.app.state::<AppState>()
    }

    #[track_caller]
    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(v) => v,
            Err(e) => panic!("{cmd} failed: {e}"),
        }
    }

    /// The error a command answers (it must fail).
    pub fn err(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(v) => panic!("{cmd} should have failed, answered {v}"),
            Err(e) => e,
        }
    }

    /// The error's `kind`, after checking the error has the IPC shape.
    pub fn err_kind(&self, cmd: &str, args: Value) -> String {
        match self.invoke(cmd, args) {
            Ok(v) => panic!("{cmd} should have failed, answered {v}"),
            Err(e) => {
                assert!(
                    e["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{cmd}: error without a message: {e}"
                );
                e["kind"].as_str().expect("an error kind").to_string()
            }
        }
    }
}

fn invoke_on(webview: &WebviewWindow<MockRuntime>, key: &str, cmd: &str, args: Value) -> Outcome {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        // The app's own origin on Linux: app commands answer only local pages.
        url: "tauri://localhost".parse().expect("a valid origin"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: key.to_string(),
    };
    tauri::test::get_ipc_response(webview, request).map(|body| {
        body.deserialize::<Value>()
            .expect("a command answers with JSON")
    })
}
