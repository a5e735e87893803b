//! Stage: lossless PNG optimization with oxipng, from raw pixels.
//!
//! Outputs are encoded straight from decoded pixels (`oxipng::RawImage`), so
//! no PNG is ever encoded just to be decoded again. For optimized copies of
//! source PNGs, the source's ancillary chunks (colour profile, gamma, …) are
//! handed over too and oxipng's strip policy decides which survive; if the
//! result is not smaller than the source, the source bytes are kept, which
//! are pixel-identical by definition.

use crate::config::{OptimizeOptions, Strip};
use image::{DynamicImage, RgbaImage};
use oxipng::{BitDepth, ColorType, RawImage, StripChunks};

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
}
