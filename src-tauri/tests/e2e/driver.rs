//! A small W3C WebDriver client for tauri-driver: sessions, elements, scripts,
//! screenshots. Written out rather than taken from a crate so that the
//! new-session request carries exactly `tauri:options` and nothing else
//! (WebKitWebDriver refuses capabilities it does not know).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub type Result<T> = std::result::Result<T, String>;

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// tauri-driver, stopped on drop.
pub struct TauriDriver {
    child: Child,
    pub port: u16,
}

impl TauriDriver {
    pub fn start(envs: &[(&str, String)]) -> Result<TauriDriver> {
        let port = free_port()?;
        let native_port = free_port()?;
        let bin = std::env::var("TAURI_DRIVER").unwrap_or_else(|_| "tauri-driver".into());
        let mut cmd = Command::new(&bin);
        cmd.args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
            .stdin(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|e| {
            format!("cannot start {bin} (cargo install tauri-driver --locked): {e}")
        })?;
        let driver = TauriDriver { child, port };
        driver.wait_ready(Duration::from_secs(30))?;
        Ok(driver)
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `/status` until the driver (and the native driver behind it) is ready.
    fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < timeout {
            match ureq::get(&format!("{}/status", self.base()))
                .timeout(Duration::from_secs(2))
                .call()
            {
                Ok(r) => match r.into_json::<Value>() {
                    Ok(v) if v["value"]["ready"].as_bool() != Some(false) => return Ok(()),
                    Ok(v) => last = v.to_string(),
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "tauri-driver was not ready within {timeout:?}: {last}"
        ))
    }

    pub fn session(&self, application: &Path) -> Result<Session> {
        let body = json!({
            "capabilities": {
                "alwaysMatch": {
                    "tauri:options": { "application": application.to_string_lossy() }
                }
            }
        });
        let v = request(
            "POST",
            &format!("{}/session", self.base()),
            Some(body),
            Duration::from_secs(60),
        )?;
        let id = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no sessionId in {v}"))?
            .to_string();
        Ok(Session {
            url: format!("{}/session/{id}", self.base()),
        })
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// Sends a WebDriver command and returns its `value`, or the driver's error.
fn request(method: &str, url: &str, body: Option<Value>, timeout: Duration) -> Result<Value> {
    let req = ureq::request(method, url).timeout(timeout);
    let resp = match body {
        Some(b) => req.send_json(b),
        None if method == "POST" => req.send_json(json!({})),
        None => req.call(),
    };
    let v: Value = match resp {
        Ok(r) => r.into_json().map_err(|e| format!("{method} {url}: {e}"))?,
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            return Err(format!("{method} {url}: HTTP {code}: {text}"));
        }
        Err(e) => return Err(format!("{method} {url}: {e}")),
    };
    if let Some(err) = v["value"]["error"].as_str() {
        return Err(format!(
            "{method} {url}: {err}: {}",
            v["value"]["message"].as_str().unwrap_or("")
        ));
    }
    // New-session answers carry the id beside the capabilities.
    if v.get("sessionId").is_some() && v["value"].get("sessionId").is_none() {
        return Ok(v);
    }
    Ok(v["value"].clone())
}

pub struct Session {
    url: String,
}

#[derive(Clone, Debug)]
pub struct Element(String);

impl Session {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        request(
            method,
            &format!("{}{path}", self.url),
            body,
            Duration::from_secs(60),
        )
    }

    pub fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_string())))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub fn find(&self, css: &str) -> Result<Element> {
        self.find_all(css)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("no element matches {css}"))
    }

    /// Waits until `css` matches an element.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        self.wait(timeout, &format!("an element matching {css}"), || {
            Ok(self.find_all(css)?.into_iter().next())
        })
    }

    /// Polls `probe` until it yields a value.
    pub fn wait<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut probe: impl FnMut() -> Result<Option<T>>,
    ) -> Result<T> {
        let start = Instant::now();
        let mut last_err = None;
        loop {
            match probe() {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => last_err = Some(e),
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "timed out after {timeout:?} waiting for {what}{}",
                    last_err
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn click(&self, el: &Element) -> Result<()> {
        self.cmd("POST", &format!("/element/{}/click", el.0), None)
            .map(|_| ())
    }

    pub fn send_keys(&self, el: &Element, text: &str) -> Result<()> {
        self.cmd(
            "POST",
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .map(|_| ())
    }

    pub fn text(&self, el: &Element) -> Result<String> {
        Ok(self
            .cmd("GET", &format!("/element/{}/text", el.0), None)?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    pub fn property(&self, el: &Element, name: &str) -> Result<Value> {
        self.cmd("GET", &format!("/element/{}/property/{name}", el.0), None)
    }

    /// Runs a synchronous script; `arguments[i]` are `args`.
    pub fn exec(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs an async script: it calls `arguments[arguments.length - 1](result)`.
    pub fn exec_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    pub fn set_window_rect(&self, x: i64, y: i64, width: u64, height: u64) -> Result<Value> {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({ "x": x, "y": y, "width": width, "height": height })),
        )
    }

    pub fn delete(&self) -> Result<()> {
        self.cmd("DELETE", "", None).map(|_| ())
    }
}

impl Element {
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}
