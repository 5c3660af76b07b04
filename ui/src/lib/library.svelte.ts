// The library table's data: one search (text, filters, sort) paged by keyset
// cursor, plus the footer summary. Responses that arrive after a newer query
// started are dropped, so fast typing never shows stale rows.
import type { FirstPage, SearchPage, SearchQuery, SearchSummary, SortKey, Track, TrackState } from "./api";

export interface LibrarySource {
  search(q: SearchQuery): Promise<SearchPage>;
  /** The first page and its footer in one call (the text evaluated once). */
  searchFirstPage(q: SearchQuery): Promise<FirstPage>;
}

export class Library {
  text = $state("");
  sort = $state<SortKey>("imported");
  descending = $state(true);
  view = $state<TrackState>("active");
  /** Format filter ("flac", "mp3"…); empty: every format. */
  formats = $state<string[]>([]);
  rows = $state.raw<Track[]>([]);
  summary = $state<SearchSummary | null>(null);
  loading = $state(false);
  /** True once the first page of the current query arrived. */
  loaded = $state(false);
  error = $state<string | null>(null);
  /** The trimmed text of the search whose rows are shown ("" for none). */
  shownText = $state("");
  #cursor: string | null = null;
  #generation = 0;
  #more = false;

  constructor(
    private source: LibrarySource,
    // A page is what every keystroke waits for: 100 rows more than fill a tall window
    // (the table draws the ~30 in view and 16 either side), and the next page comes
    // as the view nears the end of what is loaded.
    private pageSize = 100,
  ) {}

  get hasMore(): boolean {
    return this.#more;
  }

  query(after: string | null = null): SearchQuery {
    return {
      text: this.text.trim() || null,
      state: this.view,
      formats: [...this.formats],
      sort: this.sort,
      descending: this.descending,
      limit: this.pageSize,
      after,
    };
  }

  /** Runs the current query from its first page. Rows stay until the new ones arrive. */
  async reload(): Promise<void> {
    const generation = ++this.#generation;
    this.loading = true;
    this.error = null;
    try {
      const q = this.query();
      const { page, summary } = await this.source.searchFirstPage(q);
      if (generation !== this.#generation) return;
      this.rows = page.tracks;
      this.#cursor = page.next_cursor;
      this.#more = page.next_cursor !== null;
      this.summary = summary;
      this.shownText = q.text ?? "";
      this.loaded = true;
    } catch (e) {
      if (generation === this.#generation) this.error = messageOf(e);
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }

  /** Appends the next page (the table calls this near its end). */
  async loadMore(): Promise<void> {
    if (this.loading || !this.#more || this.#cursor === null) return;
    const generation = this.#generation;
    this.loading = true;
    try {
      const page = await this.source.search(this.query(this.#cursor));
      if (generation !== this.#generation) return;
      this.rows = [...this.rows, ...page.tracks];
      this.#cursor = page.next_cursor;
      this.#more = page.next_cursor !== null;
    } catch (e) {
      if (generation === this.#generation) this.error = messageOf(e);
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }

  /** A header click: the same column flips direction, another sorts ascending. */
  sortBy(key: SortKey): Promise<void> {
    if (this.sort === key) {
      this.descending = !this.descending;
    } else {
      this.sort = key;
      this.descending = key === "imported";
    }
    return this.reload();
  }

  search(text: string): Promise<void> {
    this.text = text;
    return this.reload();
  }

  #typing: Promise<void> | null = null;
  #typed: string | null = null;

  /**
   * A keystroke in the search box. Searches at once (no debounce: it alone cost
   * 120 ms a keystroke) unless a search is in flight; then the newest text waits for
   * that one and goes next, and the texts typed in between are never sent. So a
   * burst of keystrokes costs at most one query behind the last, whatever the speed
   * of typing. Resolves once the newest text's rows are shown.
   */
  type(text: string): Promise<void> {
    this.#typed = text;
    if (this.#typing) return this.#typing;
    const run = async () => {
      while (this.#typed !== null) {
        const next = this.#typed;
        this.#typed = null;
        await this.search(next);
      }
      this.#typing = null;
    };
    this.#typing = run();
    return this.#typing;
  }

  show(view: TrackState): Promise<void> {
    this.view = view;
    return this.reload();
  }

  /** Shows only these formats (none: all). */
  filterFormats(formats: string[]): Promise<void> {
    this.formats = [...new Set(formats.map((f) => f.toLowerCase()))].sort();
    return this.reload();
  }
}

function messageOf(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}
