//! Responsive variants of a still image: the image (already resized to the
//! variant's width) encoded as lossy WebP ([`webp`], libwebp), lossy AVIF
//! ([`avif`], rav1e), JPEG (the `image` crate's encoder) or PNG (lossless,
//! optimized like every PNG), at a fixed quality or at the lowest quality
//! whose SSIM reaches a target.
//!
//! Colour follows the one rule of every output: stored values are taken
//! as sRGB and no ICC profile is applied or written (AVIF tags the values
//! as sRGB, [`crate::stages::video::yuv::STILL_COLOUR`]). Alpha is kept:
//! losslessly in WebP (libwebp's `alpha_quality` 100, the colour under
//! fully transparent pixels may change as it does not show) and PNG, at a
//! higher quality than the colour in AVIF; JPEG holds none, so a JPEG
//! variant is flattened on white (only a JPEG source gets one).
//!
//! The SSIM is measured on the pixels a browser decodes: a WebP is decoded
//! again by libwebp's decoder (the one browsers use), JPEG and PNG bytes
//! by the `image` crate's; an AVIF's pixels are rav1e's reconstruction,
//! which every AV1 decoder reproduces exactly. The source's luma is taken
//! once per variant, however many encodings a search makes.

pub mod avif;
pub mod webp;

use crate::config::stills::{AvifOptions, Codec, StillQuality};
use crate::stages::optimize;
use crate::stages::ssim::{self, Luma};
use crate::stages::video::yuv;
use image::RgbaImage;

/// Changes whenever what this module makes or measures changes for the
/// same settings and encoder versions (2: WebPs are measured on libwebp's
/// decode), so cached variants are made again; part of every variant's
/// cache key.
pub const REVISION: u32 = 2;

/// One encoded variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Still {
    pub bytes: Vec<u8>,
    /// The encoder quality it was made at (100 for PNG).
    pub quality: u8,
    /// Mean SSIM of the decoded file against the source pixels.
    pub ssim: f64,
}

/// What a variant is encoded with, besides its codec.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub quality: StillQuality,
    pub avif: AvifOptions,
    /// PNG's (lossless) optimization.
    pub png: &'a oxipng::Options,
}

/// The crates whose versions shape `codec`'s bytes, for its cache key.
pub fn encoders(codec: Codec) -> Vec<(&'static str, &'static str)> {
    match codec {
        Codec::Webp => vec![webp::ENCODER],
        Codec::Avif => avif::ENCODERS.to_vec(),
        Codec::Jpeg => vec![("image", JPEG_ENCODER)],
        Codec::Png => vec![("oxipng", PNG_ENCODER)],
    }
}

/// The `image` crate's version (its JPEG encoder), checked against
/// `Cargo.lock` by a test.
const JPEG_ENCODER: &str = "0.25.10";
/// oxipng's version, checked against `Cargo.lock` by a test.
const PNG_ENCODER: &str = "10.2.1";

/// Encodes `image` with `codec` (see the module doc).
pub fn encode(image: &RgbaImage, codec: Codec, settings: Settings<'_>) -> Result<Still, String> {
    // The source's luma, once for every encoding a search makes.
    let reference = Luma::over_grey(image);
    let measure = |decoded: &RgbaImage, name: &str| ssim::of_decoded(decoded, &reference, name);
    let again = |bytes: &[u8], format: image::ImageFormat, name: &str| {
        measure(&ssim::decode(bytes, format, name)?, name)
    };
    if codec == Codec::Png {
        let bytes = optimize::encode_rgba(image, settings.png)?;
        let ssim = again(&bytes, image::ImageFormat::Png, "PNG")?;
        return Ok(Still {
            bytes,
            quality: 100,
            ssim,
        });
    }
    // JPEG holds no alpha: flattened once for every encoding.
    let flat = (codec == Codec::Jpeg).then(|| on_white(image));
    let at = |q: u8| -> Result<Still, String> {
        let (bytes, ssim) = match codec {
            Codec::Webp => {
                let bytes = webp::encode(image, q)?;
                let ssim = measure(&webp::decode(&bytes)?, "WebP")?;
                (bytes, ssim)
            }
            Codec::Avif => {
                let (bytes, decoded) = avif::encode(image, q, settings.avif.speed)?;
                let ssim = measure(&decoded, "AVIF")?;
                (bytes, ssim)
            }
            Codec::Jpeg => {
                let flat = flat.as_ref().ok_or("no flattened pixels for a JPEG")?;
                let bytes = jpeg(flat, q)?;
                let ssim = again(&bytes, image::ImageFormat::Jpeg, "JPEG")?;
                (bytes, ssim)
            }
            Codec::Png => return Err("PNG variants have no encoder quality".into()),
        };
        Ok(Still {
            bytes,
            quality: q,
            ssim,
        })
    };
    match settings.quality {
        StillQuality::Fixed(q) => at(q.clamp(1, 100)),
        StillQuality::Target { ssim } => reach(ssim, at),
    }
}

/// `image` flattened on white, as JPEG needs (no alpha channel), by the
/// videos' blend ([`yuv::over`]).
fn on_white(image: &RgbaImage) -> image::RgbImage {
    image::RgbImage::from_fn(image.width(), image.height(), |x, y| {
        image::Rgb(yuv::over(&image.get_pixel(x, y).0, [255; 3]).map(|c| c as u8))
    })
}

/// Baseline JPEG at `quality` by the `image` crate's encoder.
fn jpeg(image: &image::RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(image)
        .map_err(|e| format!("JPEG encoder: {e}"))?;
    Ok(bytes)
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

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// A gradient with a soft disc and fine grain (detail for the
    /// encoder to spend bits on), half of it transparent.
    fn picture(width: u32, height: u32) -> RgbaImage {
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

    /// [`Settings`] at `quality`, with the default AVIF and PNG options.
    fn at(quality: StillQuality, run: impl FnOnce(Settings<'_>)) {
        let png = optimize::oxipng_options(&Default::default());
        run(Settings {
            quality,
            avif: AvifOptions::default(),
            png: &png,
        })
    }

    fn made(image: &RgbaImage, codec: Codec, quality: StillQuality) -> Still {
        let mut out = None;
        at(quality, |s| out = Some(encode(image, codec, s).unwrap()));
        out.unwrap()
    }

    #[test]
    fn the_encoder_versions_in_the_cache_key_are_the_locked_ones() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("Cargo.lock");
        for codec in [Codec::Webp, Codec::Avif, Codec::Png, Codec::Jpeg] {
            for (name, version) in encoders(codec) {
                assert!(
                    lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"\n")),
                    "Cargo.lock has another {name}: update still::encoders"
                );
            }
        }
    }

    #[test]
    fn png_is_lossless_and_jpeg_and_avif_follow_the_quality() {
        let image = picture(64, 48);
        let png = made(&image, Codec::Png, StillQuality::Fixed(10));
        assert_eq!(png.ssim, 1.0);
        assert_eq!(
            image::load_from_memory(&png.bytes).unwrap().into_rgba8(),
            image
        );
        let opaque = image::DynamicImage::ImageRgb8(on_white(&image)).into_rgba8();
        for codec in [Codec::Jpeg, Codec::Avif] {
            let low = made(&opaque, codec, StillQuality::Fixed(30));
            let high = made(&opaque, codec, StillQuality::Fixed(95));
            assert!(low.bytes.len() < high.bytes.len(), "{codec:?}");
            assert!(
                low.ssim < high.ssim && high.ssim > 0.97,
                "{codec:?} {} {}",
                low.ssim,
                high.ssim
            );
            let target = made(&opaque, codec, StillQuality::Target { ssim: 0.98 });
            assert!(target.ssim >= 0.98, "{codec:?} {}", target.ssim);
        }
        let jpeg = made(&opaque, Codec::Jpeg, StillQuality::Fixed(90));
        assert!(jpeg.bytes.starts_with(&[0xFF, 0xD8]));
        let decoded = image::load_from_memory(&jpeg.bytes).unwrap().into_rgba8();
        let measured = ssim::mean_ssim(&decoded, &opaque);
        assert!((measured - jpeg.ssim).abs() < 1e-12);
    }

    #[test]
    fn a_fixed_quality_gives_a_webp_that_decodes_to_the_image_with_its_alpha() {
        let image = picture(120, 80);
        let low = made(&image, Codec::Webp, StillQuality::Fixed(20));
        let high = made(&image, Codec::Webp, StillQuality::Fixed(95));
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
        let again = made(&image, Codec::Webp, StillQuality::Fixed(95));
        assert_eq!(again, high);
    }

    #[test]
    fn a_target_gives_the_lowest_quality_that_reaches_it() {
        let image = picture(96, 96);
        let target = 0.99;
        let found = made(&image, Codec::Webp, StillQuality::Target { ssim: target });
        assert!(found.ssim >= target, "{}", found.ssim);
        assert!(
            found.quality > 1 && found.quality < 100,
            "{}",
            found.quality
        );
        let below = made(&image, Codec::Webp, StillQuality::Fixed(found.quality - 1));
        assert!(below.ssim < target || below.bytes.len() >= found.bytes.len());
        // Out of reach: the best quality is kept.
        let best = made(&image, Codec::Webp, StillQuality::Target { ssim: 1.0 });
        assert_eq!(best.quality, 100);
    }
}
