import { describe, expect, it } from "vitest";
import type { WatchActivity, WatchedFolder } from "./bindings";
import { KEEP_ACTIVITY, emptyView, indicator, reduce, type WatchView } from "./watch.svelte";

function folder(path: string, over: Partial<WatchedFolder> = {}): WatchedFolder {
  return {
    path,
    enabled: true,
    recursive: true,
    after_import: "keep",
    move_failures: true,
    settle_seconds: 3,
    poll: false,
    state: "starting",
    reason: null,
    ...over,
  };
}

function entry(id: number, kind: WatchActivity["kind"] = "imported"): WatchActivity {
  return { id, at_ms: id, kind, path: `/in/${id}.wav`, message: "m", track_id: null };
}

function view(over: Partial<WatchView> = {}): WatchView {
  return { ...emptyView(), ...over };
}

function apply(v: WatchView, ...updates: Parameters<typeof reduce>[1][]): WatchView {
  for (const u of updates) {
    const next = reduce(v, u);
    if (next === "reload") throw new Error("unexpected reload");
    v = next;
  }
  return v;
}

describe("watch reducer", () => {
  it("folder states follow the watcher; a disabled folder stays off", () => {
    const v = apply(
      view({ running: true, folders: [folder("/a"), folder("/b", { enabled: false, state: "off" })] }),
      { event: "folder", path: "/a", state: "watching", reason: null },
      { event: "folder", path: "/b", state: "watching", reason: null },
    );
    expect(v.folders.map((f) => f.state)).toEqual(["watching", "off"]);
    const gone = apply(v, { event: "folder", path: "/a", state: "unavailable", reason: "the folder is missing" });
    expect(gone.folders[0]).toMatchObject({ state: "unavailable", reason: "the folder is missing" });
    expect(apply(gone, { event: "folder", path: "/a", state: "watching", reason: null }).folders[0]).toMatchObject({ state: "watching", reason: null });
  });

  it("activity is newest first, capped, and deduplicated; a not-imported entry counts a failure", () => {
    let v = view();
    for (let i = 1; i <= KEEP_ACTIVITY + 5; i++) v = apply(v, { event: "activity", entry: entry(i) });
    expect(v.activity).toHaveLength(KEEP_ACTIVITY);
    expect(v.activity[0].id).toBe(KEEP_ACTIVITY + 5);
    const same = apply(v, { event: "activity", entry: entry(KEEP_ACTIVITY + 5) });
    expect(same.activity).toHaveLength(KEEP_ACTIVITY);
    const failed = apply(v, { event: "activity", entry: entry(9999, "not_imported") });
    expect(failed.failures).toBe(1);
    expect(apply(failed, { event: "activity", entry: entry(10000, "skipped") }).failures).toBe(1);
  });

  it("the runner stopping marks enabled folders stopped, with its error", () => {
    const v = apply(
      view({ running: true, folders: [folder("/a", { state: "watching" }), folder("/b", { enabled: false, state: "off" })] }),
      { event: "runner", running: false, error: "the catalog is gone" },
    );
    expect(v.running).toBe(false);
    expect(v.error).toBe("the catalog is gone");
    expect(v.folders.map((f) => f.state)).toEqual(["stopped", "off"]);
    const again = apply(v, { event: "runner", running: true, error: null });
    expect(again.folders.map((f) => f.state)).toEqual(["starting", "off"]);
    expect(again.error).toBeNull();
  });

  it("a reload asks the caller to fetch the status again", () => {
    expect(reduce(view(), { event: "reload" })).toBe("reload");
  });
});

describe("watch indicator", () => {
  it("says what matters most", () => {
    expect(indicator(view()).text).toBe("Watching: no folder");
    expect(indicator(view({ folders: [folder("/a", { enabled: false, state: "off" })] })).tone).toBe("off");
    const ok = indicator(view({ running: true, folders: [folder("/a", { state: "watching" }), folder("/b", { state: "watching" })] }));
    expect(ok).toMatchObject({ text: "Watching 2 folders", tone: "ok" });
    const bad = indicator(view({ running: true, folders: [folder("/a", { state: "watching" }), folder("/b", { state: "unavailable", reason: "missing" })] }));
    expect(bad).toMatchObject({ text: "1 of 2 folders unavailable", tone: "bad" });
    expect(bad.detail).toContain("/b: Unavailable (missing)");
    // Paused from the tray: said before the folders' (stopped) states.
    expect(indicator(view({ paused: true, folders: [folder("/a", { state: "stopped" })] }))).toMatchObject({ text: "Watching paused", tone: "warn" });
    expect(indicator(view({ paused: true, folders: [folder("/a", { enabled: false, state: "off" })] })).text).toBe("Watching: off");
    expect(indicator(view({ running: true, folders: [folder("/a", { state: "unavailable" })] })).text).toBe("Watched folder unavailable");
    expect(indicator(view({ running: true, folders: [folder("/a", { state: "polling", reason: "inotify limit" })] }))).toMatchObject({
      text: "Polling 1 folder",
      tone: "warn",
    });
    expect(indicator(view({ error: "boom", folders: [folder("/a", { state: "stopped" })] }))).toMatchObject({ tone: "bad", detail: "boom" });
  });
});
