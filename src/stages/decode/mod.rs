//! Stage: decode. Reads a source file once, checks it is what its name says
//! and within the configured limits, then decodes every pixel.
//!
//! The order matters: format and dimensions come from the header before any
//! pixel buffer is allocated, so a tiny file that claims 60000x60000 is
//! refused without allocating; then a full decode catches truncation. Some
//! decoders pad a truncated image silently, so the container's end marker
//! (PNG `IEND`, GIF trailer, JPEG EOI, RIFF length) is checked too.
//!
//! Animations are judged the same way: frame counts and sizes come from the
//! container's structure ([`gif::walk`], [`animated`]) and are checked
//! against `max_frames` and `max_animation_pixels` before the first frame
//! is decoded; then every frame is decoded, so a corrupt late frame is
//! caught, while only the first frame's pixels are kept.

mod animated;
mod gif;

pub use gif::Layout as GifLayout;

use crate::config::Limits;
use crate::error::{Error, Result};
use image::{DynamicImage, ImageFormat, ImageReader, RgbaImage};
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
    /// How the pixels are stored. `None` in cache entries written before
    /// assetmill recorded it: unknown, not "no profile".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<Colour>,
}

/// How a source stores its pixels, as written in the file (before decoding
/// turns every frame into 8-bit RGBA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Colour {
    pub kind: ColourKind,
    /// Bits per channel (per index for palettes).
    pub depth: u8,
    /// A short fingerprint (FNV-1a) of the embedded ICC profile, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icc: Option<u32>,
}

/// The channels a file stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColourKind {
    Grey,
    GreyAlpha,
    Rgb,
    Rgba,
    Palette,
    Other,
}

impl Colour {
    /// `8-bit RGB`, `16-bit RGBA`, `8-bit palette`, …
    pub fn layout(&self) -> String {
        let kind = match self.kind {
            ColourKind::Grey => "greyscale",
            ColourKind::GreyAlpha => "greyscale+alpha",
            ColourKind::Rgb => "RGB",
            ColourKind::Rgba => "RGBA",
            ColourKind::Palette => "palette",
            ColourKind::Other => "other colour type",
        };
        format!("{}-bit {kind}", self.depth)
    }

    /// `ICC profile 1a2b3c4d` or `no ICC profile`.
    pub fn profile(&self) -> String {
        match self.icc {
            Some(f) => format!("ICC profile {f:08x}"),
            None => "no ICC profile".to_owned(),
        }
    }
}

/// FNV-1a, 32 bits: enough to tell profiles apart in a message.
fn fingerprint(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The colour type and depth a PNG's header declares (IHDR, bytes 24-25).
fn png_colour(bytes: &[u8]) -> Option<(ColourKind, u8)> {
    let (&depth, &kind) = (bytes.get(24)?, bytes.get(25)?);
    let kind = match kind {
        0 => ColourKind::Grey,
        2 => ColourKind::Rgb,
        3 => ColourKind::Palette,
        4 => ColourKind::GreyAlpha,
        6 => ColourKind::Rgba,
        _ => return None,
    };
    Some((kind, depth))
}

/// The colour of a decoded image, for formats whose header is not read here.
fn decoded_colour(color: image::ColorType) -> (ColourKind, u8) {
    use image::ColorType as C;
    let depth = (color.bits_per_pixel() / u16::from(color.channel_count().max(1))) as u8;
    let kind = match color {
        C::L8 | C::L16 => ColourKind::Grey,
        C::La8 | C::La16 => ColourKind::GreyAlpha,
        C::Rgb8 | C::Rgb16 | C::Rgb32F => ColourKind::Rgb,
        C::Rgba8 | C::Rgba16 | C::Rgba32F => ColourKind::Rgba,
        _ => ColourKind::Other,
    };
    (kind, depth)
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
    let expected = expected_format(path)?;
    let bytes = read_source(path, limits)?;
    from_bytes(path, expected, bytes, limits)
}

/// The format `path`'s extension names, or the error for one assetmill
/// does not read.
pub fn expected_format(path: &Path) -> Result<ImageFormat> {
    format_for_extension(path).ok_or_else(|| {
        Error::decode(
            path,
            "unsupported file type (expected .png, .jpg, .jpeg, .gif, .webp or .bmp)",
        )
    })
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
    from_bytes_with(path, expected, bytes, limits, &mut |_, _| {})
}

/// [`from_bytes`], handing each frame of a GIF to `shown` as it is
/// decoded, as [`gif_frames`] does: one pass over the file both decodes it
/// and feeds its videos. Not called for other formats.
pub fn from_bytes_with(
    path: &Path,
    expected: ImageFormat,
    bytes: Vec<u8>,
    limits: &Limits,
    shown: &mut dyn FnMut(&RgbaImage, u32),
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
    let mut header = ImageReader::with_format(Cursor::new(&bytes), actual)
        .into_decoder()
        .map_err(|e| {
            Error::decode(
                path,
                format!("unreadable {} header: {e}", format_name(actual)),
            )
        })?;
    let (width, height) = image::ImageDecoder::dimensions(&header);
    // A profile the decoder cannot extract counts as none; it is only
    // compared between frames.
    let icc = image::ImageDecoder::icc_profile(&mut header)
        .ok()
        .flatten()
        .map(|p| fingerprint(&p));
    drop(header);
    check_limits(path, width, height, limits)?;
    check_complete(path, actual, &bytes)?;
    let (pixels, frames) = decode_pixels(path, actual, &bytes, width, height, limits, shown)?;
    let (kind, depth) = match actual {
        ImageFormat::Png => png_colour(&bytes),
        _ => None,
    }
    .unwrap_or_else(|| decoded_colour(pixels.color()));
    let info = ImageInfo {
        format: actual,
        width,
        height,
        frames,
        bytes: bytes.len() as u64,
        colour: Some(Colour { kind, depth, icc }),
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
    limits: &Limits,
    shown: &mut dyn FnMut(&RgbaImage, u32),
) -> Result<(DynamicImage, u32)> {
    let name = format_name(format);
    // The header is already checked against the limits; this bounds the
    // allocations the decoder may make for it.
    let alloc = u64::from(width) * u64::from(height) * 16 + (64 << 20);
    match format {
        ImageFormat::Gif => return decode_gif(path, bytes, limits, shown),
        ImageFormat::Png => {
            let layout = animated::png_layout(bytes)
                .map_err(|m| Error::decode(path, format!("malformed PNG: {m}")))?;
            if let Some(frames) = layout.num_frames {
                if u64::from(frames) != layout.fctl {
                    return Err(Error::decode(
                        path,
                        format!(
                            "APNG acTL declares {frames} frames but the file has {} fcTL chunks",
                            layout.fctl
                        ),
                    ));
                }
                let canvas = (width, height);
                check_animation(path, "APNG", layout.fctl, canvas, limits)?;
                check_frame_pixels(path, "APNG", layout.frame_pixels, limits)?;
            }
        }
        ImageFormat::WebP => {
            let layout = animated::webp_layout(bytes);
            if layout.animated {
                check_animation(path, "WebP", layout.frames, (width, height), limits)?;
            }
        }
        _ => {}
    }
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(image_limits);
    let pixels = reader
        .decode()
        .map_err(|e| Error::decode(path, format!("cannot decode {name}: {e}")))?;
    let frames = match format {
        ImageFormat::Png => animated::decode_apng_frames(bytes, alloc as usize),
        ImageFormat::WebP if animated::webp_layout(bytes).animated => {
            animated::decode_webp_frames(bytes)
        }
        _ => Ok(1),
    }
    .map_err(|m| Error::decode(path, format!("cannot decode {name}: {m}")))?;
    Ok((pixels, frames))
}

/// A GIF: the block walk is judged against the limits, then every frame is
/// decoded and composited at the cost of its own rectangle.
fn decode_gif(
    path: &Path,
    bytes: &[u8],
    limits: &Limits,
    shown: &mut dyn FnMut(&RgbaImage, u32),
) -> Result<(DynamicImage, u32)> {
    let mut first = None;
    let frames = gif_frames(path, bytes, limits, |screen, ms| {
        if first.is_none() {
            first = Some(screen.clone());
        }
        shown(screen, ms);
    })?;
    let first = first.ok_or_else(|| Error::decode(path, "GIF has no frames"))?;
    Ok((DynamicImage::ImageRgba8(first), frames))
}

/// A GIF's block walk (screen, frame count, frame sizes) over `reader`
/// (its bytes, or the file), judged against the limits: what decoding it
/// will cost, known before any pixel is decoded. Decoding and the memory
/// budget both judge a GIF by it.
pub fn gif_layout(path: &Path, reader: impl std::io::Read, limits: &Limits) -> Result<GifLayout> {
    let layout =
        gif::walk(reader).map_err(|m| Error::decode(path, format!("malformed GIF: {m}")))?;
    if layout.frames == 0 {
        return Err(Error::decode(path, "GIF has no frames"));
    }
    let screen = (u32::from(layout.width), u32::from(layout.height));
    check_animation(path, "GIF", layout.frames, screen, limits)?;
    check_frame_pixels(path, "GIF", layout.frame_pixels, limits)?;
    // Frames may be larger than the screen; each is decoded whole.
    let side = layout.widest.max(layout.tallest);
    if u32::from(side) > limits.max_side {
        return Err(Error::decode(
            path,
            format!(
                "GIF has a frame {side} px a side, over the limit of {} px (limits.max_side)",
                limits.max_side
            ),
        ));
    }
    if layout.largest as f64 > limits.max_megapixels * 1e6 {
        return Err(Error::decode(
            path,
            format!(
                "GIF has a frame of {} pixels, over the limit of {} megapixels (limits.max_megapixels)",
                layout.largest, limits.max_megapixels
            ),
        ));
    }
    Ok(layout)
}

/// Streams a GIF's frames as browsers show them: each composited screen
/// (RGBA, the GIF's own size) with how long it is shown, in milliseconds.
/// A stored delay of 0 or 1 centisecond is shown for 100 ms, as Chromium,
/// Firefox and Safari do. The limits are judged from the block walk
/// ([`gif_layout`]) before any pixel is decoded. Returns the number of
/// frames.
pub fn gif_frames(
    path: &Path,
    bytes: &[u8],
    limits: &Limits,
    mut shown: impl FnMut(&RgbaImage, u32),
) -> Result<u32> {
    let layout = gif_layout(path, bytes, limits)?;
    let frames = gif::composite(bytes, &layout, layout.frames, |screen, delay| {
        shown(screen, shown_ms(delay))
    })
    .map_err(|m| Error::decode(path, format!("cannot decode GIF: {m}")))?;
    Ok(frames as u32)
}

/// How long browsers show a GIF frame with this stored delay.
pub fn shown_ms(delay_cs: u16) -> u32 {
    if delay_cs <= 1 {
        100
    } else {
        u32::from(delay_cs) * 10
    }
}

/// Refuses an animation with more frames, or more canvas pixels over all
/// frames, than the limits allow. Decided from headers, before decoding.
fn check_animation(
    path: &Path,
    kind: &str,
    frames: u64,
    (width, height): (u32, u32),
    limits: &Limits,
) -> Result<()> {
    if frames > u64::from(limits.max_frames) {
        return Err(Error::decode(
            path,
            format!(
                "{kind} has {frames} frames, over the limit of {} frames (limits.max_frames)",
                limits.max_frames
            ),
        ));
    }
    let total = frames.saturating_mul(u64::from(width) * u64::from(height));
    if total > limits.max_animation_pixels {
        return Err(Error::decode(
            path,
            format!(
                "{kind} has {frames} frames of {width}x{height}, {total} pixels in all, over the \
                 limit of {} (limits.max_animation_pixels)",
                limits.max_animation_pixels
            ),
        ));
    }
    Ok(())
}

/// Refuses an animation whose frame rectangles hold more pixels in all than
/// the limit (GIF frames may be larger than the screen).
fn check_frame_pixels(path: &Path, kind: &str, pixels: u64, limits: &Limits) -> Result<()> {
    if pixels > limits.max_animation_pixels {
        return Err(Error::decode(
            path,
            format!(
                "{kind} frames hold {pixels} pixels in all, over the limit of {} \
                 (limits.max_animation_pixels)",
                limits.max_animation_pixels
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame, Rgba};

    fn gif(delays_ms: &[u32]) -> Vec<u8> {
        let mut bytes = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut bytes);
            for (i, &ms) in delays_ms.iter().enumerate() {
                let shade = 40 * i as u8;
                let image = RgbaImage::from_pixel(8, 6, Rgba([shade, 255 - shade, 9, 255]));
                let delay = Delay::from_numer_denom_ms(ms, 1);
                encoder
                    .encode_frame(Frame::from_parts(image, 0, 0, delay))
                    .unwrap();
            }
        }
        bytes
    }

    #[test]
    fn one_pass_decodes_a_gif_and_hands_over_every_frame() {
        let bytes = gif(&[50, 200, 120]);
        let path = Path::new("a.gif");
        let limits = Limits::default();
        let mut handed = Vec::new();
        let loaded = from_bytes_with(
            path,
            ImageFormat::Gif,
            bytes.clone(),
            &limits,
            &mut |f, ms| handed.push((f.clone(), ms)),
        )
        .unwrap();
        let mut walked = Vec::new();
        gif_frames(path, &bytes, &limits, |f, ms| walked.push((f.clone(), ms))).unwrap();
        assert_eq!(
            handed, walked,
            "the frames and durations a second walk finds"
        );
        assert_eq!(
            handed.iter().map(|(_, ms)| *ms).collect::<Vec<_>>(),
            [50, 200, 120]
        );
        assert_eq!(loaded.info.frames, 3);
        assert_eq!(
            loaded.pixels.to_rgba8(),
            handed[0].0,
            "the first frame is the image"
        );

        // Other formats hand over nothing.
        let mut png = Vec::new();
        handed[1]
            .0
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let mut calls = 0;
        from_bytes_with(
            Path::new("a.png"),
            ImageFormat::Png,
            png,
            &limits,
            &mut |_, _| calls += 1,
        )
        .unwrap();
        assert_eq!(calls, 0);
    }
}
