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

use crate::config::{GifOptions, Loop, values};
use crate::plan::timing::Timing;
use gif::{DisposalMethod, Encoder, Frame, Repeat};
use quantette::color_space::{oklab_to_srgb8, srgb8_to_oklab};
use quantette::deps::palette::{Oklab, Srgb};
use quantette::dither::FloydSteinberg;
use quantette::kmeans::{Kmeans, KmeansOptions};
use quantette::wu::{BinnerF32x3, WuF32x3};
use quantette::{ImageBuf, PaletteBuf, Pipeline, QuantizeMethod};
use rayon::prelude::*;
use std::borrow::Cow;

/// Bumped whenever the same frames and options give different GIF bytes;
/// part of the GIF cache key, so caches from older encoders are remade.
/// 2: palette size judged on frames through the whole animation, from
/// nine sizes; shown colours kept where at least as close.
pub const ENCODER_REVISION: u32 = 2;

/// Most sampled pixels the palette is fitted to; more adds time, not quality.
const PALETTE_SAMPLES: usize = 1 << 20;
/// Most k-means refinement steps (one sample each).
const KMEANS_SAMPLES: u32 = 1 << 18;

/// Encodes frames (already at the output size) as an animated GIF, each
/// shown once in order for `gif.delay_ms`, looping as `gif.loop` says.
/// The same frames and options always give the same bytes.
pub fn encode_gif(frames: &[image::RgbaImage], opts: &GifOptions) -> Result<Vec<u8>, String> {
    encode_timed(frames, opts, &Timing::uniform(frames.len(), opts))
}

/// Encodes frames (already at the output size, in gallery order) as an
/// animated GIF played as `timing` says: its sequence, delays and loop
/// (the options' own delay and loop are not used).
pub fn encode_timed(
    frames: &[image::RgbaImage],
    opts: &GifOptions,
    timing: &Timing,
) -> Result<Vec<u8>, String> {
    check_frames(frames)?;
    // The palette search's samples are dropped before the frames are mapped.
    let palette = Palettes::new(frames, opts)?.choose(opts.quality)?;
    encode_with(frames, opts, timing, &palette)
}

/// One animation encoded at several `gif.quality` settings, as a search
/// for the best quality that fits a size budget does: the palettes it
/// tries are fitted and judged once, and a quality that picks the palette
/// of one of the last two encodings costs nothing. Each GIF has the bytes
/// [`encode_gif`] gives at that quality.
pub struct GifSearch<'f> {
    frames: &'f [image::RgbaImage],
    opts: &'f GifOptions,
    timing: &'f Timing,
    palettes: Palettes<'f>,
    /// The last two GIFs made, by palette index (at most two, so a search
    /// holds little more than the GIFs it compares).
    recent: Vec<(usize, Vec<u8>)>,
}

impl<'f> GifSearch<'f> {
    /// Samples the frames for palettes; `opts.quality` is not used.
    pub fn new(
        frames: &'f [image::RgbaImage],
        opts: &'f GifOptions,
        timing: &'f Timing,
    ) -> Result<Self, String> {
        check_frames(frames)?;
        Ok(GifSearch {
            frames,
            opts,
            timing,
            palettes: Palettes::new(frames, opts)?,
            recent: Vec::new(),
        })
    }

    /// The GIF at `quality` (1–100).
    pub fn encode(&mut self, quality: u8) -> Result<Vec<u8>, String> {
        let index = self.palettes.index(quality)?;
        if let Some((_, gif)) = self.recent.iter().find(|(i, _)| *i == index) {
            return Ok(gif.clone());
        }
        let palette = self.palettes.palette(index)?.clone();
        let gif = encode_with(self.frames, self.opts, self.timing, &palette)?;
        if self.recent.len() == 2 {
            self.recent.remove(0);
        }
        self.recent.push((index, gif.clone()));
        Ok(gif)
    }
}

/// Refuses what no GIF can hold: no frames, frames of different sizes,
/// sides over 65535.
fn check_frames(frames: &[image::RgbaImage]) -> Result<(), String> {
    let first = frames
        .first()
        .ok_or("an animation needs at least one frame")?;
    let (width, height) = first.dimensions();
    if frames.iter().any(|f| f.dimensions() != (width, height)) {
        return Err("frames differ in size".into());
    }
    if width > u32::from(u16::MAX) || height > u32::from(u16::MAX) {
        return Err(format!(
            "{width}x{height} is larger than GIF allows (65535)"
        ));
    }
    Ok(())
}

/// Maps the frames (checked by [`check_frames`]) to `palette`, each once
/// however often `timing` shows it, and writes the GIF.
fn encode_with(
    frames: &[image::RgbaImage],
    opts: &GifOptions,
    timing: &Timing,
    palette: &PaletteBuf<Oklab>,
) -> Result<Vec<u8>, String> {
    check_frames(frames)?;
    if timing.sequence.iter().any(|&i| i >= frames.len())
        || timing.delays_cs.len() != timing.sequence.len()
    {
        return Err(format!(
            "the timing shows {} frames of {}, out of step with the animation",
            timing.sequence.len(),
            frames.len()
        ));
    }
    let (width, height) = frames[0].dimensions();
    let (w16, h16) = (width as u16, height as u16);
    let threshold = opts.alpha_threshold;
    let transparent_source = frames.iter().any(|f| f.pixels().any(|p| p[3] < threshold));
    let ditherer = ditherer(opts);
    let mapped: Vec<(Vec<Srgb<u8>>, Vec<u8>)> = frames
        .par_iter()
        .map(|frame| map_frame(frame, palette, ditherer, threshold))
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
        match timing.repeat {
            Loop::Forever => encoder.set_repeat(Repeat::Infinite),
            Loop::Times(1) => Ok(()),
            Loop::Times(n) => encoder.set_repeat(Repeat::Finite(n - 1)),
        }
        .map_err(|e| e.to_string())?;
        let mut canvas: Option<Vec<u8>> = None;
        // In the order shown: a frame shown twice (ping-pong) is mapped once.
        let shown: Vec<&image::RgbaImage> = timing.sequence.iter().map(|&i| &frames[i]).collect();
        let indices = timing.sequence.iter().map(|&i| mapped[i].1.clone());
        let settled: Vec<Vec<u8>> = if transparent_source {
            indices.collect()
        } else {
            settle(&shown, colours, indices, KEEP_TOLERANCE)
        };
        for (indices, &delay) in settled.iter().zip(&timing.delays_cs) {
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

/// How much worse (Oklab distance to the source pixel) a colour already on
/// the canvas may be than the frame's own mapped colour and still be kept.
/// Measured on the objects corpus (8 x 16 frames, 480 px GIFs): 0.005 saves
/// 1.3 % of the bytes for 0.0002 of mean SSIM, 0.01 2.7 % for 0.0007, the
/// same trade as a smaller palette, so only ties and better are kept.
const KEEP_TOLERANCE: f32 = 0.0;

/// Opaque animations: where the colour already shown is about as close to
/// the source pixel as the frame's own mapped colour (within `tolerance`
/// in Oklab), the frame keeps the shown index, so the pixel is encoded as
/// unchanged (transparent) and costs next to nothing. Judged against the
/// source, never the previous frame, so errors cannot creep.
fn settle(
    frames: &[&image::RgbaImage],
    colours: &[Srgb<u8>],
    mapped: impl Iterator<Item = Vec<u8>>,
    tolerance: f32,
) -> Vec<Vec<u8>> {
    let colours = srgb8_to_oklab(colours);
    let distance = |a: Oklab, b: Oklab| {
        ((a.l - b.l).powi(2) + (a.a - b.a).powi(2) + (a.b - b.b).powi(2)).sqrt()
    };
    let mut shown: Option<Vec<u8>> = None;
    let mut out = Vec::with_capacity(frames.len());
    for (frame, mut indices) in frames.iter().zip(mapped) {
        if let Some(shown) = &mut shown {
            let pixels: Vec<Srgb<u8>> = frame
                .pixels()
                .map(|p| Srgb::new(p[0], p[1], p[2]))
                .collect();
            let source = srgb8_to_oklab(&pixels);
            for ((index, old), src) in indices.iter_mut().zip(shown.iter_mut()).zip(source) {
                if *index != *old {
                    let (new_c, old_c) = (colours[usize::from(*index)], colours[usize::from(*old)]);
                    if distance(src, old_c) <= distance(src, new_c) + tolerance {
                        *index = *old;
                    } else {
                        *old = *index;
                    }
                }
            }
        } else {
            shown = Some(indices.clone());
        }
        out.push(indices);
    }
    out
}

fn ditherer(opts: &GifOptions) -> Option<FloydSteinberg> {
    (opts.dither > 0.0)
        .then(|| FloydSteinberg::with_error_diffusion(opts.dither))
        .flatten()
}

/// The mean SSIM over the probe frames a palette must reach to be enough
/// (a quality below 1 counts as 1).
pub fn ssim_target(quality: u8) -> f64 {
    values::ssim_target(quality.max(1))
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

/// Palette sizes tried, smallest first. Steps of a quarter to a half keep
/// the chosen palette close to the smallest that reaches the target: a jump
/// from 128 to 255 colours costs about a third more bytes.
const PALETTE_SIZES: [u16; 9] = [32, 48, 64, 96, 128, 160, 192, 224, 255];
/// Most frames a palette is judged on (evenly spaced through the animation).
const PROBE_FRAMES: usize = 8;

/// The frames a palette is judged on: every frame of short animations,
/// otherwise `PROBE_FRAMES` evenly spaced ones (the middle of each stretch).
fn probe_frames(frames: &[image::RgbaImage]) -> Vec<&image::RgbaImage> {
    let stride = frames.len().div_ceil(PROBE_FRAMES).max(1);
    frames.iter().skip(stride / 2).step_by(stride).collect()
}

/// What a mapped frame shows: the palette colours, transparent where the
/// GIF is.
fn shown(srgb: &[Srgb<u8>], indices: &[u8], width: u32, height: u32) -> image::RgbaImage {
    image::RgbaImage::from_fn(width, height, |x, y| {
        match srgb.get(usize::from(indices[(y * width + x) as usize])) {
            Some(c) => image::Rgba([c.red, c.green, c.blue, 255]),
            None => image::Rgba([0, 0, 0, 0]),
        }
    })
}

/// Mean SSIM over the probe frames of a palette. Frames are scored in
/// parallel but summed in order, so the result does not depend on threads.
fn palette_score(
    probes: &[&image::RgbaImage],
    palette: &PaletteBuf<Oklab>,
    opts: &GifOptions,
) -> Result<f64, String> {
    let scores = probes
        .par_iter()
        .map(|frame| {
            let (srgb, indices) = map_frame(frame, palette, ditherer(opts), opts.alpha_threshold)?;
            let shown = shown(&srgb, &indices, frame.width(), frame.height());
            Ok(crate::stages::ssim::mean_ssim(&shown, frame))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    Ok(scores.iter().sum::<f64>() / scores.len().max(1) as f64)
}

/// The palettes an animation may get, fitted and judged only when first
/// needed and then kept, so choosing for several qualities (a budget
/// search) fits each size at most once.
///
/// The choice: palettes from `PALETTE_SIZES` (Wu's method on a histogram
/// spanning only the occupied range, refined by k-means, in Oklab) are
/// tried, the smallest first and then by binary search, for the smallest
/// whose mean SSIM over frames spread through the whole animation (not one
/// frame: a turntable's views differ in difficulty) reaches the SSIM target
/// of the quality setting. Fewer colours compress much better, so smooth
/// renders get small files and broad gradients still get every colour they
/// need.
struct Palettes<'f> {
    opts: &'f GifOptions,
    probes: Vec<&'f image::RgbaImage>,
    /// The sampled colours, in Oklab (empty when every pixel is clear).
    colours: Vec<Oklab>,
    /// Wu's palette of each size, the k-means starting points.
    starts: Vec<PaletteBuf<Oklab>>,
    kmeans_steps: u32,
    /// Each size's fitted palette and its score, once computed.
    fitted: Vec<Option<(PaletteBuf<Oklab>, Option<f64>)>>,
}

impl<'f> Palettes<'f> {
    fn new(frames: &'f [image::RgbaImage], opts: &'f GifOptions) -> Result<Self, String> {
        let total: usize = frames.iter().map(|f| f.pixels().len()).sum();
        let stride = total.div_ceil(PALETTE_SAMPLES).max(1);
        let samples: Vec<Srgb<u8>> = frames
            .iter()
            .flat_map(|f| f.pixels())
            .step_by(stride)
            .filter(|p| p[3] >= opts.alpha_threshold)
            .map(|p| Srgb::new(p[0], p[1], p[2]))
            .collect();
        let colours = srgb8_to_oklab(&samples);
        drop(samples);
        let mut palettes = Palettes {
            opts,
            probes: probe_frames(frames),
            starts: Vec::new(),
            kmeans_steps: 0,
            fitted: vec![None; PALETTE_SIZES.len()],
            colours,
        };
        if palettes.colours.is_empty() {
            return Ok(palettes);
        }
        let mut ranges = [(f32::MAX, f32::MIN); 3];
        for c in &palettes.colours {
            for (range, v) in ranges.iter_mut().zip([c.l, c.a, c.b]) {
                *range = (range.0.min(v), range.1.max(v));
            }
        }
        // A little slack keeps the maximum inside the last bin.
        let ranges = ranges.map(|(lo, hi)| (lo - 1e-4, hi + 1e-4));
        // The histogram (about 10 MB) is dropped once the nine starting
        // palettes are cut from it.
        let wu = WuF32x3::run_slice(&palettes.colours, BinnerF32x3::<64, 64, 64>::new(ranges))
            .map_err(|e| e.to_string())?;
        palettes.starts = PALETTE_SIZES
            .iter()
            .map(|&size| {
                let k = size
                    .try_into()
                    .map_err(|_| "palette size out of range".to_owned())?;
                Ok(wu.palette(k))
            })
            .collect::<Result<_, String>>()?;
        // Two passes over the samples refine small animations fully; large
        // ones stop at the cap, past which more steps change nothing visible.
        palettes.kmeans_steps =
            KMEANS_SAMPLES.min(u32::try_from(palettes.colours.len() * 2).unwrap_or(u32::MAX));
        Ok(palettes)
    }

    /// The palette of `PALETTE_SIZES[index]`, fitted on first use.
    fn palette(&mut self, index: usize) -> Result<&PaletteBuf<Oklab>, String> {
        if self.fitted[index].is_none() {
            let palette = if self.colours.is_empty() {
                let black = srgb8_to_oklab(&[Srgb::new(0, 0, 0)]);
                PaletteBuf::new(black).map_err(|e| e.to_string())?
            } else {
                let options = KmeansOptions::new()
                    .sampling_factor(f32::INFINITY)
                    .max_samples(self.kmeans_steps)
                    .seed(0);
                Kmeans::run_slice(&self.colours, self.starts[index].clone(), options)
                    .map_err(|e| e.to_string())?
                    .into_palette()
            };
            self.fitted[index] = Some((palette, None));
        }
        let (palette, _) = self.fitted[index].as_ref().expect("fitted above");
        Ok(palette)
    }

    /// Whether `PALETTE_SIZES[index]`'s palette reaches `target`.
    fn reaches(&mut self, index: usize, target: f64) -> Result<bool, String> {
        self.palette(index)?;
        let score = match &self.fitted[index] {
            Some((_, Some(score))) => *score,
            Some((palette, None)) => {
                let score = palette_score(&self.probes, palette, self.opts)?;
                if let Some((_, slot)) = &mut self.fitted[index] {
                    *slot = Some(score);
                }
                score
            }
            None => return Err("palette not fitted".into()),
        };
        Ok(score >= target)
    }

    /// The index in `PALETTE_SIZES` of the palette `quality` gets: the
    /// smallest that is good enough (see the type's doc).
    fn index(&mut self, quality: u8) -> Result<usize, String> {
        if self.colours.is_empty() {
            return Ok(0);
        }
        let target = ssim_target(quality);
        // Smooth renders are common and need one fit: try the smallest first.
        if self.reaches(0, target)? {
            return Ok(0);
        }
        // Invariant: the answer is in sizes[lo..=hi]; the largest is used
        // when none reaches the target.
        let (mut lo, mut hi) = (1, PALETTE_SIZES.len() - 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.reaches(mid, target)? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(hi)
    }

    /// The palette `quality` gets, taking it out of the search.
    fn choose(mut self, quality: u8) -> Result<PaletteBuf<Oklab>, String> {
        let index = self.index(quality)?;
        self.palette(index)?;
        match self.fitted.swap_remove(index) {
            Some((palette, _)) => Ok(palette),
            None => Err("palette not fitted".into()),
        }
    }
}

/// The smallest rectangle holding every pixel for which `keep` is true.
fn bounds(len: usize, width: u32, keep: impl Fn(usize) -> bool) -> Option<(u32, u32, u32, u32)> {
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for i in (0..len).filter(|&i| keep(i)) {
        let (x, y) = ((i as u32) % width, (i as u32) / width);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    // Lazily: with nothing kept, `x1 - x0` would underflow.
    (x0 != u32::MAX).then(|| (x0, y0, x1 - x0 + 1, y1 - y0 + 1))
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
    fn bounds_of_nothing_is_none() {
        assert_eq!(bounds(6, 3, |_| false), None);
        assert_eq!(bounds(6, 3, |i| i == 4), Some((1, 1, 1, 1)));
        assert_eq!(bounds(6, 3, |i| i == 0 || i == 5), Some((0, 0, 3, 2)));
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
                crate::stages::ssim::mean_abs_error(d, s) < 3.0,
                "mean error {}",
                crate::stages::ssim::mean_abs_error(d, s)
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

    fn specular_turntable(alpha: bool) -> Vec<RgbaImage> {
        use crate::synth::render::{RenderParams, SceneKind, render_frame};
        let params = RenderParams {
            width: 160,
            height: 160,
            alpha,
            seed: 11,
            scene: SceneKind::Objects,
        };
        (0..8).map(|i| render_frame(&params, i, 8)).collect()
    }

    fn mean_ssim_over_frames(gif: &[u8], frames: &[RgbaImage]) -> f64 {
        let decoded = decode(gif);
        assert_eq!(decoded.len(), frames.len());
        decoded
            .iter()
            .zip(frames)
            .map(|(d, s)| crate::stages::ssim::mean_ssim(d, s))
            .sum::<f64>()
            / frames.len() as f64
    }

    #[test]
    fn specular_turntables_reach_the_target_over_all_frames() {
        for alpha in [false, true] {
            let frames = specular_turntable(alpha);
            let opts = GifOptions::default();
            let gif = encode_gif(&frames, &opts).unwrap();
            let ssim = mean_ssim_over_frames(&gif, &frames);
            assert!(
                ssim >= ssim_target(opts.quality),
                "alpha {alpha}: mean SSIM {ssim:.5}"
            );
            // And not by taking every colour when fewer are enough.
            let fewer = GifOptions {
                quality: 50,
                ..GifOptions::default()
            };
            let small = encode_gif(&frames, &fewer).unwrap();
            assert!(palette_len(&small) < palette_len(&gif), "alpha {alpha}");
            assert!(small.len() < gif.len(), "alpha {alpha}");
        }
    }

    #[test]
    fn a_search_gives_the_bytes_encode_gif_gives_at_each_quality() {
        let frames = specular_turntable(false);
        let configured = GifOptions::default();
        let timing = Timing::uniform(frames.len(), &configured);
        let mut search = GifSearch::new(&frames, &configured, &timing).unwrap();
        for quality in [90, 1, 45, 90, 60, 1] {
            let opts = GifOptions {
                quality,
                ..GifOptions::default()
            };
            let want = encode_gif(&frames, &opts).unwrap();
            assert_eq!(search.encode(quality).unwrap(), want, "quality {quality}");
        }
        let none = Timing::uniform(0, &configured);
        assert!(GifSearch::new(&[], &configured, &none).is_err());
    }

    #[test]
    fn probes_spread_through_the_animation() {
        let frames: Vec<_> = (0..16).map(|i| disc(8, i as f32 / 4.0, 255)).collect();
        let probes = probe_frames(&frames);
        assert_eq!(probes.len(), 8);
        assert!(std::ptr::eq(probes[0], &frames[1]));
        assert!(std::ptr::eq(probes[7], &frames[15]));
        assert_eq!(probe_frames(&frames[..3]).len(), 3);
    }

    #[test]
    fn same_bytes_whatever_the_thread_count() {
        let frames = specular_turntable(false);
        let encode = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| encode_gif(&frames, &GifOptions::default()).unwrap())
        };
        assert_eq!(encode(1), encode(2));
    }

    #[test]
    fn a_shown_colour_at_least_as_close_is_kept() {
        // Palette: 0 = grey 100, 1 = grey 110. Frame 1 was mapped to 110
        // though its source, 103, is closer to the 100 already shown: keep
        // it. Frame 2's 109 is closer to 110: change.
        let grey = |v| image::Rgba([v, v, v, 255]);
        let frames: Vec<RgbaImage> = [100u8, 103, 109]
            .iter()
            .map(|&v| RgbaImage::from_pixel(1, 1, grey(v)))
            .collect();
        let colours = vec![Srgb::new(100, 100, 100), Srgb::new(110, 110, 110)];
        let mapped = vec![vec![0], vec![1], vec![1]];
        let shown: Vec<&RgbaImage> = frames.iter().collect();
        let settled = settle(&shown, &colours, mapped.into_iter(), 0.0);
        assert_eq!(settled[1], vec![0]);
        assert_eq!(settled[2], vec![1]);
    }

    #[test]
    fn timing_sets_each_frames_delay_the_order_and_the_loop() {
        use crate::plan::timing::Written;
        let frames: Vec<_> = (0..4).map(|i| disc(16, 4.0 + i as f32, 255)).collect();
        let opts = GifOptions::default();
        let written = Written {
            delay_ms: Some(80),
            repeat: Some(Loop::Times(2)),
            pingpong: Some(true),
            holds: vec![None, None, Some(600), None],
        };
        let timing = Timing::resolve(&written, frames.len(), &opts);
        let gif = encode_timed(&frames, &opts, &timing).unwrap();
        let mut reader = gif::DecodeOptions::new()
            .read_info(std::io::Cursor::new(&gif))
            .unwrap();
        let mut delays = Vec::new();
        while let Some(frame) = reader.read_next_frame().unwrap() {
            delays.push(frame.delay);
        }
        // 0 1 2 3 2 1: frame 2 held for 600 ms both ways.
        assert_eq!(delays, [8, 8, 60, 8, 60, 8]);
        assert_eq!(reader.repeat(), Repeat::Finite(1));
        // The way back shows the same pictures as the way there.
        let decoded = decode(&gif);
        assert_eq!(decoded.len(), 6);
        assert_eq!(decoded[4], decoded[2]);
        assert_eq!(decoded[5], decoded[1]);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(encode_gif(&[], &GifOptions::default()).is_err());
        let frames = vec![disc(16, 8.0, 255), disc(20, 8.0, 255)];
        assert!(encode_gif(&frames, &GifOptions::default()).is_err());
    }
}
