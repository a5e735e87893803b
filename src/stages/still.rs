//! Responsive variants of a still image: the image (already resized to the
//! variant's width) encoded as lossy WebP by libwebp, at a fixed quality
//! or at the lowest quality whose SSIM reaches a target.
//!
//! Colour follows the one rule of every output: stored values are taken
//! as sRGB and no ICC profile is applied or written. Alpha is kept
//! losslessly (libwebp's `alpha_quality` 100), and the colour under fully
//! transparent pixels may change (`exact` off), as it does not show.
//!
//! The SSIM is measured on the file as a browser decodes it: the bytes
//! are decoded again (by the `image` crate's own WebP decoder, not
//! libwebp) and compared with the variant's source pixels.

use crate::config::stills::{StillFormat, StillQuality};
use crate::stages::ssim;
use image::RgbaImage;

/// libwebp's version, part of every WebP variant's cache key (a test
/// checks it against `Cargo.lock`'s `libwebp-sys`).
pub const ENCODER: (&str, &str) = ("libwebp-sys", "0.14.4");

/// libwebp's effort, 0 (fastest) to 6: `cwebp`'s default.
const METHOD: i32 = 4;

/// One encoded variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Still {
    pub bytes: Vec<u8>,
    /// The encoder quality it was made at.
    pub quality: u8,
    /// Mean SSIM of the decoded file against the source pixels.
    pub ssim: f64,
}

/// Encodes `image` in `format` at `quality` (see the module doc).
pub fn encode(
    image: &RgbaImage,
    format: StillFormat,
    quality: StillQuality,
) -> Result<Still, String> {
    let at = |q: u8| -> Result<Still, String> {
        let bytes = match format {
            StillFormat::Webp => webp(image, q)?,
        };
        let ssim = ssim::of_encoded(&bytes, image::ImageFormat::WebP, image)?;
        Ok(Still {
            bytes,
            quality: q,
            ssim,
        })
    };
    match quality {
        StillQuality::Fixed(q) => at(q.clamp(1, 100)),
        StillQuality::Target { ssim } => reach(ssim, at),
    }
}

/// The quality tried first for an SSIM target: libwebp's usual setting.
const FIRST_TRY: u8 = 80;

/// Most encodings one SSIM target may take.
const MOST_TRIES: usize = 8;

/// The lowest quality whose SSIM reaches `target`, assuming SSIM rises
/// with quality, in few encodings: from [`FIRST_TRY`], steps of 10 until
/// the answer is bracketed, then interpolation on ln(1 - SSIM) (nearly
/// straight in libwebp's quality) with a bisection whenever it would not
/// halve the bracket, until the bracket is one step wide; the passing end
/// is kept. Usually 3 to 5 encodings where a plain bisection takes 7. If
/// even 100 falls short, the clip made at 100 is kept. Which qualities are
/// tried depends only on the SSIMs, so the same image gives the same file.
fn reach(target: f64, mut at: impl FnMut(u8) -> Result<Still, String>) -> Result<Still, String> {
    let gap = |ssim: f64| (1.0 - ssim).max(1e-9).ln();
    // Every quality <= lo falls short (0: none known), every quality >= hi
    // reaches the target (101: none known); each end with its gap.
    let (mut lo, mut lo_gap) = (0u8, None::<f64>);
    let (mut hi, mut hi_gap) = (101u8, None::<f64>);
    let mut passing: Option<Still> = None;
    let mut at_best: Option<Still> = None;
    let mut last: Option<(u8, f64)> = None;
    let mut next = FIRST_TRY;
    for _ in 0..MOST_TRIES {
        let made = at(next)?;
        let g = gap(made.ssim);
        let previous = last.replace((next, g));
        if made.ssim >= target {
            (hi, hi_gap) = (next, Some(g));
            passing = Some(made);
        } else {
            (lo, lo_gap) = (next, Some(g));
            if next == 100 {
                at_best = Some(made);
            }
        }
        if hi - lo <= 1 {
            break;
        }
        next = match (lo_gap, hi_gap) {
            (Some(a), Some(b)) if a > b => {
                let span = f64::from(hi - lo);
                let t = ((a - gap(target)) / (a - b) * span).ceil();
                let guess = lo + (t.clamp(1.0, span - 1.0) as u8);
                let mid = lo + (hi - lo) / 2;
                // Interpolation near an end shrinks the bracket slowly.
                if guess.abs_diff(mid) > (hi - lo) / 4 {
                    mid
                } else {
                    guess
                }
            }
            // One side known: along the slope of the last two tries when
            // it points the right way (a fifth further, so the next try
            // likely brackets), else steps of 10.
            _ => {
                let (q, g) = (next, g);
                let slope = previous
                    .filter(|&(pq, _)| pq != q)
                    .map(|(pq, pg)| (g - pg) / (f64::from(q) - f64::from(pq)))
                    .filter(|s| *s < 0.0);
                let step = slope.map_or(10.0, |s| ((gap(target) - g) / s * 1.2).abs());
                let step = step.clamp(3.0, 40.0) as u8;
                if hi_gap.is_none() {
                    lo.saturating_add(step).min(100)
                } else {
                    hi.saturating_sub(step).max(lo + 1)
                }
            }
        };
    }
    match (passing, at_best) {
        (Some(made), _) => Ok(made),
        (None, Some(made)) => Ok(made),
        (None, None) => at(100),
    }
}

/// The largest side a WebP holds.
const WEBP_MAX_SIDE: u32 = 16383;

/// Encodes `image` as lossy WebP at `quality` with libwebp.
fn webp(image: &RgbaImage, quality: u8) -> Result<Vec<u8>, String> {
    use libwebp_sys as w;
    let (width, height) = image.dimensions();
    if width.max(height) > WEBP_MAX_SIDE || width == 0 || height == 0 {
        return Err(format!(
            "WebP holds 1 to {WEBP_MAX_SIDE} pixels a side, not {width}x{height}"
        ));
    }
    let mut config = w::WebPConfig::new().map_err(|()| "libwebp refused its default settings")?;
    config.quality = f32::from(quality);
    config.method = METHOD;
    config.alpha_quality = 100;
    // One thread: units already run in parallel, and the bytes must not
    // depend on scheduling.
    config.thread_level = 0;
    // SAFETY: `config` was initialised by libwebp and is only read.
    if unsafe { w::WebPValidateConfig(&config) } == 0 {
        return Err("libwebp refused the settings".into());
    }
    let mut picture = w::WebPPicture::new().map_err(|()| "libwebp refused a picture")?;
    picture.width = width as i32;
    picture.height = height as i32;
    // Owns what libwebp allocates, freed on every path out.
    struct Owned {
        picture: w::WebPPicture,
        writer: w::WebPMemoryWriter,
    }
    impl Drop for Owned {
        fn drop(&mut self) {
            // SAFETY: both were initialised by libwebp (below) and are
            // freed once, here.
            unsafe {
                w::WebPPictureFree(&mut self.picture);
                w::WebPMemoryWriterClear(&mut self.writer);
            }
        }
    }
    let mut writer = std::mem::MaybeUninit::<w::WebPMemoryWriter>::uninit();
    // SAFETY: WebPMemoryWriterInit fills in every field of the writer.
    let writer = unsafe {
        w::WebPMemoryWriterInit(writer.as_mut_ptr());
        writer.assume_init()
    };
    let mut owned = Box::new(Owned { picture, writer });
    // The writer lives in the box, so its address is stable while libwebp
    // writes through `custom_ptr`.
    owned.picture.writer = Some(w::WebPMemoryWrite);
    owned.picture.custom_ptr = (&raw mut owned.writer).cast();
    let stride = (width * 4) as i32;
    // SAFETY: the buffer holds `height` rows of `stride` bytes (an
    // RgbaImage of these dimensions); libwebp copies it into the picture.
    if unsafe { w::WebPPictureImportRGBA(&mut owned.picture, image.as_ptr(), stride) } == 0 {
        return Err("libwebp could not take the pixels (out of memory?)".into());
    }
    // SAFETY: config and picture are initialised; the picture writes into
    // `owned.writer` through the callback set above.
    if unsafe { w::WebPEncode(&config, &mut owned.picture) } == 0 {
        return Err(format!(
            "libwebp failed to encode ({:?})",
            owned.picture.error_code
        ));
    }
    if owned.writer.mem.is_null() {
        return Err("libwebp wrote nothing".into());
    }
    // SAFETY: libwebp wrote `size` bytes at `mem`, which stays allocated
    // until `owned` drops (after this copy).
    let bytes = unsafe { std::slice::from_raw_parts(owned.writer.mem, owned.writer.size) };
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// A gradient with a soft disc and fine grain (detail for the
    /// encoder to spend bits on), half of it transparent.
    pub(super) fn picture(width: u32, height: u32) -> RgbaImage {
        RgbaImage::from_fn(width, height, |x, y| {
            let dx = x as f32 - width as f32 / 2.0;
            let dy = y as f32 - height as f32 / 2.0;
            let d = (dx * dx + dy * dy).sqrt();
            let alpha = if x < width / 2 { 255 } else { 0 };
            let h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA6B);
            let grain = (h.wrapping_mul(0xC2B2_AE35) >> 27) as u8; // 0..31
            Rgba([
                (x * 200 / width) as u8 + grain,
                (255.0 - d * 2.0).max(32.0) as u8 - grain,
                (y * 200 / height) as u8 + grain / 2,
                alpha,
            ])
        })
    }

    #[test]
    fn the_encoder_version_in_the_cache_key_is_the_locked_one() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("Cargo.lock");
        let (name, version) = ENCODER;
        assert!(
            lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"\n")),
            "Cargo.lock has another {name}: update still::ENCODER"
        );
    }

    #[test]
    fn a_fixed_quality_gives_a_webp_that_decodes_to_the_image_with_its_alpha() {
        let image = picture(120, 80);
        let low = encode(&image, StillFormat::Webp, StillQuality::Fixed(20)).unwrap();
        let high = encode(&image, StillFormat::Webp, StillQuality::Fixed(95)).unwrap();
        assert!(low.bytes.starts_with(b"RIFF") && &low.bytes[8..12] == b"WEBP");
        assert!(low.bytes.len() < high.bytes.len());
        assert!(
            low.ssim < high.ssim && high.ssim > 0.98,
            "{} {}",
            low.ssim,
            high.ssim
        );
        let decoded = image::load_from_memory(&high.bytes).unwrap().into_rgba8();
        assert_eq!(decoded.dimensions(), (120, 80));
        // Alpha is lossless.
        for (a, b) in decoded.pixels().zip(image.pixels()) {
            assert_eq!(a[3], b[3]);
        }
        // The same input gives the same bytes.
        let again = encode(&image, StillFormat::Webp, StillQuality::Fixed(95)).unwrap();
        assert_eq!(again, high);
    }

    #[test]
    fn a_target_gives_the_lowest_quality_that_reaches_it() {
        let image = picture(96, 96);
        let target = 0.99;
        let made = encode(
            &image,
            StillFormat::Webp,
            StillQuality::Target { ssim: target },
        )
        .unwrap();
        assert!(made.ssim >= target, "{}", made.ssim);
        assert!(made.quality > 1 && made.quality < 100, "{}", made.quality);
        let below = encode(
            &image,
            StillFormat::Webp,
            StillQuality::Fixed(made.quality - 1),
        )
        .unwrap();
        assert!(below.ssim < target || below.bytes.len() >= made.bytes.len());
        // Out of reach: the best quality is kept.
        let best = encode(
            &image,
            StillFormat::Webp,
            StillQuality::Target { ssim: 1.0 },
        )
        .unwrap();
        assert_eq!(best.quality, 100);
    }
}
