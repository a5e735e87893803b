//! Stage: animate. Equally sized RGBA frames → an animated GIF.
//!
//! Quality first: one palette for the whole animation, fitted with k-means
//! in Oklab (quantette) to pixels sampled from every frame, then each frame
//! mapped to it with optional Floyd–Steinberg dithering, in parallel. One
//! palette suits turntables (every frame shows the same object and
//! background), costs no per-frame palette bytes, and makes an unchanged
//! pixel map to the same index in every frame, so it can be skipped.
//!
//! Size: for opaque animations each frame after the first keeps what was
//! shown (disposal `Keep`), marks unchanged pixels transparent and is
//! cropped to the rectangle of changed pixels, so static backgrounds cost
//! nothing. GIF cannot turn a shown pixel transparent under `Keep`, so
//! animations with transparency instead clear each frame after showing it
//! (disposal `Background`) and crop every frame to its visible pixels.

use crate::config::{GifOptions, Loop};
use gif::{DisposalMethod, Encoder, Frame, Repeat};
use quantette::color_space::{oklab_to_srgb8, srgb8_to_oklab};
use quantette::deps::palette::{Oklab, Srgb};
use quantette::dither::FloydSteinberg;
use quantette::kmeans::{Kmeans, KmeansOptions};
use quantette::wu::{BinnerF32x3, WuF32x3};
use quantette::{ImageBuf, PaletteBuf, Pipeline, QuantizeMethod};
use rayon::prelude::*;
use std::borrow::Cow;

/// Most sampled pixels the palette is fitted to; more adds time, not quality.
const PALETTE_SAMPLES: usize = 1 << 20;
/// Most k-means refinement steps (one sample each).
const KMEANS_SAMPLES: u32 = 1 << 20;

/// Palette entries (excluding the transparent index) for a quality 1–100.
pub fn palette_size(quality: u8) -> u16 {
    (255 * u16::from(quality.clamp(1, 100)))
        .div_ceil(100)
        .max(2)
}

/// The GIF delay, in centiseconds, for a delay in milliseconds (rounded up).
pub fn delay_cs(delay_ms: u32) -> u16 {
    u16::try_from(delay_ms.div_ceil(10)).unwrap_or(u16::MAX)
}

/// Encodes frames (already at the output size) as an animated GIF.
/// The same frames and options always give the same bytes.
pub fn encode_gif(frames: &[image::RgbaImage], opts: &GifOptions) -> Result<Vec<u8>, String> {
    let first = frames
        .first()
        .ok_or("an animation needs at least one frame")?;
    let (width, height) = first.dimensions();
    if frames.iter().any(|f| f.dimensions() != (width, height)) {
        return Err("frames differ in size".into());
    }
    let (w16, h16) = match (u16::try_from(width), u16::try_from(height)) {
        (Ok(w), Ok(h)) => (w, h),
        _ => {
            return Err(format!(
                "{width}x{height} is larger than GIF allows (65535)"
            ));
        }
    };
    let threshold = opts.alpha_threshold;
    let transparent_source = frames.iter().any(|f| f.pixels().any(|p| p[3] < threshold));

    let palette = choose_palette(frames, opts)?;
    let ditherer = ditherer(opts);
    let mapped: Vec<(Vec<Srgb<u8>>, Vec<u8>)> = frames
        .par_iter()
        .map(|frame| map_frame(frame, &palette, ditherer, threshold))
        .collect::<Result<_, String>>()?;

    let colours = &mapped[0].0;
    if mapped.iter().any(|(c, _)| c != colours) {
        return Err("frames were mapped to different palettes".into());
    }
    let transparent = colours.len() as u8;
    let mut global: Vec<u8> = colours
        .iter()
        .flat_map(|c| [c.red, c.green, c.blue])
        .collect();
    global.extend_from_slice(&[0, 0, 0]);

    let mut out = Vec::new();
    {
        let mut encoder = Encoder::new(&mut out, w16, h16, &global).map_err(|e| e.to_string())?;
        match opts.repeat {
            Loop::Forever => encoder.set_repeat(Repeat::Infinite),
            Loop::Times(1) => Ok(()),
            Loop::Times(n) => encoder.set_repeat(Repeat::Finite(n - 1)),
        }
        .map_err(|e| e.to_string())?;
        let delay = delay_cs(opts.delay_ms);
        let mut canvas: Option<Vec<u8>> = None;
        for (_, indices) in &mapped {
            let mut frame = if transparent_source {
                visible_frame(indices, width, transparent)
            } else {
                changed_frame(indices, width, transparent, &mut canvas)
            };
            frame.delay = delay;
            frame.transparent = Some(transparent);
            encoder.write_frame(&frame).map_err(|e| e.to_string())?;
        }
    }
    Ok(out)
}

fn ditherer(opts: &GifOptions) -> Option<FloydSteinberg> {
    (opts.dither > 0.0)
        .then(|| FloydSteinberg::with_error_diffusion(opts.dither))
        .flatten()
}

/// The SSIM a probe frame must reach for a palette size to be enough.
pub fn ssim_target(quality: u8) -> f64 {
    0.9 + f64::from(quality.clamp(1, 100)) / 1000.0
}

/// Maps one frame to the palette: (palette as sRGB, indices), with
/// transparent pixels at index `palette.len()`.
fn map_frame(
    frame: &image::RgbaImage,
    palette: &PaletteBuf<Oklab>,
    ditherer: Option<FloydSteinberg>,
    threshold: u8,
) -> Result<(Vec<Srgb<u8>>, Vec<u8>), String> {
    // Transparent pixels take a palette colour, so they feed no dithering
    // error into the visible edge next to them.
    let clear = oklab_to_srgb8(&palette.as_slice()[..1])[0];
    let pixels: Vec<Srgb<u8>> = frame
        .pixels()
        .map(|p| {
            if p[3] < threshold {
                clear
            } else {
                Srgb::new(p[0], p[1], p[2])
            }
        })
        .collect();
    let image = ImageBuf::new(frame.width(), frame.height(), pixels).map_err(|e| e.to_string())?;
    let indexed = Pipeline::new()
        .quantize_method(QuantizeMethod::from(palette.clone()))
        .ditherer(ditherer)
        .input_image(image.as_ref())
        .output_srgb8_indexed_image();
    let (colours, mut indices) = indexed.into_parts();
    let transparent = colours.len() as u8;
    for (index, p) in indices.iter_mut().zip(frame.pixels()) {
        if p[3] < threshold {
            *index = transparent;
        }
    }
    Ok((colours, indices))
}

/// Picks the smallest palette that is good enough: palettes of 32, 64, 128
/// and 255 colours are fitted in turn (Wu's method on a histogram spanning
/// only the occupied range, refined by k-means, in Oklab) until the middle
/// frame, mapped to it, reaches the SSIM target of the quality setting.
/// Fewer colours compress much better, so smooth renders get small files
/// and broad gradients still get every colour they need.
fn choose_palette(
    frames: &[image::RgbaImage],
    opts: &GifOptions,
) -> Result<PaletteBuf<Oklab>, String> {
    let total: usize = frames.iter().map(|f| f.pixels().len()).sum();
    let stride = total.div_ceil(PALETTE_SAMPLES).max(1);
    let samples: Vec<Srgb<u8>> = frames
        .iter()
        .flat_map(|f| f.pixels())
        .step_by(stride)
        .filter(|p| p[3] >= opts.alpha_threshold)
        .map(|p| Srgb::new(p[0], p[1], p[2]))
        .collect();
    if samples.is_empty() {
        let black = srgb8_to_oklab(&[Srgb::new(0, 0, 0)]);
        return PaletteBuf::new(black).map_err(|e| e.to_string());
    }
    let colours = srgb8_to_oklab(&samples);
    let mut ranges = [(f32::MAX, f32::MIN); 3];
    for c in &colours {
        for (range, v) in ranges.iter_mut().zip([c.l, c.a, c.b]) {
            *range = (range.0.min(v), range.1.max(v));
        }
    }
    // A little slack keeps the maximum inside the last bin.
    let ranges = ranges.map(|(lo, hi)| (lo - 1e-4, hi + 1e-4));
    let wu = WuF32x3::run_slice(&colours, BinnerF32x3::<64, 64, 64>::new(ranges))
        .map_err(|e| e.to_string())?;
    // Two passes over the samples refine small animations fully; large
    // ones stop at the cap, past which more steps change nothing visible.
    let kmeans_steps = KMEANS_SAMPLES.min(u32::try_from(colours.len() * 2).unwrap_or(u32::MAX));
    let probe = &frames[frames.len() / 2];
    let target = ssim_target(opts.quality);
    let mut palette = None;
    for size in [32u16, 64, 128, 255] {
        let options = KmeansOptions::new()
            .sampling_factor(f32::INFINITY)
            .max_samples(kmeans_steps)
            .seed(0);
        let k = size
            .try_into()
            .map_err(|_| "palette size out of range".to_owned())?;
        let fitted = Kmeans::run_slice(&colours, wu.palette(k), options)
            .map_err(|e| e.to_string())?
            .into_palette();
        let (srgb, indices) = map_frame(probe, &fitted, ditherer(opts), opts.alpha_threshold)?;
        let shown = image::RgbaImage::from_fn(probe.width(), probe.height(), |x, y| {
            let i = (y * probe.width() + x) as usize;
            match srgb.get(usize::from(indices[i])) {
                Some(c) => image::Rgba([c.red, c.green, c.blue, 255]),
                None => image::Rgba([0, 0, 0, 0]),
            }
        });
        let good_enough = crate::ssim::mean_ssim(&shown, probe) >= target;
        palette = Some(fitted);
        if good_enough {
            break;
        }
    }
    palette.ok_or_else(|| "no palette".to_owned())
}

/// The smallest rectangle holding every pixel for which `keep` is true.
fn bounds(len: usize, width: u32, keep: impl Fn(usize) -> bool) -> Option<(u32, u32, u32, u32)> {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for i in (0..len).filter(|&i| keep(i)) {
        let (x, y) = ((i as u32) % width, (i as u32) / width);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    (x0 != u32::MAX).then_some((x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

fn crop(
    indices: &[u8],
    width: u32,
    rect: (u32, u32, u32, u32),
    map: impl Fn(usize) -> u8,
) -> Frame<'static> {
    let (left, top, w, h) = rect;
    let mut buffer = Vec::with_capacity((w * h) as usize);
    for y in top..top + h {
        let row = (y * width) as usize;
        buffer.extend((left..left + w).map(|x| map(row + x as usize)));
    }
    debug_assert_eq!(buffer.len(), indices.len().min(buffer.len()));
    Frame {
        left: left as u16,
        top: top as u16,
        width: w as u16,
        height: h as u16,
        buffer: Cow::Owned(buffer),
        ..Frame::default()
    }
}

/// A one-pixel transparent frame: nothing changes, but the frame keeps its
/// place and delay.
fn empty_frame(transparent: u8, dispose: DisposalMethod) -> Frame<'static> {
    Frame {
        width: 1,
        height: 1,
        buffer: Cow::Owned(vec![transparent]),
        dispose,
        ..Frame::default()
    }
}

/// Opaque animations: only what differs from the canvas, cropped.
fn changed_frame(
    indices: &[u8],
    width: u32,
    transparent: u8,
    canvas: &mut Option<Vec<u8>>,
) -> Frame<'static> {
    let Some(shown) = canvas else {
        *canvas = Some(indices.to_vec());
        let height = indices.len() as u32 / width;
        let mut frame = crop(indices, width, (0, 0, width, height), |i| indices[i]);
        frame.dispose = DisposalMethod::Keep;
        return frame;
    };
    let Some(rect) = bounds(indices.len(), width, |i| indices[i] != shown[i]) else {
        return empty_frame(transparent, DisposalMethod::Keep);
    };
    let mut frame = crop(indices, width, rect, |i| {
        if indices[i] == shown[i] {
            transparent
        } else {
            indices[i]
        }
    });
    frame.dispose = DisposalMethod::Keep;
    shown.copy_from_slice(indices);
    frame
}

/// Animations with transparency: each frame alone on a cleared canvas.
fn visible_frame(indices: &[u8], width: u32, transparent: u8) -> Frame<'static> {
    match bounds(indices.len(), width, |i| indices[i] != transparent) {
        Some(rect) => {
            let mut frame = crop(indices, width, rect, |i| indices[i]);
            frame.dispose = DisposalMethod::Background;
            frame
        }
        None => empty_frame(transparent, DisposalMethod::Background),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{AnimationDecoder, Rgba, RgbaImage};

    fn decode(bytes: &[u8]) -> Vec<RgbaImage> {
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
        decoder
            .into_frames()
            .map(|f| f.unwrap().into_buffer())
            .collect()
    }

    fn disc(size: u32, cx: f32, background_alpha: u8) -> RgbaImage {
        RgbaImage::from_fn(size, size, |x, y| {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - size as f32 / 2.0).powi(2)).sqrt();
            if d < size as f32 / 4.0 {
                Rgba([200, (255.0 - d * 8.0) as u8, 40, 255])
            } else {
                Rgba([230, 230, (200 + y / 4) as u8, background_alpha])
            }
        })
    }

    #[test]
    fn quality_sets_the_ssim_target() {
        assert_eq!(ssim_target(100), 1.0);
        assert!((ssim_target(90) - 0.99).abs() < 1e-12);
    }

    fn palette_len(gif: &[u8]) -> usize {
        let reader = gif::DecodeOptions::new()
            .read_info(std::io::Cursor::new(gif))
            .unwrap();
        reader.global_palette().unwrap().len() / 3
    }

    #[test]
    fn smooth_frames_get_small_palettes_and_broad_gradients_large_ones() {
        let smooth: Vec<_> = (0..3)
            .map(|i| disc(64, 20.0 + i as f32 * 6.0, 255))
            .collect();
        let broad: Vec<_> = (0..3)
            .map(|i| {
                RgbaImage::from_fn(64, 64, |x, y| {
                    Rgba([x as u8 * 4, y as u8 * 4, (i * 60) as u8, 255])
                })
            })
            .collect();
        let small = palette_len(&encode_gif(&smooth, &GifOptions::default()).unwrap());
        let large = palette_len(&encode_gif(&broad, &GifOptions::default()).unwrap());
        assert!(small <= 64, "{small}");
        assert_eq!(large, 256);
    }

    #[test]
    fn opaque_frames_round_trip_closely_and_crop_changes() {
        let frames: Vec<_> = (0..4)
            .map(|i| disc(64, 20.0 + i as f32 * 6.0, 255))
            .collect();
        let mut frames = frames;
        frames.push(frames[3].clone()); // an unchanged frame
        let gif = encode_gif(&frames, &GifOptions::default()).unwrap();
        let decoded = decode(&gif);
        assert_eq!(decoded.len(), 5);
        for (d, s) in decoded.iter().zip(&frames) {
            assert_eq!(d.dimensions(), (64, 64));
            assert!(
                crate::ssim::mean_abs_error(d, s) < 3.0,
                "mean error {}",
                crate::ssim::mean_abs_error(d, s)
            );
        }
        // Frames after the first are cropped to what changed.
        let mut reader = gif::DecodeOptions::new()
            .read_info(std::io::Cursor::new(&gif))
            .unwrap();
        let mut sizes = Vec::new();
        while let Some(f) = reader.read_next_frame().unwrap() {
            sizes.push((f.width, f.height, f.delay, f.dispose));
        }
        assert_eq!(sizes[0], (64, 64, 10, DisposalMethod::Keep));
        assert!(sizes[1].1 < 64, "{sizes:?}");
        assert_eq!((sizes[4].0, sizes[4].1), (1, 1));
    }

    #[test]
    fn transparency_is_kept_even_where_a_shown_pixel_clears() {
        let frames: Vec<_> = (0..3)
            .map(|i| disc(48, 14.0 + i as f32 * 10.0, 0))
            .collect();
        let gif = encode_gif(&frames, &GifOptions::default()).unwrap();
        let decoded = decode(&gif);
        for (d, s) in decoded.iter().zip(&frames) {
            for (a, b) in d.pixels().zip(s.pixels()) {
                assert_eq!(a[3] == 0, b[3] < 128, "alpha differs: {a:?} vs {b:?}");
            }
        }
        // (14, 24) is inside the disc in frame 0 and outside it in frame 2.
        assert_eq!(decoded[0].get_pixel(14, 24)[3], 255);
        assert_eq!(decoded[2].get_pixel(14, 24)[3], 0);
    }

    #[test]
    fn loop_and_delay_options() {
        let frames = vec![disc(16, 8.0, 255), disc(16, 9.0, 255)];
        let opts = GifOptions {
            delay_ms: 250,
            repeat: Loop::Times(3),
            ..GifOptions::default()
        };
        let gif = encode_gif(&frames, &opts).unwrap();
        let reader = gif::DecodeOptions::new()
            .read_info(std::io::Cursor::new(&gif))
            .unwrap();
        let mut reader = reader;
        let first = reader.read_next_frame().unwrap().unwrap().delay;
        assert_eq!(first, 25);
        assert_eq!(reader.repeat(), Repeat::Finite(2));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(encode_gif(&[], &GifOptions::default()).is_err());
        let frames = vec![disc(16, 8.0, 255), disc(20, 8.0, 255)];
        assert!(encode_gif(&frames, &GifOptions::default()).is_err());
    }
}
