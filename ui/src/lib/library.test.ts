import { describe, expect, it } from "vitest";
import { Library, type LibrarySource } from "./library.svelte";
import type { FirstPage, SearchPage, SearchQuery, Track } from "./api";

function track(i: number): Track {
  return { id: `t${i}`, title: `Song ${i}`, file_name: `${i}.mp3` } as unknown as Track;
}

/** A source with `n` tracks whose pages can be held back to reorder responses. */
function source(n: number) {
  const calls: SearchQuery[] = [];
  const gates: { release: () => void; text: string | null | undefined }[] = [];
  let hold = false;
  const all = Array.from({ length: n }, (_, i) => track(i));
  const src: LibrarySource & { calls: SearchQuery[] } = {
    calls,
    async search(q: SearchQuery): Promise<SearchPage> {
      calls.push(q);
      if (hold) await new Promise<void>((r) => gates.push({ release: r, text: q.text }));
      const matching = q.text ? all.filter((t) => t.title!.includes(q.text!)) : all;
      const start = q.after ? Number(q.after) : 0;
      const limit = q.limit ?? 100;
      const tracks = matching.slice(start, start + limit);
      const next = start + limit < matching.length ? String(start + limit) : null;
      return { tracks, next_cursor: next };
    },
    async searchFirstPage(q: SearchQuery): Promise<FirstPage> {
      const page = await src.search(q);
      const matching = q.text ? all.filter((t) => t.title!.includes(q.text!)) : all;
      return { page, summary: { tracks: matching.length, duration_seconds: matching.length * 10, bytes: 0 } };
    },
  };
  return {
    src,
    hold(v: boolean) {
      hold = v;
    },
    gates,
  };
}

describe("Library", () => {
  it("pages by cursor until the end", async () => {
    const s = source(250);
    const lib = new Library(s.src, 100);
    await lib.reload();
    expect(lib.rows.length).toBe(100);
    expect(lib.summary?.tracks).toBe(250);
    await lib.loadMore();
    await lib.loadMore();
    expect(lib.rows.length).toBe(250);
    expect(lib.hasMore).toBe(false);
    await lib.loadMore();
    expect(s.src.calls.length).toBe(3);
    expect(lib.rows[249].id).toBe("t249");
  });

  it("a header click toggles direction, another column starts ascending", async () => {
    const lib = new Library(source(3).src);
    expect(lib.sort).toBe("imported");
    await lib.sortBy("title");
    expect([lib.sort, lib.descending]).toEqual(["title", false]);
    await lib.sortBy("title");
    expect(lib.descending).toBe(true);
    await lib.sortBy("duration");
    expect([lib.sort, lib.descending]).toEqual(["duration", false]);
  });

  it("drops responses of an older query", async () => {
    const s = source(30);
    const lib = new Library(s.src, 100);
    s.hold(true);
    const first = lib.search("Song 1");
    const second = lib.search("Song 2");
    await Promise.resolve();
    expect(s.gates.length).toBe(2);
    // The newer answer arrives first, then the older one.
    s.gates[1].release();
    await second;
    s.gates[0].release();
    await first;
    expect(lib.text).toBe("Song 2");
    expect(lib.rows.every((t) => t.title!.includes("Song 2"))).toBe(true);
    expect(lib.loading).toBe(false);
  });

  it("typing sends the first keystroke at once and only the newest text after it", async () => {
    const s = source(30);
    const lib = new Library(s.src, 100);
    s.hold(true);
    const typed = ["S", "So", "Son", "Song", "Song ", "Song 2"].map((t) => lib.type(t));
    await Promise.resolve();
    expect(s.src.calls.map((q) => q.text)).toEqual(["S"]);
    s.gates[0].release();
    for (let i = 0; i < 5 && s.gates.length < 2; i++) await new Promise((r) => setTimeout(r, 0));
    expect(s.src.calls.map((q) => q.text)).toEqual(["S", "Song 2"]);
    s.gates[1].release();
    await Promise.all(typed);
    expect(lib.text).toBe("Song 2");
    expect(lib.shownText).toBe("Song 2");
    expect(lib.rows.map((t) => t.id)).toEqual(["t2", "t20", "t21", "t22", "t23", "t24", "t25", "t26", "t27", "t28", "t29"]);
    // Typing again after the burst searches at once.
    s.hold(false);
    await lib.type("Song 3");
    expect(s.src.calls.map((q) => q.text)).toEqual(["S", "Song 2", "Song 3"]);
    expect(lib.summary?.tracks).toBe(1);
  });

  it("sends the trimmed text and the view", async () => {
    const s = source(3);
    const lib = new Library(s.src);
    await lib.search("  beat ");
    expect(s.src.calls[0].text).toBe("beat");
    await lib.show("trashed");
    expect(s.src.calls[1].state).toBe("trashed");
    await lib.search("   ");
    expect(s.src.calls[2].text).toBeNull();
  });
});

describe("Library filters", () => {
  it("sends the format filter, normalised, and drops it again", async () => {
    const s = source(3);
    const lib = new Library(s.src);
    await lib.filterFormats(["MP3", "flac", "mp3"]);
    expect(s.src.calls.at(-1)?.formats).toEqual(["flac", "mp3"]);
    await lib.show("trashed");
    expect(s.src.calls.at(-1)?.formats).toEqual(["flac", "mp3"]);
    expect(s.src.calls.at(-1)?.state).toBe("trashed");
    await lib.filterFormats([]);
    expect(s.src.calls.at(-1)?.formats).toEqual([]);
  });
});
