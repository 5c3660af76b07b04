//! Test files of the formats ffmpeg cannot write, built from each format's spec: a valid
//! header, a plausible payload (deterministic noise; DSD takes any bits as audio) and
//! the tags the format carries. Enough for reading metadata; no decoder exists here for
//! any of them. Sources of each layout:
//! - Monkey's Audio 3.99: the MAC SDK's `APE_DESCRIPTOR` / `APE_HEADER` (MACLib.h), a
//!   seek table of one frame, an APEv2 tag;
//! - Musepack SV7: the SV7 stream header as Musepack's `mpc_streaminfo` reads it (six
//!   little-endian words after `MP+`), an APEv2 tag;
//! - TAK: `tBaK`, a STREAMINFO metadata block (bit fields as ffmpeg's `tak.c` reads
//!   them, least significant first; CRC left zero, which ffmpeg only logs), the END
//!   block, an APEv2 tag;
//! - OptimFROG: the `OFR ` header as OptimFROG's SDK and MediaInfo describe it, an APEv2
//!   tag;
//! - DSF: Sony's DSF File Format Specification 1.01 (`DSD `, `fmt `, `data` chunks) with
//!   an ID3v2.4 tag at the metadata pointer;
//! - DSDIFF: Philips' DSDIFF 1.5 specification (`FRM8`/`DSD ` form, `FVER`, `PROP`/`SND `
//!   with `FS  `, `CHNL`, `CMPR`, the `DSD ` sound chunk, `DIIN` with `DIAR`/`DITI`).

/// The tags every sample carries (where the format has a tag).
pub(crate) const TITLE: &str = "Sample Title – Ünïcode";
pub(crate) const ARTIST: &str = "Sample Artist";
pub(crate) const ALBUM: &str = "Sample Album";

/// Deterministic noise.
pub(crate) fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// An APEv2 tag with header and footer.
pub(crate) fn apev2(items: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (key, value) in items {
        body.extend_from_slice(&(value.len() as u32).to_le_bytes());
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(key.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
    }
    let size = (body.len() + 32) as u32;
    let block = |is_header: bool| {
        let mut b = b"APETAGEX".to_vec();
        b.extend_from_slice(&2000u32.to_le_bytes());
        b.extend_from_slice(&size.to_le_bytes());
        b.extend_from_slice(&(items.len() as u32).to_le_bytes());
        let flags: u32 = (1 << 31) | (1 << 30) | if is_header { 1 << 29 } else { 0 };
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b
    };
    let mut tag = block(true);
    tag.extend(body);
    tag.extend(block(false));
    tag
}

/// The sample APEv2 tag.
pub(crate) fn sample_apev2() -> Vec<u8> {
    apev2(&[
        ("Title", TITLE),
        ("Artist", ARTIST),
        ("Album", ALBUM),
        ("Track", "3/12"),
        ("Year", "1999"),
        ("Genre", "Jazz"),
    ])
}

/// An ID3v2.4 tag of UTF-8 text frames.
pub(crate) fn id3v24(frames: &[(&str, &str)]) -> Vec<u8> {
    let syncsafe = |n: usize| {
        let n = n as u32;
        [
            ((n >> 21) & 0x7f) as u8,
            ((n >> 14) & 0x7f) as u8,
            ((n >> 7) & 0x7f) as u8,
            (n & 0x7f) as u8,
        ]
    };
    let mut body = Vec::new();
    for (id, text) in frames {
        let mut payload = vec![3u8];
        payload.extend_from_slice(text.as_bytes());
        body.extend_from_slice(id.as_bytes());
        body.extend_from_slice(&syncsafe(payload.len()));
        body.extend_from_slice(&[0, 0]);
        body.extend(payload);
    }
    let mut tag = b"ID3\x04\x00\x00".to_vec();
    tag.extend_from_slice(&syncsafe(body.len()));
    tag.extend(body);
    tag
}

pub(crate) fn sample_id3v24() -> Vec<u8> {
    id3v24(&[
        ("TIT2", TITLE),
        ("TPE1", ARTIST),
        ("TALB", ALBUM),
        ("TRCK", "3/12"),
        ("TDRC", "1999"),
    ])
}

/// Monkey's Audio 3.99, 16-bit stereo 44.1 kHz, 3 s in one frame.
pub(crate) fn ape() -> Vec<u8> {
    let frame = noise(8192, 1);
    let seek_table = 4u32;
    let mut f = b"MAC ".to_vec();
    f.extend_from_slice(&3990u16.to_le_bytes()); // version
    f.extend_from_slice(&0u16.to_le_bytes()); // padding
    f.extend_from_slice(&52u32.to_le_bytes()); // descriptor bytes
    f.extend_from_slice(&24u32.to_le_bytes()); // header bytes
    f.extend_from_slice(&seek_table.to_le_bytes()); // seek table bytes
    f.extend_from_slice(&0u32.to_le_bytes()); // WAV header bytes
    f.extend_from_slice(&(frame.len() as u32).to_le_bytes()); // frame data bytes
    f.extend_from_slice(&0u32.to_le_bytes()); // frame data bytes (high)
    f.extend_from_slice(&0u32.to_le_bytes()); // terminating data bytes
    f.extend_from_slice(&[0u8; 16]); // MD5
    assert_eq!(f.len(), 52);
    f.extend_from_slice(&2000u16.to_le_bytes()); // compression: normal
    f.extend_from_slice(&0u16.to_le_bytes()); // format flags
    f.extend_from_slice(&(73_728u32 * 4).to_le_bytes()); // blocks per frame
    f.extend_from_slice(&132_300u32.to_le_bytes()); // final frame blocks: 3 s
    f.extend_from_slice(&1u32.to_le_bytes()); // total frames
    f.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    f.extend_from_slice(&2u16.to_le_bytes()); // channels
    f.extend_from_slice(&44_100u32.to_le_bytes()); // sample rate
    let first_frame = (f.len() + seek_table as usize) as u32;
    f.extend_from_slice(&first_frame.to_le_bytes());
    f.extend(frame);
    f.extend(sample_apev2());
    f
}

/// Musepack SV7, stereo 44.1 kHz, 115 frames of 1152 samples (3.004 s).
pub(crate) fn mpc_sv7() -> Vec<u8> {
    let mut f = b"MP+\x17".to_vec();
    f.extend_from_slice(&115u32.to_le_bytes()); // frames
    // Max level (16 bits), then sample rate index 0 (44.1 kHz), link, profile 10
    // ("standard"), then max band 27, no intensity or mid-side stereo.
    let word: u32 = (27 << 24) | (0xa << 20);
    f.extend_from_slice(&word.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes()); // title gain and peak
    f.extend_from_slice(&0u32.to_le_bytes()); // album gain and peak
    // True gapless, last frame of 576 samples.
    let word: u32 = (1 << 31) | (576 << 20);
    f.extend_from_slice(&word.to_le_bytes());
    f.extend_from_slice(&[115, 0, 0, 0]); // encoder 1.15, padding
    f.extend(noise(16 * 1024, 2));
    f.extend(sample_apev2());
    f
}

/// Bits written least significant first.
struct LsbWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl LsbWriter {
    fn put(&mut self, value: u64, n: usize) {
        for i in 0..n {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= bit << (self.bits % 8);
            self.bits += 1;
        }
    }
}

/// TAK, 16-bit stereo 44.1 kHz, 132 300 samples (3 s).
pub(crate) fn tak() -> Vec<u8> {
    tak_with(132_300, 44_100, 16, 2)
}

pub(crate) fn tak_with(samples: u64, rate: u32, bits: u32, channels: u32) -> Vec<u8> {
    let mut w = LsbWriter {
        bytes: Vec::new(),
        bits: 0,
    };
    w.put(2, 6); // codec: mono/stereo
    w.put(0, 4); // profile
    w.put(3, 4); // frame size: 250 ms
    w.put(samples, 35);
    w.put(0, 3); // data type: integer PCM
    w.put(u64::from(rate - 6000), 18);
    w.put(u64::from(bits - 8), 5);
    w.put(u64::from(channels - 1), 4);
    w.put(0, 1); // no channel layout
    let mut info = w.bytes;
    info.extend_from_slice(&[0, 0, 0]); // CRC-24 (not checked by readers of the header)
    let mut f = b"tBaK".to_vec();
    f.push(1); // STREAMINFO
    f.extend_from_slice(&(info.len() as u32).to_le_bytes()[..3]);
    f.extend(info);
    f.push(0); // END
    f.extend_from_slice(&[0, 0, 0]);
    f.extend(noise(16 * 1024, 3));
    f.extend(sample_apev2());
    f
}

/// OptimFROG, 16-bit stereo 44.1 kHz, 3 s.
pub(crate) fn ofr() -> Vec<u8> {
    let total: u64 = 132_300 * 2; // samples of all channels
    let mut f = b"OFR ".to_vec();
    f.extend_from_slice(&15u32.to_le_bytes()); // header size
    f.extend_from_slice(&(total as u32).to_le_bytes());
    f.extend_from_slice(&((total >> 32) as u16).to_le_bytes());
    f.push(3); // SINT16
    f.push(1); // stereo
    f.extend_from_slice(&44_100u32.to_le_bytes());
    f.extend_from_slice(&0x4520u16.to_le_bytes()); // encoder id
    f.push(0x28); // compression
    f.extend(noise(16 * 1024, 4));
    f.extend(sample_apev2());
    f
}

/// DSF, DSD64 (2.8224 MHz) stereo, 1 s, with an ID3v2.4 tag at the end.
pub(crate) fn dsf() -> Vec<u8> {
    let rate = 2_822_400u32;
    let samples = u64::from(rate); // per channel: 1 s
    let block = 4096usize;
    let bytes_per_channel = (samples / 8) as usize;
    let blocks = bytes_per_channel.div_ceil(block);
    let data = noise(blocks * block * 2, 5);
    let tag = sample_id3v24();
    let data_chunk = 12 + data.len() as u64;
    let metadata_at = 28 + 52 + data_chunk;
    let total = metadata_at + tag.len() as u64;
    let mut f = b"DSD ".to_vec();
    f.extend_from_slice(&28u64.to_le_bytes());
    f.extend_from_slice(&total.to_le_bytes());
    f.extend_from_slice(&metadata_at.to_le_bytes());
    f.extend_from_slice(b"fmt ");
    f.extend_from_slice(&52u64.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes()); // version
    f.extend_from_slice(&0u32.to_le_bytes()); // raw DSD
    f.extend_from_slice(&2u32.to_le_bytes()); // channel type: stereo
    f.extend_from_slice(&2u32.to_le_bytes()); // channels
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes()); // bits per sample: LSB first
    f.extend_from_slice(&samples.to_le_bytes());
    f.extend_from_slice(&(block as u32).to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes()); // reserved
    f.extend_from_slice(b"data");
    f.extend_from_slice(&data_chunk.to_le_bytes());
    f.extend(data);
    f.extend(tag);
    f
}

fn chunk_be64(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut c = id.to_vec();
    c.extend_from_slice(&(body.len() as u64).to_be_bytes());
    c.extend_from_slice(body);
    if body.len() % 2 == 1 {
        c.push(0);
    }
    c
}

/// DSDIFF, DSD64 stereo, 1 s, uncompressed, with the artist and title in `DIIN`.
pub(crate) fn dff() -> Vec<u8> {
    let rate = 2_822_400u32;
    let mut snd = b"SND ".to_vec();
    snd.extend(chunk_be64(b"FS  ", &rate.to_be_bytes()));
    snd.extend(chunk_be64(
        b"CHNL",
        &[&2u16.to_be_bytes()[..], b"SLFTSRGT"].concat(),
    ));
    snd.extend(chunk_be64(
        b"CMPR",
        &[&b"DSD "[..], &[14], b"not compressed", &[0]].concat(),
    ));
    let text = |s: &str| [&(s.len() as u32).to_be_bytes()[..], s.as_bytes()].concat();
    let mut diin = chunk_be64(b"DIAR", &text(ARTIST));
    diin.extend(chunk_be64(b"DITI", &text(TITLE)));
    let mut body = b"DSD ".to_vec();
    body.extend(chunk_be64(b"FVER", &0x0105_0000u32.to_be_bytes()));
    body.extend(chunk_be64(b"PROP", &snd));
    body.extend(chunk_be64(b"DSD ", &noise(rate as usize / 8 * 2, 6)));
    body.extend(chunk_be64(b"DIIN", &diin));
    chunk_be64(b"FRM8", &body)
}
