//! Executing one unit: decode what has to be decoded (each source once),
//! make the outputs the cache cannot supply, reuse the rest.
//!
//! Frames stream: a few lanes (as many as the memory budget allows, see
//! [`super::budget`]) each take the next source, decode it, write its
//! optimized copy and thumbnail, resize it to its GIF frame and sprite cell
//! (drawn straight into the sheet), and drop the full-size pixels before
//! taking another. Only GIF-size frames and the sheet outlive a frame, so a
//! unit's memory depends on frame size and lane count, not frame count.
//! Results are keyed by frame, so which lane ran a frame never shows in the
//! outputs.
//!
//! Every output the unit leaves in place, made or reused, is then checked
//! against its size budget ([`super::sizes`]); GIFs and videos made under
//! `budgets.fit` are searched for the best quality that fits as they are
//! encoded.

use super::budget::{AnimationSizes, UnitBudget};
use super::keys::{Owner, Planned};
use super::sizes::{self, Choice};
use super::{Stage, Timers, Unit};
use crate::assetmap::{self, OutputFile, Role};
use crate::cache::Cache;
use crate::config::{Config, VideoOptions};
use crate::decode::{self, ImageInfo, Loaded};
use crate::diagnostics::Diagnostic;
use crate::error::{Error, Result};
use crate::optimize;
use crate::output::OutDir;
use crate::plan::Plan;
use crate::plan::timing::Timing;
use crate::progress::Progress;
use crate::stages::{atlas, video};
use crate::validate::RootGuard;
use crate::{animate, resize, sprite, ssim};
use image::{DynamicImage, ImageFormat, RgbaImage};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Notes left while outputs are made (which quality `budgets.fit` chose),
/// gathered from the unit's parallel work.
type Notes = Mutex<Vec<Diagnostic>>;

/// What one unit produced.
#[derive(Default)]
pub(super) struct UnitResult {
    /// Sources this unit decoded, with what decoding found.
    pub infos: Vec<(usize, Result<ImageInfo>)>,
    /// Outputs now in place, and whether this run wrote them.
    pub made: Vec<(Planned, OutputFile, bool)>,
    pub diagnostics: Vec<Diagnostic>,
}

pub(super) struct Worker<'a> {
    pub config: &'a Config,
    pub plan: &'a Plan,
    pub out: &'a OutDir,
    pub cache: &'a Cache,
    pub png: oxipng::Options,
    pub owner: Vec<Option<usize>>,
    pub cached_info: Vec<Option<ImageInfo>>,
    /// Each source's content hash as the build planned with it.
    pub hashes: &'a [Option<String>],
    pub guard: RootGuard,
    pub timers: Timers,
    pub decoded: AtomicUsize,
    pub progress: &'a dyn Progress,
}

/// The animation outputs a unit makes while its frames stream by.
struct Targets<'a> {
    sizes: &'a AnimationSizes,
    /// The animation's frames (source indices, gallery order).
    frames: &'a [usize],
    /// Whether GIF-size frames are kept: for the GIF or the videos.
    clip_frames: bool,
    /// The sheet being drawn, when the sprite sheet is to be made.
    sheet: Option<Mutex<RgbaImage>>,
    /// Whether cells are needed (sheet or atlas only needs the layout).
    cells: bool,
}

/// What streaming one source left behind.
struct FrameDone {
    info: Result<ImageInfo>,
    made: Vec<(Planned, Result<OutputFile>, bool)>,
    /// Its GIF-size frame, when the GIF is made and the size matched.
    gif: Option<RgbaImage>,
}

impl Worker<'_> {
    pub fn run(&self, unit: &Unit, planned: Vec<Planned>, budget: UnitBudget) -> UnitResult {
        let notes = Notes::default();
        let mut result = self.make(unit, planned, budget, &notes);
        result
            .diagnostics
            .extend(notes.into_inner().unwrap_or_else(|e| e.into_inner()));
        // Every output in place, reused ones too: a warm build fails
        // exactly as the cold one did.
        result
            .diagnostics
            .extend(result.made.iter().flat_map(|(p, file, _)| {
                sizes::check(self.config, self.plan, self.out.root(), p, file)
            }));
        result
    }

    /// Makes the unit's stale outputs and reuses the rest.
    fn make(
        &self,
        unit: &Unit,
        planned: Vec<Planned>,
        budget: UnitBudget,
        notes: &Notes,
    ) -> UnitResult {
        let mut result = UnitResult::default();
        let refused_paths: Vec<&str> = budget
            .refused
            .iter()
            .flat_map(|r| r.paths.iter().map(String::as_str))
            .collect();
        for refusal in &budget.refused {
            result
                .diagnostics
                .extend(self.refusal(unit, &refusal.error));
        }
        let refused_source = |s: usize| budget.refused_sources.iter().any(|(t, _)| *t == s);
        let to_decode: Vec<usize> =
            super::keys::decode_set(unit, self.plan, &planned, &self.owner, &self.cached_info)
                .into_iter()
                .filter(|&s| !refused_source(s))
                .collect();

        // The animation outputs to make, sized before any frame is decoded.
        let mine: Vec<&Planned> = match *unit {
            Unit::Animation(a) => planned
                .iter()
                .filter(|p| p.owner == Owner::Animation(a))
                .collect(),
            Unit::Single(_) => Vec::new(),
        };
        let making = |role: Role| {
            mine.iter()
                .any(|p| p.role == role && p.stale.is_some() && !refused_paths.contains(&&*p.path))
        };
        let targets = match (unit, &budget.animation) {
            (&Unit::Animation(a), Some(sizes)) if budget.refused_sources.is_empty() => {
                let sheet = match (&sizes.layout, making(Role::Sprite)) {
                    // The budget has sized the sheet; this only fails where
                    // the address space is smaller than the budget allows.
                    (Some(layout), true) => match sprite::blank_sheet(layout) {
                        Ok(sheet) => Some(Mutex::new(sheet)),
                        Err(e) => {
                            let error = Error::Encode {
                                path: self.out.root().join(&self.plan.animations[a].key),
                                message: e,
                            };
                            result.diagnostics.extend(self.refusal(unit, &error));
                            None
                        }
                    },
                    _ => None,
                };
                Some(Targets {
                    sizes,
                    frames: &self.plan.animations[a].frames,
                    clip_frames: making(Role::Gif) || making(Role::Webm) || making(Role::Mp4),
                    cells: sheet.is_some(),
                    sheet,
                })
            }
            _ => None,
        };

        // What the budget refused (an existing GIF's videos, say) is not
        // made; its error is reported above.
        let to_make: Vec<Planned> = planned
            .iter()
            .filter(|p| !refused_paths.contains(&p.path.as_str()))
            .cloned()
            .collect();
        // Stream the sources through a few lanes; each lane holds one
        // source at a time, so at most `lanes` full frames exist at once
        // even when a waiting thread steals another lane.
        let next = AtomicUsize::new(0);
        let lanes = budget.lanes.clamp(1, to_decode.len().max(1));
        let mut done: Vec<(usize, FrameDone)> = (0..lanes)
            .into_par_iter()
            .map(|_| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&s) = to_decode.get(i) else { break };
                    mine.push((s, self.frame(unit, s, &to_make, targets.as_ref(), notes)));
                }
                mine
            })
            .flatten()
            .collect();
        done.sort_by_key(|(s, _)| *s);

        // Outputs of the sources this unit owns: made above, refused, or
        // reused from the cache.
        let owned = |s: usize| self.owns(unit, s);
        let mut gif_frames: BTreeMap<usize, RgbaImage> = BTreeMap::new();
        let mut all_ok = true;
        let mut sizes = Vec::new();
        for (s, frame) in done {
            all_ok &= frame.info.is_ok();
            if let Ok(info) = &frame.info {
                sizes.push((info.width, info.height));
            }
            if owned(s) {
                result.infos.push((s, frame.info));
            }
            self.collect(frame.made, &mut result);
            if let Some(g) = frame.gif {
                gif_frames.insert(s, g);
            }
        }
        for (s, error) in budget.refused_sources {
            let has_stale = planned
                .iter()
                .any(|p| p.owner == Owner::Source(s) && p.stale.is_some());
            if owned(s) && (has_stale || self.cached_info[s].is_none()) {
                result.infos.push((s, Err(error)));
            }
        }
        let decoded: Vec<usize> = result.infos.iter().map(|(s, _)| *s).collect();
        for p in &planned {
            if let Owner::Source(s) = p.owner
                && !decoded.contains(&s)
                && p.stale.is_none()
            {
                result.made.push((p.clone(), self.reuse(p), false));
            }
        }

        // The animation: fresh outputs reused, stale ones finished from
        // what the frames left, refused ones already reported.
        let Unit::Animation(a) = *unit else {
            return result;
        };
        for p in mine.iter().filter(|p| p.stale.is_none()) {
            result.made.push(((*p).clone(), self.reuse(p), false));
        }
        let stale: Vec<&Planned> = mine
            .iter()
            .copied()
            .filter(|p| p.stale.is_some() && !refused_paths.contains(&&*p.path))
            .collect();
        if stale.is_empty() || !all_ok {
            // Frames that failed to load are reported by validation.
            return result;
        }
        let frames = &self.plan.animations[a].frames;
        let planned_size = targets.as_ref().map(|t| t.sizes.frame);
        if sizes.iter().any(|&d| Some(d) != planned_size)
            || targets.as_ref().is_some_and(|t| {
                t.clip_frames && !frames.iter().all(|s| gif_frames.contains_key(s))
            })
        {
            // Frames that differ from each other are validation's to
            // report; frames that agree with each other but not with the
            // header read when the build was planned changed meanwhile.
            if sizes.windows(2).all(|w| w[0] == w[1]) {
                let error = Error::Encode {
                    path: self.out.root().join(&self.plan.animations[a].key),
                    message: "its frames changed while the build ran; run it again".into(),
                };
                result.diagnostics.extend(self.refusal(unit, &error));
            }
            return result;
        }
        if let Some(targets) = targets {
            let made = self.animation_outputs(a, &stale, targets, gif_frames, notes);
            self.collect(made, &mut result);
        }
        result
    }

    fn owns(&self, unit: &Unit, s: usize) -> bool {
        match *unit {
            Unit::Single(t) => s == t,
            Unit::Animation(a) => self.owner[s] == Some(a),
        }
    }

    fn collect(&self, made: Vec<(Planned, Result<OutputFile>, bool)>, result: &mut UnitResult) {
        for (planned, file, built) in made {
            match file {
                Ok(file) => result.made.push((planned, file, built)),
                Err(e) => result.diagnostics.extend(self.users_error(&planned, &e)),
            }
        }
    }

    fn users_error(&self, planned: &Planned, e: &Error) -> Vec<Diagnostic> {
        let users = match planned.owner {
            Owner::Source(s) => &self.plan.sources[s].users,
            Owner::Animation(a) => &self.plan.animations[a].users,
        };
        users.iter().map(|u| u.error(e.detail())).collect()
    }

    fn reuse(&self, planned: &Planned) -> OutputFile {
        self.cache.outputs[&planned.path].file.clone()
    }

    /// Diagnostics for an output or unit that is not built, at every use
    /// of its owner, naming the output.
    fn refusal(&self, unit: &Unit, e: &Error) -> Vec<Diagnostic> {
        let users = match *unit {
            Unit::Single(s) => &self.plan.sources[s].users,
            Unit::Animation(a) => &self.plan.animations[a].users,
        };
        let message = format!("{}: {}", crate::names::path(e.path()), e.detail());
        users.iter().map(|u| u.error(&message)).collect()
    }

    fn load(&self, s: usize) -> Result<Loaded> {
        let source = &self.plan.sources[s];
        let loaded = self.timers.time(Stage::Decode, || {
            self.guard
                .check(source)
                .and_then(|()| decode::load(&source.path, &self.config.limits))
                .and_then(|loaded| self.as_hashed(s, loaded))
        });
        self.decoded.fetch_add(1, Ordering::Relaxed);
        self.progress.advance("frames", 1);
        loaded
    }

    /// The bytes decoded must be the bytes hashed when the build was
    /// planned: the cache records outputs under that hash, so outputs made
    /// from a file saved in between would be recorded under the old
    /// content, and reused once it came back. Such a source is an error
    /// (run the build again); nothing is made from it or cached about it.
    fn as_hashed(&self, s: usize, loaded: Loaded) -> Result<Loaded> {
        match &self.hashes[s] {
            Some(hash) if *hash == assetmap::hash(&loaded.bytes) => Ok(loaded),
            _ => Err(Error::Changed {
                path: self.plan.sources[s].path.clone(),
            }),
        }
    }

    /// Streams one source: decodes it, derives the small images the
    /// animation needs (drawing its sprite cell into the sheet), drops the
    /// full-size RGBA, then writes its own stale outputs.
    fn frame(
        &self,
        unit: &Unit,
        s: usize,
        planned: &[Planned],
        targets: Option<&Targets<'_>>,
        notes: &Notes,
    ) -> FrameDone {
        let loaded = match self.load(s) {
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
        let own: Vec<&Planned> = if self.owns(unit, s) {
            planned
                .iter()
                .filter(|p| p.owner == Owner::Source(s))
                .collect()
        } else {
            Vec::new()
        };
        let thumb_stale = own
            .iter()
            .any(|p| p.role == Role::Thumb && p.stale.is_some());
        // Frames of another size make no animation outputs (validation
        // reports them), so they need no GIF frame or cell.
        let targets = targets.filter(|t| t.sizes.frame == (info.width, info.height));
        let want_gif = targets.is_some_and(|t| t.clip_frames);
        let want_small = thumb_stale || targets.is_some_and(|t| t.cells);
        let (gif, small) = if source.is_frame() && (want_gif || want_small) {
            // RGBA sources are used as they are; others get one RGBA copy,
            // dropped at the end of this block.
            let rgba: Cow<'_, RgbaImage> = match &loaded.pixels {
                DynamicImage::ImageRgba8(image) => Cow::Borrowed(image),
                other => Cow::Owned(other.to_rgba8()),
            };
            let gif = targets.filter(|t| t.clip_frames).map(|t| {
                self.timers.time(Stage::Resize, || {
                    resize::resize(&rgba, t.sizes.gif.0, t.sizes.gif.1)
                })
            });
            // The thumbnail and the sprite cell are the same image: the
            // frame fitted to `thumbs.width`.
            let small = want_small.then(|| {
                self.timers.time(Stage::Resize, || {
                    resize::to_width(&rgba, self.config.thumbs.width)
                })
            });
            (gif, small)
        } else {
            (None, None)
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
        let is_video = |p: &Planned| matches!(p.role, Role::Webm | Role::Mp4);
        let stale_videos: Vec<&Planned> = own
            .iter()
            .copied()
            .filter(|p| is_video(p) && p.stale.is_some())
            .collect();
        let mut made: Vec<(Planned, Result<OutputFile>, bool)> = own
            .iter()
            .filter(|p| !(is_video(p) && p.stale.is_some()))
            .map(|p| match p.stale {
                Some(_) => (
                    (*p).clone(),
                    self.source_output(p, s, &loaded, small.as_ref()),
                    true,
                ),
                None => ((*p).clone(), Ok(self.reuse(p)), false),
            })
            .collect();
        if !stale_videos.is_empty() {
            let files = self.gif_videos(s, &loaded, &stale_videos, notes);
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
    fn source_output(
        &self,
        planned: &Planned,
        s: usize,
        loaded: &Loaded,
        small: Option<&RgbaImage>,
    ) -> Result<OutputFile> {
        let source = &self.plan.sources[s];
        let encode_err = |m: String| Error::Encode {
            path: source.path.clone(),
            message: m,
        };
        let info = loaded.info;
        match planned.role {
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

    /// The GIF, sprite sheet and atlas of an animation, from the GIF-size
    /// frames and the sheet the frames left.
    fn animation_outputs(
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
        let mut made = Vec::new();
        // The GIF and the videos first, from the same GIF-size frames in
        // gallery order (a frame listed twice is copied), encoded side by
        // side; the frames are dropped before the sheet is encoded (the
        // budget counts them apart).
        let clip_roles = [Role::Gif, Role::Webm, Role::Mp4];
        let clips: Vec<&Planned> = planned
            .iter()
            .copied()
            .filter(|p| clip_roles.contains(&p.role))
            .collect();
        if !clips.is_empty() {
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
            for (p, file) in clips.into_iter().zip(files) {
                made.push((p.clone(), self.in_animation(a, file), true));
            }
        }
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
                        let stem = crate::plan::outputs::with_suffix(&animation.key, "", Some(""));
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
    }

    /// An animation output's encoding error names the animation.
    fn in_animation(&self, a: usize, file: Result<OutputFile>) -> Result<OutputFile> {
        file.map_err(|e| match e {
            Error::Encode { message, .. } => Error::Encode {
                path: self.out.root().join(&self.plan.animations[a].key),
                message,
            },
            other => other,
        })
    }

    fn gif(
        &self,
        planned: &Planned,
        frames: &[RgbaImage],
        size: (u32, u32),
        timing: &Timing,
        notes: &Notes,
    ) -> Result<OutputFile> {
        let target = sizes::fit_target(self.config, self.plan, planned);
        let (gif, choice) = self
            .timers
            .time(Stage::Animate, || {
                match (target, sizes::knob(self.config, planned.role)) {
                    (Some(limit), Some(knob)) => {
                        let mut search = animate::GifSearch::new(frames, &self.config.gif, timing)?;
                        let (gif, choice) = sizes::search(
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
    fn gif_ssim(
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

    /// A video from frames, each shown for `shown_ms`.
    fn video(
        &self,
        planned: &Planned,
        frames: &[RgbaImage],
        timing: &Timing,
        notes: &Notes,
    ) -> Result<OutputFile> {
        let format = video_format(planned.role);
        let shown = || {
            (timing.sequence.iter())
                .zip(&timing.shown_ms)
                .filter_map(|(&i, &ms)| Some((frames.get(i)?, ms)))
        };
        let (clip, choice) = self
            .timers
            .time(Stage::Video, || {
                self.fit_video(planned, None, |options| {
                    video::encode_clip(format, shown(), options)
                })
            })
            .map_err(|message| Error::Encode {
                path: self.out.root().join(&planned.path),
                message: format!("{} not made: {message}", planned.path),
            })?;
        self.write_video(planned, clip, choice, notes)
    }

    /// A video made by `make` with the configured options (`first`, when
    /// already made), or, when `budgets.fit` applies to it, at the best
    /// quality that fits its budget.
    fn fit_video(
        &self,
        planned: &Planned,
        first: Option<video::Video>,
        make: impl Fn(&VideoOptions) -> std::result::Result<video::Video, String>,
    ) -> std::result::Result<(video::Video, Option<Choice>), String> {
        let target = sizes::fit_target(self.config, self.plan, planned);
        match (target, sizes::knob(self.config, planned.role)) {
            (Some(limit), Some(knob)) => {
                let (clip, choice) = sizes::search(
                    knob,
                    limit.bytes.0,
                    first,
                    |value| make(&sizes::video_options(self.config, planned.role, value)),
                    |clip| clip.bytes.len() as u64,
                )?;
                Ok((clip, Some(choice)))
            }
            _ => match first {
                Some(clip) => Ok((clip, None)),
                None => Ok((make(&self.config.video)?, None)),
            },
        }
    }

    fn write_video(
        &self,
        planned: &Planned,
        clip: video::Video,
        choice: Option<Choice>,
        notes: &Notes,
    ) -> Result<OutputFile> {
        // The clip measured itself while it was encoded.
        self.timers
            .rebook(Stage::Video, Stage::Measure, clip.measure_time);
        let mut file = self.write(planned, &clip.bytes, Some((clip.width, clip.height)))?;
        file.frames = Some(clip.frames);
        file.duration_ms = Some(clip.duration_ms);
        file.ssim = clip.ssim.map(assetmap::ssim_figure);
        self.fit_notes(planned, choice, &file, notes);
        Ok(file)
    }

    /// Says which quality `budgets.fit` chose for an output it lowered.
    fn fit_notes(
        &self,
        planned: &Planned,
        choice: Option<Choice>,
        file: &OutputFile,
        notes: &Notes,
    ) {
        if let Some(choice) = choice {
            let found = sizes::fit_notes(
                self.config,
                self.plan,
                self.out.root(),
                planned,
                choice,
                file.bytes,
            );
            notes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(found);
        }
    }

    /// The videos of an existing GIF, from one pass over its frames.
    fn gif_videos(
        &self,
        s: usize,
        loaded: &Loaded,
        planned: &[&Planned],
        notes: &Notes,
    ) -> Vec<Result<OutputFile>> {
        let source = &self.plan.sources[s];
        let mut clips: Vec<video::Clip<'_>> = planned
            .iter()
            .map(|p| video::Clip::new(video_format(p.role), &self.config.video))
            .collect();
        let mut failed: Vec<Option<String>> = vec![None; clips.len()];
        let walked = self.timers.time(Stage::Video, || {
            decode::gif_frames(
                &source.path,
                &loaded.bytes,
                &self.config.limits,
                |frame, ms| {
                    for (clip, failed) in clips.iter_mut().zip(&mut failed) {
                        if failed.is_none()
                            && let Err(e) = clip.push(frame, ms)
                        {
                            *failed = Some(e);
                        }
                    }
                },
            )
        });
        clips
            .into_iter()
            .zip(failed)
            .zip(planned)
            .map(|((clip, failed), p)| {
                let encode_err = |message: String| Error::Encode {
                    path: self.out.root().join(&p.path),
                    message: format!("{} not made: {message}", p.path),
                };
                if let Err(e) = &walked {
                    return Err(encode_err(e.detail()));
                }
                if let Some(message) = failed {
                    return Err(encode_err(message));
                }
                let format = video_format(p.role);
                let (clip, choice) = self
                    .timers
                    .time(Stage::Video, || {
                        let first = clip.finish()?;
                        self.fit_video(p, Some(first), |options| {
                            self.gif_video(s, loaded, format, options)
                        })
                    })
                    .map_err(encode_err)?;
                self.write_video(p, clip, choice, notes)
            })
            .collect()
    }

    /// One video of an existing GIF with `options`, from another pass over
    /// its frames (for `budgets.fit`, which tries several).
    fn gif_video(
        &self,
        s: usize,
        loaded: &Loaded,
        format: video::Format,
        options: &VideoOptions,
    ) -> std::result::Result<video::Video, String> {
        let mut clip = video::Clip::new(format, options);
        let mut failed = None;
        decode::gif_frames(
            &self.plan.sources[s].path,
            &loaded.bytes,
            &self.config.limits,
            |frame, ms| {
                if failed.is_none()
                    && let Err(e) = clip.push(frame, ms)
                {
                    failed = Some(e);
                }
            },
        )
        .map_err(|e| e.detail())?;
        match failed {
            Some(message) => Err(message),
            None => clip.finish(),
        }
    }

    fn sprite(
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

    fn write(
        &self,
        planned: &Planned,
        bytes: &[u8],
        size: Option<(u32, u32)>,
    ) -> Result<OutputFile> {
        self.timers
            .time(Stage::Write, || self.out.write(&planned.path, bytes))?;
        Ok(OutputFile {
            role: planned.role,
            path: planned.path.clone(),
            width: size.map(|s| s.0),
            height: size.map(|s| s.1),
            bytes: bytes.len() as u64,
            hash: assetmap::hash(bytes),
            frames: None,
            duration_ms: None,
            cells: None,
            ssim: None,
        })
    }
}

/// The SSIM of a written thumbnail, decoded again, against the image it
/// encodes (over mid grey). PNG is lossless, so this is 1.0 unless the
/// encoder changed pixels; measured all the same, so the figure is the
/// file's and not an assumption.
fn png_ssim(bytes: &[u8], reference: &RgbaImage) -> Option<f64> {
    let decoded = image::load_from_memory_with_format(bytes, ImageFormat::Png)
        .ok()?
        .into_rgba8();
    (decoded.dimensions() == reference.dimensions())
        .then(|| assetmap::ssim_figure(ssim::mean_ssim(&decoded, reference)))
}

pub(super) fn video_format(role: Role) -> video::Format {
    match role {
        Role::Webm => video::Format::Webm,
        _ => video::Format::Mp4,
    }
}

/// [`optimize::encode_rgba`] without its copy of the pixels: a sprite sheet
/// can be the largest buffer of a unit, and it is not needed afterwards.
/// Same input to oxipng, so the same bytes.
fn encode_owned(image: RgbaImage, opts: &oxipng::Options) -> std::result::Result<Vec<u8>, String> {
    let (width, height) = image.dimensions();
    let raw = oxipng::RawImage::new(
        width,
        height,
        oxipng::ColorType::RGBA,
        oxipng::BitDepth::Eight,
        image.into_raw(),
    )
    .map_err(|e| e.to_string())?;
    raw.create_optimized_png(opts).map_err(|e| e.to_string())
}
