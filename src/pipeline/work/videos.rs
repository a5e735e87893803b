//! The WebM and MP4 of an animation or of an existing GIF page image,
//! each encoded as configured, raised to its quality floor, then fitted to
//! its size budget.

use super::{Notes, Worker};
use crate::config::VideoOptions;
use crate::error::{Error, Result};
use crate::outputs::assetmap::{self, OutputFile};
use crate::outputs::diagnostics::Diagnostic;
use crate::pipeline::budgets::{self, Choice, Knob};
use crate::pipeline::keys::Planned;
use crate::pipeline::memory::video_format;
use crate::pipeline::quality::{self, Reached};
use crate::pipeline::timers::Stage;
use crate::plan::timing::Timing;
use crate::stages::decode::{self, Loaded};
use crate::stages::video;
use image::RgbaImage;
use std::time::{Duration, Instant};

impl Worker<'_> {
    /// A video from frames, each shown for `shown_ms`.
    pub(super) fn video(
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
        let fitted = self
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
        self.write_video(planned, fitted, notes)
    }

    /// A video made by `make` with the configured options (`first`, when
    /// already made), made again at a better quantizer when it falls short
    /// of its quality floor ([`quality::reach`]), then, when `budgets.fit`
    /// applies to it, at the best quality from there that fits its budget.
    pub(super) fn fit_video(
        &self,
        planned: &Planned,
        first: Option<video::Video>,
        make: impl Fn(&VideoOptions) -> std::result::Result<video::Video, String>,
    ) -> std::result::Result<Fitted, String> {
        let role = planned.role;
        let at = |value| make(&budgets::video_options(self.config, role, value));
        let first = match first {
            Some(clip) => clip,
            None => make(&self.config.video)?,
        };
        let (clip, reached) = match quality::floor(self.config, role) {
            Some(floor) => {
                let (clip, reached) = quality::reach(floor, first, at, |clip| clip.ssim)?;
                (clip, Some(reached))
            }
            None => (first, None),
        };
        let target = budgets::fit_target(self.config, self.plan, planned);
        let (clip, choice) = match (target, budgets::knob(self.config, role)) {
            (Some(limit), Some(knob)) => {
                // The budget lowers quality from where the floor left it.
                let knob = Knob {
                    configured: reached.map_or(knob.configured, |r| r.value),
                    ..knob
                };
                let (clip, choice) =
                    budgets::search(knob, limit.bytes.0, Some(clip), at, |clip| {
                        clip.bytes.len() as u64
                    })?;
                (clip, Some(choice))
            }
            _ => (clip, None),
        };
        Ok(Fitted {
            clip,
            choice,
            reached,
        })
    }

    pub(super) fn write_video(
        &self,
        planned: &Planned,
        fitted: Fitted,
        notes: &Notes,
    ) -> Result<OutputFile> {
        let Fitted {
            clip,
            choice,
            reached,
        } = fitted;
        // The clip measured itself while it was encoded.
        self.timers
            .rebook(Stage::Video, Stage::Measure, clip.measure_time);
        let mut file = self.write(planned, &clip.bytes, Some((clip.width, clip.height)))?;
        file.frames = Some(clip.frames);
        file.duration_ms = Some(clip.duration_ms);
        file.ssim = clip.ssim.map(assetmap::ssim_figure);
        if let Some(reached) = reached {
            let found = self.quality_notes(planned, reached, choice);
            notes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(found);
        }
        self.fit_notes(planned, choice, &file, notes);
        Ok(file)
    }

    /// Says when a video's quality floor moved its quantizer, or could not
    /// be reached, at each page that uses it. Nothing when the configured
    /// quantizer reached the floor, or when a size budget then lowered the
    /// quality again (its own note says so).
    fn quality_notes(
        &self,
        planned: &Planned,
        reached: Reached,
        choice: Option<Choice>,
    ) -> Vec<Diagnostic> {
        let floor = reached.floor;
        let Some(ssim) = reached.ssim else {
            return Vec::new();
        };
        if choice.is_some_and(|c| c.value != reached.value)
            || (reached.reached && reached.value == floor.configured)
        {
            return Vec::new();
        }
        let path = self.out.root().join(&planned.path);
        let message = if reached.reached {
            format!(
                "{}: {} lowered from {} to {} to reach the SSIM floor {:.3} of {}; \
                 its SSIM is now {:.4}",
                path.display(),
                floor.knob,
                floor.configured,
                reached.value,
                floor.target,
                floor.key,
                ssim,
            )
        } else {
            format!(
                "{}: SSIM {:.4} is below the floor {:.3} of {} even at {} {}, the best \
                 tried; lower {} or the floor",
                path.display(),
                ssim,
                floor.target,
                floor.key,
                floor.knob,
                reached.value,
                floor.knob,
            )
        };
        budgets::users(self.plan, planned.owner)
            .iter()
            .map(|u| {
                if reached.reached {
                    Diagnostic::note(&u.page, Some(u.line), message.clone())
                } else {
                    Diagnostic::warning(&u.page, Some(u.line), message.clone())
                }
            })
            .collect()
    }

    /// Says which quality `budgets.fit` chose for an output it lowered.
    pub(super) fn fit_notes(
        &self,
        planned: &Planned,
        choice: Option<Choice>,
        file: &OutputFile,
        notes: &Notes,
    ) {
        if let Some(choice) = choice {
            let found = budgets::fit_notes(
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

    /// The clips of an existing GIF's stale videos, to be fed as it is
    /// decoded.
    pub(super) fn gif_clips(&self, planned: &[&Planned]) -> GifClips<'_> {
        GifClips {
            clips: planned
                .iter()
                .map(|p| video::Clip::new(video_format(p.role), &self.config.video))
                .collect(),
            failed: vec![None; planned.len()],
            spent: Duration::ZERO,
        }
    }

    /// The videos of an existing GIF, from `clips` fed by the pass that
    /// decoded it (see [`Worker::gif_clips`]).
    pub(super) fn gif_videos(
        &self,
        s: usize,
        loaded: &Loaded,
        planned: &[&Planned],
        clips: GifClips<'_>,
        notes: &Notes,
    ) -> Vec<Result<OutputFile>> {
        // The encoders ran inside the decoding pass, timed as decoding.
        self.timers.rebook(Stage::Decode, Stage::Video, clips.spent);
        clips
            .clips
            .into_iter()
            .zip(clips.failed)
            .zip(planned)
            .map(|((clip, failed), p)| {
                let encode_err = |message: String| Error::Encode {
                    path: self.out.root().join(&p.path),
                    message: format!("{} not made: {message}", p.path),
                };
                if let Some(message) = failed {
                    return Err(encode_err(message));
                }
                let format = video_format(p.role);
                let fitted = self
                    .timers
                    .time(Stage::Video, || {
                        let first = clip.finish()?;
                        self.fit_video(p, Some(first), |options| {
                            self.gif_video(s, loaded, format, options)
                        })
                    })
                    .map_err(encode_err)?;
                self.write_video(p, fitted, notes)
            })
            .collect()
    }

    /// One video of an existing GIF with `options`, from another pass over
    /// its frames (for `budgets.fit`, which tries several).
    pub(super) fn gif_video(
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
}

/// A video as kept, and how it got there.
pub(super) struct Fitted {
    clip: video::Video,
    /// What `budgets.fit` chose, when it applies.
    choice: Option<Choice>,
    /// What the quality floor chose, when there is one.
    reached: Option<Reached>,
}

/// The videos of an existing GIF being made from its frames as they are
/// decoded; a clip that fails stops taking frames and keeps its error.
pub(super) struct GifClips<'a> {
    clips: Vec<video::Clip<'a>>,
    failed: Vec<Option<String>>,
    /// Time spent in the encoders.
    spent: Duration,
}

impl GifClips<'_> {
    pub(super) fn push(&mut self, frame: &RgbaImage, ms: u32) {
        let start = Instant::now();
        for (clip, failed) in self.clips.iter_mut().zip(&mut self.failed) {
            if failed.is_none()
                && let Err(e) = clip.push(frame, ms)
            {
                *failed = Some(e);
            }
        }
        self.spent += start.elapsed();
    }
}
