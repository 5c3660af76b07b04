//! Small JPEG thumbnails of cover art, for lists: a 2,000-row library view
//! should not decrypt and decode full-size art per row.
//!
//! The picture is untrusted like the audio around it: decoding runs with the
//! image crate's limits (dimensions, allocation) and under `catch_unwind`.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::{ImageFormat, ImageReader, Limits};

use super::{MediaError, panic_message};

/// Longest side of a thumbnail, in pixels (2× a 48-px list cell for HiDPI).
pub const THUMBNAIL_SIDE: u32 = 96;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

pub(crate) fn thumbnail(picture: &[u8]) -> Result<Thumbnail, MediaError> {
    match catch_unwind(AssertUnwindSafe(|| make(picture))) {
        Ok(result) => result,
        Err(payload) => Err(MediaError::Panicked {
            message: panic_message(payload.as_ref()),
        }),
    }
}

fn make(picture: &[u8]) -> Result<Thumbnail, MediaError> {
    let not_image = |reason: String| MediaError::NotAudio {
        reason: format!("cover art is not a readable picture: {reason}"),
    };
    let mut reader = ImageReader::new(Cursor::new(picture))
        .with_guessed_format()
        .map_err(|e| not_image(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| not_image(e.to_string()))?;
    let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE).to_rgb8();
    let mut data = Vec::new();
    small
        .write_to(&mut Cursor::new(&mut data), ImageFormat::Jpeg)
        .map_err(|e| not_image(e.to_string()))?;
    Ok(Thumbnail {
        mime_type: "image/jpeg".into(),
        width: small.width(),
        height: small.height(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_thumbnail_keeps_the_aspect_ratio_within_the_bound() {
        let t = thumbnail(&png(600, 300)).unwrap();
        assert_eq!((t.width, t.height), (THUMBNAIL_SIDE, THUMBNAIL_SIDE / 2));
        assert_eq!(t.mime_type, "image/jpeg");
        assert_eq!(&t.data[..2], &[0xFF, 0xD8], "JPEG magic");
        let back = image::load_from_memory(&t.data).unwrap();
        assert_eq!((back.width(), back.height()), (t.width, t.height));
    }

    #[test]
    fn garbage_and_lies_are_errors_not_panics() {
        assert!(thumbnail(b"not a picture at all").is_err());
        let mut truncated = png(200, 200);
        truncated.truncate(truncated.len() / 2);
        assert!(thumbnail(&truncated).is_err());
        // A PNG header claiming 100,000 × 100,000 pixels.
        let mut huge = png(4, 4);
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(thumbnail(&huge).is_err());
    }
}
