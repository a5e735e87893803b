//! An animation's own outputs, from the frames its unit streamed: the GIF
//! (measured against its frames), the sprite sheet and its atlases.

use super::{Notes, Targets, Worker, encode_owned};
use crate::error::{Error, Result};
use crate::outputs::assetmap::{self, OutputFile, Role};
use crate::pipeline::budgets::{self};
use crate::pipeline::keys::Planned;
use crate::pipeline::timers::Stage;
use crate::plan::timing::Timing;
use crate::stages::atlas;
use crate::stages::decode::{self};
use crate::stages::{animate, sprite, ssim};
use image::RgbaImage;
use rayon::prelude::*;
use std::collections::BTreeMap;

impl Worker<'_> {
    /// The GIF, sprite sheet and atlas of an animation, from the GIF-size
    /// frames and the sheet the frames left.
    pub(super) fn animation_outputs(
        &self,
        a: usize,
        planned: &[&Planned],
        targets: Targets<'_>,
        mut gif_frames: BTreeMap<usize, RgbaImage>,
        notes: &Notes,
    ) -> Vec<(Planned, Result<OutputFile>, bool)> {
        let animation = &self.plan.animations[a];
        let Targets {
            sizes,
            frames,
            sheet,
            ..
        } = targets;
        let mut sheet = sheet.map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()));
        let timing = animation.timing(&self.config.gif);
        // The GIF and the videos, from the same GIF-size frames in gallery
        // order (a frame listed twice is copied), encoded side by side;
        // beside them the sprite sheet and its atlases, so a sheet is not
        // kept waiting for the slow video encoders (the budget counts the
        // sheet's encoding with the clips').
        let clip_roles = [Role::Gif, Role::Webm, Role::Mp4];
        let clips: Vec<&Planned> = planned
            .iter()
            .copied()
            .filter(|p| clip_roles.contains(&p.role))
            .collect();
        let make_clips = || {
            let mut made = Vec::new();
            if clips.is_empty() {
                return made;
            }
            let list: Vec<RgbaImage> = frames
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    if frames[i + 1..].contains(s) {
                        gif_frames.get(s).cloned()
                    } else {
                        gif_frames.remove(s)
                    }
                })
                .collect();
            let files: Vec<Result<OutputFile>> = clips
                .par_iter()
                .map(|p| match p.role {
                    Role::Gif => self.gif(p, &list, sizes.gif, &timing, notes),
                    _ => self.video(p, &list, &timing, notes),
                })
                .collect();
            drop(list);
            for (p, file) in clips.iter().zip(files) {
                made.push(((*p).clone(), self.in_animation(a, file), true));
            }
            made
        };
        let make_sheet = || {
            let mut made = Vec::new();
            for p in planned {
                let file = match (p.role, &sizes.layout) {
                    (Role::Sprite, Some(layout)) => match sheet.take() {
                        Some(sheet) => self.sprite(p, sheet, layout),
                        None => continue,
                    },
                    (Role::SpriteMap | Role::TexturePacker, Some(layout)) => {
                        let name = crate::plan::outputs::sprite(self.config, &animation.key);
                        let image = name.rsplit('/').next().unwrap_or(&name);
                        let json = if p.role == Role::SpriteMap {
                            Ok(atlas::assetmill(image, layout, &timing))
                        } else {
                            let frames: Vec<&str> = (animation.frames.iter())
                                .map(|&s| self.plan.sources[s].key.as_str())
                                .collect();
                            let stem =
                                crate::plan::outputs::with_suffix(&animation.key, "", Some(""));
                            let stem = stem.rsplit('/').next().unwrap_or(&stem);
                            atlas::texturepacker(image, layout, &frames, stem, &timing)
                        };
                        json.map_err(|message| Error::Encode {
                            path: self.out.root().join(&p.path),
                            message,
                        })
                        .and_then(|json| self.write(p, json.as_bytes(), None))
                    }
                    _ => continue,
                };
                made.push(((*p).clone(), self.in_animation(a, file), true));
            }
            made
        };
        let (mut made, sheets) = rayon::join(make_clips, make_sheet);
        made.extend(sheets);
        made
    }

    /// An animation output's encoding error names the animation.
    pub(super) fn in_animation(&self, a: usize, file: Result<OutputFile>) -> Result<OutputFile> {
        file.map_err(|e| match e {
            Error::Encode { message, .. } => Error::Encode {
                path: self.out.root().join(&self.plan.animations[a].key),
                message,
            },
            other => other,
        })
    }

    pub(super) fn gif(
        &self,
        planned: &Planned,
        frames: &[RgbaImage],
        size: (u32, u32),
        timing: &Timing,
        notes: &Notes,
    ) -> Result<OutputFile> {
        let target = budgets::fit_target(self.config, self.plan, planned);
        let (gif, choice) = self
            .timers
            .time(Stage::Animate, || {
                match (target, budgets::knob(self.config, planned.role)) {
                    (Some(limit), Some(knob)) => {
                        let mut search = animate::GifSearch::new(frames, &self.config.gif, timing)?;
                        let (gif, choice) = budgets::search(
                            knob,
                            limit.bytes.0,
                            None,
                            |quality| search.encode(quality),
                            |gif| gif.len() as u64,
                        )?;
                        Ok((gif, Some(choice)))
                    }
                    _ => animate::encode_timed(frames, &self.config.gif, timing)
                        .map(|gif| (gif, None)),
                }
            })
            .map_err(|message| Error::Encode {
                path: self.out.root().join(&planned.path),
                message,
            })?;
        let mut file = self.write(planned, &gif, Some(size))?;
        self.fit_notes(planned, choice, &file, notes);
        file.frames = Some(timing.sequence.len() as u32);
        file.duration_ms = Some(timing.duration_ms());
        file.ssim = self.timers.time(Stage::Measure, || {
            self.gif_ssim(planned, &gif, frames, timing)
        });
        Ok(file)
    }

    /// The mean SSIM of a written GIF's frames, decoded and composited as
    /// browsers show them, against the frames it was made from (over mid
    /// grey, see [`crate::ssim`]). `None` if the GIF does not decode to
    /// as many frames of the same size.
    pub(super) fn gif_ssim(
        &self,
        planned: &Planned,
        gif: &[u8],
        frames: &[RgbaImage],
        timing: &Timing,
    ) -> Option<f64> {
        let path = self.out.root().join(&planned.path);
        let (mut sum, mut count, mut matched) = (0.0, 0usize, true);
        let sequence = &timing.sequence;
        decode::gif_frames(&path, gif, &self.config.limits, |shown, _| {
            match sequence.get(count).and_then(|&i| frames.get(i)) {
                Some(source) if source.dimensions() == shown.dimensions() => {
                    sum += ssim::mean_ssim(shown, source);
                }
                _ => matched = false,
            }
            count += 1;
        })
        .ok()?;
        (matched && count == sequence.len() && count > 0)
            .then(|| assetmap::ssim_figure(sum / count as f64))
    }

    pub(super) fn sprite(
        &self,
        planned: &Planned,
        sheet: RgbaImage,
        layout: &sprite::Layout,
    ) -> Result<OutputFile> {
        let png = self
            .timers
            .time(Stage::Sprite, || encode_owned(sheet, &self.png))
            .map_err(|message| Error::Encode {
                path: self.out.root().join(&planned.path),
                message,
            })?;
        let mut file = self.write(planned, &png, Some((layout.width, layout.height)))?;
        file.cells = Some(layout.frames.clone());
        Ok(file)
    }
}
