import { describe, expect, it } from "vitest";
import {
  emptyRemoteForm,
  formChanged,
  formFromSettings,
  keysNote,
  lastSync,
  locationText,
  pullSummary,
  pushSummary,
  remoteFormProblem,
  repairSummary,
  restoreProblem,
  stepLine,
  syncEta,
  syncProgressLine,
} from "./cloud";
import type { RemoteSettings } from "./bindings";

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
  it("push and pull", () => {
    const push = {
      nothing_new: false,
      remote: "s3://music/home",
      packs_uploaded: 2,
      chunks_uploaded: 9,
      bytes_uploaded: 12_500_000,
      tracks: 5,
      seconds: 1.25,
    };
    expect(pushSummary(push)).toBe("Pushed 2 packs (12.5 MB) to s3://music/home in 1.3 s; the cloud catalog has 5 tracks.");
    expect(pushSummary({ ...push, nothing_new: true })).toBe("Up to date: s3://music/home already has everything.");
    const pull = {
      up_to_date: false,
      remote: "s3://music",
      tracks_added: 3,
      tracks_state_changed: 1,
      chunks_fetched: 4,
      bytes_fetched: 2_000_000,
      failed: [{ track_id: "a", file_name: "x.flac", reason: "gone" }],
      seconds: 1,
    };
    expect(pullSummary(pull)).toBe("3 tracks added, 1 changed state (2.00 MB fetched); 1 could not be fetched.");
    expect(pullSummary({ ...pull, up_to_date: true })).toBe("Up to date with s3://music.");
  });

  it("repair names what was and was not repaired", () => {
    const r = { damaged: 3, repaired_chunks: 2, repaired: ["a.wav", "b.wav"], unrepaired: [], cancelled: false };
    expect(repairSummary(r)).toBe("Repaired 2 tracks from the cloud (2 chunks).");
    expect(repairSummary({ ...r, unrepaired: [{ id: "c", file_name: "c.wav", reason: "not on the remote" }] })).toBe(
      "Repaired 2 tracks; 1 track could not be repaired.",
    );
    expect(repairSummary({ ...r, damaged: 0, repaired: [] })).toMatch(/Nothing to repair/);
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
  });
});
