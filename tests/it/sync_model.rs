//! Sync as several writers, checked against a model: three devices on one bucket
//! (a real Garage) run random interleavings of import, push, pull, trash,
//! restore, purge, passphrase change and remote GC through the real CLI. After
//! every step the device's library must equal what the model says, and at the
//! end, after a push and a pull on every device, every device and a fresh clone
//! hold the model's library and export it byte for byte.
//!
//! The model is the merge semantics written down independently of the engine:
//! each content has adds (an import or a restore, tagged by device and Lamport
//! stamp) that a purge marks removed, the content lives while one add is not
//! removed, a live content's state is the one with the larger stamp (between
//! equal stamps, active), and a pull joins the newest manifest of every line it
//! has not merged. Passphrase changes order by (epoch, device).
//!
//! `AUDIOVAULT_MODEL_SEED` and `AUDIOVAULT_MODEL_OPS` replay or lengthen a run;
//! a failure prints the seed and the steps that led to it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use audiovault_tests::*;
use serde_json::Value;

use crate::sync::{Remote, exported_checksums, garage};

const DEVICES: usize = 3;
const CONTENTS: usize = 10;
const DEFAULT_SEED: u64 = 0x5EED_A11CE;
const DEFAULT_OPS: usize = 220;

/// splitmix64: small, seedable, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len())].clone())
    }
}

/// A live content's state: (Lamport stamp, active). The larger wins a merge;
/// `true > false` makes 'active' win between equal stamps.
type State = (i64, bool);

/// What a catalog holds, as far as sync is concerned.
#[derive(Clone, Debug, Default)]
struct Lib {
    /// (content, device, stamp) → removed.
    adds: BTreeMap<(usize, String, i64), bool>,
    /// Live contents only.
    states: BTreeMap<usize, State>,
    lamport: i64,
}

impl Lib {
    fn alive(&self, content: usize) -> bool {
        self.adds
            .iter()
            .any(|((c, _, _), removed)| *c == content && !removed)
    }

    fn has_adds(&self, content: usize) -> bool {
        self.adds.keys().any(|(c, _, _)| *c == content)
    }

    /// The join of a manifest's library into this one.
    fn merge(&mut self, other: &Lib) {
        for (add, removed) in &other.adds {
            let mine = self.adds.entry(add.clone()).or_insert(*removed);
            *mine |= *removed;
        }
        self.lamport = self.lamport.max(other.lamport);
        for (content, theirs) in &other.states {
            if let Some(mine) = self.states.get_mut(content) {
                *mine = (*mine).max(*theirs);
            } else if self.alive(*content) {
                self.states.insert(*content, *theirs);
            }
        }
        let dead: Vec<usize> = self
            .states
            .keys()
            .copied()
            .filter(|c| self.has_adds(*c) && !self.alive(*c))
            .collect();
        for c in dead {
            self.states.remove(&c);
        }
    }

    fn tick(&mut self) -> i64 {
        self.lamport += 1;
        self.lamport
    }

    fn with_state(&self, active: bool) -> Vec<usize> {
        self.states
            .iter()
            .filter(|(_, s)| s.1 == active)
            .map(|(c, _)| *c)
            .collect()
    }
}

/// A vault.json: ordered by (epoch, device of the change).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    epoch: u64,
    device: String,
    passphrase: String,
}

struct Device {
    name: char,
    vault: TestVault,
    id: String,
    lib: Lib,
    key: Key,
    /// Per line, the newest manifest this catalog includes.
    heads: BTreeMap<String, u64>,
    /// Something changed since the last push (a push with nothing new writes nothing).
    dirty: bool,
}

/// The newest manifest of a device's line.
#[derive(Clone)]
struct Pushed {
    seq: u64,
    lib: Lib,
    heads: BTreeMap<String, u64>,
}

#[derive(Default)]
struct RemoteModel {
    lines: BTreeMap<String, Pushed>,
    keys: BTreeSet<Key>,
}

impl RemoteModel {
    fn newest_key(&self) -> Option<&Key> {
        self.keys.iter().max()
    }

    /// What merging every line `device` has not merged does to it.
    fn merge_into(&self, device: &mut Device) {
        for (line, pushed) in &self.lines {
            if device.heads.get(line).is_some_and(|h| *h >= pushed.seq) {
                continue;
            }
            device.lib.merge(&pushed.lib);
            if !pushed.lib.adds.is_empty() {
                device.dirty = true;
            }
            let head = device.heads.entry(line.clone()).or_insert(0);
            *head = (*head).max(pushed.seq);
            for (l, seq) in &pushed.heads {
                let head = device.heads.entry(l.clone()).or_insert(0);
                *head = (*head).max(*seq);
            }
        }
    }

    /// vault.json at a pull: a newer one is adopted.
    fn adopt_newer_key(&self, device: &mut Device) -> bool {
        match self.newest_key() {
            Some(newest) if *newest > device.key => {
                device.key = newest.clone();
                device.dirty = true;
                true
            }
            _ => false,
        }
    }
}

struct History {
    seed: u64,
    log: Vec<String>,
}

impl History {
    fn context(&self) -> String {
        let tail: Vec<&String> = self.log.iter().rev().take(40).collect();
        let mut lines: Vec<String> = tail.into_iter().rev().cloned().collect();
        lines.insert(
            0,
            format!(
                "seed {:#x} (AUDIOVAULT_MODEL_SEED={} replays it); last steps:",
                self.seed, self.seed
            ),
        );
        lines.join("\n  ")
    }
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// The device's library as the CLI reports it: sha256 → active.
fn real_library(vault: &TestVault) -> BTreeMap<String, bool> {
    vault
        .all_tracks()
        .iter()
        .map(|t| {
            (
                t["sha256"].as_str().unwrap_or_default().to_string(),
                t["state"] == "active",
            )
        })
        .collect()
}

fn device_id(remote: &Remote, vault: &TestVault) -> String {
    let show = remote.json(vault, &["remote", "show"]);
    show["status"]["device"]
        .as_str()
        .unwrap_or_else(|| panic!("no device id in {show:#}"))
        .to_string()
}

struct World {
    remote: Remote,
    model: RemoteModel,
    devices: Vec<Device>,
    /// Content number → (file, sha256).
    files: Vec<(PathBuf, String)>,
    run: History,
    _scratch: tempfile::TempDir,
    passphrases: u64,
}

impl World {
    fn content_of_sha(&self, sha: &str) -> Option<usize> {
        self.files.iter().position(|(_, s)| s == sha)
    }

    fn expected(&self, lib: &Lib) -> BTreeMap<String, bool> {
        lib.states
            .iter()
            .map(|(c, s)| (self.files[*c].1.clone(), s.1))
            .collect()
    }

    #[track_caller]
    fn check_device(&self, d: usize) {
        let device = &self.devices[d];
        let real = real_library(&device.vault);
        let expected = self.expected(&device.lib);
        if real != expected {
            let show = |m: &BTreeMap<String, bool>| -> Vec<String> {
                m.iter()
                    .map(|(sha, active)| {
                        format!(
                            "c{}{}",
                            self.content_of_sha(sha).map_or(99, |c| c),
                            if *active { "" } else { "(trashed)" }
                        )
                    })
                    .collect()
            };
            panic!(
                "device {} holds {:?}, the model says {:?}\n{}",
                device.name,
                show(&real),
                show(&expected),
                self.run.context()
            );
        }
        // The stats' running totals (kept by triggers through imports, merges, trash
        // and purges) add up to the listed tracks.
        let (mut counted, mut bytes) = ([0u64; 2], [0u64; 2]);
        for t in device.vault.all_tracks() {
            let i = usize::from(t["state"] != "active");
            counted[i] += 1;
            bytes[i] += t["size_bytes"].as_u64().unwrap_or_default();
        }
        let stats = self.cli(d, &["stats"]);
        let totals = [
            stats["tracks"].as_u64(),
            stats["trashed"].as_u64(),
            stats["logical_bytes"].as_u64(),
            stats["trashed_bytes"].as_u64(),
        ];
        let listed = [counted[0], counted[1], bytes[0], bytes[1]].map(Some);
        assert_eq!(
            totals,
            listed,
            "device {}: stats (tracks, trashed, their bytes) against its list\n{}",
            device.name,
            self.run.context()
        );
    }

    #[track_caller]
    fn cli(&self, d: usize, args: &[&str]) -> Value {
        let device = &self.devices[d];
        let run = self.remote.cmd(&device.vault, args).arg("--json").run();
        if run.code() != 0 {
            panic!(
                "device {}: `{}` failed\n{run}\n{}",
                device.name,
                args.join(" "),
                self.run.context()
            );
        }
        run.json()
    }

    fn id_of(&self, d: usize, content: usize) -> String {
        let sha = &self.files[content].1;
        self.devices[d]
            .vault
            .all_tracks()
            .iter()
            .find(|t| t["sha256"] == sha.as_str())
            .and_then(|t| t["id"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                panic!(
                    "device {} has no track of c{content}\n{}",
                    self.devices[d].name,
                    self.run.context()
                )
            })
    }

    fn step(&mut self, rng: &mut Rng) {
        let d = rng.below(DEVICES);
        let name = self.devices[d].name;
        match rng.below(100) {
            0..=19 => {
                let c = rng.below(CONTENTS);
                self.run.log.push(format!("{name}: import c{c}"));
                let report = self.devices[d].vault.import(&[&self.files[c].0]);
                let device = &mut self.devices[d];
                if device.lib.states.contains_key(&c) {
                    assert_eq!(report.count("duplicate"), 1, "{}", self.run.context());
                } else {
                    assert_eq!(report.count("imported"), 1, "{}", self.run.context());
                    let stamp = device.lib.tick();
                    device.lib.adds.insert((c, device.id.clone(), stamp), false);
                    device.lib.states.insert(c, (stamp, true));
                    device.dirty = true;
                }
            }
            20..=34 => self.push(d),
            35..=49 => self.pull(d),
            50..=61 => {
                let Some(c) = rng.pick(&self.devices[d].lib.with_state(true)) else {
                    return;
                };
                self.run.log.push(format!("{name}: trash c{c}"));
                let id = self.id_of(d, c);
                self.cli(d, &["trash", &id]);
                let device = &mut self.devices[d];
                let stamp = device.lib.tick();
                device.lib.states.insert(c, (stamp, false));
                device.dirty = true;
            }
            62..=71 => {
                let Some(c) = rng.pick(&self.devices[d].lib.with_state(false)) else {
                    return;
                };
                self.run.log.push(format!("{name}: restore c{c}"));
                let id = self.id_of(d, c);
                self.cli(d, &["restore", &id]);
                let device = &mut self.devices[d];
                let stamp = device.lib.tick();
                device.lib.states.insert(c, (stamp, true));
                device.lib.adds.insert((c, device.id.clone(), stamp), false);
                device.dirty = true;
            }
            72..=79 => {
                self.run.log.push(format!(
                    "{name}: purge {:?}",
                    self.devices[d].lib.with_state(false)
                ));
                let report = self.cli(d, &["purge"]);
                let device = &mut self.devices[d];
                device.lib.tick();
                let trashed = device.lib.with_state(false);
                assert_eq!(
                    report["purged_tracks"].as_array().map_or(0, Vec::len),
                    trashed.len(),
                    "{report:#}\n{}",
                    self.run.context()
                );
                for c in &trashed {
                    for (add, removed) in device.lib.adds.iter_mut() {
                        if add.0 == *c {
                            *removed = true;
                        }
                    }
                    device.lib.states.remove(c);
                }
                device.dirty |= !trashed.is_empty();
            }
            80..=85 => {
                self.passphrases += 1;
                let new = format!("passphrase {} of the model run", self.passphrases);
                self.run.log.push(format!("{name}: passwd -> '{new}'"));
                let device = &self.devices[d];
                let run = device
                    .vault
                    .cmd(["passwd"])
                    .env("AUDIOVAULT_NEW_PASSPHRASE", &new)
                    .run();
                assert_eq!(run.code(), 0, "{run}\n{}", self.run.context());
                let device = &mut self.devices[d];
                device.key = Key {
                    epoch: device.key.epoch + 1,
                    device: device.id.clone(),
                    passphrase: new.clone(),
                };
                device.vault.set_passphrase(Some(&new));
                device.dirty = true;
            }
            _ => {
                self.run.log.push(format!("{name}: remote gc"));
                self.cli(
                    d,
                    &[
                        "remote",
                        "gc",
                        "--grace-hours",
                        "0",
                        "--keep-last",
                        "1",
                        "--keep-daily",
                        "0",
                    ],
                );
                // Nothing any kept manifest references may be gone, and every pack
                // still authenticates.
                let verify = self.cli(d, &["verify", "--remote"]);
                assert_eq!(
                    verify["ok"],
                    true,
                    "after a remote GC: {verify:#}\n{}",
                    self.run.context()
                );
            }
        }
        self.check_device(d);
    }

    fn push(&mut self, d: usize) {
        let name = self.devices[d].name;
        self.run.log.push(format!("{name}: push"));
        let status = self.cli(d, &["remote", "show"]);
        let report = self.cli(d, &["push"]);
        let device = &mut self.devices[d];
        let nothing_new = !device.dirty;
        assert_eq!(
            report["nothing_new"],
            nothing_new,
            "{report:#}\nbefore the push: {status:#}\n{}",
            self.run.context()
        );
        if nothing_new {
            return;
        }
        let before = device.key.clone();
        let adopted = self.model.adopt_newer_key(device);
        if !adopted {
            self.model.keys.insert(device.key.clone());
        }
        assert_eq!(
            report["vault_json_adopted"],
            adopted,
            "{report:#}\nthe device's key {before:?}, the remote's {:?}\n{}",
            self.model.keys,
            self.run.context()
        );
        if adopted {
            device.vault.set_passphrase(Some(&device.key.passphrase));
        }
        self.model.merge_into(device);
        let own = device.heads.get(&device.id).copied().unwrap_or(0);
        let seq = own.max(self.model.lines.get(&device.id).map_or(0, |p| p.seq)) + 1;
        assert_eq!(report["seq"], seq, "{report:#}\n{}", self.run.context());
        device.heads.insert(device.id.clone(), seq);
        self.model.lines.insert(
            device.id.clone(),
            Pushed {
                seq,
                lib: device.lib.clone(),
                heads: device
                    .heads
                    .iter()
                    .filter(|(l, _)| **l != device.id)
                    .map(|(l, s)| (l.clone(), *s))
                    .collect(),
            },
        );
        device.dirty = false;
    }

    fn pull(&mut self, d: usize) {
        let name = self.devices[d].name;
        self.run.log.push(format!("{name}: pull"));
        let report = self.cli(d, &["pull"]);
        let device = &mut self.devices[d];
        let adopted = self.model.adopt_newer_key(device);
        assert_eq!(
            report["vault_json_adopted"],
            adopted,
            "{report:#}\n{}",
            self.run.context()
        );
        if adopted {
            device.vault.set_passphrase(Some(&device.key.passphrase));
        }
        self.model.merge_into(device);
    }
}

#[test]
fn three_devices_in_random_order_converge_on_the_models_library() {
    let Some(g) = garage() else { return };
    let seed = env_number("AUDIOVAULT_MODEL_SEED").unwrap_or(DEFAULT_SEED);
    let ops = env_number("AUDIOVAULT_MODEL_OPS").map_or(DEFAULT_OPS, |n| n as usize);
    eprintln!("sync model: seed {seed:#x}, {ops} steps");
    let mut rng = Rng(seed);
    let remote = Remote::on(&g, &format!("model-{seed:x}"));

    // Ten distinct contents, 100 KB to 1.5 MB: single- and multi-chunk tracks.
    let scratch = tempfile::tempdir().unwrap();
    let files: Vec<(PathBuf, String)> = (0..CONTENTS)
        .map(|c| {
            let path = scratch.path().join(format!("content-{c}.wav"));
            let size = 100_000 + (c as u64 * 157_000) % 1_400_000;
            write_noise_wav(&path, 0xC0_47E47 + c as u64 + seed, size);
            let sha = sha256_file(&path);
            (path, sha)
        })
        .collect();

    // Device A starts the library with two tracks and pushes it; B and C clone it.
    let a = TestVault::new();
    remote.set(&a, &[]);
    let a_id = device_id(&remote, &a);
    let mut first = Device {
        name: 'A',
        vault: a,
        id: a_id,
        lib: Lib::default(),
        key: Key {
            epoch: 0,
            device: String::new(),
            passphrase: PASSPHRASE.to_string(),
        },
        heads: BTreeMap::new(),
        dirty: true,
    };
    let mut world = World {
        remote,
        model: RemoteModel::default(),
        devices: Vec::new(),
        files,
        run: History {
            seed,
            log: Vec::new(),
        },
        _scratch: scratch,
        passphrases: 0,
    };
    for c in 0..2 {
        let report = first.vault.import(&[&world.files[c].0]);
        assert_eq!(report.count("imported"), 1);
        let stamp = first.lib.tick();
        first.lib.adds.insert((c, first.id.clone(), stamp), false);
        first.lib.states.insert(c, (stamp, true));
    }
    world.devices.push(first);
    world.push(0);
    for name in ['B', 'C'] {
        let vault = TestVault::uninitialised(Some(PASSPHRASE));
        world.remote.clone_into(&vault).expect_ok();
        let id = device_id(&world.remote, &vault);
        let mut device = Device {
            name,
            vault,
            id,
            lib: Lib::default(),
            key: world.model.newest_key().cloned().expect("A pushed its key"),
            heads: BTreeMap::new(),
            dirty: true,
        };
        world.model.merge_into(&mut device);
        device.dirty = true;
        world.devices.push(device);
        world.check_device(world.devices.len() - 1);
    }

    for _ in 0..ops {
        world.step(&mut rng);
    }

    // Everyone pushes, then everyone pulls: every device holds every line.
    for d in 0..DEVICES {
        world.push(d);
    }
    for d in 0..DEVICES {
        world.pull(d);
        world.check_device(d);
    }
    let expected = world.expected(&world.devices[0].lib);
    for d in 1..DEVICES {
        assert_eq!(
            world.expected(&world.devices[d].lib),
            expected,
            "the model itself did not converge\n{}",
            world.run.context()
        );
    }
    let active: BTreeMap<String, usize> = expected
        .iter()
        .filter(|(_, active)| **active)
        .map(|(sha, _)| (sha.clone(), 1))
        .collect();
    for device in &world.devices {
        assert_eq!(
            exported_checksums(&device.vault, &format!("export-{}", device.name)),
            active,
            "device {} exports every active track byte for byte\n{}",
            device.name,
            world.run.context()
        );
        device.vault.run(["verify"]).expect_ok();
    }

    // A new device with the newest passphrase restores exactly that library.
    let newest = world.model.newest_key().cloned().expect("keys were pushed");
    let fresh = TestVault::uninitialised(Some(&newest.passphrase));
    world.remote.clone_into(&fresh).expect_ok();
    assert_eq!(
        real_library(&fresh),
        expected,
        "a fresh clone holds the model's library\n{}",
        world.run.context()
    );
    assert_eq!(exported_checksums(&fresh, "export-fresh"), active);
    // An older passphrase no longer opens the bucket.
    if newest.passphrase != PASSPHRASE {
        let stale = TestVault::uninitialised(Some(PASSPHRASE));
        let refused = world.remote.clone_into(&stale);
        assert_eq!(refused.code(), 1, "{refused}");
        assert!(
            refused.stderr.contains("replaced by a newer one")
                || refused.stderr.contains("wrong passphrase"),
            "{refused}"
        );
    }
    eprintln!(
        "sync model: {} steps, {} tracks at the end ({} active), {} passphrase changes",
        ops,
        expected.len(),
        active.len(),
        world.passphrases
    );
}
