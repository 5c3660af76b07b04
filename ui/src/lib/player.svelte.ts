// Playback: one <audio> element fed with signed URLs from the engine's loopback
// server. Formats the web view cannot play are named, never failed silently.
import { api, errorMessage, reportActivity, type Track } from "./api";
import { formatName, knownFormat, mimeAliases, playsHere } from "./formats";

export class Player {
  track = $state<Track | null>(null);
  playing = $state(false);
  time = $state(0);
  duration = $state(0);
  volume = $state(0.8);
  error = $state<string | null>(null);
  artwork = $state<string | null>(null);
  /** The playing track's waveform peaks, once analysed. */
  peaks = $state.raw<[number, number][] | null>(null);
  audio: HTMLAudioElement | null = null;
  #lastTime = 0;
  #lastProgress = 0;
  /** When the current URL stops working (unix ms); the engine's URLs live minutes. */
  #expiresAt = 0;
  /** The URL an expiry was already recovered from (once per URL). */
  #recovered: string | null = null;

  /** `neighbour(t, +1)` is the track after t in the current list. */
  constructor(private neighbour: (t: Track, step: 1 | -1) => Track | null) {}

  attach(audio: HTMLAudioElement): void {
    this.audio = audio;
    audio.volume = this.volume;
    audio.addEventListener("timeupdate", () => {
      this.time = audio.currentTime;
      // Audio playing is activity: the vault does not lock under the music.
      if (!audio.paused) reportActivity();
      if (audio.currentTime !== this.#lastTime) {
        this.#lastTime = audio.currentTime;
        this.#lastProgress = Date.now();
      }
    });
    audio.addEventListener("playing", () => (this.#lastProgress = Date.now()));
    // A stream that says it plays but whose clock stands still is named, not left silent.
    setInterval(() => {
      if (!this.track || audio.paused || audio.ended || audio.seeking) return;
      if (Date.now() - this.#lastProgress > STALL_MS) {
        audio.pause();
        this.error = `Playback of this ${this.track.format.toUpperCase()} file stalled: the system's media framework stopped delivering audio. Try again, or export the file to play it elsewhere.`;
      }
    }, 1000);
    audio.addEventListener("durationchange", () => {
      if (Number.isFinite(audio.duration)) this.duration = audio.duration;
    });
    audio.addEventListener("play", () => (this.playing = true));
    audio.addEventListener("pause", () => (this.playing = false));
    audio.addEventListener("ended", () => {
      this.playing = false;
      void this.step(1);
    });
    audio.addEventListener("error", () => {
      if (!this.track) return;
      // A request met an expired URL (GStreamer asks again on a seek, a resume
      // after a long pause, a reconnect): a fresh URL, at the same place, once.
      if (needsFreshUrl(this.#expiresAt, Date.now()) && this.#recovered !== audio.src) {
        this.#recovered = audio.src;
        void this.#reload(this.time, this.playing || !audio.paused);
        return;
      }
      const code = audio.error?.code;
      this.error =
        code === 4
          ? `This ${this.track.format.toUpperCase()} file cannot be played here: the system's media framework (GStreamer) has no decoder for it. Export it to play it elsewhere.`
          : `Playback failed${audio.error?.message ? `: ${audio.error.message}` : ""}.`;
      this.playing = false;
    });
  }

  async play(track: Track): Promise<void> {
    const audio = this.audio;
    if (!audio) return;
    this.error = null;
    this.track = track;
    this.time = 0;
    this.duration = track.duration_seconds ?? 0;
    this.artwork = null;
    this.peaks = null;
    void this.loadWaveform();
    this.#lastTime = 0;
    this.#lastProgress = Date.now();
    if (track.has_artwork) {
      api.thumbnail(track.id).then(
        (a) => {
          if (this.track?.id === track.id) this.artwork = a;
        },
        () => {},
      );
    }
    // The engine's table knows what this player cannot decode (a DSDIFF file, for
    // one, would sit in GStreamer's preroll until the stall guard gave up).
    if (!playsHere(track.format)) {
      this.error = `This ${formatName(track.format)} file cannot be played in this app: the system's media framework has no decoder for it here. Export it to play it elsewhere.`;
      audio.removeAttribute("src");
      audio.load();
      return;
    }
    try {
      const stream = await api.streamUrl(track.id);
      if (this.track?.id !== track.id) return;
      // The table's word stands for the formats it knows: WebKitGTK's canPlayType
      // answered "" now and then for types GStreamer then played (TTA, 3GP), and
      // a real failure still ends in the error handler's "cannot be played here".
      if (!knownFormat(track.format) && !canPlay(audio, stream.content_type)) {
        this.error = `This ${track.format.toUpperCase()} file cannot be played here (no decoder for ${stream.content_type}). Export it to play it elsewhere.`;
        audio.removeAttribute("src");
        audio.load();
        return;
      }
      audio.src = stream.url;
      this.#expiresAt = stream.expires_at_ms;
      await audio.play();
    } catch (e) {
      if (isInterruption(e)) return;
      if (this.track?.id === track.id && !this.error) this.error = `Playback failed: ${errorMessage(e)}`;
    }
  }

  /** Fetches the playing track's waveform unless it is here (again after an analysis step). */
  async loadWaveform(): Promise<void> {
    const track = this.track;
    if (!track || this.peaks) return;
    try {
      const w = await api.waveform(track.id);
      if (this.track?.id === track.id && w.peaks) this.peaks = w.peaks;
    } catch {
      /* no waveform: the seek bar stays a line */
    }
  }

  toggle(): void {
    const audio = this.audio;
    if (!audio || !this.track) return;
    if (audio.paused) {
      // Resumed after the URL expired: a fresh one first.
      if (needsFreshUrl(this.#expiresAt, Date.now())) {
        void this.#reload(audio.currentTime, true);
        return;
      }
      void audio.play().catch((e) => {
        if (!isInterruption(e)) this.error = errorMessage(e);
      });
    } else audio.pause();
  }

  seek(seconds: number): void {
    if (!this.audio || !Number.isFinite(seconds)) return;
    // A seek is a new request: past the URL's life it needs a fresh URL.
    if (this.track && needsFreshUrl(this.#expiresAt, Date.now())) {
      void this.#reload(Math.max(0, seconds), !this.audio.paused);
      return;
    }
    this.audio.currentTime = Math.max(0, seconds);
  }

  /** The same track from a fresh URL, at `at` seconds, playing if `play`. */
  async #reload(at: number, play: boolean): Promise<void> {
    const audio = this.audio;
    const track = this.track;
    if (!audio || !track) return;
    try {
      const stream = await api.streamUrl(track.id);
      if (this.track?.id !== track.id) return;
      audio.src = stream.url;
      this.#expiresAt = stream.expires_at_ms;
      this.error = null;
      audio.currentTime = at;
      if (play) await audio.play();
    } catch (e) {
      if (isInterruption(e)) return;
      if (this.track?.id === track.id) this.error = `Playback failed: ${errorMessage(e)}`;
    }
  }

  setVolume(v: number): void {
    this.volume = Math.min(1, Math.max(0, v));
    if (this.audio) this.audio.volume = this.volume;
  }

  async step(step: 1 | -1): Promise<void> {
    if (!this.track) return;
    if (step === -1 && this.time > 3) {
      this.seek(0);
      return;
    }
    const next = this.neighbour(this.track, step);
    if (next) await this.play(next);
  }

  stop(): void {
    this.audio?.pause();
    this.audio?.removeAttribute("src");
    this.track = null;
    this.peaks = null;
    this.playing = false;
  }
}

/**
 * Whether a URL that expires at `expiresAtMs` needs replacing before a new
 * request (a margin for the request's own way to the server).
 */
export function needsFreshUrl(expiresAtMs: number, nowMs: number): boolean {
  return expiresAtMs > 0 && nowMs >= expiresAtMs - 15_000;
}

/** How long a playing stream may stand still before the player says so. */
const STALL_MS = 8000;

/** Whether the web view can play the type, or one of its aliases (the formats table's). */
export function canPlay(audio: { canPlayType(t: string): string }, contentType: string): boolean {
  return [contentType, ...mimeAliases(contentType)].some((t) => audio.canPlayType(t) !== "");
}

/**
 * Whether a rejected `play()` was only interrupted: a pause, or another track,
 * came before the audio started (the browser rejects with an AbortError). The
 * person asked for that, so it is not a playback failure to report.
 */
export function isInterruption(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { name?: unknown }).name === "AbortError";
}
