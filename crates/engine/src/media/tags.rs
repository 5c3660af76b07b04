//! From symphonia's metadata revisions to [`Tags`] and one [`Artwork`].
//!
//! Why this shape: a file can carry several tag blocks (an MP3 with ID3v2 at the front,
//! APE and ID3v1 at the end; a FLAC with Vorbis comments and an ID3v2 block a tagger
//! prepended). We read them all, richest first, so a field comes from the best block
//! that has it and the 30-character ID3v1 copy never overrides the full ID3v2 title.
//! Everything symphonia maps to a standard tag we do not model goes to `other` under
//! its raw key, so nothing a user typed is lost. Counts and lengths are capped: tags
//! are untrusted text that ends up in the catalog and the UI.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::well_known::METADATA_ID_VORBIS_COMMENT;
use symphonia::core::meta::well_known::{
    METADATA_ID_AIFF, METADATA_ID_APEV1, METADATA_ID_APEV2, METADATA_ID_ID3V1, METADATA_ID_WAVE,
};
use symphonia::core::meta::{
    MetadataBuilder, MetadataInfo, MetadataRevision, RawTag, RawValue, StandardTag,
    StandardVisualKey, Tag, Visual,
};
use symphonia::core::meta::{MetadataOptions, MetadataReader};
use symphonia::default::meta::embedded::riff::{parse_riff_info_chunk, read_riff_id3_chunk};
use symphonia::default::meta::embedded::vorbis::read_vorbis_comment;
use symphonia::default::meta::{ApeReader, Id3v1Reader};

use super::source::Source;
use super::{Artwork, Tags, panic_message, sniff};

/// `other` entries kept at most.
pub(crate) const MAX_OTHER_TAGS: usize = 512;
/// Longest value kept, in bytes (longer values are cut at a character boundary).
pub(crate) const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Longest key kept, in bytes.
const MAX_KEY_BYTES: usize = 256;
/// Total text kept in `other`, in bytes.
const MAX_OTHER_BYTES: usize = 1024 * 1024;
/// Largest cover kept: the lead stores it in the chunk store, and a "cover" larger than
/// this is more likely an attack or a mistake than art.
pub(crate) const MAX_ARTWORK_BYTES: usize = 16 * 1024 * 1024;

/// The fields of [`Tags`] that standard tags fill.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Field {
    Title,
    Artist,
    Album,
    AlbumArtist,
    TrackNumber,
    TrackTotal,
    DiscNumber,
    DiscTotal,
    Date,
    Year,
    Genre,
    Composer,
    Comment,
}

/// A standard tag's value for one of our fields.
enum Value {
    Text(String),
    Number(u32),
    Year(i32),
}

fn map_standard(tag: &Tag, repair: bool) -> Option<(Field, Value)> {
    let text = |f: Field, s: &str| Some((f, Value::Text(text_of(s, repair))));
    let number = |f: Field, n: u64| u32::try_from(n).ok().map(|n| (f, Value::Number(n)));
    match tag.std.as_ref()? {
        StandardTag::TrackTitle(s) => text(Field::Title, s),
        StandardTag::Artist(s) => text(Field::Artist, s),
        StandardTag::Album(s) => text(Field::Album, s),
        StandardTag::AlbumArtist(s) => text(Field::AlbumArtist, s),
        StandardTag::TrackNumber(n) => number(Field::TrackNumber, *n),
        StandardTag::TrackTotal(n) => number(Field::TrackTotal, *n),
        StandardTag::DiscNumber(n) => number(Field::DiscNumber, *n),
        StandardTag::DiscTotal(n) => number(Field::DiscTotal, *n),
        // ID3v2.3 TDAT/TIME hold "DDMM"/"HHMM", not a date on their own.
        StandardTag::RecordingDate(_) | StandardTag::ReleaseDate(_)
            if ["TDAT", "TDA", "TIME", "TIM"].contains(&tag.raw.key.as_str()) =>
        {
            None
        }
        StandardTag::RecordingDate(s) | StandardTag::ReleaseDate(s) => text(Field::Date, s),
        StandardTag::RecordingYear(y) | StandardTag::ReleaseYear(y) => {
            Some((Field::Year, Value::Year(i32::from(*y))))
        }
        StandardTag::Genre(s) => text(Field::Genre, s),
        StandardTag::Composer(s) => text(Field::Composer, s),
        // An ID3v2 comment with a description ("iTunNORM", "iTunSMPB", ...) is data a
        // program left, not the user's comment.
        StandardTag::Comment(s) if description(&tag.raw).is_none() => text(Field::Comment, s),
        _ => None,
    }
}

/// Fields that must come from one tag block: a track number from ID3v2 with a total
/// from ID3v1, or a date from APE with a year from ID3v1, would mix two releases.
fn group(field: Field) -> Field {
    match field {
        Field::TrackTotal => Field::TrackNumber,
        Field::DiscTotal => Field::DiscNumber,
        Field::Year => Field::Date,
        f => f,
    }
}

/// Fields some formats keep under a key symphonia does not map: used only when no
/// standard tag filled the field.
fn fallback_field(tag: &Tag) -> Option<Field> {
    match (&tag.std, tag.raw.key.as_str()) {
        // Vorbis DESCRIPTION (what ffmpeg writes for "comment"), MP4 "desc".
        (Some(StandardTag::Description(_)), _) => Some(Field::Comment),
        // What ffmpeg writes for "comment" in ID3v2.
        (_, "TXXX") if description(&tag.raw).is_some_and(|d| d.eq_ignore_ascii_case("comment")) => {
            Some(Field::Comment)
        }
        // iTunes keeps the composer in ©wrt ("writer").
        (_, "\u{a9}wrt") => Some(Field::Composer),
        // AIFF's author chunk.
        (_, "AUTH") => Some(Field::Artist),
        // A RIFF INFO track "3/12", which symphonia parses only as a bare number.
        (None, key) if ["IPRT", "ITRK", "TRCK"].contains(&key.to_ascii_uppercase().as_str()) => {
            Some(Field::TrackNumber)
        }
        _ => None,
    }
}

/// Text as stored, or, for formats whose text has no declared encoding (AIFF), UTF-8
/// that a reader decoded as Latin-1 ("BjÃ¶rk" back to "Björk").
fn text_of(s: &str, repair: bool) -> String {
    if repair && s.chars().all(|c| u32::from(c) <= 0xff) && s.chars().any(|c| u32::from(c) >= 0x80)
    {
        let bytes: Vec<u8> = s.chars().map(|c| u32::from(c) as u8).collect();
        if let Ok(utf8) = String::from_utf8(bytes) {
            return utf8;
        }
    }
    s.to_owned()
}

/// The description sub-field of an ID3v2 COMM/TXXX/WXXX frame, if not empty.
fn description(raw: &RawTag) -> Option<&str> {
    raw.sub_fields.as_deref()?.iter().find_map(|sub| {
        if sub.field == "DESCRIPTION" || sub.field == "SHORT_DESCRIPTION" {
            match &sub.value {
                RawValue::String(s) if !s.trim().is_empty() => Some(s.as_str()),
                _ => None,
            }
        } else {
            None
        }
    })
}

/// A value as text; `None` for binary data (private frames, CD TOCs, ...), which is
/// not text a user could read or search.
fn value_text(value: &RawValue, repair: bool) -> Option<String> {
    match value {
        RawValue::String(s) => Some(text_of(s, repair)),
        RawValue::StringList(list) => Some(list.join("; ")),
        RawValue::UnsignedInt(n) => Some(n.to_string()),
        RawValue::SignedInt(n) => Some(n.to_string()),
        RawValue::Float(f) => Some(f.to_string()),
        RawValue::Boolean(b) => Some(b.to_string()),
        RawValue::Flag => Some(String::new()),
        _ => None,
    }
}

/// Cuts `s` to at most `max` bytes at a character boundary, and drops the NULs and
/// padding that tag formats leave at the end of fixed-size fields.
fn clean(s: &str, max: usize) -> String {
    let s = s.trim_end_matches(['\0', ' ']);
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// "3" or "3/12".
fn parse_m_of_n(s: &str) -> Option<(u32, Option<u32>)> {
    let mut parts = s.trim().splitn(2, '/');
    let n = parts.next()?.trim().parse().ok()?;
    let total = parts.next().and_then(|t| t.trim().parse().ok());
    Some((n, total))
}

/// The year at the start of a date ("1999", "1999-05-02", "1999-05-02T10:00").
fn leading_year(date: &str) -> Option<i32> {
    let digits: String = date.trim().chars().take(4).collect();
    if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// Lower rank first: the block a field is taken from when several have it.
fn rank(revision: &MetadataRevision) -> u8 {
    let id = revision.info.metadata;
    if id == METADATA_ID_ID3V1 {
        2
    } else if id == METADATA_ID_APEV1 || id == METADATA_ID_APEV2 {
        1
    } else {
        0
    }
}

/// Tags and artwork gathered from every revision, plus notes on what was left out.
#[derive(Default)]
pub(crate) struct Gathered {
    pub tags: Tags,
    pub artwork: Option<Artwork>,
    pub notes: Vec<String>,
}

pub(crate) fn gather(revisions: &[MetadataRevision], track_id: u32) -> Gathered {
    let mut order: Vec<&MetadataRevision> = revisions.iter().collect();
    // Stable: revisions of equal rank keep the order the file has them in.
    order.sort_by_key(|r| rank(r));

    let mut out = Gathered::default();
    let mut filled: HashSet<Field> = HashSet::new();
    let mut seen_other: HashSet<(String, String)> = HashSet::new();
    let mut other_bytes = 0usize;
    let mut dropped_other = false;
    let mut visuals: Vec<&Visual> = Vec::new();
    // Index into `other` of the first entry that can stand in for an unfilled field.
    let mut fallbacks: HashMap<Field, Vec<usize>> = HashMap::new();
    // The revision that filled some field of each group.
    let mut group_owner: HashMap<Field, usize> = HashMap::new();

    for (rev_index, revision) in order.into_iter().enumerate() {
        let repair = revision.info.metadata == METADATA_ID_AIFF;
        // Fields this revision filled: a second value for one of them is a further
        // value (a second ARTIST comment), kept in `other`; a value for a field an
        // earlier, richer block filled is that block's copy, dropped.
        let mut filled_here: HashSet<Field> = HashSet::new();
        let per_track = revision
            .per_track
            .iter()
            .filter(|t| t.track_id == u64::from(track_id))
            .map(|t| &t.metadata);
        for container in std::iter::once(&revision.media).chain(per_track) {
            visuals.extend(container.visuals.iter());
            for tag in &container.tags {
                if let Some((field, value)) = map_standard(tag, repair) {
                    let g = group(field);
                    let owned_elsewhere = group_owner.get(&g).is_some_and(|o| *o != rev_index);
                    if !filled.contains(&field) && !owned_elsewhere {
                        if set_field(&mut out.tags, field, value) {
                            filled.insert(field);
                            filled_here.insert(field);
                            group_owner.entry(g).or_insert(rev_index);
                        }
                        continue;
                    }
                    if !filled_here.contains(&field) {
                        continue;
                    }
                }
                // Not a field we model, or a further value: keep it under its raw key.
                let Some(value) = value_text(&tag.raw.value, repair) else {
                    continue;
                };
                let key = match description(&tag.raw) {
                    Some(desc) => format!("{}:{}", tag.raw.key, desc),
                    None => tag.raw.key.clone(),
                };
                let key = clean(&key, MAX_KEY_BYTES);
                let value = clean(&value, MAX_VALUE_BYTES);
                if key.is_empty() || seen_other.contains(&(key.clone(), value.clone())) {
                    continue;
                }
                if out.tags.other.len() >= MAX_OTHER_TAGS
                    || other_bytes + key.len() + value.len() > MAX_OTHER_BYTES
                {
                    dropped_other = true;
                    continue;
                }
                other_bytes += key.len() + value.len();
                seen_other.insert((key.clone(), value.clone()));
                if let Some(field) = fallback_field(tag) {
                    fallbacks
                        .entry(field)
                        .or_default()
                        .push(out.tags.other.len());
                }
                out.tags.other.push((key, value));
            }
        }
    }

    // Stand-ins for fields no standard tag filled move from `other` to the field; a
    // stand-in that repeats the field's value (ffmpeg writes an AIFF comment both in
    // ANNO and in the ID3 chunk) is dropped.
    let mut used: Vec<usize> = Vec::new();
    for (field, candidates) in fallbacks {
        if !filled.contains(&field) {
            let value = out.tags.other[candidates[0]].1.clone();
            let set = if field == Field::TrackNumber {
                match parse_m_of_n(&value) {
                    Some((n, total)) => {
                        let set = set_field(&mut out.tags, field, Value::Number(n));
                        if let Some(total) = total.filter(|_| !filled.contains(&Field::TrackTotal))
                        {
                            set_field(&mut out.tags, Field::TrackTotal, Value::Number(total));
                        }
                        set
                    }
                    None => false,
                }
            } else {
                set_field(&mut out.tags, field, Value::Text(value))
            };
            if !set {
                continue;
            }
        }
        let current = field_text(&out.tags, field);
        used.extend(
            candidates
                .into_iter()
                .filter(|i| current.as_deref() == Some(out.tags.other[*i].1.trim())),
        );
    }
    used.sort_unstable();
    used.dedup();
    for index in used.into_iter().rev() {
        out.tags.other.remove(index);
    }

    // A year without a date tag (ID3v2.3 TYER) still gives a date; a date gives a year.
    if out.tags.date.is_none() {
        out.tags.date = out.tags.year.map(|y| y.to_string());
    }
    if out.tags.year.is_none() {
        out.tags.year = out.tags.date.as_deref().and_then(leading_year);
    }
    if dropped_other {
        out.notes.push(format!(
            "more tags than the limit ({MAX_OTHER_TAGS} entries, {} KiB): the rest were not kept",
            MAX_OTHER_BYTES / 1024
        ));
    }

    let (artwork, note) = pick_artwork(&visuals);
    out.artwork = artwork;
    out.notes.extend(note);
    out
}

/// Largest RIFF INFO list read.
const MAX_INFO_BYTES: u64 = 1024 * 1024;
/// Largest ID3 chunk read from a WAV file (it may hold cover art).
const MAX_ID3_CHUNK_BYTES: u64 = 32 * 1024 * 1024;

const RIFF_INFO: MetadataInfo = MetadataInfo {
    metadata: METADATA_ID_WAVE,
    short_name: "riff",
    long_name: "RIFF INFO",
};

/// Tags in a WAV file's `LIST/INFO` and `id3 ` chunks.
///
/// Why here: symphonia 0.6.1's WAV reader parses the INFO list and then drops it (it
/// keeps only the metadata the probe found outside the container), and it never reads
/// an `id3 ` chunk. Both are read with symphonia's own parsers; the chunk walk is ours.
pub(crate) fn riff_revisions(
    file: &mut dyn Source,
    file_len: u64,
) -> (Vec<MetadataRevision>, Vec<String>) {
    let mut revisions = Vec::new();
    let mut notes = Vec::new();
    let chunks = match sniff::chunks(file, file_len, "wav") {
        Ok(chunks) => chunks,
        Err(e) => {
            return (
                revisions,
                vec![format!("could not read the RIFF chunks: {e}")],
            );
        }
    };
    for chunk in chunks {
        let (is_info, max) = match &chunk.id {
            b"LIST" => (true, MAX_INFO_BYTES),
            b"id3 " | b"ID3 " => (false, MAX_ID3_CHUNK_BYTES),
            _ => continue,
        };
        let payload = match sniff::chunk_payload(file, file_len, &chunk, max) {
            Ok(Some(payload)) => payload,
            Ok(None) => {
                if !is_info {
                    notes
                        .push("an ID3 chunk is larger than the file or the limit: not read".into());
                }
                continue;
            }
            Err(e) => {
                notes.push(format!("could not read a RIFF chunk: {e}"));
                continue;
            }
        };
        if is_info && !payload.starts_with(b"INFO") {
            continue;
        }
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            if is_info {
                Ok(parse_info_list(&payload[4..]))
            } else {
                let mut reader = symphonia::core::io::BufReader::new(&payload);
                let mut side_data = Vec::new();
                read_riff_id3_chunk(&mut reader, &mut side_data).map_err(|e| e.to_string())
            }
        }));
        match parsed {
            Ok(Ok(revision)) => revisions.push(revision),
            Ok(Err(e)) => notes.push(format!("the ID3 chunk could not be read: {e}")),
            Err(payload) => notes.push(format!(
                "the tag parser crashed on a RIFF chunk ({})",
                panic_message(payload.as_ref())
            )),
        }
    }
    (revisions, notes)
}

/// The sub-chunks of a `LIST/INFO` payload (after "INFO"): id, size, text.
fn parse_info_list(mut data: &[u8]) -> MetadataRevision {
    let mut builder = MetadataBuilder::new(RIFF_INFO);
    let mut count = 0;
    while data.len() >= 8 && count < MAX_OTHER_TAGS {
        let id = [data[0], data[1], data[2], data[3]];
        let size = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
        let Some(body) = data.get(8..8 + size) else {
            break;
        };
        let text = body.split(|b| *b == 0).next().unwrap_or_default();
        // The spec says ASCII; writers use UTF-8 or Latin-1.
        let text = match std::str::from_utf8(text) {
            Ok(s) => s.to_owned(),
            Err(_) => text.iter().map(|b| char::from(*b)).collect(),
        };
        // A malformed id is skipped; the others still count.
        let _ = parse_riff_info_chunk(id, text.as_bytes(), &mut builder);
        count += 1;
        let next = 8 + size + (size & 1);
        data = data.get(next..).unwrap_or_default();
    }
    builder.build()
}

// ---------------------------------------------------------------------------------
// Tag blocks of the formats symphonia's format readers do not read

/// Largest APE tag read.
const MAX_APE_BYTES: u64 = 32 * 1024 * 1024;
/// Items walked in one APE tag.
const MAX_APE_ITEMS: u32 = 4096;

/// The tag blocks a file of a format symphonia does not read carries, read with
/// symphonia's tag readers (so their fields map as every other format's do): ID3v2 tags
/// at the start and at `id3v2` (offset, length) ranges the format points to, an APEv2
/// (or APEv1) tag and an ID3v1 tag at the end, and `pairs`: (Vorbis-comment key, value)
/// the format keeps itself. Each block is read into memory first, whole and within its
/// cap, or left out with a note.
pub(crate) fn other_format_revisions(
    file: &mut dyn Source,
    file_len: u64,
    id3v2: &[(u64, u64)],
    pairs: &[(String, String)],
) -> (Vec<MetadataRevision>, Vec<String>) {
    let mut revisions = Vec::new();
    let mut notes = Vec::new();
    let read = |revisions: &mut Vec<MetadataRevision>,
                notes: &mut Vec<String>,
                what: &str,
                result: std::thread::Result<Result<MetadataRevision, String>>| {
        match result {
            Ok(Ok(rev)) => revisions.push(rev),
            Ok(Err(e)) => notes.push(format!("the {what} tag could not be read: {e}")),
            Err(p) => notes.push(format!(
                "the tag parser crashed on the {what} tag ({})",
                panic_message(p.as_ref())
            )),
        }
    };
    // ID3v2 at the start, then inside.
    let mut id3_ranges: Vec<(u64, u64)> = Vec::new();
    let mut offset = 0u64;
    for _ in 0..4 {
        let mut head = [0u8; 10];
        match sniff::read_at(file, offset, &mut head) {
            Ok(10) => {}
            _ => break,
        }
        match sniff::id3v2_tag_len(&head) {
            Some(len) if offset + len <= file_len => {
                id3_ranges.push((offset, len));
                offset += len;
            }
            _ => break,
        }
    }
    id3_ranges.extend_from_slice(id3v2);
    for &(at, len) in &id3_ranges {
        match bytes_at(file, at, len, file_len, MAX_ID3_CHUNK_BYTES) {
            Some(bytes) => read(
                &mut revisions,
                &mut notes,
                "ID3v2",
                catch_unwind(AssertUnwindSafe(|| {
                    let mut reader = symphonia::core::io::BufReader::new(&bytes);
                    let mut side_data = Vec::new();
                    read_riff_id3_chunk(&mut reader, &mut side_data).map_err(|e| e.to_string())
                })),
            ),
            None => {
                notes.push("an ID3v2 tag is larger than the file or the limit: not read".into())
            }
        }
    }
    // ID3v1 at the very end; APE before it, or at the end.
    let mut end = file_len;
    if file_len >= 128
        && let Some(tag) = bytes_at(file, file_len - 128, 128, file_len, 128)
        && tag.starts_with(b"TAG")
    {
        end = file_len - 128;
        read(
            &mut revisions,
            &mut notes,
            "ID3v1",
            catch_unwind(AssertUnwindSafe(|| {
                let mss = MediaSourceStream::new(
                    Box::new(std::io::Cursor::new(tag)),
                    MediaSourceStreamOptions::default(),
                );
                let mut reader = Id3v1Reader::try_new(mss, MetadataOptions::default())
                    .map_err(|e| e.to_string())?;
                reader
                    .read_all()
                    .map(|b| b.revision)
                    .map_err(|e| e.to_string())
            })),
        );
    }
    if end >= 32
        && let Some(footer) = bytes_at(file, end - 32, 32, file_len, 32)
        && footer.starts_with(b"APETAGEX")
    {
        match ape_tag(file, end, &footer, file_len) {
            Ok(bytes) => read(
                &mut revisions,
                &mut notes,
                "APE",
                catch_unwind(AssertUnwindSafe(|| {
                    use std::io::Seek;
                    let footer_at = bytes.len() as u64 - 32;
                    let mut mss = MediaSourceStream::new(
                        Box::new(std::io::Cursor::new(bytes)),
                        MediaSourceStreamOptions::default(),
                    );
                    mss.seek(std::io::SeekFrom::Start(footer_at))
                        .map_err(|e| e.to_string())?;
                    let mut reader = ApeReader::try_new(mss, MetadataOptions::default())
                        .map_err(|e| e.to_string())?;
                    reader
                        .read_all()
                        .map(|b| b.revision)
                        .map_err(|e| e.to_string())
                })),
            ),
            Err(e) => notes.push(format!("the APE tag could not be read: {e}")),
        }
    }
    if let Some(rev) = revision_from_pairs(pairs) {
        revisions.push(rev);
    }
    (revisions, notes)
}

/// `len` bytes at `offset` when the file holds them all and `len <= max`.
fn bytes_at(
    file: &mut dyn Source,
    offset: u64,
    len: u64,
    file_len: u64,
    max: u64,
) -> Option<Vec<u8>> {
    if len > max || offset.checked_add(len)? > file_len {
        return None;
    }
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    match sniff::read_at(file, offset, &mut buf) {
        Ok(n) if n == buf.len() => Some(buf),
        _ => None,
    }
}

/// The whole APE tag whose footer ends at `end`, after checking that its size fits the
/// file and its cap and that its items fit the tag (symphonia's reader allocates an
/// item's claimed length before it reads it).
fn ape_tag(
    file: &mut dyn Source,
    end: u64,
    footer: &[u8],
    file_len: u64,
) -> Result<Vec<u8>, String> {
    let le = |at: usize| {
        u32::from_le_bytes([footer[at], footer[at + 1], footer[at + 2], footer[at + 3]])
    };
    let version = le(8);
    let size = u64::from(le(12));
    let items = le(16);
    let flags = le(20);
    let has_header = version == 2000 && flags & 0x8000_0000 != 0;
    let total = size + if has_header { 32 } else { 0 };
    if size < 32 || total > end || total > MAX_APE_BYTES {
        return Err(format!("it claims {size} bytes"));
    }
    if items > MAX_APE_ITEMS {
        return Err(format!("it claims {items} items"));
    }
    let bytes = bytes_at(file, end - total, total, file_len, MAX_APE_BYTES)
        .ok_or_else(|| "it is cut short".to_string())?;
    // Items: value length (u32), flags (u32), a NUL-terminated key, the value.
    let body = &bytes[if has_header { 32 } else { 0 }..bytes.len() - 32];
    let mut at = 0usize;
    for _ in 0..items {
        let head = body.get(at..at + 8).ok_or("an item runs past the tag")?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let key_len = body
            .get(at + 8..)
            .and_then(|rest| rest.iter().take(256).position(|b| *b == 0))
            .ok_or("an item's key runs past the tag")?;
        at = at
            .checked_add(8 + key_len + 1)
            .and_then(|a| a.checked_add(len))
            .filter(|a| *a <= body.len())
            .ok_or("an item's value runs past the tag")?;
    }
    Ok(bytes)
}

/// A revision read from (Vorbis-comment key, value) pairs, through symphonia's Vorbis
/// comment reader: DSDIFF's and ASF's own fields and Speex's comments map to the
/// standard fields as an Ogg file's would.
pub(crate) fn revision_from_pairs(pairs: &[(String, String)]) -> Option<MetadataRevision> {
    if pairs.is_empty() {
        return None;
    }
    let mut block = Vec::new();
    block.extend_from_slice(&0u32.to_le_bytes());
    let kept: Vec<String> = pairs
        .iter()
        .take(MAX_OTHER_TAGS)
        .filter(|(k, _)| !k.is_empty() && !k.contains('='))
        .map(|(k, v)| format!("{k}={}", clean(v, MAX_VALUE_BYTES)))
        .collect();
    block.extend_from_slice(&(kept.len() as u32).to_le_bytes());
    for comment in &kept {
        block.extend_from_slice(&(comment.len() as u32).to_le_bytes());
        block.extend_from_slice(comment.as_bytes());
    }
    let mut builder = MetadataBuilder::new(MetadataInfo {
        metadata: METADATA_ID_VORBIS_COMMENT,
        short_name: "vorbis",
        long_name: "Vorbis Comment",
    });
    let mut reader = symphonia::core::io::BufReader::new(&block);
    let mut side_data = Vec::new();
    catch_unwind(AssertUnwindSafe(|| {
        read_vorbis_comment(&mut reader, &mut builder, &mut side_data)
    }))
    .ok()?
    .ok()?;
    Some(builder.build())
}

/// A field's value as text (for comparing stand-ins with it).
fn field_text(tags: &Tags, field: Field) -> Option<String> {
    match field {
        Field::Title => tags.title.clone(),
        Field::Artist => tags.artist.clone(),
        Field::Album => tags.album.clone(),
        Field::AlbumArtist => tags.album_artist.clone(),
        Field::Date => tags.date.clone(),
        Field::Genre => tags.genre.clone(),
        Field::Composer => tags.composer.clone(),
        Field::Comment => tags.comment.clone(),
        Field::TrackNumber => tags.track_number.map(|n| match tags.track_total {
            Some(t) => format!("{n}/{t}"),
            None => n.to_string(),
        }),
        Field::TrackTotal => tags.track_total.map(|n| n.to_string()),
        Field::DiscNumber => tags.disc_number.map(|n| n.to_string()),
        Field::DiscTotal => tags.disc_total.map(|n| n.to_string()),
        Field::Year => tags.year.map(|n| n.to_string()),
    }
}

/// Stores a standard value; `false` when the value is empty (so a later block may fill
/// the field).
fn set_field(tags: &mut Tags, field: Field, value: Value) -> bool {
    match value {
        Value::Text(s) => {
            let s = clean(s.trim(), MAX_VALUE_BYTES);
            if s.is_empty() {
                return false;
            }
            let slot = match field {
                Field::Title => &mut tags.title,
                Field::Artist => &mut tags.artist,
                Field::Album => &mut tags.album,
                Field::AlbumArtist => &mut tags.album_artist,
                Field::Date => &mut tags.date,
                Field::Genre => &mut tags.genre,
                Field::Composer => &mut tags.composer,
                Field::Comment => &mut tags.comment,
                _ => return false,
            };
            *slot = Some(s);
        }
        Value::Number(n) => {
            // Track 0 is what some taggers write for "no track number".
            if n == 0 {
                return false;
            }
            let slot = match field {
                Field::TrackNumber => &mut tags.track_number,
                Field::TrackTotal => &mut tags.track_total,
                Field::DiscNumber => &mut tags.disc_number,
                Field::DiscTotal => &mut tags.disc_total,
                _ => return false,
            };
            *slot = Some(n);
        }
        Value::Year(y) => {
            if y == 0 || field != Field::Year {
                return false;
            }
            tags.year = Some(y);
        }
    }
    true
}

/// The front cover, else the first picture; the media type from the tag or, when the
/// tag has none, from the image's first bytes.
fn pick_artwork(visuals: &[&Visual]) -> (Option<Artwork>, Option<String>) {
    let usable: Vec<&&Visual> = visuals.iter().filter(|v| !v.data.is_empty()).collect();
    let chosen = usable
        .iter()
        .find(|v| v.usage == Some(StandardVisualKey::FrontCover))
        .or_else(|| usable.first());
    let Some(visual) = chosen else {
        return (None, None);
    };
    if visual.data.len() > MAX_ARTWORK_BYTES {
        return (
            None,
            Some(format!(
                "the embedded picture is {} bytes, over the {} MiB limit: not kept",
                visual.data.len(),
                MAX_ARTWORK_BYTES / (1024 * 1024)
            )),
        );
    }
    let mime_type = visual
        .media_type
        .as_deref()
        .map(str::trim)
        .filter(|m| m.contains('/') && m.len() <= 100)
        .map(|m| m.to_ascii_lowercase())
        .map(|m| {
            if m == "image/jpg" {
                "image/jpeg".to_owned()
            } else {
                m
            }
        })
        .unwrap_or_else(|| sniff_image(&visual.data).to_owned());
    (
        Some(Artwork {
            mime_type,
            data: visual.data.to_vec(),
        }),
        None,
    )
}

/// The media type of an image from its magic bytes.
pub(crate) fn sniff_image(data: &[u8]) -> &'static str {
    if data.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        "image/gif"
    } else if data.starts_with(b"RIFF") && data.get(8..12) == Some(b"WEBP") {
        "image/webp"
    } else if data.starts_with(b"BM") {
        "image/bmp"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_cuts_at_char_boundary_and_strips_padding() {
        assert_eq!(clean("abc\0\0  ", 100), "abc");
        // "é" is two bytes: cutting at 2 must not split it.
        assert_eq!(clean("aé", 2), "a");
        assert_eq!(clean("日本語", 4), "日");
    }

    #[test]
    fn m_of_n() {
        assert_eq!(parse_m_of_n("3/12"), Some((3, Some(12))));
        assert_eq!(parse_m_of_n(" 7 "), Some((7, None)));
        assert_eq!(parse_m_of_n("7/x"), Some((7, None)));
        assert_eq!(parse_m_of_n("x/12"), None);
    }

    #[test]
    fn years_from_dates() {
        assert_eq!(leading_year("1999"), Some(1999));
        assert_eq!(leading_year("2004-05-06"), Some(2004));
        assert_eq!(leading_year("May 2004"), None);
        assert_eq!(leading_year("99"), None);
    }

    #[test]
    fn image_sniffing() {
        assert_eq!(sniff_image(&[0xff, 0xd8, 0xff, 0xe0]), "image/jpeg");
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nxxxx"), "image/png");
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(sniff_image(b"hello"), "application/octet-stream");
    }
}
