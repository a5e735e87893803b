//! Executing one unit: decode what has to be decoded (each source once),
//! make the outputs the cache cannot supply, reuse the rest.

use super::keys::{Owner, Planned};
use super::{Stage, Timers, Unit};
use crate::assetmap::{self, OutputFile, Role};
use crate::cache::Cache;
use crate::config::Config;
use crate::decode::{self, ImageInfo, Loaded};
use crate::error::{Error, Result};
use crate::optimize;
use crate::output::OutDir;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::report::Diagnostic;
use crate::validate::RootGuard;
use crate::{animate, resize, sprite};
use image::{ImageFormat, RgbaImage};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    pub guard: RootGuard,
    pub timers: Timers,
    pub decoded: AtomicUsize,
    pub progress: &'a dyn Progress,
}

/// A decoded source, with its pixels as RGBA when it is a gallery frame
/// (thumbnails, GIFs and sprites work on RGBA; copies do not need it).
struct Decoded {
    loaded: Loaded,
    rgba: Option<RgbaImage>,
}

impl Worker<'_> {
    pub fn run(&self, unit: &Unit, planned: Vec<Planned>) -> UnitResult {
        let mut result = UnitResult::default();
        let animation_stale = planned
            .iter()
            .any(|p| matches!(p.owner, Owner::Animation(_)) && p.stale.is_some());
        let frames: Vec<usize> = match *unit {
            Unit::Single(s) => vec![s],
            Unit::Animation(a) => self.plan.animations[a].frames.clone(),
        };
        let to_decode =
            super::keys::decode_set(unit, self.plan, &planned, &self.owner, &self.cached_info);
        let decoded: BTreeMap<usize, Result<Decoded>> =
            to_decode.par_iter().map(|&s| (s, self.load(s))).collect();

        // Outputs of the sources this unit owns.
        let owned: Vec<&Planned> = planned
            .iter()
            .filter(|p| matches!(p.owner, Owner::Source(_)))
            .collect();
        let made: Vec<(Planned, Result<OutputFile>, bool)> = owned
            .par_iter()
            .filter_map(|p| {
                let Owner::Source(s) = p.owner else {
                    return None;
                };
                match (&p.stale, decoded.get(&s)) {
                    (_, Some(Err(_))) => None,
                    (Some(_), Some(Ok(d))) => {
                        Some(((*p).clone(), self.source_output(p, s, d), true))
                    }
                    _ => Some(((*p).clone(), Ok(self.reuse(p)), false)),
                }
            })
            .collect();
        for (s, d) in &decoded {
            if self.owns(unit, *s) {
                result
                    .infos
                    .push((*s, d.as_ref().map(|d| d.loaded.info).map_err(clone_error)));
            }
        }
        self.collect(made, &mut result);

        if let Unit::Animation(a) = *unit {
            let mine: Vec<&Planned> = planned
                .iter()
                .filter(|p| p.owner == Owner::Animation(a))
                .collect();
            if !animation_stale {
                result
                    .made
                    .extend(mine.iter().map(|p| ((*p).clone(), self.reuse(p), false)));
            } else {
                let pixels: Option<Vec<&RgbaImage>> = frames
                    .iter()
                    .map(|s| {
                        decoded
                            .get(s)
                            .and_then(|d| d.as_ref().ok())
                            .and_then(|d| d.rgba.as_ref())
                    })
                    .collect();
                let same_size = pixels
                    .as_ref()
                    .is_some_and(|p| p.iter().all(|f| f.dimensions() == p[0].dimensions()));
                if let (Some(pixels), true) = (pixels, same_size) {
                    let made = self.animation_outputs(a, &mine, &pixels);
                    self.collect(made, &mut result);
                }
            }
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

    fn load(&self, s: usize) -> Result<Decoded> {
        let source = &self.plan.sources[s];
        let loaded = self.timers.time(Stage::Decode, || {
            self.guard
                .check(source)
                .and_then(|()| decode::load(&source.path, &self.config.limits))
        });
        self.decoded.fetch_add(1, Ordering::Relaxed);
        self.progress.advance("frames", 1);
        let loaded = loaded?;
        let rgba = source.is_frame().then(|| loaded.pixels.to_rgba8());
        Ok(Decoded { loaded, rgba })
    }

    /// The optimized copy or the thumbnail of a source.
    fn source_output(&self, planned: &Planned, s: usize, d: &Decoded) -> Result<OutputFile> {
        let source = &self.plan.sources[s];
        let encode_err = |m: String| Error::Encode {
            path: source.path.clone(),
            message: m,
        };
        let info = d.loaded.info;
        match planned.role {
            Role::Thumb => {
                let rgba = d
                    .rgba
                    .as_ref()
                    .ok_or_else(|| encode_err("not a gallery frame".into()))?;
                let small = self.timers.time(Stage::Resize, || {
                    resize::to_width(rgba, self.config.thumbs.width)
                });
                let bytes = self
                    .timers
                    .time(Stage::Optimize, || optimize::encode_rgba(&small, &self.png))
                    .map_err(encode_err)?;
                self.write(planned, &bytes, Some(small.dimensions()))
            }
            _ if info.format == ImageFormat::Png => {
                let bytes = self
                    .timers
                    .time(Stage::Optimize, || {
                        optimize::optimize_png(&d.loaded.bytes, &d.loaded.pixels, &self.png)
                    })
                    .map_err(encode_err)?;
                self.write(planned, &bytes, Some((info.width, info.height)))
            }
            _ => self.write(planned, &d.loaded.bytes, Some((info.width, info.height))),
        }
    }

    /// The GIF, sprite sheet and atlas of an animation: stale ones are made,
    /// fresh ones reused.
    fn animation_outputs(
        &self,
        a: usize,
        planned: &[&Planned],
        frames: &[&RgbaImage],
    ) -> Vec<(Planned, Result<OutputFile>, bool)> {
        let animation = &self.plan.animations[a];
        let (w, h) = frames[0].dimensions();
        let thumb_size = resize::fit_width(w, h, self.config.thumbs.width);
        let sp = &self.config.sprite;
        let layout = sprite::layout(
            frames.len() as u32,
            thumb_size.0,
            thumb_size.1,
            sp.columns,
            sp.padding,
        );
        let mut made = Vec::new();
        for p in planned {
            if p.stale.is_none() {
                made.push(((*p).clone(), Ok(self.reuse(p)), false));
                continue;
            }
            let file = match p.role {
                Role::Gif => self.gif(p, frames),
                Role::Sprite => self.sprite(p, frames, &layout),
                _ => {
                    let sheet = crate::output::with_suffix(&animation.key, &sp.suffix, Some("png"));
                    let atlas = SpriteAtlas {
                        image: sheet.rsplit('/').next().unwrap_or(&sheet).to_owned(),
                        layout: layout.clone(),
                    };
                    let mut json = serde_json::to_string_pretty(&atlas).expect("atlas serializes");
                    json.push('\n');
                    self.write(p, json.as_bytes(), None)
                }
            };
            let file = file.map_err(|e| match e {
                Error::Encode { message, .. } => Error::Encode {
                    path: self.out.root().join(&animation.key),
                    message,
                },
                other => other,
            });
            made.push(((*p).clone(), file, true));
        }
        made
    }

    fn gif(&self, planned: &Planned, frames: &[&RgbaImage]) -> Result<OutputFile> {
        let (w, h) = frames[0].dimensions();
        let size = resize::fit_width(w, h, self.config.gif.width);
        let resized: Vec<RgbaImage> = frames
            .par_iter()
            .map(|f| {
                self.timers
                    .time(Stage::Resize, || resize::resize(f, size.0, size.1))
            })
            .collect();
        let gif = self
            .timers
            .time(Stage::Animate, || {
                animate::encode_gif(&resized, &self.config.gif)
            })
            .map_err(|message| Error::Encode {
                path: self.out.root().join(&planned.path),
                message,
            })?;
        self.write(planned, &gif, Some(size))
    }

    fn sprite(
        &self,
        planned: &Planned,
        frames: &[&RgbaImage],
        layout: &sprite::Layout,
    ) -> Result<OutputFile> {
        let thumbs: Vec<RgbaImage> = frames
            .par_iter()
            .map(|f| {
                self.timers.time(Stage::Resize, || {
                    resize::resize(f, layout.frame_width, layout.frame_height)
                })
            })
            .collect();
        let sheet = self
            .timers
            .time(Stage::Sprite, || sprite::compose(&thumbs, layout));
        let png = self
            .timers
            .time(Stage::Sprite, || optimize::encode_rgba(&sheet, &self.png))
            .map_err(|message| Error::Encode {
                path: self.out.root().join(&planned.path),
                message,
            })?;
        let mut file = self.write(planned, &png, Some((layout.width, layout.height)))?;
        file.frames = Some(layout.frames.clone());
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
        })
    }
}

/// Errors are not `Clone` (they may hold an `io::Error`); keep the message.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Missing { path } => Error::Missing { path: path.clone() },
        Error::Empty { path } => Error::Empty { path: path.clone() },
        other => Error::decode(other.path(), other.detail()),
    }
}

/// The sprite sheet's companion JSON.
#[derive(Serialize)]
struct SpriteAtlas {
    /// The sheet's file name, beside this file.
    image: String,
    #[serde(flatten)]
    layout: sprite::Layout,
}
