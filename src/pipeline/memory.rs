//! The budgets of a unit, decided before anything is decoded: memory
//! (`limits.max_memory`) and video work (`limits.max_video_pixels`).
//!
//! Memory: every unit's peak is estimated from header facts (a source's
//! size and, for a GIF, its frame count and largest frame from the block
//! walk; or the cached facts of a source) and the outputs it will make;
//! outputs that alone cannot fit are refused with an error, and
//! [`super::schedule`] runs units only while their estimates sum to no
//! more than the budget.
//!
//! A unit streams its frames (see [`super::work`]): `lanes` frames are in
//! flight at once, each decoded, turned into its outputs and dropped. With
//! `P` a full frame's pixels, `L` its largest GIF frame's, `B` its file
//! size, `G` a GIF frame's pixels, `n` the frame count, `m` the frames a
//! video shows, `S` the sprite sheet's RGBA bytes and `T` the thread
//! count, the estimate is
//!
//! ```text
//! frame  = B + 4 max(P, L) x FRAME_FACTOR decoded pixels, RGBA copy, the
//!                                         resizer's premultiplied copy or
//!          + 4t x (1 + PNG_FACTOR)        oxipng's working set; thumbnail
//!                                         (t pixels) and its encoding
//!          + 4P + 4L + clips(P, n)        an existing GIF's videos: its
//!                                         frames composited again, and
//!                                         the encoders
//! frames = lanes x frame + 4G x n + S     frames in flight, GIF-size frames
//!                                         kept for the GIF, the sheet
//! gif    = 4G x n + S + G x n + 16G x T + 48G + 15 min(Gn, 2^20)
//!                                         palette indices, frames being
//!                                         mapped, palette probe, samples
//! video  = clips(G, m)                    running beside the GIF encoder
//! sprite = S x PNG_FACTOR                 oxipng on the sheet, beside both
//! peak   = max(frames, gif + video + sprite)
//! ```
//!
//! where `clips` sums [`video::clip_bytes`] over the videos made: a fixed
//! part and one per pixel, and one per frame the AV1 encoder holds (up to
//! its lookahead and reordering, not the clip's length). So the peak of a
//! build is about `the running units' sum <= max_memory`, and grows with frame size
//! and thread count (lanes <= threads), not frame count. `lanes` is the
//! most (up to the thread count) whose peak fits the budget; a source
//! whose decoding alone exceeds it is refused (its pages get the error),
//! then an existing GIF's videos, the GIF and videos of an animation, and
//! then its sprite sheet are refused if adding them to one lane does not
//! fit. At most two units per thread run at once. The process's own
//! baseline (code, thread stacks, the plan) comes on top.
//!
//! Work: a video whose frames hold more pixels than
//! `limits.max_video_pixels` (frame area times the frames it shows) is
//! refused before anything runs, whatever its file size: a 25 KB GIF of
//! 999 one-pixel frames on a 1000x1000 screen is 999 million pixels to
//! convert, encode, decode and measure for each video.

use super::keys::{Owner, Planned};
use super::units::Unit;
use crate::config::{ByteSize, Config};
use crate::error::Error;
use crate::outputs::assetmap::Role;
use crate::plan::Plan;
use crate::stages::decode::ImageInfo;
use crate::stages::validate::RootGuard;
use crate::stages::video;
use crate::stages::{decode, resize, sprite};
use rayon::prelude::*;
use std::path::Path;

/// The video format an output of `role` is encoded in.
pub(super) fn video_format(role: Role) -> video::Format {
    match role {
        Role::Webm => video::Format::Webm,
        _ => video::Format::Mp4,
    }
}

/// A full frame in flight costs this many times its RGBA size. Measured
/// peak RSS for one 5000x5000 PNG frame (100 MB as RGBA) is 2.9x (RGB
/// source, 1 thread), 3.1x (RGBA, 1 thread) and 3.5x (RGBA, 2 threads:
/// oxipng tries filters in parallel); 4 keeps the estimate above that.
pub(super) const FRAME_FACTOR: u64 = 4;
/// oxipng's working set on an RGBA image, in multiples of its size.
pub(super) const PNG_FACTOR: u64 = 3;
/// Bytes per GIF pixel of a frame being mapped to the palette (sRGB copy,
/// Oklab working image, indices).
const GIF_MAP_BYTES: u64 = 16;
/// Bytes per GIF pixel of the palette probe (a mapped frame, its RGBA
/// rendering and the SSIM planes).
const GIF_PROBE_BYTES: u64 = 48;
/// Bytes per palette sample (sRGB and Oklab); at most `GIF_SAMPLES` are
/// taken, as [`crate::animate`] does.
const GIF_SAMPLE_BYTES: u64 = 15;
const GIF_SAMPLES: u64 = 1 << 20;
/// What the budget decided for one unit, before it runs.
pub(super) struct UnitBudget {
    /// The sources the unit decodes, in order: its decode set less the
    /// refused sources.
    pub decode: Vec<usize>,
    /// Frames the unit decodes at once.
    pub lanes: usize,
    /// Estimated peak bytes with that many lanes (0 when nothing runs).
    pub peak: u64,
    /// Sources not decoded because one alone cannot fit, with the error.
    pub refused_sources: Vec<(usize, Error)>,
    /// Outputs not built, each group with the error its users get.
    pub refused: Vec<Refusal>,
    /// The sizes of the animation outputs to make, when there are any.
    pub animation: Option<AnimationSizes>,
    /// Estimated work, in pixel-passes weighted by cost (see [`VIDEO_WORK`]):
    /// only for ordering units, longest first.
    pub work: u64,
}

/// A pixel encoded into a video costs about this many times a pixel
/// decoded, optimized or mapped to a GIF palette (AV1 dominates: measured
/// on the bundled sample, the video stage took 6x the CPU of the optimize,
/// animate and sprite stages over about 1/3 of their pixels). Only the
/// order of units depends on it.
const VIDEO_WORK: u64 = 16;

/// Outputs refused together (a sheet and its atlas), and why.
pub(super) struct Refusal {
    pub paths: Vec<String>,
    pub error: Error,
}

/// The sizes an animation's outputs are planned at, from its first frame's
/// header; frames that turn out otherwise make no animation outputs.
#[derive(Debug, Clone)]
pub(super) struct AnimationSizes {
    pub frame: (u32, u32),
    pub gif: (u32, u32),
    /// `None` when the sprite sheet cannot be laid out (refused).
    pub layout: Option<sprite::Layout>,
}

/// The buffers a unit holds, in bytes (see the module header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Needs {
    /// One source in flight (the largest of the unit's).
    pub frame: u64,
    pub gif_frames: u64,
    pub gif_encode: u64,
    /// The video encoders, running beside the GIF encoder.
    pub video_encode: u64,
    pub sheet: u64,
    pub sheet_encode: u64,
}

impl Needs {
    /// The unit's peak with `lanes` frames in flight.
    pub fn peak(&self, lanes: u64) -> u64 {
        let frames = lanes
            .saturating_mul(self.frame)
            .saturating_add(self.gif_frames)
            .saturating_add(self.sheet);
        // The sheet is encoded beside the GIF and the videos.
        let clips = self
            .gif_frames
            .saturating_add(self.gif_encode)
            .saturating_add(self.video_encode)
            .saturating_add(self.sheet)
            .saturating_add(self.sheet_encode);
        frames.max(clips)
    }

    /// The most lanes, up to `threads`, whose peak fits `budget` (at least 1).
    pub fn lanes(&self, threads: usize, budget: u64) -> usize {
        (1..=threads.max(1))
            .rev()
            .find(|&k| self.peak(k as u64) <= budget)
            .unwrap_or(1)
    }
}

/// Bytes per source pixel the still variants of a source need beside its
/// decoded frame (see `size`): RGBA 4, libwebp's YUVA picture and output
/// about 3, the decoded file 4, the SSIM's luma planes 8.
const STILL_BYTES_PER_PIXEL: u64 = 19;

/// The same for a source with AVIF variants: rav1e's frames, its
/// reconstruction and the planes (4:4:4 and alpha) on top, measured at
/// 17 B/px more than WebP's peak (1600x1600, speed 8), plus rav1e's fixed
/// state.
const AVIF_BYTES_PER_PIXEL: u64 = 40;
const AVIF_FIXED_BYTES: u64 = 4 << 20;

/// Bytes one source in flight needs: its file plus `FRAME_FACTOR` RGBA
/// copies of its pixels (of its largest frame, for a GIF with a frame
/// larger than its screen), plus for a gallery frame its thumbnail (also
/// its sprite cell) and that thumbnail's PNG encoding.
pub(super) fn frame_bytes(p: &Probe, thumb: Option<(u32, u32)>) -> u64 {
    let thumb = thumb.map_or(0, |(w, h)| rgba(w, h).saturating_mul(1 + PNG_FACTOR));
    p.pixels()
        .saturating_mul(4 * FRAME_FACTOR)
        .saturating_add(p.bytes)
        .saturating_add(thumb)
}

/// Bytes the videos of an existing GIF need beside its decoded frame: the
/// GIF composited again, frame by frame (a screen-size canvas and the
/// largest frame's pixels), into the encoder of each of `formats`.
pub(super) fn gif_video_bytes(p: &Probe, formats: &[video::Format], config: &Config) -> u64 {
    let composite = rgba(p.width, p.height).saturating_add(p.largest.saturating_mul(4));
    clips_bytes(formats, (p.width, p.height), p.frames, config).saturating_add(composite)
}

/// Bytes the encoders of `formats` need for videos of `frames` frames of
/// `size`, made side by side.
fn clips_bytes(formats: &[video::Format], size: (u32, u32), frames: u64, config: &Config) -> u64 {
    formats
        .iter()
        .map(|&f| video::clip_bytes(f, size, frames, &config.video))
        .fold(0, u64::saturating_add)
}

/// Outputs encoded from the kept GIF-size frames, what encodes them, its
/// bytes, and where those go in [`Needs`].
type ClipEncoder = (Vec<String>, &'static str, u64, fn(&mut Needs, u64), u64);

/// The pixels a video of `frames` frames of `width` x `height` encodes,
/// which `limits.max_video_pixels` bounds.
pub(super) fn video_pixels((width, height): (u32, u32), frames: u64) -> u64 {
    (u64::from(width) * u64::from(height)).saturating_mul(frames)
}

/// The estimated work of encoding videos of `frames` frames of `size` in
/// each of `formats` (see [`VIDEO_WORK`]).
fn video_work(size: (u32, u32), frames: u64, formats: &[video::Format]) -> u64 {
    video_pixels(size, frames).saturating_mul(VIDEO_WORK * formats.len() as u64)
}

/// The error of videos whose work is over `limits.max_video_pixels`, on
/// the first of `paths`.
fn work_refusal(config: &Config, paths: &[String], size: (u32, u32), frames: u64) -> Error {
    let limit = config.limits.max_video_pixels;
    Error::Encode {
        path: config.out.join(&paths[0]),
        message: format!(
            "not made: {frames} frames of {}x{} are {} pixels to encode, over \
             limits.max_video_pixels ({limit}); raise limits.max_video_pixels, or set \
             `video.formats: []` to make no videos{}",
            size.0,
            size.1,
            video_pixels(size, frames),
            not_either(config, &paths[1..])
        ),
    }
}

/// `; X is not made either` for outputs refused with the one named.
fn not_either(config: &Config, others: &[String]) -> String {
    match others {
        [] => String::new(),
        [one] => format!("; {} is not made either", config.out.join(one).display()),
        many => format!(
            "; {} are not made either",
            many.iter()
                .map(|p| config.out.join(p).display().to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    }
}

fn rgba(width: u32, height: u32) -> u64 {
    sprite::rgba_bytes(width, height).unwrap_or(u64::MAX)
}

/// What sizing a unit needs to know: the plan, and where each source's
/// facts can be read cheaply. Which sources a unit decodes comes with it
/// (see [`super::keys::decode_set`]): the build works it out once.
pub(super) struct Facts<'a> {
    pub config: &'a Config,
    pub plan: &'a Plan,
    /// What the cache knows of each source, when it is fresh.
    pub cached_info: &'a [Option<ImageInfo>],
    pub root: &'a RootGuard,
}

/// Sizes every unit (see [`size`]), from what is known of the sources
/// each decodes, for a pool of `threads`.
pub(super) fn budgets(
    facts: &Facts<'_>,
    jobs: &[(&Unit, Vec<Planned>, Vec<usize>)],
    threads: usize,
) -> Vec<UnitBudget> {
    jobs.par_iter()
        .map(|(unit, planned, decode)| {
            let probes: Vec<(usize, Option<Probe>)> =
                decode.iter().map(|&s| (s, probe(facts, s))).collect();
            size(facts.config, facts.plan, unit, planned, &probes, threads)
        })
        .collect()
}

/// Sizes a unit from what is known of the sources it decodes (`probes`,
/// `None` where nothing is known cheaply): what it decodes, what it makes,
/// and what is refused. A pure function of its arguments.
fn size(
    config: &Config,
    plan: &Plan,
    unit: &Unit,
    planned: &[Planned],
    probes: &[(usize, Option<Probe>)],
    threads: usize,
) -> UnitBudget {
    let budget = config.limits.max_memory.0;
    let mut needs = Needs::default();
    let mut work = 0u64;
    let mut refused_sources = Vec::new();
    let mut refused = Vec::new();
    for (s, p) in probes {
        let Some(p) = p else { continue };
        let thumb = plan.sources[*s]
            .is_frame()
            .then(|| resize::fit_width(p.width, p.height, config.thumbs.width));
        let frame = frame_bytes(p, thumb);
        if frame > budget {
            refused_sources.push((*s, source_refusal(&plan.sources[*s].path, p, frame, budget)));
            continue;
        }
        // An existing GIF streams its frames into its videos' encoders, in
        // the lane that decoded it; they are refused on their own.
        let videos: Vec<&Planned> = planned
            .iter()
            .filter(|q| {
                q.owner == Owner::Source(*s)
                    && matches!(q.role, Role::Webm | Role::Mp4)
                    && q.stale.is_some()
            })
            .collect();
        let mut bytes = frame;
        // Still variants are made one at a time, the largest at the
        // source's size: an RGBA copy, libwebp's picture and output, the
        // file decoded again and the SSIM planes.
        let stills: Vec<&Planned> = (planned.iter())
            .filter(|q| q.owner == Owner::Source(*s) && q.role == Role::Still && q.stale.is_some())
            .collect();
        let avif = stills.iter().any(|q| {
            q.variant
                .is_some_and(|v| v.codec == crate::config::Codec::Avif)
        });
        if avif {
            bytes = (bytes.saturating_add(AVIF_FIXED_BYTES))
                .saturating_add(p.pixels().saturating_mul(AVIF_BYTES_PER_PIXEL));
        } else if !stills.is_empty() {
            bytes = bytes.saturating_add(p.pixels().saturating_mul(STILL_BYTES_PER_PIXEL));
        }
        if !videos.is_empty() {
            let paths: Vec<String> = videos.iter().map(|q| q.path.clone()).collect();
            let formats: Vec<video::Format> = videos.iter().map(|q| video_format(q.role)).collect();
            let size = (p.width, p.height);
            let with = frame.saturating_add(gif_video_bytes(p, &formats, config));
            if video_pixels(size, p.frames) > config.limits.max_video_pixels {
                refused.push(Refusal {
                    error: work_refusal(config, &paths, size, p.frames),
                    paths,
                });
            } else if with > budget {
                refused.push(Refusal {
                    error: Error::Encode {
                        path: config.out.join(&paths[0]),
                        message: format!(
                            "not made: needs about {} of memory ({} frames of {}x{} and the \
                             video encoders), over limits.max_memory ({}); raise \
                             limits.max_memory, or set `video.formats: []` to make no \
                             videos{}",
                            ByteSize(with),
                            p.frames,
                            size.0,
                            size.1,
                            ByteSize(budget),
                            not_either(config, &paths[1..])
                        ),
                    },
                    paths,
                });
            } else {
                bytes = with;
                work = work.saturating_add(video_work(size, p.frames, &formats));
            }
        }
        needs.frame = needs.frame.max(bytes);
        work = work.saturating_add(p.pixels().saturating_mul(p.frames.max(1)));
    }

    let mut animation = None;
    if let Unit::Animation(a) = *unit {
        let stale: Vec<&Planned> = planned
            .iter()
            .filter(|p| p.owner == Owner::Animation(a) && p.stale.is_some())
            .collect();
        let out_path = |p: &str| config.out.join(p);
        let path_of = |role: Role| {
            stale
                .iter()
                .find(|p| p.role == role)
                .map(|p| p.path.clone())
        };
        let first = plan.animations[a].frames[0];
        let first_probe = probes
            .iter()
            .find(|(s, _)| *s == first)
            .and_then(|(_, p)| *p);
        if !stale.is_empty() && !refused_sources.is_empty() {
            // A frame that cannot be decoded leaves nothing to animate.
            let (s, _) = &refused_sources[0];
            refused.push(Refusal {
                paths: stale.iter().map(|p| p.path.clone()).collect(),
                error: Error::Encode {
                    path: out_path(&stale[0].path),
                    message: format!(
                        "not built: its frame {} alone needs more memory than \
                         limits.max_memory ({}) allows",
                        plan.sources[*s].key,
                        ByteSize(budget)
                    ),
                },
            });
        } else if let (false, Some(p)) = (stale.is_empty(), first_probe) {
            let count = plan.animations[a].frames.len() as u32;
            let sizes = animation_sizes(config, count, (p.width, p.height));
            let mut sizes = match sizes {
                Ok(sizes) => sizes,
                Err((sizes, message)) => {
                    let paths: Vec<String> = stale
                        .iter()
                        .filter(|p| p.role == Role::Sprite || p.role.is_atlas())
                        .map(|p| p.path.clone())
                        .collect();
                    if let Some(first) = paths.first() {
                        refused.push(Refusal {
                            error: Error::Encode {
                                path: out_path(first),
                                message,
                            },
                            paths,
                        });
                    }
                    sizes
                }
            };
            // The GIF and the videos are encoded side by side from the same
            // kept GIF-size frames; each group is refused on its own when
            // adding its encoder does not fit.
            let (gw, gh) = sizes.gif;
            let g = u64::from(gw) * u64::from(gh);
            let gif_encode = g
                .saturating_mul(u64::from(count))
                .saturating_add(g.saturating_mul(GIF_MAP_BYTES * threads as u64))
                .saturating_add(g * GIF_PROBE_BYTES)
                .saturating_add(
                    (g.saturating_mul(u64::from(count))).min(GIF_SAMPLES) * GIF_SAMPLE_BYTES,
                );
            // A video shows every frame of the play order (ping-pong goes
            // back through the gallery).
            let shown = plan.animations[a].timing(&config.gif).sequence.len() as u64;
            let video_paths: Vec<String> = [Role::Webm, Role::Mp4]
                .into_iter()
                .filter_map(path_of)
                .collect();
            let formats: Vec<video::Format> = [Role::Webm, Role::Mp4]
                .into_iter()
                .filter(|&r| path_of(r).is_some())
                .map(video_format)
                .collect();
            let mut clips: Vec<ClipEncoder> = vec![(
                path_of(Role::Gif).into_iter().collect(),
                "the GIF encoder",
                gif_encode,
                |n, b| n.gif_encode = b,
                g.saturating_mul(u64::from(count)),
            )];
            match video_paths.first() {
                Some(_) if video_pixels((gw, gh), shown) > config.limits.max_video_pixels => {
                    refused.push(Refusal {
                        error: work_refusal(config, &video_paths, (gw, gh), shown),
                        paths: video_paths,
                    });
                }
                _ => clips.push((
                    video_paths,
                    "the video encoders",
                    clips_bytes(&formats, (gw, gh), shown, config),
                    |n, b| n.video_encode = b,
                    video_work((gw, gh), shown, &formats),
                )),
            }
            for (paths, encoder, bytes, set, clip_work) in clips {
                let Some(first) = paths.first() else { continue };
                let mut with = needs;
                with.gif_frames = rgba(gw, gh).saturating_mul(u64::from(count));
                set(&mut with, bytes);
                let need = with.peak(1);
                if need > budget {
                    refused.push(Refusal {
                        error: Error::Encode {
                            path: out_path(first),
                            message: format!(
                                "needs about {} of memory ({count} frames of {gw}x{gh} and \
                                 {encoder}), over limits.max_memory ({}); raise \
                                 limits.max_memory or lower gif.width{}",
                                ByteSize(need),
                                ByteSize(budget),
                                not_either(config, &paths[1..])
                            ),
                        },
                        paths,
                    });
                } else {
                    needs = with;
                    work = work.saturating_add(clip_work);
                }
            }
            if let (Some(sheet), Some(layout)) = (path_of(Role::Sprite), &sizes.layout) {
                let mut with = needs;
                with.sheet = rgba(layout.width, layout.height);
                with.sheet_encode = with.sheet.saturating_mul(PNG_FACTOR);
                let need = with.peak(1);
                if need > budget {
                    let atlases: Vec<String> = stale
                        .iter()
                        .filter(|p| p.role.is_atlas())
                        .map(|p| p.path.clone())
                        .collect();
                    let also = match atlases.as_slice() {
                        [] => String::new(),
                        [one] => format!(
                            "; its atlas {} is not written either",
                            out_path(one).display()
                        ),
                        many => format!(
                            "; its atlases {} are not written either",
                            many.iter()
                                .map(|a| out_path(a).display().to_string())
                                .collect::<Vec<_>>()
                                .join(" and ")
                        ),
                    };
                    refused.push(Refusal {
                        error: Error::Encode {
                            path: out_path(&sheet),
                            message: format!(
                                "needs about {} of memory (a {}x{} sprite sheet and its PNG \
                                 encoder), over limits.max_memory ({}); raise \
                                 limits.max_memory or lower thumbs.width or sprite.padding{also}",
                                ByteSize(need),
                                layout.width,
                                layout.height,
                                ByteSize(budget)
                            ),
                        },
                        paths: std::iter::once(sheet).chain(atlases).collect(),
                    });
                    sizes.layout = None;
                } else {
                    needs = with;
                }
            }
            animation = Some(sizes);
        }
    }
    let decode: Vec<usize> = probes
        .iter()
        .map(|&(s, _)| s)
        .filter(|s| refused_sources.iter().all(|(t, _)| t != s))
        .collect();
    let lanes = needs.lanes(threads, budget).min(decode.len().max(1));
    UnitBudget {
        decode,
        lanes,
        peak: needs.peak(lanes as u64),
        refused_sources,
        refused,
        animation,
        work,
    }
}

/// The animation's output sizes; `Err` carries them with the sprite layout
/// missing and the reason it cannot be laid out.
fn animation_sizes(
    config: &crate::config::Config,
    count: u32,
    (w, h): (u32, u32),
) -> Result<AnimationSizes, (AnimationSizes, String)> {
    let gif = resize::fit_width(w, h, config.gif.width);
    let (tw, th) = resize::fit_width(w, h, config.thumbs.width);
    let sp = &config.sprite;
    let mut sizes = AnimationSizes {
        frame: (w, h),
        gif,
        layout: None,
    };
    match sprite::layout(count, tw, th, sp.columns, sp.padding) {
        Ok(layout) => {
            sizes.layout = Some(layout);
            Ok(sizes)
        }
        Err(m) => Err((
            sizes,
            format!("{m}; lower sprite.padding or thumbs.width, or set sprite.columns"),
        )),
    }
}

fn source_refusal(path: &Path, p: &Probe, need: u64, budget: u64) -> Error {
    Error::TooLarge {
        path: path.to_owned(),
        width: p.width,
        height: p.height,
        limit: format!(
            "what limits.max_memory ({}) allows: decoding and optimizing it needs about {}",
            ByteSize(budget),
            ByteSize(need)
        ),
    }
}

/// What a source's header says, without decoding it: the facts its
/// estimate is a function of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Probe {
    /// The image's (a GIF's screen's) size.
    pub width: u32,
    pub height: u32,
    /// The file's size.
    pub bytes: u64,
    /// Frames: a GIF's from its block walk, 1 for other images.
    pub frames: u64,
    /// The largest frame's pixels (a GIF frame may be larger than its
    /// screen).
    pub largest: u64,
}

impl Probe {
    /// The pixels of a whole frame: the screen's, or the largest frame's
    /// when a GIF frame is larger than its screen.
    fn pixels(&self) -> u64 {
        (u64::from(self.width) * u64::from(self.height)).max(self.largest)
    }

    /// A still image.
    fn still(width: u32, height: u32, bytes: u64) -> Probe {
        Probe {
            width,
            height,
            bytes,
            frames: 1,
            largest: u64::from(width) * u64::from(height),
        }
    }
}

/// Reads a source's facts from its GIF block walk, the cache or its
/// header. `None` when they cannot be known cheaply or decoding will refuse
/// the file before allocating its pixels (unreadable, over the pixel
/// limits, a file larger than the budget): those cost nothing here and get
/// decoding's own error.
fn probe(facts: &Facts<'_>, s: usize) -> Option<Probe> {
    let limits = &facts.config.limits;
    let source = &facts.plan.sources[s];
    let gif = decode::format_for_extension(&source.path) == Some(image::ImageFormat::Gif);
    if let (Some(info), false) = (facts.cached_info[s], gif) {
        return Some(Probe::still(info.width, info.height, info.bytes));
    }
    facts.root.check(source).ok()?;
    let file = crate::fsread::open_regular(&source.path).ok()?;
    let bytes = file.metadata().ok()?.len();
    if bytes > limits.max_memory.0 {
        return None;
    }
    let file = std::io::BufReader::new(file);
    if gif {
        // The walk reads the file block by block and decodes nothing (the
        // cache keeps no frame sizes).
        let layout = decode::gif_layout(&source.path, file, limits).ok()?;
        let (width, height) = (u32::from(layout.width), u32::from(layout.height));
        return Some(Probe {
            frames: layout.frames,
            largest: layout.largest,
            ..Probe::still(width, height, bytes)
        });
    }
    let reader = image::ImageReader::new(file).with_guessed_format().ok()?;
    let (width, height) = reader.into_dimensions().ok()?;
    decode::check_limits(&source.path, width, height, limits).ok()?;
    Some(Probe::still(width, height, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page site: a 16-frame gallery assembled into `gif/m.gif`
    /// (a GIF, two videos, a sprite sheet), sized from probes alone.
    fn sized(max_memory: u64, probe: Probe) -> UnitBudget {
        let dir = tempfile::tempdir().unwrap();
        let mut text =
            "---\nimages:\n  - image_id: m\n    image_name: gif/m.gif\ngallery:\n".to_owned();
        for f in 1..=16 {
            text.push_str(&format!("  - image_url: png/m-{f}.png\n"));
        }
        let mut config = Config::for_site(dir.path());
        std::fs::create_dir_all(&config.content).unwrap();
        std::fs::write(config.content.join("m.md"), text + "---\n").unwrap();
        config.limits.max_memory = ByteSize(max_memory);
        let prepared = super::super::prepare::Prepared::new(&config);
        let unit = prepared.units[0];
        assert!(matches!(unit, Unit::Animation(_)));
        let none = vec![None; prepared.plan.sources.len()];
        let mut planned = prepared.outputs(&unit, &none);
        for p in &mut planned {
            p.stale = Some(super::super::keys::Reason::New);
        }
        let probes: Vec<(usize, Option<Probe>)> = (0..prepared.plan.sources.len())
            .map(|s| (s, Some(probe)))
            .collect();
        size(&config, &prepared.plan, &unit, &planned, &probes, 2)
    }

    #[test]
    fn a_unit_is_sized_from_probes_alone() {
        // 600 px frames: everything fits in the default budget, two lanes.
        let roomy = sized(1 << 30, Probe::still(600, 600, 300_000));
        assert_eq!(roomy.lanes, 2);
        assert!(roomy.refused_sources.is_empty() && roomy.refused.is_empty());
        let sizes = roomy.animation.as_ref().expect("animation outputs sized");
        assert_eq!(sizes.frame, (600, 600));
        assert!(sizes.layout.is_some());
        // At least one full frame (decoded RGBA times the factor) in flight.
        assert!(roomy.peak >= 600 * 600 * 4 * FRAME_FACTOR, "{}", roomy.peak);

        // A budget below one frame refuses every source before decoding.
        let tight = sized(MIB, Probe::still(600, 600, 300_000));
        assert_eq!(tight.refused_sources.len(), 16);
        assert!(tight.animation.is_none());
        let message = tight.refused_sources[0].1.to_string();
        assert!(message.contains("max_memory"), "{message}");

        // The same unit with larger frames needs more, monotonically.
        let large = sized(1 << 34, Probe::still(2400, 2400, 4_000_000));
        assert!(large.peak > roomy.peak);
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn peak_is_the_largest_phase() {
        let n = Needs {
            frame: 100,
            gif_frames: 10,
            gif_encode: 500,
            video_encode: 40,
            sheet: 20,
            sheet_encode: 60,
        };
        // The GIF and video encoders and the sheet's encoding side by side.
        assert_eq!(n.peak(1), 630);
        assert_eq!(n.peak(8), 830); // frames in flight
        let sprite = Needs {
            sheet: 1000,
            sheet_encode: 3000,
            ..Needs::default()
        };
        assert_eq!(sprite.peak(4), 4000);
        let huge = Needs {
            frame: u64::MAX / 2,
            ..Needs::default()
        };
        assert_eq!(huge.peak(3), u64::MAX);
    }

    #[test]
    fn lanes_shrink_to_fit_the_budget() {
        let n = Needs {
            frame: 400 * MIB,
            ..Needs::default()
        };
        assert_eq!(n.lanes(8, 1 << 30), 2);
        assert_eq!(n.lanes(1, 1 << 30), 1);
        assert_eq!(n.lanes(8, 100 * MIB), 1); // refused by the caller
        assert_eq!(n.lanes(0, 1 << 30), 1);
    }

    #[test]
    fn frame_estimates_scale_with_pixels() {
        // A 5000x5000 frame: 100 MB of RGBA, four copies in flight, and
        // its 256 px thumbnail with the encoder's working set.
        let big = Probe::still(5000, 5000, 1000);
        assert_eq!(frame_bytes(&big, None), 400_000_000 + 1000);
        assert_eq!(
            frame_bytes(&big, Some((256, 256))),
            400_000_000 + 1000 + 256 * 256 * 4 * 4
        );
        assert_eq!(
            frame_bytes(&Probe::still(u32::MAX, u32::MAX, 1), None),
            u64::MAX
        );
        // A GIF frame larger than its screen is decoded whole.
        let oversize = Probe {
            largest: 4000 * 4000,
            ..Probe::still(10, 10, 1000)
        };
        assert_eq!(frame_bytes(&oversize, None), 256_000_000 + 1000);
    }

    fn gif(width: u32, height: u32, frames: u64) -> Probe {
        Probe {
            frames,
            ..Probe::still(width, height, 5_000_000)
        }
    }

    #[test]
    fn an_existing_gif_is_estimated_from_its_own_frame_count() {
        let config = Config::default();
        let both = [video::Format::Webm, video::Format::Mp4];
        let need = |p: &Probe| frame_bytes(p, None) + gif_video_bytes(p, &both, &config);
        // Two frames of 1920x1080 peak at 182 MB (measured): under the
        // default 1 GiB, where 40 assumed frames made 1.2 GiB.
        let two = need(&gif(1920, 1080, 2));
        assert!(two > 182_000_000 && two < 400_000_000, "{two}");
        // More frames cost more, up to what the AV1 encoder holds.
        assert!(need(&gif(1920, 1080, 16)) > two);
        let held = need(&gif(480, 360, 64));
        assert!(held > 128_000_000, "{held}"); // measured 132 MB
        assert!(need(&gif(480, 360, 999)) - held < 64 * 999 * 1024);
        // The 999 one-pixel frames on a 1000x1000 screen: 666 MB measured.
        let tiny = Probe {
            largest: 1,
            ..gif(1000, 1000, 999)
        };
        assert!(need(&tiny) > 666_000_000, "{}", need(&tiny));
        // The work is 999 million pixels per video.
        assert_eq!(video_pixels((1000, 1000), 999), 999_000_000);
        assert!(video_pixels((1000, 1000), 999) > config.limits.max_video_pixels);
        assert!(video_pixels((600, 600), 40) < config.limits.max_video_pixels);
    }
}
