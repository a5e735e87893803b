//! Stage: lossless PNG optimization with oxipng, from raw pixels.
//!
//! Outputs are encoded straight from decoded pixels (`oxipng::RawImage`), so
//! no PNG is ever encoded just to be decoded again. For optimized copies of
//! source PNGs, the source's ancillary chunks (colour profile, gamma, …) are
//! handed over too and oxipng's strip policy decides which survive; if the
//! result is not smaller than the source, the source bytes are kept, which
//! are pixel-identical by definition.
//!
//! Animated PNGs are the exception: rebuilt from the default image's
//! pixels, their `fcTL`/`fdAT` chunks would be reordered after a changed
//! `IDAT` and their frame data left in the old colour type, so the file no
//! longer decodes. oxipng does handle APNG when it reads the file itself
//! (it disables colour reductions, recompresses `IDAT` and every `fdAT`
//! and renumbers the sequence), so APNGs go through that path, and the
//! result is kept only if every frame decodes to the source's pixels.

use crate::config::{OptimizeOptions, Strip};
use image::codecs::png::PngDecoder;
use image::{AnimationDecoder, DynamicImage, RgbaImage};
use oxipng::{BitDepth, ColorType, RawImage, StripChunks};
use std::io::Cursor;

/// oxipng options for a configuration.
pub fn oxipng_options(opts: &OptimizeOptions) -> oxipng::Options {
    let mut o = oxipng::Options::from_preset(opts.level);
    o.strip = match opts.strip {
        Strip::None => StripChunks::None,
        Strip::Safe => StripChunks::Safe,
        Strip::All => StripChunks::All,
    };
    o
}

/// Encodes RGBA pixels as an optimized PNG (oxipng reduces the colour type:
/// opaque images lose the alpha channel, few colours become a palette).
pub fn encode_rgba(image: &RgbaImage, opts: &oxipng::Options) -> Result<Vec<u8>, String> {
    let raw = RawImage::new(
        image.width(),
        image.height(),
        ColorType::RGBA,
        BitDepth::Eight,
        image.as_raw().clone(),
    )
    .map_err(|e| e.to_string())?;
    raw.create_optimized_png(opts).map_err(|e| e.to_string())
}

/// An optimized, pixel-identical copy of a source PNG.
pub fn optimize_png(
    source: &[u8],
    pixels: &DynamicImage,
    opts: &oxipng::Options,
) -> Result<Vec<u8>, String> {
    if is_apng(source) {
        return optimize_apng(source, opts);
    }
    let (color_type, depth, data) = raw_parts(pixels)?;
    let mut raw = RawImage::new(pixels.width(), pixels.height(), color_type, depth, data)
        .map_err(|e| e.to_string())?;
    for (name, data) in ancillary_chunks(source) {
        raw.add_png_chunk(name, data.to_vec());
    }
    let optimized = raw.create_optimized_png(opts).map_err(|e| e.to_string())?;
    Ok(if optimized.len() < source.len() {
        optimized
    } else {
        source.to_vec()
    })
}

/// An animated PNG: an `acTL` chunk before the image data.
fn is_apng(png: &[u8]) -> bool {
    let mut pos = 8;
    while let Some(header) = png.get(pos..pos + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        match &header[4..8] {
            b"acTL" => return true,
            b"IDAT" | b"IEND" => return false,
            _ => pos = pos.saturating_add(12 + len),
        }
    }
    false
}

/// Optimizes an APNG with every frame, or returns the source unchanged.
fn optimize_apng(source: &[u8], opts: &oxipng::Options) -> Result<Vec<u8>, String> {
    let mut opts = opts.clone();
    // oxipng's `all` drops acTL/fcTL/fdAT, turning the animation into a
    // still; keep them, stripping everything else.
    if matches!(opts.strip, StripChunks::All) {
        opts.strip = StripChunks::Keep(oxipng::indexset! {*b"acTL", *b"fcTL", *b"fdAT"});
    }
    let optimized = oxipng::optimize_from_memory(source, &opts).map_err(|e| e.to_string())?;
    // oxipng is not built with its own output check (the `sanity-checks`
    // feature), so check here: a smaller file that shows anything else is
    // worth nothing.
    Ok(
        if optimized.len() < source.len() && same_animation(source, &optimized) {
            optimized
        } else {
            source.to_vec()
        },
    )
}

/// Whether two APNGs show the same default image and the same frames
/// (pixels, placement, delay), decoded one frame at a time.
pub fn same_animation(a: &[u8], b: &[u8]) -> bool {
    let default = |png: &[u8]| {
        PngDecoder::new(Cursor::new(png))
            .and_then(DynamicImage::from_decoder)
            .ok()
    };
    fn frames(png: &[u8]) -> Option<image::Frames<'_>> {
        PngDecoder::new(Cursor::new(png))
            .and_then(|d| d.apng())
            .map(|d| d.into_frames())
            .ok()
    }
    let (Some(da), Some(db)) = (default(a), default(b)) else {
        return false;
    };
    if da != db {
        return false;
    }
    let (Some(mut fa), Some(mut fb)) = (frames(a), frames(b)) else {
        return false;
    };
    loop {
        match (fa.next(), fb.next()) {
            (None, None) => return true,
            (Some(Ok(x)), Some(Ok(y))) => {
                if x.delay() != y.delay()
                    || (x.left(), x.top()) != (y.left(), y.top())
                    || x.buffer() != y.buffer()
                {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

fn raw_parts(pixels: &DynamicImage) -> Result<(ColorType, BitDepth, Vec<u8>), String> {
    let be16 = |samples: &[u16]| samples.iter().flat_map(|s| s.to_be_bytes()).collect();
    let gray = ColorType::Grayscale {
        transparent_shade: None,
    };
    let rgb = ColorType::RGB {
        transparent_color: None,
    };
    Ok(match pixels {
        DynamicImage::ImageLuma8(i) => (gray, BitDepth::Eight, i.as_raw().clone()),
        DynamicImage::ImageLumaA8(i) => (
            ColorType::GrayscaleAlpha,
            BitDepth::Eight,
            i.as_raw().clone(),
        ),
        DynamicImage::ImageRgb8(i) => (rgb, BitDepth::Eight, i.as_raw().clone()),
        DynamicImage::ImageRgba8(i) => (ColorType::RGBA, BitDepth::Eight, i.as_raw().clone()),
        DynamicImage::ImageLuma16(i) => (gray, BitDepth::Sixteen, be16(i.as_raw())),
        DynamicImage::ImageLumaA16(i) => (
            ColorType::GrayscaleAlpha,
            BitDepth::Sixteen,
            be16(i.as_raw()),
        ),
        DynamicImage::ImageRgb16(i) => (rgb, BitDepth::Sixteen, be16(i.as_raw())),
        DynamicImage::ImageRgba16(i) => (ColorType::RGBA, BitDepth::Sixteen, be16(i.as_raw())),
        other => return Err(format!("unsupported pixel layout {:?}", other.color())),
    })
}

/// Ancillary chunks of a PNG, except those whose meaning is already baked
/// into the decoded pixels (palette transparency, significant bits).
fn ancillary_chunks(png: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut chunks = Vec::new();
    let mut pos = 8;
    while pos + 12 <= png.len() {
        let len = u32::from_be_bytes([png[pos], png[pos + 1], png[pos + 2], png[pos + 3]]) as usize;
        let name: [u8; 4] = [png[pos + 4], png[pos + 5], png[pos + 6], png[pos + 7]];
        let Some(data) = png.get(pos + 8..pos + 8 + len) else {
            break;
        };
        let ancillary = name[0].is_ascii_lowercase();
        if ancillary && !matches!(&name, b"tRNS" | b"sBIT" | b"bKGD" | b"hIST" | b"sPLT") {
            chunks.push((name, data));
        }
        pos += 12 + len;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    fn decode(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory(bytes).unwrap()
    }

    #[test]
    fn optimized_copies_are_pixel_identical() {
        let opts = oxipng_options(&OptimizeOptions::default());
        let rgb = DynamicImage::ImageRgb8(ImageBuffer::from_fn(40, 30, |x, y| {
            Rgb([(x * 6) as u8, (y * 8) as u8, ((x + y) * 3) as u8])
        }));
        let rgba16 = DynamicImage::ImageRgba16(ImageBuffer::from_fn(20, 20, |x, y| {
            Rgba([
                (x * 3000) as u16,
                (y * 3000) as u16,
                7,
                if x > 10 { 65535 } else { 0 },
            ])
        }));
        for source_pixels in [rgb, rgba16] {
            let mut source = Vec::new();
            source_pixels
                .write_to(
                    &mut std::io::Cursor::new(&mut source),
                    image::ImageFormat::Png,
                )
                .unwrap();
            let out = optimize_png(&source, &source_pixels, &opts).unwrap();
            assert!(out.len() <= source.len());
            assert_eq!(decode(&out), source_pixels);
        }
    }

    #[test]
    fn colour_chunks_survive_safe_strip() {
        let opts = oxipng_options(&OptimizeOptions::default());
        let pixels = DynamicImage::ImageRgb8(ImageBuffer::from_fn(64, 64, |x, y| {
            Rgb([(x ^ y) as u8 * 4, x as u8, y as u8])
        }));
        let mut source = Vec::new();
        pixels
            .write_to(
                &mut std::io::Cursor::new(&mut source),
                image::ImageFormat::Png,
            )
            .unwrap();
        // Insert an sRGB chunk and a text chunk after IHDR (8 + 25 bytes).
        let chunk = |name: &[u8; 4], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(name);
            c.extend_from_slice(data);
            let mut crc = crc32fast::Hasher::new();
            crc.update(name);
            crc.update(data);
            c.extend_from_slice(&crc.finalize().to_be_bytes());
            c
        };
        let mut with_chunks = source[..33].to_vec();
        with_chunks.extend(chunk(b"sRGB", &[0]));
        with_chunks.extend(chunk(b"tEXt", b"Comment\0hello"));
        with_chunks.extend_from_slice(&source[33..]);
        let out = optimize_png(&with_chunks, &pixels, &opts).unwrap();
        let names: Vec<_> = ancillary_chunks(&out).into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(b"sRGB"), "{names:?}");
        assert!(!names.contains(b"tEXt"), "{names:?}");
        assert_eq!(decode(&out), pixels);
    }

    /// An uncompressed APNG: `frames` frames of 24x16 RGBA, each after the
    /// first a sub-rectangle with its own offset, disposal and blending;
    /// `hidden_default` adds a default image that is not a frame.
    pub(crate) fn apng(frames: u32, hidden_default: bool) -> Vec<u8> {
        use png::{BlendOp, DisposeOp};
        let (w, h) = (24u32, 16u32);
        let mut out = Vec::new();
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        e.set_compression(png::Compression::NoCompression);
        e.set_animated(frames, 0).unwrap();
        e.set_sep_def_img(hidden_default).unwrap();
        let mut writer = e.write_header().unwrap();
        let pixels = |fw: u32, fh: u32, seed: u32| -> Vec<u8> {
            (0..fw * fh)
                .flat_map(|i| {
                    let (x, y) = (i % fw, i / fw);
                    let a = if (x + y + seed).is_multiple_of(5) {
                        0
                    } else {
                        255
                    };
                    [(x * 10 + seed) as u8, (y * 15) as u8, (seed * 40) as u8, a]
                })
                .collect()
        };
        if hidden_default {
            writer.write_image_data(&pixels(w, h, 99)).unwrap();
        }
        for i in 0..frames {
            let (fw, fh, x, y) = if i == 0 {
                (w, h, 0, 0)
            } else {
                (10 + i % 7, 6 + i % 5, i % 9, i % 7)
            };
            writer.set_frame_position(0, 0).unwrap();
            writer.set_frame_dimension(fw, fh).unwrap();
            writer.set_frame_position(x, y).unwrap();
            writer.set_frame_delay(1 + i as u16, 10).unwrap();
            writer
                .set_dispose_op(
                    [DisposeOp::None, DisposeOp::Background, DisposeOp::Previous][i as usize % 3],
                )
                .unwrap();
            writer
                .set_blend_op([BlendOp::Source, BlendOp::Over][i as usize % 2])
                .unwrap();
            writer.write_image_data(&pixels(fw, fh, i)).unwrap();
        }
        writer.finish().unwrap();
        out
    }

    #[test]
    fn animated_pngs_keep_every_frame() {
        for strip in [Strip::None, Strip::Safe, Strip::All] {
            let opts = oxipng_options(&OptimizeOptions {
                strip,
                ..OptimizeOptions::default()
            });
            for hidden_default in [false, true] {
                let source = apng(6, hidden_default);
                let first = decode(&source);
                let out = optimize_png(&source, &first, &opts).unwrap();
                assert!(out.len() < source.len(), "{strip:?}: not optimized");
                assert!(is_apng(&out), "{strip:?}: animation dropped");
                assert!(same_animation(&source, &out), "{strip:?}, {hidden_default}");
                let frames = PngDecoder::new(Cursor::new(&out))
                    .unwrap()
                    .apng()
                    .unwrap()
                    .into_frames()
                    .count();
                assert_eq!(frames, 6);
            }
        }
    }

    #[test]
    fn same_animation_notices_a_changed_frame() {
        let a = apng(3, false);
        let b = apng(4, false);
        assert!(same_animation(&a, &a));
        assert!(!same_animation(&a, &b));
        // Flip one byte of the last frame's (uncompressed) data and fix
        // its CRC: the frame now differs, or no longer decodes.
        let mut c = a.clone();
        let fdat = c.windows(4).rposition(|w| w == b"fdAT").unwrap();
        let len = u32::from_be_bytes(c[fdat - 4..fdat].try_into().unwrap()) as usize;
        let data_end = fdat + 4 + len;
        c[data_end - 10] ^= 0x40;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&c[fdat..data_end]);
        c[data_end..data_end + 4].copy_from_slice(&crc.finalize().to_be_bytes());
        assert!(!same_animation(&a, &c));
    }
}
