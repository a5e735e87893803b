//! Stage: decode. Reads a source file once, checks it is what its name says
//! and within the configured limits, then decodes every pixel.
//!
//! The order matters: format and dimensions come from the header before any
//! pixel buffer is allocated, so a tiny file that claims 60000x60000 is
//! refused without allocating; then a full decode catches truncation. Some
//! decoders pad a truncated image silently, so the container's end marker
//! (PNG `IEND`, GIF trailer, JPEG EOI, RIFF length) is checked too.

use crate::config::Limits;
use crate::error::{Error, Result};
use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, DynamicImage, ImageFormat, ImageReader};
use serde::{Deserialize, Deserializer, Serialize};
use std::io::Cursor;
use std::path::Path;

/// What validation learns about a source image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    #[serde(
        serialize_with = "serialize_format",
        deserialize_with = "deserialize_format"
    )]
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// Number of frames (1 for stills).
    pub frames: u32,
    /// File size in bytes.
    pub bytes: u64,
}

fn deserialize_format<'de, D: Deserializer<'de>>(d: D) -> Result<ImageFormat, D::Error> {
    let name = String::deserialize(d)?;
    [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::WebP,
        ImageFormat::Bmp,
    ]
    .into_iter()
    .find(|f| format_name(*f) == name)
    .ok_or_else(|| serde::de::Error::custom(format!("unknown format {name}")))
}

fn serialize_format<S: serde::Serializer>(f: &ImageFormat, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(format_name(*f))
}

/// A decoded source: its bytes as read, what they hold, and the pixels of
/// its first (or only) frame.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub bytes: Vec<u8>,
    pub info: ImageInfo,
    pub pixels: DynamicImage,
}

/// The formats assetmill reads, by extension.
pub fn format_for_extension(path: &Path) -> Option<ImageFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some(ImageFormat::Png),
        "jpg" | "jpeg" => Some(ImageFormat::Jpeg),
        "gif" => Some(ImageFormat::Gif),
        "webp" => Some(ImageFormat::WebP),
        "bmp" => Some(ImageFormat::Bmp),
        _ => None,
    }
}

/// The name reports use for a format.
pub fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Bmp => "BMP",
        _ => "an unsupported format",
    }
}

/// Reads and fully decodes `path`, checking format and limits first.
pub fn load(path: &Path, limits: &Limits) -> Result<Loaded> {
    let expected = format_for_extension(path).ok_or_else(|| {
        Error::decode(
            path,
            "unsupported file type (expected .png, .jpg, .jpeg, .gif, .webp or .bmp)",
        )
    })?;
    let bytes = read_source(path, limits)?;
    from_bytes(path, expected, bytes, limits)
}

/// Reads a source file: regular files only (a FIFO never blocks), no larger
/// than the memory budget.
pub fn read_source(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    use crate::fsread::{ReadError, read_regular};
    read_regular(path, limits.max_memory.0).map_err(|e| match e {
        ReadError::Missing => Error::Missing {
            path: path.to_owned(),
        },
        ReadError::Io(source) => Error::io(path, source),
        other => Error::decode(path, other),
    })
}

/// Checks and decodes `bytes`, the content of `path` whose extension names
/// `expected`. `path` is only used in messages.
pub fn from_bytes(
    path: &Path,
    expected: ImageFormat,
    bytes: Vec<u8>,
    limits: &Limits,
) -> Result<Loaded> {
    if bytes.is_empty() {
        return Err(Error::Empty {
            path: path.to_owned(),
        });
    }
    let actual = image::guess_format(&bytes).map_err(|_| Error::FormatMismatch {
        path: path.to_owned(),
        expected: format_name(expected).to_owned(),
        actual: "not a recognised image format".to_owned(),
    })?;
    if actual != expected {
        return Err(Error::FormatMismatch {
            path: path.to_owned(),
            expected: format_name(expected).to_owned(),
            actual: format_name(actual).to_owned(),
        });
    }
    let (width, height) = ImageReader::with_format(Cursor::new(&bytes), actual)
        .into_dimensions()
        .map_err(|e| {
            Error::decode(
                path,
                format!("unreadable {} header: {e}", format_name(actual)),
            )
        })?;
    check_limits(path, width, height, limits)?;
    check_complete(path, actual, &bytes)?;
    let (pixels, frames) = decode_pixels(path, actual, &bytes, width, height)?;
    let info = ImageInfo {
        format: actual,
        width,
        height,
        frames,
        bytes: bytes.len() as u64,
    };
    Ok(Loaded {
        bytes,
        info,
        pixels,
    })
}

/// Refuses dimensions beyond the limits.
pub fn check_limits(path: &Path, width: u32, height: u32, limits: &Limits) -> Result<()> {
    let pixels = u64::from(width) * u64::from(height);
    let max_pixels = (limits.max_megapixels * 1e6) as u64;
    let limit = if width > limits.max_side || height > limits.max_side {
        Some(format!("{} px a side", limits.max_side))
    } else if pixels > max_pixels {
        Some(format!("{} megapixels", limits.max_megapixels))
    } else if width == 0 || height == 0 {
        return Err(Error::decode(path, "image has zero width or height"));
    } else {
        None
    };
    match limit {
        Some(limit) => Err(Error::TooLarge {
            path: path.to_owned(),
            width,
            height,
            limit,
        }),
        None => Ok(()),
    }
}

/// Checks the container's end marker, which some decoders do not require.
fn check_complete(path: &Path, format: ImageFormat, bytes: &[u8]) -> Result<()> {
    let name = format_name(format);
    let complete = match format {
        ImageFormat::Png => {
            bytes.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82])
        }
        ImageFormat::Gif => bytes.last() == Some(&0x3B),
        // Trailing bytes after EOI are common and harmless; look near the end.
        ImageFormat::Jpeg => bytes[bytes.len().saturating_sub(4096)..]
            .windows(2)
            .any(|w| w == [0xFF, 0xD9]),
        ImageFormat::WebP => {
            bytes.len() >= 12
                && u64::from(u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]])) + 8
                    <= bytes.len() as u64
        }
        _ => true,
    };
    if complete {
        Ok(())
    } else {
        Err(Error::decode(
            path,
            format!("truncated {name} (the file ends before its end marker)"),
        ))
    }
}

fn decode_pixels(
    path: &Path,
    format: ImageFormat,
    bytes: &[u8],
    width: u32,
    height: u32,
) -> Result<(DynamicImage, u32)> {
    let name = format_name(format);
    let failed = |e: image::ImageError| Error::decode(path, format!("cannot decode {name}: {e}"));
    // The header is already checked against the limits; this bounds the
    // allocations the decoder may make for it.
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(u64::from(width) * u64::from(height) * 16 + (64 << 20));
    if format == ImageFormat::Gif {
        let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(failed)?;
        image::ImageDecoder::set_limits(&mut decoder, limits).map_err(failed)?;
        let mut first = None;
        let mut count = 0u32;
        for frame in decoder.into_frames() {
            let frame = frame.map_err(failed)?;
            count += 1;
            if first.is_none() {
                first = Some(DynamicImage::ImageRgba8(frame.into_buffer()));
            }
        }
        let first = first.ok_or_else(|| Error::decode(path, "GIF has no frames"))?;
        return Ok((first, count));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let pixels = reader.decode().map_err(failed)?;
    Ok((pixels, 1))
}
