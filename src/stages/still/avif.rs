//! Lossy AVIF: the image as one AV1 still picture encoded by rav1e, in the
//! HEIF boxes `avif-serialize` writes.
//!
//! Colour: 8-bit 4:4:4 in full range with the videos' primaries, transfer
//! and matrix ([`yuv::STILL_COLOUR`]), tagged both in the AV1 sequence
//! header and in the container's `colr` box. Alpha, when any pixel is not
//! opaque, is a second AV1 picture (monochrome, full range) at a higher
//! quality than the colour (halfway to 100, as `ravif` does); rav1e has no
//! lossless mode, so alpha edges may move by a level or two.
//!
//! rav1e hands back its reconstruction of each picture: exactly what every
//! AV1 decoder shows (AV1 decoding is fully specified), so [`encode`]
//! returns the pixels a browser will decode without needing a decoder.
//! rav1e runs on the calling rayon pool, as for the videos; its output
//! does not depend on the thread count.

use crate::stages::video::av1::{rav1e_colour, visible};
use crate::stages::video::yuv;
use image::RgbaImage;
use rav1e::prelude::{
    ChromaSampling, Config, Context, EncoderConfig, EncoderStatus, Frame, PixelRange, Rational,
    SpeedSettings,
};
use std::sync::Arc;

/// The crates whose versions shape an AVIF's bytes, part of its cache key
/// (a test checks them against `Cargo.lock`).
pub const ENCODERS: [(&str, &str); 2] = [("rav1e", "0.8.1"), ("avif-serialize", "0.8.9")];

/// The largest side an AV1 picture holds.
const MAX_SIDE: u32 = 65536;

/// rav1e's quantizer (1 to 255) for an encoder quality of 1 to 100: the
/// scale of `ravif` and `cavif`, so their users' numbers carry over
/// (quality 80 is quantizer 121, about the videos' default of 120).
pub fn quantizer(quality: u8) -> u8 {
    let q = f32::from(quality.clamp(1, 100)) / 100.0;
    let x = if q >= 0.85 {
        (1.0 - q) * 3.0
    } else if q > 0.25 {
        1.0 - 0.125 - q * 0.5
    } else {
        1.0 - q
    };
    ((x * 255.0).round() as u8).max(1)
}

/// Encodes `image` at `quality` and rav1e `speed`: the AVIF file and the
/// picture it decodes to.
pub fn encode(image: &RgbaImage, quality: u8, speed: u8) -> Result<(Vec<u8>, RgbaImage), String> {
    let (width, height) = image.dimensions();
    if width == 0 || height == 0 || width.max(height) > MAX_SIDE {
        return Err(format!(
            "AVIF holds 1 to {MAX_SIDE} pixels a side, not {width}x{height}"
        ));
    }
    let colour_planes = yuv::to_444(image);
    let colour = picture(
        [&colour_planes[0], &colour_planes[1], &colour_planes[2]],
        (width, height),
        ChromaSampling::Cs444,
        quantizer(quality),
        speed,
    )?;
    drop(colour_planes);
    let opaque = image.pixels().all(|p| p[3] == 255);
    let alpha = if opaque {
        None
    } else {
        let plane: Vec<u8> = image.pixels().map(|p| p[3]).collect();
        let alpha_quality = quality.clamp(1, 100).div_ceil(2) + 50;
        Some(picture(
            [&plane, &[], &[]],
            (width, height),
            ChromaSampling::Cs400,
            quantizer(alpha_quality),
            speed,
        )?)
    };

    use avif_serialize::constants::{ColorPrimaries, MatrixCoefficients, TransferCharacteristics};
    let c = yuv::STILL_COLOUR;
    // The constants STILL_COLOUR uses; a change there without one here is
    // an error, not a mistagged file.
    let primaries = [ColorPrimaries::Bt709];
    let transfers = [TransferCharacteristics::Srgb];
    let matrices = [MatrixCoefficients::Bt709];
    let bytes = avif_serialize::Aviffy::new()
        .set_color_primaries(yuv::by_code(
            c.primaries,
            primaries,
            |p| p as u8,
            "avif-serialize",
        )?)
        .set_transfer_characteristics(yuv::by_code(
            c.transfer,
            transfers,
            |t| t as u8,
            "avif-serialize",
        )?)
        .set_matrix_coefficients(yuv::by_code(
            c.matrix,
            matrices,
            |m| m as u8,
            "avif-serialize",
        )?)
        .set_full_color_range(c.full_range)
        .to_vec(
            &colour.data,
            alpha.as_ref().map(|a| a.data.as_slice()),
            width,
            height,
            8,
        );

    let rgb = yuv::from_444(
        [&colour.planes[0], &colour.planes[1], &colour.planes[2]],
        width,
        height,
    );
    let mut decoded = image::DynamicImage::ImageRgb8(rgb).into_rgba8();
    if let Some(alpha) = &alpha {
        for (p, &a) in decoded.pixels_mut().zip(&alpha.planes[0]) {
            p[3] = a;
        }
    }
    Ok((bytes, decoded))
}

/// One encoded AV1 picture: its OBUs and its reconstructed planes
/// (tightly packed; chroma empty for monochrome).
struct Encoded {
    data: Vec<u8>,
    planes: [Vec<u8>; 3],
}

/// Encodes one picture of full-size `planes` (4:4:4, or 4:0:0 with only
/// the first) as an AV1 still picture.
fn picture(
    planes: [&[u8]; 3],
    (width, height): (u32, u32),
    sampling: ChromaSampling,
    quantizer: u8,
    speed: u8,
) -> Result<Encoded, String> {
    let (w, h) = (width as usize, height as usize);
    let monochrome = sampling == ChromaSampling::Cs400;
    let (color_description, pixel_range) = if monochrome {
        (None, PixelRange::Full)
    } else {
        let (description, range) = rav1e_colour(yuv::STILL_COLOUR)?;
        (Some(description), range)
    };
    let encoder = EncoderConfig {
        width: w,
        height: h,
        bit_depth: 8,
        chroma_sampling: sampling,
        pixel_range,
        color_description,
        still_picture: true,
        time_base: Rational::new(1, 1),
        quantizer: usize::from(quantizer),
        min_quantizer: quantizer,
        speed_settings: SpeedSettings::from_preset(speed),
        ..EncoderConfig::default()
    };
    // No thread pool of rav1e's own: see the module documentation.
    let mut context: Context<u8> = Config::new()
        .with_encoder_config(encoder)
        .new_context()
        .map_err(|e| format!("rav1e configuration: {e}"))?;
    let mut frame = context.new_frame();
    let used = if monochrome { 1 } else { 3 };
    for (plane, data) in frame.planes.iter_mut().zip(planes).take(used) {
        plane.copy_from_raw_u8(data, w, 1);
    }
    context
        .send_frame(frame)
        .map_err(|e| format!("rav1e: {e}"))?;
    context.flush();
    let mut made = None;
    loop {
        match context.receive_packet() {
            Ok(packet) => {
                if made.is_some() {
                    return Err("rav1e returned two pictures for one".into());
                }
                let rec = packet
                    .rec
                    .ok_or("rav1e returned no reconstruction of the picture")?;
                made = Some(Encoded {
                    data: packet.data,
                    planes: reconstructed(&rec, w, h, used),
                });
            }
            Err(EncoderStatus::Encoded) => {}
            Err(EncoderStatus::LimitReached) => break,
            Err(e) => return Err(format!("rav1e: {e}")),
        }
    }
    made.ok_or_else(|| "rav1e returned no picture".to_owned())
}

/// The first `used` planes of `frame`'s visible `w` x `h`, tightly packed.
fn reconstructed(frame: &Arc<Frame<u8>>, w: usize, h: usize, used: usize) -> [Vec<u8>; 3] {
    std::array::from_fn(|i| {
        if i >= used {
            return Vec::new();
        }
        visible(frame, i, w, h)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::ssim;

    #[test]
    fn quality_maps_onto_ravif_s_quantizers() {
        assert_eq!(quantizer(100), 1);
        assert_eq!(quantizer(90), 77);
        assert_eq!(quantizer(80), 121);
        assert_eq!(quantizer(50), 159);
        assert_eq!(quantizer(1), 252);
        assert!((1..100).all(|q| quantizer(q) >= quantizer(q + 1)));
    }

    #[test]
    fn an_avif_holds_its_colour_alpha_and_tags_and_decodes_to_its_reconstruction() {
        // A gradient with a soft disc and grain, its right half transparent.
        let image = RgbaImage::from_fn(75, 41, |x, y| {
            let d = ((x as f32 - 37.0).powi(2) + (y as f32 - 20.0).powi(2)).sqrt();
            let grain = ((x * 7 + y * 13) % 17) as u8;
            let alpha = if x < 37 { 255 } else { 0 };
            image::Rgba([
                (x * 3) as u8 + grain,
                (255.0 - d * 4.0).max(30.0) as u8,
                (y * 5) as u8,
                alpha,
            ])
        });
        let (bytes, decoded) = encode(&image, 80, 10).unwrap();
        assert_eq!(&bytes[4..12], b"ftypavif");
        // Colour tags (nclx: primaries 1, transfer 13, matrix 1, full).
        let at = bytes
            .windows(4)
            .position(|w| w == b"nclx")
            .expect("colr box");
        assert_eq!(&bytes[at + 4..at + 11], &[0, 1, 0, 13, 0, 1, 0x80]);
        // Two AV1 items: the colour and its alpha.
        assert_eq!(bytes.windows(4).filter(|w| w == b"av01").count(), 2);
        assert!(
            bytes
                .windows(43)
                .any(|w| w == b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha")
        );
        assert_eq!(decoded.dimensions(), (75, 41));
        let ssim = ssim::mean_ssim(&decoded, &image);
        assert!(ssim > 0.9 && ssim < 1.0, "{ssim}");
        // Alpha within a few levels, opaque and transparent halves kept.
        for (a, b) in decoded.pixels().zip(image.pixels()) {
            assert!(a[3].abs_diff(b[3]) <= 8, "{a:?} vs {b:?}");
        }
        // Same input, same bytes; a higher quality is bigger and closer.
        assert_eq!(encode(&image, 80, 10).unwrap().0, bytes);
        let (better, decoded_better) = encode(&image, 95, 10).unwrap();
        assert!(better.len() > bytes.len());
        assert!(ssim::mean_ssim(&decoded_better, &image) > ssim);
    }

    #[test]
    fn an_opaque_image_has_no_alpha_item_and_odd_tiny_sizes_encode() {
        let opaque = RgbaImage::from_fn(3, 5, |x, y| {
            image::Rgba([x as u8 * 80, y as u8 * 50, 7, 255])
        });
        let (bytes, decoded) = encode(&opaque, 90, 10).unwrap();
        assert_eq!(bytes.windows(4).filter(|w| w == b"av01").count(), 1);
        assert_eq!(decoded.dimensions(), (3, 5));
        assert!(decoded.pixels().all(|p| p[3] == 255));
        let one = RgbaImage::from_pixel(1, 1, image::Rgba([200, 10, 10, 255]));
        let (_, decoded) = encode(&one, 100, 10).unwrap();
        let p = decoded.get_pixel(0, 0);
        assert!(p[0].abs_diff(200) <= 3 && p[1] <= 13 && p[2] <= 13, "{p:?}");
    }

    #[test]
    fn the_encoder_versions_in_the_cache_key_are_the_locked_ones() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("Cargo.lock");
        for (name, version) in ENCODERS {
            assert!(
                lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"\n")),
                "Cargo.lock has another {name}: update avif::ENCODERS"
            );
        }
    }
}
