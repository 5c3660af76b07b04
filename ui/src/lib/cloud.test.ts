import { describe, expect, it } from "vitest";
import {
  PASSPHRASE_ADOPTED,
  autoSyncLine,
  deviceName,
  emptyRemoteForm,
  exactTime,
  formChanged,
  formFromSettings,
  keysNote,
  lastSync,
  locationText,
  evictSummary,
  keepSummary,
  spaceActions,
  mergeState,
  pullSummary,
  pushSummary,
  relativeTime,
  remoteFormProblem,
  repairSummary,
  restoreProblem,
  stepLine,
  syncEta,
  syncProgressLine,
  waiting,
  waitingSentence,
} from "./cloud";
import type {
  DeviceLine,
  Incoming,
  MergeReport,
  PullReport,
  PushReport,
  RemoteDevices,
  RemoteSettings,
  RepairOutcome,
  VerifyReport,
} from "./bindings";

const form = (over: Partial<ReturnType<typeof emptyRemoteForm>> = {}) => ({
  ...emptyRemoteForm(),
  bucket: "music",
  access_key_id: "GK1",
  secret_access_key: "s3cret",
  ...over,
});

const saved: RemoteSettings = {
  configured: true,
  endpoint: "http://127.0.0.1:3900",
  region: "garage",
  bucket: "music",
  prefix: "home",
  path_style: true,
  parallelism: 8,
  credentials: "keyring",
  access_key_id: "GK1",
};

describe("remote form", () => {
  it("accepts a complete form and a blank endpoint (AWS)", () => {
    expect(remoteFormProblem(form(), null)).toBeNull();
    expect(remoteFormProblem(form({ endpoint: "https://s3.example.com" }), null)).toBeNull();
  });

  it("names what is wrong", () => {
    expect(remoteFormProblem(form({ bucket: " " }), null)).toMatch(/bucket name/);
    expect(remoteFormProblem(form({ bucket: "a/b" }), null)).toMatch(/no slashes/);
    expect(remoteFormProblem(form({ endpoint: "127.0.0.1:3900" }), null)).toMatch(/http:\/\//);
    expect(remoteFormProblem(form({ region: "us east" }), null)).toMatch(/region/);
    expect(remoteFormProblem(form({ access_key_id: "" }), null)).toMatch(/access key id/);
  });

  it("a blank secret keeps the stored keys, but not for another key id", () => {
    expect(remoteFormProblem(form({ secret_access_key: "" }), "GK1")).toBeNull();
    expect(remoteFormProblem(form({ secret_access_key: "" }), null)).toMatch(/secret access key/);
    expect(remoteFormProblem(form({ access_key_id: "GK2", secret_access_key: "" }), "GK1")).toMatch(/secret/);
    // No keys at all: the remote may be saved, the keys come later (or from the environment).
    expect(remoteFormProblem(form({ access_key_id: "", secret_access_key: "" }), null)).toBeNull();
  });

  it("restore needs both keys, a folder and the passphrase", () => {
    expect(restoreProblem(form(), "/home/a/Audiovault", "pw")).toBeNull();
    expect(restoreProblem(form({ secret_access_key: "" }), "/v", "pw")).toMatch(/secret/);
    expect(restoreProblem(form({ access_key_id: "", secret_access_key: "" }), "/v", "pw")).toMatch(/access key id/);
    expect(restoreProblem(form(), " ", "pw")).toMatch(/folder/);
    expect(restoreProblem(form(), "/v", "")).toMatch(/passphrase/);
  });

  it("fills from the saved settings without a secret and sees changes", () => {
    const f = formFromSettings(saved);
    expect(f).toEqual({
      endpoint: "http://127.0.0.1:3900",
      region: "garage",
      bucket: "music",
      prefix: "home",
      path_style: true,
      access_key_id: "GK1",
      secret_access_key: "",
    });
    expect(formChanged(f, saved)).toBe(false);
    // Spellings the shell normalises the same way are no change.
    expect(formChanged({ ...f, endpoint: "http://127.0.0.1:3900/", prefix: "/home/" }, saved)).toBe(false);
    expect(formChanged({ ...f, bucket: "other" }, saved)).toBe(true);
    expect(formChanged({ ...f, path_style: false }, saved)).toBe(true);
    expect(formChanged({ ...f, secret_access_key: "new" }, saved)).toBe(true);
    expect(formChanged(f, null)).toBe(true);
    expect(formFromSettings({ ...saved, configured: false }).bucket).toBe("");
  });
});

describe("sync progress", () => {
  it("shows objects, bytes, rate and time left", () => {
    const line = syncProgressLine({ items: 10, finished: 3, bytes: 40_000_000, done: 12_000_000, elapsedSeconds: 3 });
    expect(line).toBe("3 of 10 objects · 12.0 MB of 40.0 MB · 4.00 MB/s · 0:07 left");
  });

  it("has no rate or ETA before there is anything to go on", () => {
    expect(syncProgressLine({ items: 1, finished: 0, bytes: 8_000_000, done: 0, elapsedSeconds: 0.2 })).toBe(
      "0 of 1 object · 0 B of 8.00 MB",
    );
    expect(syncEta({ items: 1, finished: 0, bytes: 100, done: 50, elapsedSeconds: 0.5 })).toBeNull();
    expect(syncEta({ items: 1, finished: 1, bytes: 100, done: 100, elapsedSeconds: 9 })).toBeNull();
    expect(syncEta({ items: 2, finished: 1, bytes: 100, done: 25, elapsedSeconds: 10 })).toBe(30);
  });
});

describe("summaries", () => {
  const noMerge: MergeReport = {
    manifests: [],
    tracks_added: 0,
    tracks_state_changed: 0,
    tracks_purged: 0,
    chunks_fetched: 0,
    bytes_fetched: 0,
    failed: [],
    vault_json_adopted: false,
  };
  const push: PushReport = {
    nothing_new: false,
    remote: "s3://music/home",
    device: "aa11",
    seq: 3,
    merged: noMerge,
    vault_json_uploaded: false,
    vault_json_adopted: false,
    packs_uploaded: 2,
    chunks_uploaded: 9,
    bytes_uploaded: 12_500_000,
    snapshot_bytes: 1000,
    snapshot_chunks_uploaded: 1,
    manifest: "catalogs/x",
    tracks: 5,
    requests_put: 4,
    requests_get: 2,
    requests_list: 3,
    retries: 0,
    seconds: 1.25,
  };
  const pull: PullReport = {
    up_to_date: false,
    remote: "s3://music",
    manifest: "catalogs/y",
    manifests_merged: ["catalogs/y"],
    tracks_added: 3,
    tracks_state_changed: 1,
    tracks_purged: 0,
    chunks_removed: 0,
    chunks_fetched: 4,
    bytes_fetched: 2_000_000,
    vault_json_adopted: false,
    failed: [{ track_id: "a", file_name: "x.flac", reason: "gone" }],
    seconds: 1,
  };

  it("push and pull", () => {
    expect(pushSummary(push)).toBe("Pushed 2 packs (12.5 MB) to s3://music/home in 1.3 s; the cloud catalog has 5 tracks.");
    expect(pushSummary({ ...push, nothing_new: true })).toBe("Up to date: s3://music/home already has everything.");
    expect(pullSummary(pull)).toBe("3 tracks added, 1 changed state (2.00 MB fetched); 1 could not be fetched: x.flac (gone).");
    expect(pullSummary({ ...pull, up_to_date: true, failed: [] })).toBe("Up to date with s3://music.");
  });

  it("a push that merged first says so", () => {
    const merged = { ...noMerge, manifests: ["catalogs/b"], tracks_added: 2, tracks_state_changed: 1 };
    expect(pushSummary({ ...push, merged })).toBe(
      "Merged 2 tracks from another device, 1 Trash change, then pushed 2 packs (12.5 MB) to s3://music/home in 1.3 s; the cloud catalog has 5 tracks.",
    );
    // Only a catalog merged (tags, analysis): still said.
    expect(pushSummary({ ...push, merged: { ...noMerge, manifests: ["catalogs/b"] } })).toMatch(/^Merged another device's catalog, then pushed 2 packs/);
  });

  it("a push that could not merge everything names the tracks and why, and that nothing is lost", () => {
    const failed = [
      { track_id: "1", file_name: "One.flac", reason: "a chunk failed authentication" },
      { track_id: "2", file_name: "Two.wav", reason: "not on the remote" },
      { track_id: "3", file_name: "Three.wav", reason: "x" },
      { track_id: "4", file_name: "Four.wav", reason: "y" },
    ];
    const one = pushSummary({ ...push, merged: { ...noMerge, failed: failed.slice(0, 1) } });
    expect(one).toContain("1 track from another device could not be merged: One.flac (a chunk failed authentication).");
    expect(one).toContain("The push went ahead without losing it: it stays in the other device's pushes");
    const four = pushSummary({ ...push, merged: { ...noMerge, failed } });
    expect(four).toContain("4 tracks from another device could not be merged: One.flac (a chunk failed authentication), Two.wav (not on the remote), Three.wav (x) and 1 more.");
    expect(four).toContain("without losing them: they stay");
  });

  it("an adopted passphrase and purges are said plainly", () => {
    expect(pushSummary({ ...push, vault_json_adopted: true })).toContain(PASSPHRASE_ADOPTED);
    expect(pushSummary({ ...push, merged: { ...noMerge, vault_json_adopted: true } })).toContain(PASSPHRASE_ADOPTED);
    expect(PASSPHRASE_ADOPTED).toMatch(/now opens with that passphrase/);
    expect(pullSummary({ ...pull, failed: [], tracks_purged: 2 })).toBe(
      "3 tracks added, 1 changed state (2.00 MB fetched), 2 tracks purged on another device and deleted here.",
    );
    expect(pullSummary({ ...pull, up_to_date: true, failed: [], vault_json_adopted: true })).toBe(`Up to date with s3://music. ${PASSPHRASE_ADOPTED}`);
  });

  it("repair names what was and was not repaired", () => {
    const verify = (damaged: string[]): VerifyReport => ({
      ok: damaged.length === 0,
      chunks_checked: 10,
      tracks_checked: 3,
      bytes_checked: 1000,
      damaged_chunks: [],
      damaged_tracks: damaged.map((n) => ({ id: n, file_name: `${n}.wav`, reason: "chunk missing", cloud: false })),
      cloud_only: [],
      cancelled: false,
    });
    const r: RepairOutcome = {
      before: verify(["a", "b"]),
      repair: { repaired: [{ id: "c1", tracks: ["a"] }, { id: "c2", tracks: ["b"] }], unrepairable: [] },
      after: verify([]),
      repaired_tracks: verify(["a", "b"]).damaged_tracks,
      unrepaired_tracks: [],
      cancelled: false,
    };
    expect(repairSummary(r)).toBe("Repaired 2 tracks from the cloud (2 chunks).");
    expect(repairSummary({ ...r, unrepaired_tracks: [{ id: "c", file_name: "c.wav", reason: "not on the remote" }] })).toBe(
      "Repaired 2 tracks; 1 track could not be repaired.",
    );
    expect(repairSummary({ ...r, before: verify([]), repair: null, repaired_tracks: [] })).toMatch(/Nothing to repair/);
    expect(repairSummary({ ...r, cancelled: true })).toBe("Repair cancelled.");
  });

  it("last sync is the newer of push and pull", () => {
    expect(lastSync({ last_push_at: null, last_pull_at: null })).toBe("Never synced");
    const push = "2025-11-23T21:04:00Z";
    const pull = "2025-11-22T08:00:00Z";
    expect(lastSync({ last_push_at: push, last_pull_at: pull })).toMatch(/^Last synced 2025-11-2\d \d\d:\d\d \(pushed\)$/);
    expect(lastSync({ last_push_at: pull, last_pull_at: push })).toMatch(/\(pulled\)$/);
    expect(lastSync({ last_push_at: null, last_pull_at: pull })).toMatch(/\(pulled\)$/);
  });

  it("locations, steps and keys read as sentences", () => {
    expect(locationText("both").stored).toBe("This device and cloud");
    expect(locationText("local").label).toBe("Only on this device");
    expect(stepLine({ step: "reach the bucket", ok: true, error: null, error_kind: null })).toBe("✓ reach the bucket");
    expect(
      stepLine({ step: "reach the bucket", ok: false, error: "access denied to bucket 'b'", error_kind: "remote_access_denied" }),
    ).toBe("✕ reach the bucket: access denied to bucket 'b'");
    expect(keysNote("keyring")).toMatch(/OS keyring/);
    expect(keysNote("none")).toMatch(/not stored/);
    expect(keysNote("aws_profile")).toMatch(/AWS profile/);
  });
});

describe("devices", () => {
  const now = Date.parse("2025-11-23T21:00:00Z");
  const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

  it("relative times, and the exact one for a tooltip", () => {
    expect(relativeTime(null, now)).toBe("never");
    expect(relativeTime("not a time", now)).toBe("–");
    expect(relativeTime(ago(10), now)).toBe("just now");
    // The server's clock a little ahead of ours.
    expect(relativeTime(ago(-20), now)).toBe("just now");
    expect(relativeTime(ago(60), now)).toBe("1 minute ago");
    expect(relativeTime(ago(5 * 60 + 10), now)).toBe("5 minutes ago");
    expect(relativeTime(ago(2 * 3600), now)).toBe("2 hours ago");
    expect(relativeTime(ago(26 * 3600), now)).toBe("yesterday");
    expect(relativeTime(ago(3 * 86400), now)).toBe("3 days ago");
    expect(relativeTime(ago(90 * 86400), now)).toMatch(/^on 2025-08-2\d$/);
    expect(exactTime("2025-11-23T21:04:05Z")).toMatch(/^2025-11-2\d \d\d:\d4:05 \(your time\)$/);
    expect(exactTime(null)).toBe("");
  });

  const line = (over: Partial<DeviceLine> = {}): DeviceLine => ({
    device: "3f9a01c2d4e5f607",
    this_device: false,
    manifests: 2,
    newest_seq: 4,
    last_push_at: ago(7200),
    tracks: 12,
    merged_seq: 4,
    ...over,
  });

  it("names devices and says whether their latest push is merged here", () => {
    expect(deviceName(line())).toBe("Device 3f9a01c2");
    expect(deviceName(line({ this_device: true }))).toBe("Device 3f9a01c2");
    expect(mergeState(line())).toEqual({ merged: true, text: "Merged here" });
    expect(mergeState(line({ merged_seq: 3 }))).toEqual({ merged: false, text: "Not merged here yet" });
    expect(mergeState(line({ this_device: true, merged_seq: 0 })).merged).toBe(true);
  });

  const incoming = (over: Partial<Incoming> = {}): Incoming => ({
    device: "3f9a01c2d4e5f607",
    seq: 4,
    pushed_at: ago(60),
    new_tracks: 0,
    new_bytes: 0,
    state_changes: 0,
    purges: 0,
    ...over,
  });
  const devices = (unmerged: Incoming[]): RemoteDevices => ({
    remote: "s3://music",
    this_device: "aa11",
    devices: [line({ this_device: true, device: "aa11" }), line({ merged_seq: 3 })],
    unmerged,
  });

  it("says what waits to be pulled, counted", () => {
    expect(waitingSentence(devices([]))).toBeNull();
    expect(waitingSentence(devices([incoming({ new_tracks: 3, new_bytes: 120_000_000, state_changes: 1, purges: 1 })]))).toBe(
      "3 new tracks from another device (120 MB) · 1 moved to or from the Trash · 1 purged",
    );
    expect(waitingSentence(devices([incoming({ new_tracks: 1, new_bytes: 2_100_000 })]))).toBe("1 new track from another device (2.10 MB)");
    expect(waitingSentence(devices([incoming({ state_changes: 2 })]))).toBe("2 moved to or from the Trash on another device");
    expect(waitingSentence(devices([incoming()]))).toBe("Catalog changes from another device (no new tracks)");
    const two = devices([incoming({ new_tracks: 1, new_bytes: 1000 }), incoming({ device: "bb", new_tracks: 2, new_bytes: 2000 })]);
    expect(waitingSentence(two)).toBe("3 new tracks from 2 other devices (3.00 KB)");
    expect(waiting(two)).toEqual({ devices: 2, tracks: 3, bytes: 3000, stateChanges: 0, purges: 0 });
  });
});

describe("autoSyncLine", () => {
  const base = { state: "idle", operation: null, last_synced_at_ms: null, error: null, next_retry_at_ms: null, failures: 0 } as const;
  const now = Date.parse("2026-12-07T10:00:00Z");
  it("says nothing when off, so the sidebar shows the manual sync", () => {
    expect(autoSyncLine(null, now)).toBeNull();
    expect(autoSyncLine({ ...base, state: "off" }, now)).toBeNull();
  });
  it("says when it last synced, and what runs", () => {
    expect(autoSyncLine(base, now)).toBe("Auto sync: on");
    expect(autoSyncLine({ ...base, last_synced_at_ms: now - 10_000 }, now)).toBe("Auto sync: synced just now");
    expect(autoSyncLine({ ...base, last_synced_at_ms: now - 5 * 60_000 }, now)).toBe("Auto sync: synced 5 minutes ago");
    expect(autoSyncLine({ ...base, state: "syncing", operation: "push" }, now)).toBe("Auto sync: pushing…");
    expect(autoSyncLine({ ...base, state: "syncing", operation: "pull" }, now)).toBe("Auto sync: pulling…");
  });
  it("says an error and when it retries", () => {
    const failed = { ...base, state: "error", operation: "push", error: "cannot reach http://x", failures: 2 } as const;
    expect(autoSyncLine({ ...failed, next_retry_at_ms: now + 30_000 }, now)).toBe("Auto sync: push failed, retrying in 30 s");
    expect(autoSyncLine({ ...failed, next_retry_at_ms: now + 8 * 60_000 }, now)).toBe("Auto sync: push failed, retrying in 8 minutes");
    expect(autoSyncLine({ ...failed, next_retry_at_ms: now - 1000 }, now)).toBe("Auto sync: push failed, retrying in 0 s");
  });
});

describe("cloud-only tracks", () => {
  it("names each location, the cloud-only one included", () => {
    expect(locationText("cloud").label).toContain("cloud only");
    expect(locationText("both").label).toBe("On this device and in the cloud");
    expect(locationText("local").label).toBe("Only on this device");
  });

  it("says what was freed and why a track stayed", () => {
    const outcome = (id: string, outcome: "evicted" | "refused", reason: string | null = null) => ({
      id,
      file_name: `${id}.flac`,
      outcome,
      reason,
      chunks_deleted: outcome === "evicted" ? 3 : 0,
      bytes_freed: outcome === "evicted" ? 3 * 1024 * 1024 : 0,
    });
    const ok = evictSummary({
      remote: "s3://music",
      tracks: [outcome("a", "evicted"), outcome("b", "evicted")],
      evicted: 2,
      refused: 0,
      chunks_deleted: 6,
      bytes_freed: 6 * 1024 * 1024,
      bytes_checked: 6 * 1024 * 1024,
      recovered_chunks: 0,
    });
    expect(ok.ok).toBe(true);
    expect(ok.text).toBe("2 tracks now in the cloud only, 6.29 MB freed");
    const partly = evictSummary({
      remote: "s3://music",
      tracks: [outcome("a", "evicted"), outcome("b", "refused", "not in the cloud yet: push first")],
      evicted: 1,
      refused: 1,
      chunks_deleted: 3,
      bytes_freed: 3 * 1024 * 1024,
      bytes_checked: 3 * 1024 * 1024,
      recovered_chunks: 0,
    });
    expect(partly.ok).toBe(false);
    expect(partly.text).toContain("1 kept on this device");
    expect(partly.detail).toBe("b.flac: not in the cloud yet: push first");
  });

  it("says what came back and what did not", () => {
    const r = keepSummary({
      remote: "s3://music",
      tracks: [
        { id: "a", file_name: "a.flac", outcome: "kept", reason: null, chunks_fetched: 2, bytes_fetched: 2048 },
        { id: "b", file_name: "b.flac", outcome: "failed", reason: "b.flac: cannot reach the bucket", chunks_fetched: 0, bytes_fetched: 0 },
      ],
      kept: 1,
      failed: 1,
      bytes_fetched: 2048,
    });
    expect(r.ok).toBe(false);
    expect(r.text).toContain("1 track back on this device");
    expect(r.detail).toBe("b.flac: cannot reach the bucket");
  });

  it("offers both actions, each running its own", () => {
    const ran: string[] = [];
    const items = spaceActions(() => ran.push("free"), () => ran.push("keep"));
    expect(items.map((i) => i.label)).toEqual(["Free up space", "Keep on this device"]);
    items.forEach((i) => i.run());
    expect(ran).toEqual(["free", "keep"]);
  });
});
