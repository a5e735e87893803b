//! One source as it streams through a unit: decoded once, its own
//! outputs (optimized copy, thumbnail) written, and resized to its GIF
//! frame and sprite cell before its full-size pixels are dropped.

use super::{FrameDone, Notes, Targets, Worker, png_ssim};
use crate::error::{Error, Result};
use crate::outputs::assetmap::{OutputFile, Role};
use crate::pipeline::keys::{Owner, Planned};
use crate::pipeline::timers::Stage;
use crate::pipeline::units::Unit;
use crate::stages::decode::Loaded;
use crate::stages::optimize;
use crate::stages::{resize, sprite, still};
use image::{DynamicImage, ImageFormat, RgbaImage};
use std::borrow::Cow;

impl Worker<'_> {
    /// Streams one source: decodes it, derives the small images the
    /// animation needs (drawing its sprite cell into the sheet), drops the
    /// full-size RGBA, then writes its own stale outputs.
    pub(super) fn frame(
        &self,
        unit: &Unit,
        s: usize,
        planned: &[Planned],
        targets: Option<&Targets<'_>>,
        notes: &Notes,
    ) -> FrameDone {
        let own: Vec<&Planned> = if self.owns(unit, s) {
            planned
                .iter()
                .filter(|p| p.owner == Owner::Source(s))
                .collect()
        } else {
            Vec::new()
        };
        let is_video = |p: &Planned| matches!(p.role, Role::Webm | Role::Mp4);
        let stale_videos: Vec<&Planned> = own
            .iter()
            .copied()
            .filter(|p| is_video(p) && p.stale.is_some())
            .collect();
        // An existing GIF's videos are fed by the pass that decodes it.
        let mut clips = self.gif_clips(&stale_videos);
        let mut push = |frame: &RgbaImage, ms: u32| clips.push(frame, ms);
        let loaded = match self.load(s, &mut push) {
            Ok(loaded) => loaded,
            Err(e) => {
                return FrameDone {
                    info: Err(e),
                    made: Vec::new(),
                    gif: None,
                };
            }
        };
        let info = loaded.info;
        let source = &self.plan.sources[s];
        let thumb_stale = own
            .iter()
            .any(|p| p.role == Role::Thumb && p.stale.is_some());
        // Frames of another size make no animation outputs (validation
        // reports them), so they need no GIF frame or cell.
        let targets = targets.filter(|t| t.sizes.frame == (info.width, info.height));
        let want_gif = targets.is_some_and(|t| t.clip_frames);
        let want_small = thumb_stale || targets.is_some_and(|t| t.cells);
        let stills_stale = own
            .iter()
            .any(|p| p.role == Role::Still && p.stale.is_some());
        let frame_work = source.is_frame() && (want_gif || want_small);
        // RGBA sources are used as they are; others get one RGBA copy,
        // kept for the still variants if any are stale, else dropped
        // before the source's own outputs are made.
        let rgba: Option<Cow<'_, RgbaImage>> =
            (frame_work || stills_stale).then(|| match &loaded.pixels {
                DynamicImage::ImageRgba8(image) => Cow::Borrowed(image),
                other => Cow::Owned(other.to_rgba8()),
            });
        let (gif, small) = match &rgba {
            Some(rgba) if frame_work => {
                let gif = targets.filter(|t| t.clip_frames).map(|t| {
                    self.timers.time(Stage::Resize, || {
                        resize::resize(rgba, t.sizes.gif.0, t.sizes.gif.1)
                    })
                });
                // The thumbnail and the sprite cell are the same image: the
                // frame fitted to `thumbs.width`.
                let small = want_small.then(|| {
                    self.timers.time(Stage::Resize, || {
                        resize::to_width(rgba, self.config.thumbs.width)
                    })
                });
                (gif, small)
            }
            _ => (None, None),
        };
        let full = if stills_stale {
            rgba
        } else {
            drop(rgba);
            None
        };
        if let (Some(t), Some(small)) = (targets, &small)
            && let (Some(sheet), Some(layout)) = (&t.sheet, &t.sizes.layout)
        {
            let cells: Vec<usize> = (0..t.frames.len()).filter(|&i| t.frames[i] == s).collect();
            self.timers.time(Stage::Sprite, || {
                let mut sheet = sheet.lock().unwrap_or_else(|e| e.into_inner());
                sprite::place(&mut sheet, small, layout, &cells);
            });
        }
        let mut made: Vec<(Planned, Result<OutputFile>, bool)> = own
            .iter()
            .filter(|p| !(is_video(p) && p.stale.is_some()))
            .map(|p| match p.stale {
                Some(_) => (
                    (*p).clone(),
                    self.source_output(p, s, &loaded, small.as_ref(), full.as_deref()),
                    true,
                ),
                None => ((*p).clone(), Ok(self.reuse(p)), false),
            })
            .collect();
        if !stale_videos.is_empty() {
            let files = self.gif_videos(s, &loaded, &stale_videos, clips, notes);
            made.extend(
                stale_videos
                    .into_iter()
                    .zip(files)
                    .map(|(p, file)| (p.clone(), file, true)),
            );
        }
        FrameDone {
            info: Ok(info),
            made,
            gif,
        }
    }

    /// The optimized copy or the thumbnail of a source.
    pub(super) fn source_output(
        &self,
        planned: &Planned,
        s: usize,
        loaded: &Loaded,
        small: Option<&RgbaImage>,
        full: Option<&RgbaImage>,
    ) -> Result<OutputFile> {
        let source = &self.plan.sources[s];
        let encode_err = |m: String| Error::Encode {
            path: source.path.clone(),
            message: m,
        };
        let info = loaded.info;
        match planned.role {
            Role::Still => self.still(planned, full).map_err(|m| Error::Encode {
                path: source.path.clone(),
                message: format!("{} not made: {m}", planned.path),
            }),
            Role::Thumb => {
                let small = small.ok_or_else(|| encode_err("not a gallery frame".into()))?;
                let bytes = self
                    .timers
                    .time(Stage::Optimize, || optimize::encode_rgba(small, &self.png))
                    .map_err(encode_err)?;
                let mut file = self.write(planned, &bytes, Some(small.dimensions()))?;
                file.ssim = self.timers.time(Stage::Measure, || png_ssim(&bytes, small));
                Ok(file)
            }
            _ if info.format == ImageFormat::Png => {
                let bytes = self
                    .timers
                    .time(Stage::Optimize, || {
                        optimize::optimize_png(&loaded.bytes, &loaded.pixels, &self.png)
                    })
                    .map_err(encode_err)?;
                self.write(planned, &bytes, Some((info.width, info.height)))
            }
            _ => self.write(planned, &loaded.bytes, Some((info.width, info.height))),
        }
    }

    /// A still variant: `full` (the source as RGBA) at the variant's
    /// width (never upscaled), encoded with the variant's codec at
    /// `stills.quality`.
    fn still(
        &self,
        planned: &Planned,
        full: Option<&RgbaImage>,
    ) -> std::result::Result<OutputFile, String> {
        let variant = planned
            .variant
            .ok_or("a still variant without its format and width")?;
        let rgba = full.ok_or("no RGBA pixels for a still variant")?;
        let sized: Cow<'_, RgbaImage> = match variant.width {
            Some(w) if w < rgba.width() => Cow::Owned(
                self.timers
                    .time(Stage::Resize, || resize::to_width(rgba, w)),
            ),
            _ => Cow::Borrowed(rgba),
        };
        let settings = still::Settings {
            quality: self.config.stills.quality,
            avif: self.config.stills.avif,
            png: &self.png,
        };
        let made = self.timers.time(Stage::Still, || {
            still::encode(&sized, variant.codec, settings)
        })?;
        let mut file = self
            .write(planned, &made.bytes, Some(sized.dimensions()))
            .map_err(|e| e.detail())?;
        file.format = Some(variant.codec.name().to_owned());
        file.ssim = Some(crate::outputs::assetmap::ssim_figure(made.ssim));
        Ok(file)
    }
}
