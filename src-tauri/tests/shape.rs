//! Checks that keep the shell thin (ARCHITECTURE.md, "Invariants"): it declares
//! no copy of an engine type (the UI receives the engine's own), events are sent
//! from one module and the UI listens by the generated names, and the shell's
//! modules form no circle. They read the sources as text, so they fail the
//! moment a change breaks a rule, naming the file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn files(dir: &Path, ext: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| ext.iter().any(|x| e == *x))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Names of the public structs and enums declared under `dir`.
fn declared_types(dir: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for f in files(dir, &["rs"]) {
        for line in fs::read_to_string(&f).unwrap().lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let ["pub", "struct" | "enum", name, ..] = words.as_slice() {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name, f.clone());
            }
        }
    }
    out
}

#[test]
fn the_shell_declares_no_copy_of_an_engine_type() {
    let engine = declared_types(&root().join("../crates/engine/src"));
    let shell = declared_types(&root().join("src"));
    let copies: Vec<String> = shell
        .iter()
        .filter(|(name, _)| engine.contains_key(*name))
        .map(|(name, file)| {
            format!(
                "{name} in {} and {}",
                file.display(),
                engine[name].display()
            )
        })
        .collect();
    assert!(
        copies.is_empty(),
        "the engine's type crosses as it is (its `ts` feature): {copies:#?}"
    );
}

#[test]
fn events_leave_from_one_module_and_the_ui_listens_by_their_generated_names() {
    for f in files(&root().join("src"), &["rs"]) {
        if f.ends_with("events.rs") {
            continue;
        }
        let text = fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains(".emit("),
            "{} emits an event itself: add a function to src/events.rs",
            f.display()
        );
    }
    for f in files(&root().join("../ui/src"), &["ts", "svelte"]) {
        let text = fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let literal =
                line.contains("listen(\"") || line.contains("listen<") && line.contains(">(\"");
            assert!(
                !literal,
                "{}:{}: listen by EVENTS (bindings.ts), not by a literal name",
                f.display(),
                i + 1
            );
        }
    }
}

/// `crate::a::...` uses between the shell's top-level modules. `state` is the
/// composition root (it holds each part's shared state, and every part finds the
/// others through it), and `bindings` names every wire type; uses *from* those
/// two are not counted, every other edge is.
#[test]
fn the_shells_modules_form_no_circle() {
    const ROOTS: &[&str] = &["state", "bindings", "lib"];
    let src = root().join("src");
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files(&src, &["rs"]) {
        let rel = f.strip_prefix(&src).unwrap();
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if ROOTS.contains(&module.as_str()) {
            continue;
        }
        let text = fs::read_to_string(&f).unwrap();
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or("")
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        for piece in code.split("crate::").skip(1) {
            let target: String = piece
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let is_module = src.join(format!("{target}.rs")).is_file()
                || src.join(&target).join("mod.rs").is_file();
            if is_module && target != module {
                uses.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    // Depth-first search for a cycle; report it as a path.
    fn visit(
        m: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in uses.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, uses, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in uses.keys() {
        if let Some(cycle) = visit(m, &uses, &mut Vec::new(), &mut done) {
            panic!("the shell's modules form a circle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_version_lives_in_the_workspace_and_the_licence_files_match_it() {
    let read = |p: &str| {
        fs::read_to_string(root().join("..").join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
    };
    // Tauri and the UI read the workspace's version: neither declares its own.
    for file in ["src-tauri/tauri.conf.json", "ui/package.json"] {
        let json: serde_json::Value = serde_json::from_str(&read(file)).unwrap();
        assert!(
            json.get("version").is_none(),
            "{file} declares a version: the workspace's Cargo.toml is its one place"
        );
    }
    let config: serde_json::Value =
        serde_json::from_str(&read("src-tauri/tauri.conf.json")).unwrap();
    assert_eq!(
        config["bundle"]["license"],
        env!("CARGO_PKG_LICENSE"),
        "the package declares the crate's licence"
    );
    let manifest = read("Cargo.toml");
    assert!(
        manifest.contains(&format!("version = \"{}\"", env!("CARGO_PKG_VERSION"))),
        "the app's version is the workspace's"
    );
    assert_eq!(env!("CARGO_PKG_LICENSE"), "MIT OR Apache-2.0");
    assert!(read("LICENSE-MIT").contains("Permission is hereby granted, free of charge"));
    assert!(read("LICENSE-APACHE").contains("Apache License\n                        Version 2.0"));
    let changelog = read("CHANGELOG.md");
    assert!(
        changelog.contains("[Keep a Changelog]") && changelog.contains("## [Unreleased]"),
        "CHANGELOG.md in the Keep a Changelog form"
    );
}
