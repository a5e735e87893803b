//! Executing one unit: decode what has to be decoded (each source once),
//! make the outputs the cache cannot supply, reuse the rest.
//!
//! Frames stream: a few lanes (as many as the memory budget allows, see
//! [`super::memory`]) each take the next source, decode it, write its
//! optimized copy and thumbnail, resize it to its GIF frame and sprite cell
//! (drawn straight into the sheet), and drop the full-size pixels before
//! taking another. Only GIF-size frames and the sheet outlive a frame, so a
//! unit's memory depends on frame size and lane count, not frame count.
//! Results are keyed by frame, so which lane ran a frame never shows in the
//! outputs.
//!
//! Every output the unit leaves in place, made or reused, is then checked
//! against its size budget ([`super::budgets`]); GIFs and videos made under
//! `budgets.fit` are searched for the best quality that fits as they are
//! encoded.

mod animation;
mod frames;
mod videos;

use super::budgets::{self};
use super::cache::Cache;
use super::keys::{Owner, Planned};
use super::memory::{AnimationSizes, Facts, UnitBudget};
use super::outcome::Made;
use super::timers::{Stage, Timers};
use super::units::Unit;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::outputs::assetmap::{self, OutputFile, Role};
use crate::outputs::diagnostics::Diagnostic;
use crate::outputs::output::OutDir;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::stages::decode::{self, ImageInfo, Loaded};
use crate::stages::validate::RootGuard;
use crate::stages::{sprite, ssim};
use image::{ImageFormat, RgbaImage};
use rayon::prelude::*;
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
    pub made: Vec<Made>,
    pub diagnostics: Vec<Diagnostic>,
}

pub(super) struct Worker<'a> {
    pub config: &'a Config,
    pub plan: &'a Plan,
    pub out: &'a OutDir,
    pub cache: &'a Cache,
    pub png: oxipng::Options,
    pub owner: &'a [Option<usize>],
    pub cached_info: Vec<Option<ImageInfo>>,
    /// Each source's content hash as the build planned with it.
    pub hashes: &'a [Option<String>],
    pub root: &'a RootGuard,
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
        result.diagnostics.extend(result.made.iter().flat_map(
            |Made {
                 planned: p, file, ..
             }| { budgets::check(self.config, self.plan, self.out.root(), p, file) },
        ));
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
        let to_decode = &budget.decode;

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
                result.made.push(self.reused(p));
            }
        }

        // The animation: fresh outputs reused, stale ones finished from
        // what the frames left, refused ones already reported.
        let Unit::Animation(a) = *unit else {
            return result;
        };
        for p in mine.iter().filter(|p| p.stale.is_none()) {
            result.made.push(self.reused(p));
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
                Ok(file) => result.made.push(Made {
                    planned,
                    file,
                    built,
                }),
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

    /// A fresh output, kept as the cache recorded it (written by this
    /// build when the remote cache supplied it).
    fn reused(&self, planned: &Planned) -> Made {
        Made {
            planned: planned.clone(),
            file: self.reuse(planned),
            built: planned.fetched.is_some(),
        }
    }

    /// What sizing a unit's memory needs of this worker.
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            config: self.config,
            plan: self.plan,
            cached_info: &self.cached_info,
            root: self.root,
        }
    }

    /// Diagnostics for an output or unit that is not built, at every use
    /// of its owner, naming the output.
    fn refusal(&self, unit: &Unit, e: &Error) -> Vec<Diagnostic> {
        let users = match *unit {
            Unit::Single(s) => &self.plan.sources[s].users,
            Unit::Animation(a) => &self.plan.animations[a].users,
        };
        let message = format!("{}: {}", crate::outputs::names::path(e.path()), e.detail());
        users.iter().map(|u| u.error(&message)).collect()
    }

    /// Reads and decodes source `s`, handing each frame of a GIF to
    /// `shown` as it is decoded (see [`decode::from_bytes_with`]).
    fn load(&self, s: usize, shown: &mut dyn FnMut(&RgbaImage, u32)) -> Result<Loaded> {
        let source = &self.plan.sources[s];
        let limits = &self.config.limits;
        let loaded = self.timers.time(Stage::Decode, || {
            self.root.check(source)?;
            let expected = decode::expected_format(&source.path)?;
            let bytes = decode::read_source(&source.path, limits)?;
            self.as_hashed(s, &bytes)?;
            decode::from_bytes_with(&source.path, expected, bytes, limits, shown)
        });
        self.decoded.fetch_add(1, Ordering::Relaxed);
        self.progress.advance("frames", 1);
        loaded
    }

    /// The bytes decoded must be the bytes hashed when the build was
    /// planned: the cache records outputs under that hash, so outputs made
    /// from a file saved in between would be recorded under the old
    /// content, and reused once it came back. Such a source is an error
    /// (run the build again); nothing is decoded or made from it or cached
    /// about it.
    fn as_hashed(&self, s: usize, bytes: &[u8]) -> Result<()> {
        match &self.hashes[s] {
            Some(hash) if *hash == assetmap::hash(bytes) => Ok(()),
            _ => Err(Error::Changed {
                path: self.plan.sources[s].path.clone(),
            }),
        }
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
            format: None,
            ssim: None,
        })
    }
}

/// The SSIM of a written thumbnail, decoded again, against the image it
/// encodes (over mid grey). PNG is lossless, so this is 1.0 unless the
/// encoder changed pixels; measured all the same, so the figure is the
/// file's and not an assumption.
fn png_ssim(bytes: &[u8], reference: &RgbaImage) -> Option<f64> {
    let ssim = ssim::of_encoded(bytes, ImageFormat::Png, reference).ok()?;
    Some(assetmap::ssim_figure(ssim))
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
