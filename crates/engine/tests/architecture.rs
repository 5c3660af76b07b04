//! Checks that keep the engine's shape (ARCHITECTURE.md, "Invariants"): it
//! depends on neither Tauri nor clap, SQL lives only under `catalog/`, and its
//! modules form layers without circles. They read the sources and Cargo.lock as
//! text, so they fail the moment a change breaks a rule, naming the line.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The lines of a source file that are not tests: a file named `tests.rs`, and
/// everything from a `#[cfg(test)]` on, are left out (tests may reach anywhere).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return Vec::new();
    }
    let text = fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        out.push((i + 1, code.to_string()));
    }
    out
}

/// The top-level module a file belongs to (`sync` for `src/sync/push.rs`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Top-level modules named after `crate::` in a line, `use crate::{a, b::c}` included.
fn crate_references(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for part in inner.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
        rest = after;
    }
    out
}

#[test]
fn the_engine_depends_on_neither_tauri_nor_clap() {
    let lock = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"))
        .expect("Cargo.lock at the workspace root");
    // package name → its dependencies' names.
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .map(|n| n.trim_end_matches('"').to_string())
            .unwrap();
        let list: Vec<String> = block
            .split("dependencies = [")
            .nth(1)
            .map(|d| {
                d.split(']')
                    .next()
                    .unwrap_or("")
                    .lines()
                    .filter_map(|l| {
                        let l = l.trim().trim_end_matches(',').trim_matches('"');
                        l.split(' ')
                            .next()
                            .filter(|n| !n.is_empty())
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        deps.entry(name).or_default().extend(list);
    }
    let mut seen = BTreeSet::new();
    let mut stack = vec![(
        "audiovault-engine".to_string(),
        vec!["audiovault-engine".to_string()],
    )];
    while let Some((name, path)) = stack.pop() {
        assert!(
            !(name.starts_with("tauri") || name == "clap" || name.starts_with("clap_")),
            "the engine depends on {name}: {}",
            path.join(" → ")
        );
        if !seen.insert(name.clone()) {
            continue;
        }
        for d in deps.get(&name).into_iter().flatten() {
            let mut next = path.clone();
            next.push(d.clone());
            stack.push((d.clone(), next));
        }
    }
    assert!(
        seen.len() > 50,
        "the walk reached the engine's dependencies"
    );
}

#[test]
fn sql_lives_only_under_catalog() {
    const SQL: &[&str] = &[
        "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "ALTER ", "DROP ", "PRAGMA ",
        "VACUUM", "ATTACH ", "DETACH ",
    ];
    let mut found = Vec::new();
    for path in rust_files(&src()) {
        if module_of(&path) == "catalog" {
            continue;
        }
        for (n, line) in code_lines(&path) {
            let in_string = line.split('"').skip(1).step_by(2).any(|s| {
                let upper = s.trim_start();
                SQL.iter().any(|k| upper.starts_with(k))
            });
            if in_string || line.contains("rusqlite") {
                found.push(format!("{}:{n}: {}", path.display(), line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SQL (or rusqlite) outside crates/engine/src/catalog/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_engine_modules_form_layers_without_circles() {
    // module → module it uses → where.
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let modules: BTreeSet<String> = rust_files(&src())
        .iter()
        .map(|p| module_of(p))
        .filter(|m| m != "lib")
        .collect();
    for path in rust_files(&src()) {
        let from = module_of(&path);
        if from == "lib" {
            continue;
        }
        for (n, line) in code_lines(&path) {
            for to in crate_references(&line) {
                if to != from && modules.contains(&to) {
                    edges
                        .entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_insert_with(|| format!("{}:{n}", path.display()));
                }
            }
        }
    }
    // Strongly connected components (Tarjan): any with more than one module is a circle.
    struct Tarjan<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        next: usize,
        circles: Vec<Vec<String>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: &str) {
            self.index.insert(v.to_string(), self.next);
            self.low.insert(v.to_string(), self.next);
            self.next += 1;
            self.stack.push(v.to_string());
            self.on_stack.insert(v.to_string());
            let targets: Vec<String> = self
                .edges
                .get(v)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            for w in targets {
                if !self.index.contains_key(&w) {
                    self.visit(&w);
                    let low = self.low[v].min(self.low[&w]);
                    self.low.insert(v.to_string(), low);
                } else if self.on_stack.contains(&w) {
                    let low = self.low[v].min(self.index[&w]);
                    self.low.insert(v.to_string(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(&w);
                    let done = w == v;
                    component.push(w);
                    if done {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.circles.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        circles: Vec::new(),
    };
    for m in &modules {
        if !t.index.contains_key(m) {
            t.visit(m);
        }
    }
    let report: Vec<String> = t
        .circles
        .iter()
        .map(|c| {
            let inside: Vec<String> = c
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|(to, _)| c.contains(to))
                        .map(move |(to, at)| format!("  {from} → {to} ({at})"))
                })
                .collect();
            format!("{}:\n{}", c.join(", "), inside.join("\n"))
        })
        .collect();
    assert!(
        report.is_empty(),
        "engine modules that use each other (a circle):\n{}",
        report.join("\n")
    );

    // The layers of ARCHITECTURE.md's diagram, bottom first: a module uses its own
    // layer or those below, never one above; a new module must be placed here.
    const LAYERS: &[&[&str]] = &[
        &[
            "secret",
            "private",
            "mutex",
            "workers",
            "formats",
            "test_support",
        ],
        &["keys", "media", "store", "ids", "progress"],
        &["catalog", "error", "strength"],
        &["vault"],
        &[
            "ingest", "export", "verify", "analysis", "library", "serve", "sync", "watch",
        ],
        &["doctor"],
    ];
    let layer_of = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let unplaced: Vec<&String> = modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS (and from ARCHITECTURE.md's diagram): {unplaced:?}"
    );
    let upward: Vec<String> = edges
        .iter()
        .flat_map(|(from, tos)| tos.iter().map(move |(to, at)| (from, to, at)))
        .filter(|(from, to, _)| layer_of(to) > layer_of(from))
        .map(|(from, to, at)| format!("  {from} → {to} ({at})"))
        .collect();
    assert!(
        upward.is_empty(),
        "engine modules that use a layer above their own:\n{}",
        upward.join("\n")
    );
}
