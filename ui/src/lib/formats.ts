// The engine's formats table (FORMATS, generated into bindings.ts) as the UI uses it:
// names for the format filter, the file dialog's extensions, MIME aliases for the player.
// No list of formats lives here.
import { FORMATS, type Format } from "./bindings";

function byId(id: string, table: readonly Format[]): Format | undefined {
  return table.find((f) => f.id === id);
}

/** "AAC / ALAC (MP4)" for "m4a"; a format the table does not know, upper-cased. */
export function formatName(id: string, table: readonly Format[] = FORMATS): string {
  return byId(id, table)?.display_name ?? id.toUpperCase();
}

/** Other names media frameworks know a MIME type by (the table's aliases). */
export function mimeAliases(contentType: string, table: readonly Format[] = FORMATS): string[] {
  const names = new Set<string>();
  for (const f of table) {
    if (f.mime_type === contentType) f.mime_aliases.forEach((a) => names.add(a));
  }
  return [...names];
}

/**
 * The extensions the file dialog offers: the vault's `allowed_extensions` (what the
 * import takes), else, when the settings cannot be read, a new vault's defaults.
 */
export function dialogExtensions(allowed: string[] | null, table: readonly Format[] = FORMATS): string[] {
  if (allowed && allowed.length) return allowed;
  return table.filter((f) => f.allowed_by_default).flatMap((f) => f.extensions);
}

/**
 * Whether the app's player (WebKitGTK over GStreamer, with the plugins the package
 * depends on) plays a format, as the engine's table says; unknown formats are tried.
 */
export function playsHere(id: string, table: readonly Format[] = FORMATS): boolean {
  return byId(id, table)?.playable_in_webview ?? true;
}

/** Whether the engine's table knows the format (its playability is then the table's word). */
export function knownFormat(id: string, table: readonly Format[] = FORMATS): boolean {
  return byId(id, table) !== undefined;
}
