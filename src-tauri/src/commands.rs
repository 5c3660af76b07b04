//! IPC commands: each translates one UI call into one engine call. Work that
//! touches the disk or the CPU runs on a blocking thread, never on the async
//! runtime that keeps the window responsive.

use audiovault_engine::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use audiovault_engine::{
    Error, ExportOptions, ImportOptions, LockedVault, OsKeyring, Passphrase, TrackId, Unattended,
    Vault,
};
use base64::Engine as _;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use audiovault_engine::catalog::{
    AlbumSummary, ArtistSummary, FirstPage, SearchPage, SearchQuery, SearchSummary, Stats, Track,
};
use audiovault_engine::library::{TrackDetails, Waveform};
use audiovault_engine::vault::PurgeReport;
use audiovault_engine::{ExportReport, ImportReport, SettingKey, Settings, VerifyReport};

use crate::dto::{Status, Stream};
use crate::error::{IpcError, IpcResult};
use crate::jobs::JobKind;
use crate::progress::{ChannelProgress, ProgressEvent};
use crate::session::{
    blocking, capitalized, damaged_notice, lock_notice, lock_session, remember, set_notice, status,
};
use crate::state::AppState;

/// How long a playback URL stays valid: the engine's choice (minutes; the player
/// asks for a fresh one past it).
const STREAM_TTL: Duration = audiovault_engine::serve::URL_TTL;

/// The first call of the UI: opens the vault without asking when it can
/// (`AUDIOVAULT_PASSPHRASE`, then the OS keyring), and says where things stand.
#[tauri::command]
pub async fn startup<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> IpcResult<Status> {
    if state.is_unlocked() {
        return Ok(status(&state));
    }
    let dir = state.dir();
    let outcome = blocking(move || -> IpcResult<(Option<Vault>, Option<String>)> {
        let locked = match LockedVault::open(&dir) {
            Ok(l) => l,
            Err(Error::NoVault(_)) => return Ok((None, None)),
            Err(e) => return Err(e.into()),
        };
        let keys = match locked.unlock_keys_unattended(None, &OsKeyring) {
            Ok(Unattended::Opened(keys, _)) => *keys,
            Ok(Unattended::NeedsPassphrase(note)) => {
                return Ok((None, note.map(|n| capitalized(&n.to_string()))));
            }
            // Only the environment's passphrase can be wrong here.
            Err(e) => return Ok((None, Some(format!("AUDIOVAULT_PASSPHRASE: {e}")))),
        };
        // The key is right: an error now is the catalog's (or the disk's).
        Ok((Some(keys.open()?), None))
    })
    .await;
    let (vault, notice) = match outcome {
        Ok(o) => o,
        Err(e) if e.kind == ErrorKind::CatalogDamaged => {
            state.set_catalog_damaged(true);
            (None, Some(damaged_notice(&e)))
        }
        Err(e) => return Err(e),
    };
    set_notice(&state, notice);
    if let Some(vault) = vault {
        state.open(vault)?;
        crate::analysis::start(&app);
        crate::watching::start(&app);
        crate::autosync::start(&app);
        crate::desktop::background_after_unattended_unlock(&app);
    }
    Ok(status(&state))
}

#[tauri::command]
pub async fn status_of(state: State<'_, AppState>) -> IpcResult<Status> {
    Ok(status(&state))
}

/// Points the app at another vault folder (first run: "open an existing vault").
#[tauri::command]
pub async fn choose_vault(state: State<'_, AppState>, dir: String) -> IpcResult<Status> {
    if dir.trim().is_empty() {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "choose a folder for the vault",
        ));
    }
    lock_session(&state).await?;
    state.set_dir(PathBuf::from(dir));
    set_notice(&state, None);
    state.set_catalog_damaged(false);
    Ok(status(&state))
}

#[tauri::command]
pub async fn create_vault<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    dir: String,
    passphrase: String,
    remember_key: bool,
) -> IpcResult<Status> {
    let passphrase = Passphrase::new(passphrase);
    if passphrase.is_empty() {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "the passphrase must not be empty",
        ));
    }
    if dir.trim().is_empty() {
        return Err(IpcError::new(
            ErrorKind::Invalid,
            "choose a folder for the vault",
        ));
    }
    let root = PathBuf::from(dir);
    let create_root = root.clone();
    let (vault, notice) = blocking(move || {
        let vault = Vault::create(&create_root, &passphrase, &Default::default())?;
        let notice = if remember_key { remember(&vault) } else { None };
        Ok((vault, notice))
    })
    .await?;
    state.set_dir(root);
    set_notice(&state, notice);
    state.open(vault)?;
    crate::analysis::start(&app);
    crate::watching::start(&app);
    crate::autosync::start(&app);
    Ok(status(&state))
}

#[tauri::command]
pub async fn unlock<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    passphrase: String,
    remember_key: bool,
) -> IpcResult<Status> {
    let passphrase = Passphrase::new(passphrase);
    let dir = state.dir();
    let (vault, notice) = blocking(move || {
        let vault = LockedVault::open(&dir)?.unlock(&passphrase)?;
        let notice = if remember_key { remember(&vault) } else { None };
        Ok((vault, notice))
    })
    .await
    .inspect_err(|e| {
        // Said by kind to the unlock form, and kept for the status: the screen
        // offers Check and repair.
        if e.kind == ErrorKind::CatalogDamaged {
            state.set_catalog_damaged(true);
        }
    })?;
    set_notice(&state, notice);
    state.open(vault)?;
    crate::analysis::start(&app);
    crate::watching::start(&app);
    crate::autosync::start(&app);
    Ok(status(&state))
}

/// Locks: cancels every job (import, export, verify, cloud work, analysis, the
/// watcher's batch), stops the playback server (every URL handed out stops
/// working), and answers once the vault and its key are dropped. The UI shows
/// "Locking…" until then.
#[tauri::command]
pub async fn lock(state: State<'_, AppState>) -> IpcResult<Status> {
    let locked = lock_session(&state).await?;
    set_notice(&state, lock_notice(&locked));
    state.changed();
    Ok(status(&state))
}

#[tauri::command]
pub async fn search(state: State<'_, AppState>, query: SearchQuery) -> IpcResult<SearchPage> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.search(&query)?)).await
}

/// A keystroke's search: the first page and its footer in one call.
#[tauri::command]
pub async fn search_first_page(
    state: State<'_, AppState>,
    query: SearchQuery,
) -> IpcResult<FirstPage> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.search_first_page(&query)?)).await
}

#[tauri::command]
pub async fn search_summary(
    state: State<'_, AppState>,
    query: SearchQuery,
) -> IpcResult<SearchSummary> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.search_summary(&query)?)).await
}

#[tauri::command]
pub async fn track_details(state: State<'_, AppState>, id: String) -> IpcResult<TrackDetails> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.track_details(&TrackId(id))?)).await
}

fn data_url(picture: Option<(String, Vec<u8>)>) -> Option<String> {
    picture.map(|(mime, bytes)| {
        // Only an image type goes into the URL (anything else is labelled JPEG,
        // and an <img> that cannot decode it stays empty).
        let mime = if mime.starts_with("image/") && !mime.contains(['"', ';', ',']) {
            mime
        } else {
            "image/jpeg".into()
        };
        format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    })
}

/// The track's cover art as a `data:` URL, or null when it has none.
#[tauri::command]
pub async fn artwork(state: State<'_, AppState>, id: String) -> IpcResult<Option<String>> {
    let s = state.session()?;
    blocking(move || Ok(data_url(s.vault.artwork(&TrackId(id))?))).await
}

/// A small cover-art thumbnail (lists, the player bar) as a `data:` URL.
#[tauri::command]
pub async fn thumbnail(state: State<'_, AppState>, id: String) -> IpcResult<Option<String>> {
    let s = state.session()?;
    blocking(move || Ok(data_url(s.vault.thumbnail(&TrackId(id))?))).await
}

/// A signed, expiring URL on the loopback playback server.
#[tauri::command]
pub async fn stream_url(state: State<'_, AppState>, id: String) -> IpcResult<Stream> {
    let s = state.session()?;
    blocking(move || {
        let id = TrackId(id);
        let track = s.vault.track(&id)?;
        let expires = std::time::SystemTime::now() + STREAM_TTL;
        Ok(Stream {
            url: s.stream_url(id.as_str(), STREAM_TTL)?,
            content_type: audiovault_engine::serve::content_type(&track.format).to_string(),
            expires_at_ms: expires
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        })
    })
    .await
}

/// Imports files and folders (a drop, or the Add dialog).
#[tauri::command]
pub async fn import<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    paths: Vec<String>,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<ImportReport> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Local, "import")?;
    let result = blocking(move || {
        let inputs: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
        let options = ImportOptions {
            source: audiovault_engine::ingest::ImportSource::App,
            workers: 0,
        };
        Ok(s.vault.import(
            &inputs,
            &options,
            &ChannelProgress::new(on_progress),
            &job.token,
        )?)
    })
    .await;
    crate::notify::job_ended(&app, "Import", &result, |r: &ImportReport| {
        crate::notify::counts(&[
            (r.imported, "imported"),
            (r.duplicates, "already in the vault"),
            (r.rejected, "not imported"),
            (r.failed, "failed"),
        ])
    });
    let report = result?;
    crate::events::library_changed(&app);
    // Import fast, analyse after: waveforms and fingerprints in the background.
    crate::analysis::start(&app);
    if report.imported > 0 {
        crate::autosync::imported(&app);
    }
    Ok(report)
}

#[tauri::command]
pub async fn export(
    state: State<'_, AppState>,
    ids: Vec<String>,
    dest: String,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<ExportReport> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Local, "export")?;
    blocking(move || {
        let ids: Vec<TrackId> = ids.into_iter().map(TrackId).collect();
        Ok(s.vault.export(
            &ids,
            &PathBuf::from(dest),
            &ExportOptions::default(),
            &ChannelProgress::new(on_progress),
            &job.token,
        )?)
    })
    .await
}

/// The tray's Cancel: stops the running import, export or verify (not cloud
/// work, which has its own Cancel).
#[tauri::command]
pub async fn cancel(state: State<'_, AppState>) -> IpcResult<()> {
    state.jobs.cancel(&[JobKind::Local]);
    Ok(())
}

#[tauri::command]
pub async fn set_trashed<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    ids: Vec<String>,
    trashed: bool,
) -> IpcResult<usize> {
    let s = state.session()?;
    let n = blocking(move || {
        let ids: Vec<TrackId> = ids.into_iter().map(TrackId).collect();
        Ok(s.vault.set_trashed(&ids, trashed)?)
    })
    .await?;
    crate::events::library_changed(&app);
    Ok(n)
}

#[tauri::command]
pub async fn stats(state: State<'_, AppState>) -> IpcResult<Stats> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.stats()?)).await
}

#[tauri::command]
pub async fn verify<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    on_progress: Channel<ProgressEvent>,
) -> IpcResult<VerifyReport> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Local, "verification")?;
    let result = blocking(move || {
        Ok(s.vault
            .verify(&ChannelProgress::new(on_progress), &job.token)?)
    })
    .await;
    crate::notify::job_ended(&app, "Verify", &result, |r: &VerifyReport| {
        if r.damaged_tracks.is_empty() {
            format!("All {} track(s) intact.", r.tracks_checked)
        } else {
            format!(
                "{} damaged track(s): see the Verify view.",
                r.damaged_tracks.len()
            )
        }
    });
    result
}

/// Asks for a folder with the native dialog (export destination). For
/// automation (the end-to-end tests), `AUDIOVAULT_AUTOMATION_PICK_FOLDER`
/// answers instead of a person: WebDriver cannot drive a GTK dialog.
#[tauri::command]
pub async fn pick_folder<R: Runtime>(
    app: AppHandle<R>,
    title: String,
) -> IpcResult<Option<String>> {
    if let Some(dir) = std::env::var_os("AUDIOVAULT_AUTOMATION_PICK_FOLDER") {
        return Ok(Some(dir.to_string_lossy().into_owned()));
    }
    use tauri_plugin_dialog::DialogExt;
    let picked =
        blocking(move || Ok(app.dialog().file().set_title(title).blocking_pick_folder())).await?;
    Ok(picked
        .and_then(|p| p.into_path().ok())
        .map(|p| p.to_string_lossy().into_owned()))
}

/// Empties the Trash: deletes every trashed track for good, then the chunks no
/// track references any more. Refused (kind "busy") while an import holds the vault.
/// A job of its own: a lock before it starts cancels it, a lock after waits for it.
#[tauri::command]
pub async fn purge_trash<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> IpcResult<PurgeReport> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Atomic, "emptying of the Trash")?;
    let report = blocking(move || {
        // A lock since the job was registered: not started, so not done.
        if job.token.is_cancelled() {
            return Err(Error::Cancelled.into());
        }
        Ok(s.vault.purge(None)?)
    })
    .await?;
    crate::events::library_changed(&app);
    Ok(report)
}

/// A track's waveform from the background analysis (pending until it ran).
#[tauri::command]
pub async fn waveform(state: State<'_, AppState>, id: String) -> IpcResult<Waveform> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.waveform(&TrackId(id))?)).await
}

/// The background analysis's state now (the UI asks once, then follows events).
#[tauri::command]
pub async fn analysis_progress<R: Runtime>(
    app: AppHandle<R>,
) -> IpcResult<crate::dto::AnalysisProgress> {
    Ok(crate::analysis::progress(&app))
}

/// Rewraps the vault key under a new passphrase; `current` must be right even
/// when the vault was opened from the keyring. A job like emptying the Trash
/// (a lock waits for a change under way: vault.json is replaced whole).
#[tauri::command]
pub async fn change_passphrase(
    state: State<'_, AppState>,
    current: String,
    new: String,
) -> IpcResult<()> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Atomic, "passphrase change")?;
    let current = Passphrase::new(current);
    let new = Passphrase::new(new);
    blocking(move || {
        if job.token.is_cancelled() {
            return Err(Error::Cancelled.into());
        }
        Ok(s.vault.replace_passphrase(&current, &new)?)
    })
    .await
}

#[tauri::command]
pub async fn settings(state: State<'_, AppState>) -> IpcResult<Settings> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.settings()?)).await
}

/// One import setting, its value checked by the engine; returns all of them as
/// stored.
#[tauri::command]
pub async fn set_setting(
    state: State<'_, AppState>,
    key: SettingKey,
    value: String,
) -> IpcResult<Settings> {
    let s = state.session()?;
    blocking(move || {
        s.vault.set_setting(key, &value)?;
        Ok(s.vault.settings()?)
    })
    .await
}

/// The Albums view: every album of the active tracks.
#[tauri::command]
pub async fn albums(state: State<'_, AppState>) -> IpcResult<Vec<AlbumSummary>> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.albums()?)).await
}

/// The Artists view: every artist of the active tracks.
#[tauri::command]
pub async fn artists(state: State<'_, AppState>) -> IpcResult<Vec<ArtistSummary>> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.artists()?)).await
}

/// The tracks of one album (`artist` as the Albums view names it) or, with
/// `album` null, of one artist.
#[tauri::command]
pub async fn group_tracks(
    state: State<'_, AppState>,
    album: Option<String>,
    artist: String,
) -> IpcResult<Vec<Track>> {
    let s = state.session()?;
    blocking(move || {
        Ok(match album {
            Some(album) => s.vault.album_tracks(&album, &artist)?,
            None => s.vault.artist_tracks(&artist)?,
        })
    })
    .await
}

/// How hard a passphrase is to guess, as the engine judges it (zxcvbn): the
/// strength meter's only source. New vaults and passphrase changes need a score
/// of 3 (`weak_passphrase` otherwise).
#[tauri::command]
pub async fn passphrase_strength(
    passphrase: String,
) -> IpcResult<audiovault_engine::strength::Strength> {
    let p = Passphrase::new(passphrase);
    blocking(move || Ok(audiovault_engine::strength::estimate(&p))).await
}

/// This device's app settings (idle lock, tray, notifications, start at login).
#[tauri::command]
pub async fn app_settings<R: Runtime>(
    app: AppHandle<R>,
) -> IpcResult<crate::autolock::AppSettings> {
    Ok(crate::desktop::settings(&app))
}

/// Sets the idle time after which the vault locks itself, in seconds.
#[tauri::command]
pub async fn set_auto_lock(
    auto: State<'_, crate::autolock::AutoLock>,
    seconds: u64,
) -> IpcResult<crate::autolock::AppSettings> {
    auto.set_auto_lock_seconds(seconds)
        .map_err(|e| IpcError::new(ErrorKind::InvalidSetting, e))
}

/// The window saw input, or audio plays: the idle clock starts again.
#[tauri::command]
pub async fn activity(auto: State<'_, crate::autolock::AutoLock>) -> IpcResult<()> {
    auto.touch();
    Ok(())
}

/// The version and licence, for the About dialog.
#[tauri::command]
pub async fn about() -> IpcResult<crate::dto::About> {
    Ok(crate::dto::About::of_this_build())
}

/// The files the desktop handed the app since the last call ("Open with", a second
/// launch): each is returned once, for the library to import as it imports a drop.
#[tauri::command]
pub async fn take_opened_files(state: State<'_, AppState>) -> IpcResult<Vec<String>> {
    // Locked, they wait: the library takes them once it is open.
    state.session()?;
    Ok(state
        .opened
        .take()
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect())
}

/// The newest import jobs (the Imports view).
#[tauri::command]
pub async fn import_jobs(
    state: State<'_, AppState>,
    limit: u32,
) -> IpcResult<Vec<audiovault_engine::library::ImportJob>> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.import_jobs(limit)?)).await
}

/// One import job with its files and their outcomes.
#[tauri::command]
pub async fn import_job(
    state: State<'_, AppState>,
    id: i64,
) -> IpcResult<audiovault_engine::library::ImportJobDetails> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.import_job(id)?)).await
}

/// The vault's activity log, newest first, optionally of one kind.
#[tauri::command]
pub async fn activity_log(
    state: State<'_, AppState>,
    limit: u32,
    kind: Option<audiovault_engine::catalog::LogKind>,
) -> IpcResult<Vec<audiovault_engine::catalog::Activity>> {
    let s = state.session()?;
    blocking(move || Ok(s.vault.activity_log(limit, kind)?)).await
}

/// Exact copies and same-audio groups (the Duplicates view). Tracks still waiting
/// for analysis are analysed first, as a job that lock and Cancel stop.
#[tauri::command]
pub async fn duplicates(
    state: State<'_, AppState>,
) -> IpcResult<audiovault_engine::analysis::DuplicatesReport> {
    let s = state.session()?;
    let job = state.job(&s, JobKind::Local, "duplicate search")?;
    blocking(move || {
        Ok(s.vault
            .duplicates(&audiovault_engine::NoProgress, &job.token)?)
    })
    .await
}
