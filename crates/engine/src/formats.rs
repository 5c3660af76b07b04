//! The audio formats the vault knows: one table, [`FORMATS`], and everything that is
//! decided per format reads it.
//!
//! - the extensions an import accepts by default ([`default_extensions`], the
//!   `allowed_extensions` setting's default) and the catalog's format name of a file
//!   ([`for_extension`], and [`crate::media::format_of`], which asks the content first);
//! - sniffing by magic numbers and frame syncs (`media::sniff` walks [`Format::magic`] and
//!   [`Format::sync`]; `media::probe` names symphonia's readers by [`Format::reader`]);
//! - the playback server's MIME type ([`crate::serve::content_type`]);
//! - the CLI's `--format` values and help ([`ids`]);
//! - the app's UI (the shell writes the table into `ui/src/lib/bindings.ts` as `FORMATS`:
//!   format names, MIME aliases for the player);
//! - the docs: `docs/FORMATS.md` and the list in the README are generated from it
//!   ([`markdown`], [`readme_list`]; a test fails when the committed text is stale).
//!
//! Adding a format is adding a row here, a [`FrameSync`] variant in `media::sniff` when it
//! has no magic number, and a sample in this module's tests.
//!
//! # What decides a file's format
//! The extension decides whether a file is taken at all (the `allowed_extensions`
//! setting); the content decides what it is. A file whose first bytes (after any ID3v2
//! tags) carry a format's magic number gets that format, the most specific signature
//! winning (Opus's `OggS` + `OpusHead` over Ogg's `OggS`); a file with no magic number
//! gets the format whose frame sync it starts with (MPEG audio, ADTS), the extension's
//! format tried first; else the extension's format. So a FLAC named `.mp3` is
//! catalogued, and played, as FLAC.

use serde::Serialize;
use symphonia::core::formats::FormatId;
use symphonia::core::formats::well_known::*;

/// One audio format.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Format {
    /// The catalog's format name (the `format` of a track, `--format`'s value).
    pub id: &'static str,
    /// What people call it.
    pub display_name: &'static str,
    /// File extensions, lower case, without the dot. Every extension belongs to one format.
    pub extensions: &'static [&'static str],
    /// Whether a new vault accepts its extensions (the `allowed_extensions` default).
    pub allowed_by_default: bool,
    /// The MIME type the playback server sends; `None`: sent as
    /// `application/octet-stream`.
    pub mime_type: Option<&'static str>,
    /// Other names media frameworks know the MIME type by (the player asks for each).
    pub mime_aliases: &'static [&'static str],
    /// Whether the app's player (WebKitGTK over GStreamer, with the plugins the app
    /// installs) plays it.
    pub playable_in_webview: bool,
    /// The probe's container name for it (`MediaInfo::container`).
    #[serde(skip)]
    pub container: &'static str,
    /// Magic numbers: the file is this format when its first bytes (after any ID3v2 tags)
    /// hold every part of one of these signatures.
    #[serde(skip)]
    pub magic: &'static [Signature],
    /// For a format with no magic number: the frame sync its stream starts with.
    #[serde(skip)]
    pub sync: Option<FrameSync>,
    /// What reads its headers, tags and audio.
    #[serde(skip)]
    pub reader: Reader,
    /// The format whose files this one's share their content with, told apart only by a
    /// label a writer may leave out (an M4B audiobook is an MP4 file whose brand often
    /// says `M4A `): a file the content names as that format, with this one's extension,
    /// is this format.
    #[serde(skip)]
    pub variant_of: Option<&'static str>,
}

/// A magic number: bytes at offsets from the start of the file (after any ID3v2 tags).
pub type Signature = &'static [Magic];

/// `bytes` at `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Magic {
    pub offset: usize,
    pub bytes: &'static [u8],
}

const fn at(offset: usize, bytes: &'static [u8]) -> Magic {
    Magic { offset, bytes }
}

/// Streams with no magic number, only a frame sync that random bytes hold now and then.
/// `media::sniff` walks them; a match is trusted only when no magic number matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSync {
    /// MPEG audio frames of this layer (1, 2 or 3): two in a row, within 64 KiB.
    Mpeg { layer: u8 },
    /// An ADTS header (AAC without a container) at the start.
    Adts,
    /// Two AC-3 (`enhanced: false`, bsid ≤ 10) or E-AC-3 (`true`, bsid 11–16) frames in a
    /// row at the start (sync word 0x0B77).
    Ac3 { enhanced: bool },
}

/// What reads a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// symphonia's reader for this container: technical metadata, tags, cover art, and
    /// decoding (waveform, fingerprint) where symphonia has the codec.
    Symphonia(FormatId),
    /// lofty reads the stream's properties (and Speex's comments); the tags it carries
    /// (APEv2, ID3v1, ID3v2) go through symphonia's tag readers like every other
    /// format's. No decoder: stored and read, not analysed.
    Lofty(LoftyType),
    /// Our own bounded header parser (`media::headers`), for formats neither symphonia
    /// nor lofty reads; tags as for [`Reader::Lofty`]. No decoder.
    Header(HeaderType),
}

/// The formats [`Reader::Lofty`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoftyType {
    Ape,
    WavPack,
    Musepack,
    Speex,
}

/// The formats [`Reader::Header`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderType {
    /// True Audio.
    Tta,
    /// OptimFROG.
    OptimFrog,
    /// TAK.
    Tak,
    /// DSD Stream File.
    Dsf,
    /// DSDIFF.
    Dff,
    /// AC-3 and E-AC-3 elementary streams.
    Ac3,
    /// Advanced Systems Format (Windows Media Audio).
    Asf,
}

/// Every format, in the order help texts and docs list them.
///
/// Rows sharing a container come general first (Ogg before Opus): the first row whose
/// reader is symphonia's names that reader's container.
pub const FORMATS: &[Format] = &[
    Format {
        id: "wav",
        display_name: "WAV",
        extensions: &["wav", "wave"],
        allowed_by_default: true,
        mime_type: Some("audio/wav"),
        mime_aliases: &["audio/x-wav", "audio/wave"],
        playable_in_webview: true,
        container: "wav",
        magic: &[
            &[at(0, b"RIFF"), at(8, b"WAVE")],
            &[at(0, b"RF64"), at(8, b"WAVE")],
            &[at(0, b"BW64"), at(8, b"WAVE")],
        ],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_WAVE),
        variant_of: None,
    },
    Format {
        id: "aiff",
        display_name: "AIFF",
        extensions: &["aif", "aiff", "aifc"],
        allowed_by_default: true,
        // GStreamer's own name for AIFF (its typefinder takes the header as a hint).
        mime_type: Some("audio/x-aiff"),
        mime_aliases: &["audio/aiff"],
        playable_in_webview: true,
        container: "aiff",
        magic: &[
            &[at(0, b"FORM"), at(8, b"AIFF")],
            &[at(0, b"FORM"), at(8, b"AIFC")],
        ],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_AIFF),
        variant_of: None,
    },
    Format {
        id: "flac",
        display_name: "FLAC",
        extensions: &["flac"],
        allowed_by_default: true,
        mime_type: Some("audio/flac"),
        mime_aliases: &["audio/x-flac"],
        playable_in_webview: true,
        container: "flac",
        magic: &[&[at(0, b"fLaC")]],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_FLAC),
        variant_of: None,
    },
    Format {
        id: "m4a",
        display_name: "AAC / ALAC (MP4)",
        extensions: &["m4a", "mp4", "alac"],
        allowed_by_default: true,
        mime_type: Some("audio/mp4"),
        mime_aliases: &["audio/x-m4a", "audio/aac"],
        playable_in_webview: true,
        container: "mp4",
        magic: &[&[at(4, b"ftyp")]],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_ISOMP4),
        variant_of: None,
    },
    Format {
        id: "m4b",
        display_name: "Audiobook (M4B)",
        extensions: &["m4b"],
        allowed_by_default: true,
        mime_type: Some("audio/mp4"),
        mime_aliases: &["audio/x-m4b"],
        playable_in_webview: true,
        container: "mp4",
        magic: &[&[at(4, b"ftyp"), at(8, b"M4B ")]],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_ISOMP4),
        // Writers (ffmpeg among them) often brand an audiobook `M4A `.
        variant_of: Some("m4a"),
    },
    Format {
        id: "3gp",
        display_name: "3GP",
        extensions: &["3gp", "3ga", "3g2"],
        allowed_by_default: true,
        mime_type: Some("audio/3gpp"),
        // WebKitGTK does not list audio/3gpp; GStreamer's MP4 demuxer reads 3GP, so
        // the player asks for it as MP4 (e2e: it plays).
        mime_aliases: &["audio/3gpp2", "audio/mp4"],
        playable_in_webview: true,
        container: "mp4",
        magic: &[
            &[at(4, b"ftyp"), at(8, b"3gp")],
            &[at(4, b"ftyp"), at(8, b"3g2")],
        ],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_ISOMP4),
        variant_of: Some("m4a"),
    },
    Format {
        id: "aac",
        display_name: "AAC (ADTS)",
        extensions: &["aac"],
        allowed_by_default: true,
        mime_type: Some("audio/aac"),
        mime_aliases: &[],
        playable_in_webview: true,
        container: "aac",
        magic: &[],
        sync: Some(FrameSync::Adts),
        reader: Reader::Symphonia(FORMAT_ID_ADTS),
        variant_of: None,
    },
    Format {
        id: "mp3",
        display_name: "MP3",
        extensions: &["mp3"],
        allowed_by_default: true,
        mime_type: Some("audio/mpeg"),
        mime_aliases: &[],
        playable_in_webview: true,
        container: "mp3",
        magic: &[],
        sync: Some(FrameSync::Mpeg { layer: 3 }),
        reader: Reader::Symphonia(FORMAT_ID_MP3),
        variant_of: None,
    },
    Format {
        id: "ogg",
        display_name: "Ogg Vorbis",
        extensions: &["ogg", "oga"],
        allowed_by_default: true,
        mime_type: Some("audio/ogg"),
        mime_aliases: &[],
        playable_in_webview: true,
        container: "ogg",
        magic: &[&[at(0, b"OggS")]],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_OGG),
        variant_of: None,
    },
    Format {
        id: "opus",
        display_name: "Opus",
        extensions: &["opus"],
        allowed_by_default: true,
        mime_type: Some("audio/ogg"),
        mime_aliases: &[],
        playable_in_webview: true,
        container: "ogg",
        // The identification header is alone on the first page: 27 bytes of page
        // header and a one-entry segment table, then the packet.
        magic: &[&[at(0, b"OggS"), at(28, b"OpusHead")]],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_OGG),
        variant_of: None,
    },
    Format {
        id: "oggflac",
        display_name: "Ogg FLAC",
        // Named .oga or .ogg like Vorbis: the content tells them apart.
        extensions: &[],
        allowed_by_default: true,
        mime_type: Some("audio/ogg"),
        mime_aliases: &[],
        playable_in_webview: true,
        container: "ogg",
        // The mapping header: 0x7F "FLAC", alone on the first page.
        magic: &[&[at(0, b"OggS"), at(28, b"\x7fFLAC")]],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_OGG),
        variant_of: None,
    },
    Format {
        id: "spx",
        display_name: "Speex",
        extensions: &["spx"],
        allowed_by_default: true,
        mime_type: Some("audio/ogg"),
        mime_aliases: &[],
        playable_in_webview: true,
        container: "ogg",
        magic: &[&[at(0, b"OggS"), at(28, b"Speex   ")]],
        sync: None,
        reader: Reader::Lofty(LoftyType::Speex),
        variant_of: None,
    },
    Format {
        id: "wv",
        display_name: "WavPack",
        extensions: &["wv"],
        allowed_by_default: true,
        mime_type: Some("audio/x-wavpack"),
        mime_aliases: &[],
        playable_in_webview: true,
        container: "wavpack",
        magic: &[&[at(0, b"wvpk")]],
        sync: None,
        reader: Reader::Lofty(LoftyType::WavPack),
        variant_of: None,
    },
    Format {
        id: "ape",
        display_name: "Monkey's Audio",
        extensions: &["ape"],
        allowed_by_default: true,
        mime_type: Some("audio/x-ape"),
        mime_aliases: &[],
        playable_in_webview: false,
        container: "ape",
        magic: &[&[at(0, b"MAC ")]],
        sync: None,
        reader: Reader::Lofty(LoftyType::Ape),
        variant_of: None,
    },
    Format {
        id: "mpc",
        display_name: "Musepack",
        extensions: &["mpc", "mpp"],
        allowed_by_default: true,
        mime_type: Some("audio/x-musepack"),
        mime_aliases: &[],
        playable_in_webview: false,
        container: "mpc",
        // SV8, then SV7.
        magic: &[&[at(0, b"MPCK")], &[at(0, b"MP+")]],
        sync: None,
        reader: Reader::Lofty(LoftyType::Musepack),
        variant_of: None,
    },
    Format {
        id: "tta",
        display_name: "True Audio",
        extensions: &["tta"],
        allowed_by_default: true,
        mime_type: Some("audio/x-tta"),
        mime_aliases: &["audio/x-ttafile"],
        playable_in_webview: true,
        container: "tta",
        magic: &[&[at(0, b"TTA1")]],
        sync: None,
        reader: Reader::Header(HeaderType::Tta),
        variant_of: None,
    },
    Format {
        id: "tak",
        display_name: "TAK",
        extensions: &["tak"],
        allowed_by_default: true,
        mime_type: None,
        mime_aliases: &[],
        playable_in_webview: false,
        container: "tak",
        magic: &[&[at(0, b"tBaK")]],
        sync: None,
        reader: Reader::Header(HeaderType::Tak),
        variant_of: None,
    },
    Format {
        id: "ofr",
        display_name: "OptimFROG",
        extensions: &["ofr", "ofs"],
        allowed_by_default: true,
        mime_type: None,
        mime_aliases: &[],
        playable_in_webview: false,
        container: "ofr",
        magic: &[&[at(0, b"OFR ")]],
        sync: None,
        reader: Reader::Header(HeaderType::OptimFrog),
        variant_of: None,
    },
    Format {
        id: "dsf",
        display_name: "DSD (DSF)",
        extensions: &["dsf"],
        allowed_by_default: true,
        mime_type: Some("audio/x-dsf"),
        mime_aliases: &[],
        playable_in_webview: false,
        container: "dsf",
        magic: &[&[at(0, b"DSD ")]],
        sync: None,
        reader: Reader::Header(HeaderType::Dsf),
        variant_of: None,
    },
    Format {
        id: "dff",
        display_name: "DSD (DSDIFF)",
        extensions: &["dff"],
        allowed_by_default: true,
        mime_type: None,
        mime_aliases: &[],
        playable_in_webview: false,
        container: "dsdiff",
        magic: &[&[at(0, b"FRM8"), at(12, b"DSD ")]],
        sync: None,
        reader: Reader::Header(HeaderType::Dff),
        variant_of: None,
    },
    Format {
        id: "ac3",
        display_name: "AC-3 (Dolby Digital)",
        extensions: &["ac3"],
        allowed_by_default: true,
        mime_type: Some("audio/ac3"),
        mime_aliases: &["audio/x-ac3"],
        playable_in_webview: true,
        container: "ac3",
        magic: &[],
        sync: Some(FrameSync::Ac3 { enhanced: false }),
        reader: Reader::Header(HeaderType::Ac3),
        variant_of: None,
    },
    Format {
        id: "eac3",
        display_name: "E-AC-3 (Dolby Digital Plus)",
        extensions: &["eac3", "ec3"],
        allowed_by_default: true,
        mime_type: Some("audio/eac3"),
        mime_aliases: &["audio/x-eac3"],
        playable_in_webview: true,
        container: "eac3",
        magic: &[],
        sync: Some(FrameSync::Ac3 { enhanced: true }),
        reader: Reader::Header(HeaderType::Ac3),
        variant_of: None,
    },
    Format {
        id: "wma",
        display_name: "Windows Media Audio (ASF)",
        extensions: &["wma"],
        allowed_by_default: true,
        // GStreamer's ASF demuxer is in the "ugly" plugins, which the app does not install.
        mime_type: Some("audio/x-ms-wma"),
        mime_aliases: &[],
        playable_in_webview: false,
        container: "asf",
        magic: &[&[at(
            0,
            &[
                0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62,
                0xce, 0x6c,
            ],
        )]],
        sync: None,
        reader: Reader::Header(HeaderType::Asf),
        variant_of: None,
    },
    // Recognized, not accepted by default (add their extensions to `allowed_extensions`).
    Format {
        id: "mp2",
        display_name: "MPEG Layer II",
        extensions: &["mp2"],
        allowed_by_default: false,
        mime_type: None,
        mime_aliases: &[],
        playable_in_webview: false,
        container: "mp2",
        magic: &[],
        sync: Some(FrameSync::Mpeg { layer: 2 }),
        reader: Reader::Symphonia(FORMAT_ID_MP2),
        variant_of: None,
    },
    Format {
        id: "mp1",
        display_name: "MPEG Layer I",
        extensions: &["mp1"],
        allowed_by_default: false,
        mime_type: None,
        mime_aliases: &[],
        playable_in_webview: false,
        container: "mp1",
        magic: &[],
        sync: Some(FrameSync::Mpeg { layer: 1 }),
        reader: Reader::Symphonia(FORMAT_ID_MP1),
        variant_of: None,
    },
    Format {
        id: "caf",
        display_name: "Core Audio Format",
        extensions: &["caf"],
        allowed_by_default: false,
        mime_type: None,
        mime_aliases: &[],
        playable_in_webview: false,
        container: "caf",
        magic: &[&[at(0, b"caff")]],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_CAF),
        variant_of: None,
    },
    Format {
        id: "mka",
        display_name: "Matroska audio",
        extensions: &["mka"],
        allowed_by_default: false,
        mime_type: None,
        mime_aliases: &[],
        playable_in_webview: false,
        container: "mkv",
        magic: &[&[at(0, &[0x1a, 0x45, 0xdf, 0xa3])]],
        sync: None,
        reader: Reader::Symphonia(FORMAT_ID_MKV),
        variant_of: None,
    },
];

impl Format {
    /// How many bytes of `head` (a file's first bytes after any ID3v2 tags) one of its
    /// signatures matched, the most over its signatures; 0 when none did.
    pub fn magic_len(&self, head: &[u8]) -> usize {
        self.magic
            .iter()
            .filter(|sig| {
                sig.iter()
                    .all(|m| head.get(m.offset..m.offset + m.bytes.len()) == Some(m.bytes))
            })
            .map(|sig| sig.iter().map(|m| m.bytes.len()).sum())
            .max()
            .unwrap_or(0)
    }

    /// How many bytes from the start (after any ID3v2 tags) its signatures need.
    pub fn magic_span(&self) -> usize {
        self.magic
            .iter()
            .flat_map(|sig| sig.iter())
            .map(|m| m.offset + m.bytes.len())
            .max()
            .unwrap_or(0)
    }
}

/// Bytes of a file's start that every signature fits in.
pub const HEAD_LEN: usize = 64;

/// The format named `id`.
pub fn by_id(id: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.id == id)
}

/// The format whose extension `ext` is (any case, without the dot).
pub fn by_extension(ext: &str) -> Option<&'static Format> {
    FORMATS
        .iter()
        .find(|f| f.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)))
}

/// The catalog's format name for a file with this extension, judged by the name alone:
/// the table's format, else the extension itself, lower-cased (an extension a user
/// allowed that the table does not know).
pub fn for_extension(ext: &str) -> String {
    by_extension(ext).map_or_else(|| ext.to_ascii_lowercase(), |f| f.id.to_owned())
}

/// The format whose signature `head` (a file's first bytes after any ID3v2 tags) holds;
/// the most specific one when several do (Opus's `OggS` + `OpusHead` over Ogg's `OggS`).
pub fn by_magic(head: &[u8]) -> Option<&'static Format> {
    let mut best: Option<(&'static Format, usize)> = None;
    for format in FORMATS {
        let len = format.magic_len(head);
        if len > best.map_or(0, |(_, l)| l) {
            best = Some((format, len));
        }
    }
    best.map(|(f, _)| f)
}

/// The container name the probe gives a file symphonia's reader `id` read.
pub fn container_of_reader(id: FormatId) -> Option<&'static str> {
    FORMATS
        .iter()
        .find(|f| f.reader == Reader::Symphonia(id))
        .map(|f| f.container)
}

/// Every format name, in table order.
pub fn ids() -> impl Iterator<Item = &'static str> {
    FORMATS.iter().map(|f| f.id)
}

/// The extensions a new vault accepts, in table order.
pub fn default_extensions() -> impl Iterator<Item = &'static str> {
    FORMATS
        .iter()
        .filter(|f| f.allowed_by_default)
        .flat_map(|f| f.extensions.iter().copied())
}

/// Whether the vault decodes the format (waveform, same-audio fingerprint): symphonia
/// reads it and has its codec. Opus is read by symphonia but not decoded.
pub fn decodes(f: &Format) -> bool {
    matches!(f.reader, Reader::Symphonia(_)) && !["opus"].contains(&f.id)
}

/// Where the generated format list sits in the README (between these markers).
pub const README_MARKERS: (&str, &str) = ("<!-- formats -->", "<!-- /formats -->");

/// The README's list of the formats a new vault accepts.
pub fn readme_list() -> String {
    let names: Vec<&str> = FORMATS
        .iter()
        .filter(|f| f.allowed_by_default)
        .map(|f| f.display_name)
        .collect();
    names.join(", ")
}

fn recognized_by(f: &Format) -> String {
    match (f.magic.is_empty(), f.sync) {
        (false, _) => {
            let sigs: Vec<String> = f
                .magic
                .iter()
                .map(|sig| {
                    sig.iter()
                        .map(|m| {
                            let text = if m.bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
                            {
                                format!("`{}`", String::from_utf8_lossy(m.bytes))
                            } else if m.bytes.len() > 4 {
                                let hex: String =
                                    m.bytes[..4].iter().map(|b| format!("{b:02x}")).collect();
                                format!("`{hex}…`")
                            } else {
                                let hex: String =
                                    m.bytes.iter().map(|b| format!("{b:02x}")).collect();
                                format!("`{hex}`")
                            };
                            if m.offset == 0 {
                                text
                            } else {
                                format!("{text} at {}", m.offset)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" + ")
                })
                .collect();
            sigs.join(" or ")
        }
        (true, Some(FrameSync::Mpeg { layer })) => {
            format!(
                "frame sync (MPEG layer {})",
                ["I", "II", "III"][usize::from(layer.clamp(1, 3)) - 1]
            )
        }
        (true, Some(FrameSync::Adts)) => "frame sync (ADTS)".into(),
        (true, Some(FrameSync::Ac3 { enhanced })) => format!(
            "frame sync `0b77` ({})",
            if enhanced {
                "bsid 11–16"
            } else {
                "bsid ≤ 10"
            }
        ),
        (true, None) => "extension only".into(),
    }
}

/// `docs/FORMATS.md`, the whole file.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Audio formats\n\n\
         <!-- Generated from the table in crates/engine/src/formats.rs. Do not edit:\n\
         AUDIOVAULT_UPDATE_DOCS=1 cargo test -p audiovault-engine formats:: -->\n\n\
         Every file is stored byte-identically, whatever its format. The format decides what\n\
         the vault reads from it (technical metadata, tags, cover art, waveform and same-audio\n\
         fingerprint) and whether the app can play it.\n\n\
         - **Which files are taken:** those whose extension is in the `allowed_extensions`\n  \
         setting (`audiovault settings set allowed_extensions …`, or Settings in the app). A new\n  \
         vault allows the extensions of the formats marked *default* below; so does a vault\n  \
         whose setting was never changed, as the list grows. A vault whose setting was changed\n  \
         keeps its own list: add the new extensions to it to take the new formats.\n\
         - **What a file is:** its content decides, not its name. A file whose first bytes (after\n  \
         any ID3v2 tags) hold a format's magic number gets that format (the most specific\n  \
         signature wins: an Ogg file holding Opus is `opus`); a file with no magic number gets\n  \
         the format whose frame sync it starts with (the extension's format first); otherwise\n  \
         its extension's. A FLAC file named `song.mp3` is catalogued and played as `flac`, and\n  \
         exported as `song.mp3`, byte for byte.\n\
         - **Names:** the *name* column is the track's `format` in JSON output and the value\n  \
         of `search --format` (repeatable; other values are refused with this list).\n\
         - **Playback:** the app plays a track through GStreamer with the MIME type below;\n  \
         formats that do not play there can still be exported and played elsewhere.\n\n\
         - **Analysis:** the waveform and the same-audio fingerprint need a decoder; a format\n  \
         without one is stored, read and played (where the app plays it) like any other, and\n  \
         its tracks say \"not analysable\".\n\n\
         | Format | Name | Extensions | Default | Recognized by | Metadata read by | Analysed | Plays in the app | MIME type |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for f in FORMATS {
        let exts: Vec<String> = f.extensions.iter().map(|e| format!("`.{e}`")).collect();
        let exts = match (exts.is_empty(), f.magic.first().and_then(|s| s.first())) {
            (true, Some(_)) => "(those of its container: content decides)".to_string(),
            _ => exts.join(" "),
        };
        let reader = match f.reader {
            Reader::Symphonia(_) => "symphonia",
            Reader::Lofty(_) => "lofty",
            Reader::Header(_) => "own header parser",
        };
        let analysed = if decodes(f) { "yes" } else { "no" };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            f.display_name,
            f.id,
            exts,
            if f.allowed_by_default { "yes" } else { "no" },
            recognized_by(f),
            reader,
            analysed,
            if f.playable_in_webview { "yes" } else { "no" },
            f.mime_type.map_or("—".to_string(), |m| format!("`{m}`")),
        ));
    }
    out
}

#[cfg(test)]
mod tests;
