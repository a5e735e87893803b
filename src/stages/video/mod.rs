//! Videos beside every animated GIF: the WebM (AV1, [`av1`] + [`webm`]) and
//! the MP4 (H.264, [`h264`] + [`mp4`]) that the site's `<video>` element
//! plays, from the same frames and delays as the GIF.
//!
//! Frames arrive as RGBA at the GIF's size; [`yuv`] flattens them on the
//! background, crops to even dimensions and converts them to 4:2:0 Y'CbCr
//! with one matrix and range ([`yuv::COLOUR`]), which both bitstreams and
//! both containers are tagged with. Each frame keeps its own duration in
//! milliseconds, the last one included, so a video lasts exactly as long as
//! one loop of its GIF.
//!
//! Quality: each encoder also hands back the pictures a decoder shows
//! (rav1e's reconstruction, which equals any AV1 decoder's output since
//! AV1 decoding is exactly specified; OpenH264's decoder on the H.264
//! stream just written). [`Clip`] converts each back to RGB and measures
//! its SSIM against the source frame flattened on the same background,
//! all frames, and [`Video::ssim`] is the mean.

pub mod av1;
pub mod encoder;
pub mod h264;
pub mod mp4;
pub mod webm;
pub mod yuv;

use crate::config::VideoOptions;
pub use crate::config::{Av1Options, Format, H264Options};
use crate::stages::ssim::{self, Luma};
pub use encoder::VideoEncoder;
use image::{RgbImage, RgbaImage};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
pub use yuv::Picture;

/// The encoder crates whose versions shape the bytes, part of every video's
/// cache key (a test checks them against `Cargo.lock`).
pub const ENCODERS: [(&str, &str); 2] = [("rav1e", "0.8.1"), ("openh264", "0.9.9")];

/// Starts the encoder for `format` at `width` x `height` (even).
pub fn encoder(
    format: Format,
    width: u32,
    height: u32,
    options: &VideoOptions,
) -> Result<Box<dyn VideoEncoder>, String> {
    Ok(match format {
        Format::Webm => Box::new(av1::WebmEncoder::new(width, height, options.av1)?),
        Format::Mp4 => Box::new(h264::Mp4Encoder::new(width, height, options.h264)?),
    })
}

/// The most bytes the [`Clip`] of `format` holds while it makes a video of
/// `frames` frames of `width` x `height`: encoder, decoder, the pictures
/// and references waiting to be measured, and the muxed file. An upper
/// bound fitted to the growth of peak RSS measured from 240x180 to
/// 1920x1080 and 1 to 256 frames (rav1e at speed 4, 7 and 9):
///
/// - WebM: 1.9 MB + 11 B/px, then 0.51 MB + 15.8 B/px for each frame
///   rav1e holds ([`av1::frames_held`]), and about 27 KB for every frame;
/// - MP4: 7.3 MB + 47.4 B/px (OpenH264's encoder and decoder keep a few
///   frames whatever the clip's length), and the same per frame.
///
/// Each figure is rounded up here, by 5 to 10 %.
pub fn clip_bytes(
    format: Format,
    (width, height): (u32, u32),
    frames: u64,
    options: &VideoOptions,
) -> u64 {
    const MIB: u64 = 1 << 20;
    let pixels = u64::from(width) * u64::from(height);
    let per_frame = frames.saturating_mul(32 << 10);
    let (fixed, per_pixel, held) = match format {
        Format::Webm => {
            let held = frames
                .min(av1::frames_held(options.av1))
                .saturating_mul(pixels.saturating_mul(17).saturating_add(MIB / 2));
            (2 * MIB, 12, held)
        }
        Format::Mp4 => (8 * MIB, 52, 0),
    };
    pixels
        .saturating_mul(per_pixel)
        .saturating_add(fixed)
        .saturating_add(held)
        .saturating_add(per_frame)
}

/// The smallest side either encoder accepts.
pub const MIN_SIDE: u32 = 16;

/// A video being made from RGBA frames (at least [`MIN_SIDE`] a side, the
/// same for all), each with its duration in milliseconds.
pub struct Clip<'a> {
    format: Format,
    options: &'a VideoOptions,
    encoder: Option<Box<dyn VideoEncoder>>,
    /// The frames' size, and the video's (rounded down to even).
    sizes: Option<((u32, u32), (u32, u32))>,
    frames: u32,
    duration_ms: u64,
    /// The flattened source frames whose decoded picture has not come back
    /// yet (rav1e holds frames for its lookahead), oldest first.
    references: VecDeque<RgbImage>,
    /// Sum of the SSIMs measured so far, and `None` once a picture could
    /// not be measured.
    ssim_sum: Option<f64>,
    measure_time: Duration,
}

/// A finished video.
#[derive(Debug, Clone, PartialEq)]
pub struct Video {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub duration_ms: u64,
    /// The mean SSIM of every decoded frame against its source frame
    /// flattened on the background (luma, see [`crate::ssim`]); `None` if
    /// the encoder did not hand back every picture.
    pub ssim: Option<f64>,
    /// Time spent measuring (converting and comparing, not decoding).
    pub measure_time: Duration,
}

impl<'a> Clip<'a> {
    pub fn new(format: Format, options: &'a VideoOptions) -> Self {
        Clip {
            format,
            options,
            encoder: None,
            sizes: None,
            frames: 0,
            duration_ms: 0,
            references: VecDeque::new(),
            ssim_sum: Some(0.0),
            measure_time: Duration::ZERO,
        }
    }

    /// Adds a frame shown for `duration_ms` (at least 1).
    pub fn push(&mut self, rgba: &RgbaImage, duration_ms: u32) -> Result<(), String> {
        let size = rgba.dimensions();
        match self.sizes {
            Some((first, _)) if first != size => {
                return Err(format!(
                    "frame {} is {}x{}, the first is {}x{}",
                    self.frames + 1,
                    size.0,
                    size.1,
                    first.0,
                    first.1
                ));
            }
            _ => {}
        }
        let picture = yuv::from_rgba(rgba, self.options.background.0)
            .filter(|p| p.width.min(p.height) >= MIN_SIDE)
            .ok_or_else(|| {
                format!(
                    "a {}x{} frame is too small for a video (both encoders need at least \
                     {MIN_SIDE}x{MIN_SIDE}); use larger frames, or `video.formats: []` to \
                     make no videos",
                    size.0, size.1
                )
            })?;
        let encoder = match &mut self.encoder {
            Some(e) => e,
            None => {
                let e = encoder(self.format, picture.width, picture.height, self.options)?;
                self.sizes = Some((size, (picture.width, picture.height)));
                self.encoder.insert(e)
            }
        };
        encoder.push(&picture, duration_ms.max(1))?;
        if self.ssim_sum.is_some() {
            let start = Instant::now();
            let reference = yuv::flatten(rgba, self.options.background.0)
                .ok_or("no reference frame for a picture that has one")?;
            self.references.push_back(reference);
            self.measure_time += start.elapsed();
        }
        self.frames += 1;
        self.duration_ms += u64::from(duration_ms.max(1));
        self.measure();
        Ok(())
    }

    /// Measures the pictures the encoder has handed back against their
    /// references.
    fn measure(&mut self) {
        let Some(encoder) = &mut self.encoder else {
            return;
        };
        let start = Instant::now();
        for shown in encoder.take_shown() {
            let (Some(sum), Some(picture), Some(reference)) =
                (self.ssim_sum, shown, self.references.pop_front())
            else {
                self.ssim_sum = None;
                self.references.clear();
                continue;
            };
            let decoded = Luma::of_rgb(&yuv::to_rgb(&picture));
            self.ssim_sum = Some(sum + ssim::ssim(&decoded, &Luma::of_rgb(&reference)));
        }
        self.measure_time += start.elapsed();
    }

    pub fn finish(mut self) -> Result<Video, String> {
        let (Some((_, (width, height))), Some(encoder)) = (self.sizes, self.encoder.as_mut())
        else {
            return Err("no frames to encode".into());
        };
        encoder.flush()?;
        self.measure();
        // Every frame pushed must have come back, and been measured.
        let ssim = self
            .ssim_sum
            .filter(|_| self.references.is_empty() && self.frames > 0)
            .map(|sum| sum / f64::from(self.frames));
        let encoder = self.encoder.take().expect("checked above");
        Ok(Video {
            bytes: encoder.finish()?,
            width,
            height,
            frames: self.frames,
            duration_ms: self.duration_ms,
            ssim,
            measure_time: self.measure_time,
        })
    }
}

/// Encodes a whole clip at once.
pub fn encode_clip<'a>(
    format: Format,
    frames: impl IntoIterator<Item = (&'a RgbaImage, u32)>,
    options: &VideoOptions,
) -> Result<Video, String> {
    let mut clip = Clip::new(format, options);
    for (rgba, duration_ms) in frames {
        clip.push(rgba, duration_ms)?;
    }
    clip.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoder_versions_in_the_cache_key_are_the_locked_ones() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("Cargo.lock");
        for (name, version) in ENCODERS {
            let entry = format!("name = \"{name}\"\nversion = \"{version}\"\n");
            assert!(
                lock.contains(&entry),
                "Cargo.lock has another {name}: update video::ENCODERS"
            );
        }
    }

    #[test]
    fn clip_memory_grows_with_held_frames_only() {
        let options = VideoOptions::default();
        let webm = |frames| clip_bytes(Format::Webm, (480, 360), frames, &options);
        // Measured: 10.1 MB for 2 frames, 55.2 MB for 16, 109.9 MB for 64.
        assert!(webm(2) > 10_100_000 && webm(2) < 20_000_000, "{}", webm(2));
        assert!(webm(16) > 55_200_000, "{}", webm(16));
        assert!(webm(64) > 109_900_000, "{}", webm(64));
        // Past what rav1e holds, only the per-frame records grow.
        assert_eq!(webm(1000) - webm(999), 32 << 10);
        let mp4 = |size, frames| clip_bytes(Format::Mp4, size, frames, &options);
        // Measured: 105.7 MB at 1920x1080, 15.7 MB at 480x360.
        assert!(mp4((1920, 1080), 2) > 105_700_000);
        assert!(mp4((480, 360), 64) > 15_700_000);
        assert_eq!(mp4((480, 360), 64) - mp4((480, 360), 32), 32 * (32 << 10));
        let slow = VideoOptions {
            av1: Av1Options {
                speed: 0,
                ..Av1Options::default()
            },
            ..VideoOptions::default()
        };
        assert!(clip_bytes(Format::Webm, (480, 360), 64, &slow) > webm(64));
        assert_eq!(
            clip_bytes(Format::Webm, (u32::MAX, u32::MAX), u64::MAX, &options),
            u64::MAX
        );
    }

    #[test]
    fn a_clip_keeps_every_duration_and_refuses_mismatched_frames() {
        let options = VideoOptions::default();
        let a = RgbaImage::from_pixel(33, 17, image::Rgba([10, 200, 30, 255]));
        let video = encode_clip(Format::Mp4, [(&a, 40), (&a, 250), (&a, 0)], &options).unwrap();
        assert_eq!((video.width, video.height, video.frames), (32, 16, 3));
        // A zero duration is shown for 1 ms rather than vanishing.
        assert_eq!(video.duration_ms, 291);
        let b = RgbaImage::new(34, 17);
        let err = encode_clip(Format::Webm, [(&a, 40), (&b, 40)], &options).unwrap_err();
        assert!(
            err.contains("frame 2 is 34x17, the first is 33x17"),
            "{err}"
        );
        for (w, h) in [(1, 40), (40, 15), (15, 15)] {
            let tiny = RgbaImage::new(w, h);
            let err = encode_clip(Format::Webm, [(&tiny, 40)], &options).unwrap_err();
            assert!(err.contains("too small for a video"), "{err}");
        }
        assert!(encode_clip(Format::Webm, [], &options).is_err());
    }
}
