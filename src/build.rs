//! `assetmill build`: from the plan, one parallel pass writes every output
//! a site needs into `out/`, then the asset map.
//!
//! Work is split into units: one per animation (its gallery's frames are
//! decoded once and feed the optimized copies, thumbnails, GIF and sprite)
//! and one per remaining source file. Units run in parallel on the rayon
//! pool and the frames within a unit in parallel too, so at most a few
//! units' frames are in memory at once. A file that fails to load yields
//! the same diagnostics as `check` and no outputs; an animation with a bad
//! frame gets no GIF or sprite; everything else is still built.

use crate::assetmap::{self, Asset, AssetMap, FileInfo, Kind, OutputFile, Role};
use crate::config::Config;
use crate::decode::{self, ImageInfo, Loaded};
use crate::error::{Error, Result};
use crate::manifest::{self, Manifest};
use crate::optimize;
use crate::output::{self, OutDir};
use crate::plan::{self, Animation, Plan, Source, Use};
use crate::progress::Progress;
use crate::report::{Diagnostic, Report};
use crate::{animate, resize, sprite, validate};
use image::{ImageFormat, RgbaImage};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The pipeline's stages, for timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Decode,
    Optimize,
    Resize,
    Animate,
    Sprite,
    Write,
}

const STAGES: [Stage; 6] = [
    Stage::Decode,
    Stage::Optimize,
    Stage::Resize,
    Stage::Animate,
    Stage::Sprite,
    Stage::Write,
];

/// CPU time spent per stage, summed over threads.
#[derive(Debug, Default)]
struct Timers([AtomicU64; 6]);

impl Timers {
    fn time<T>(&self, stage: Stage, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let value = f();
        self.0[stage as usize].fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        value
    }
}

/// Figures for the end-of-run summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BuildSummary {
    /// Files written under `out/` (the asset map included).
    pub files: usize,
    /// Bytes of the source files processed.
    pub source_bytes: u64,
    /// Bytes of their optimized copies.
    pub optimized_bytes: u64,
    /// Bytes of every file written.
    pub written_bytes: u64,
    /// CPU time per stage, summed over threads.
    pub stages: Vec<(Stage, Duration)>,
    /// Wall time of the whole build.
    pub wall: Duration,
}

/// Everything a build produced.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub summary: BuildSummary,
    pub asset_map: AssetMap,
}

/// What one unit produced.
#[derive(Default)]
struct UnitResult {
    /// (source index, load result) for sources this unit owns.
    infos: Vec<(usize, Result<ImageInfo>)>,
    /// (source index, source file facts, outputs).
    sources: Vec<(usize, FileInfo, Vec<OutputFile>)>,
    /// (animation index, outputs).
    animations: Vec<(usize, Vec<OutputFile>)>,
    diagnostics: Vec<Diagnostic>,
}

enum Unit {
    Animation(usize),
    Single(usize),
}

struct Builder<'a> {
    config: &'a Config,
    plan: &'a Plan,
    out: OutDir,
    png: oxipng::Options,
    owner: Vec<Option<usize>>,
    timers: Timers,
    progress: &'a dyn Progress,
}

/// Runs the whole build. `Err` only when the output folder itself cannot be
/// used; every per-file problem is a diagnostic in the report.
pub fn build(config: &Config, progress: &dyn Progress) -> Result<Outcome> {
    let started = Instant::now();
    refuse_out_over_sources(config)?;
    let manifest = manifest::read_site(&config.content);
    let plan = plan::plan(&manifest, &config.images);
    let out = OutDir::create(&config.out)?;
    let units = units(&plan);
    let builder = Builder {
        config,
        plan: &plan,
        out,
        png: optimize::oxipng_options(&config.optimize),
        owner: owners(&plan),
        timers: Timers::default(),
        progress,
    };
    progress.start("pages", units.len() as u64);
    progress.start("frames", plan.sources.len() as u64);
    // Units go in waves of a few per thread: a thread waiting inside a
    // unit's nested parallel work may steal another unit, so an unbounded
    // pass could hold many units' frames at once.
    let wave = rayon::current_num_threads() * 2;
    let mut results: Vec<UnitResult> = Vec::with_capacity(units.len());
    for chunk in units.chunks(wave) {
        results.par_extend(chunk.par_iter().map(|unit| {
            let result = match *unit {
                Unit::Animation(a) => builder.animation(a),
                Unit::Single(s) => builder.single(s),
            };
            progress.advance("pages", 1);
            result
        }));
    }
    progress.finish("frames");
    progress.finish("pages");
    builder.finish(&manifest, results, started)
}

/// Optimized copies keep their names, so writing them over the image root
/// would replace the sources.
fn refuse_out_over_sources(config: &Config) -> Result<()> {
    let same = match (
        std::fs::canonicalize(&config.out),
        std::fs::canonicalize(&config.images),
    ) {
        (Ok(out), Ok(images)) => out == images,
        _ => false,
    };
    if same {
        return Err(Error::Config {
            path: config.out.clone(),
            message: "the output folder is the image root; outputs would overwrite sources".into(),
        });
    }
    Ok(())
}

/// Each source is owned by the first complete animation that lists it, or
/// by a unit of its own.
fn owners(plan: &Plan) -> Vec<Option<usize>> {
    let mut owner = vec![None; plan.sources.len()];
    for (a, animation) in plan.animations.iter().enumerate() {
        if animation.incomplete {
            continue;
        }
        for &s in &animation.frames {
            owner[s].get_or_insert(a);
        }
    }
    owner
}

fn units(plan: &Plan) -> Vec<Unit> {
    let owner = owners(plan);
    let animations = (0..plan.animations.len())
        .filter(|&a| !plan.animations[a].incomplete)
        .map(Unit::Animation);
    let singles = (0..plan.sources.len())
        .filter(|&s| owner[s].is_none())
        .map(Unit::Single);
    animations.chain(singles).collect()
}

impl Builder<'_> {
    fn load(&self, source: &Source) -> Result<Loaded> {
        let loaded = self.timers.time(Stage::Decode, || {
            decode::load(&source.path, &self.config.limits)
        });
        self.progress.advance("frames", 1);
        loaded
    }

    fn single(&self, s: usize) -> UnitResult {
        let source = &self.plan.sources[s];
        let mut result = UnitResult::default();
        match self.load(source) {
            Ok(loaded) => {
                result.infos.push((s, Ok(loaded.info)));
                let rgba = source.is_frame().then(|| loaded.pixels.to_rgba8());
                self.source_outputs(s, &loaded, rgba.as_ref(), &mut result);
            }
            Err(e) => result.infos.push((s, Err(e))),
        }
        result
    }

    fn animation(&self, a: usize) -> UnitResult {
        let animation = &self.plan.animations[a];
        let mut result = UnitResult::default();
        let loaded: Vec<(usize, Result<Loaded>)> = animation
            .frames
            .par_iter()
            .map(|&s| (s, self.load(&self.plan.sources[s])))
            .collect();
        let mut frames: Vec<(usize, Loaded, RgbaImage)> = Vec::new();
        let mut failed = false;
        let mut seen = BTreeSet::new();
        for (s, load) in loaded {
            let mine = self.owner[s] == Some(a) && seen.insert(s);
            match load {
                Ok(l) => {
                    if mine {
                        result.infos.push((s, Ok(l.info)));
                    }
                    let rgba = l.pixels.to_rgba8();
                    frames.push((s, l, rgba));
                }
                Err(e) => {
                    failed = true;
                    if mine {
                        result.infos.push((s, Err(e)));
                    }
                }
            }
        }
        // Copies and thumbnails of the frames this unit owns.
        let owned: BTreeSet<usize> = result.infos.iter().map(|(s, _)| *s).collect();
        // A gallery may list a frame twice; make its outputs once.
        let first_of = |s: usize| frames.iter().position(|(t, ..)| *t == s);
        let per_frame: Vec<UnitResult> = frames
            .par_iter()
            .enumerate()
            .filter(|(i, (s, ..))| owned.contains(s) && first_of(*s) == Some(*i))
            .map(|(_, (s, loaded, rgba))| {
                let mut r = UnitResult::default();
                self.source_outputs(*s, loaded, Some(rgba), &mut r);
                r
            })
            .collect();
        for r in per_frame {
            result.sources.extend(r.sources);
            result.diagnostics.extend(r.diagnostics);
        }
        let first = frames.first().map(|(_, _, f)| f.dimensions());
        let same_size = frames.iter().all(|(_, _, f)| Some(f.dimensions()) == first);
        if !failed && same_size && !frames.is_empty() {
            let rgba: Vec<&RgbaImage> = frames.iter().map(|(_, _, f)| f).collect();
            match self.animation_outputs(animation, &rgba) {
                Ok(outputs) => result.animations.push((a, outputs)),
                Err(e) => result
                    .diagnostics
                    .extend(animation.users.iter().map(|u| u.error(e.detail()))),
            }
        }
        result
    }

    /// The optimized copy and, for frames, the thumbnail of one source.
    fn source_outputs(
        &self,
        s: usize,
        loaded: &Loaded,
        rgba: Option<&RgbaImage>,
        result: &mut UnitResult,
    ) {
        let source = &self.plan.sources[s];
        let mut outputs = Vec::new();
        let copy = if loaded.info.format == ImageFormat::Png {
            self.timers
                .time(Stage::Optimize, || {
                    optimize::optimize_png(&loaded.bytes, &loaded.pixels, &self.png)
                })
                .map_err(|m| Error::Encode {
                    path: source.path.clone(),
                    message: m,
                })
        } else {
            Ok(loaded.bytes.clone())
        };
        let info = loaded.info;
        let made = copy.and_then(|bytes| {
            self.write(
                Role::Optimized,
                &source.key,
                &bytes,
                Some((info.width, info.height)),
            )
        });
        match made {
            Ok(o) => outputs.push(o),
            Err(e) => result
                .diagnostics
                .extend(source.users.iter().map(|u| u.error(e.detail()))),
        }
        if let Some(rgba) = rgba {
            let key = output::with_suffix(&source.key, &self.config.thumbs.suffix, Some("png"));
            match self
                .thumb(rgba)
                .and_then(|(bytes, size)| self.write(Role::Thumb, &key, &bytes, Some(size)))
            {
                Ok(o) => outputs.push(o),
                Err(e) => result
                    .diagnostics
                    .extend(source.users.iter().map(|u| u.error(e.detail()))),
            }
        }
        let file = FileInfo {
            format: decode::format_name(info.format).to_owned(),
            width: info.width,
            height: info.height,
            bytes: info.bytes,
            hash: assetmap::hash(&loaded.bytes),
        };
        result.sources.push((s, file, outputs));
    }

    fn thumb(&self, rgba: &RgbaImage) -> Result<(Vec<u8>, (u32, u32))> {
        let small = self.timers.time(Stage::Resize, || {
            resize::to_width(rgba, self.config.thumbs.width)
        });
        let bytes = self.encode_png(&small, Stage::Optimize)?;
        Ok((bytes, small.dimensions()))
    }

    fn encode_png(&self, image: &RgbaImage, stage: Stage) -> Result<Vec<u8>> {
        self.timers
            .time(stage, || optimize::encode_rgba(image, &self.png))
            .map_err(|m| Error::Encode {
                path: self.out.root().to_owned(),
                message: m,
            })
    }

    /// The GIF, the sprite sheet and its JSON atlas of an animation.
    fn animation_outputs(
        &self,
        animation: &Animation,
        frames: &[&RgbaImage],
    ) -> Result<Vec<OutputFile>> {
        let (w, h) = frames[0].dimensions();
        let gif_size = resize::fit_width(w, h, self.config.gif.width);
        let resized: Vec<RgbaImage> = frames
            .par_iter()
            .map(|f| {
                self.timers
                    .time(Stage::Resize, || resize::resize(f, gif_size.0, gif_size.1))
            })
            .collect();
        let gif = self
            .timers
            .time(Stage::Animate, || {
                animate::encode_gif(&resized, &self.config.gif)
            })
            .map_err(|m| Error::Encode {
                path: self.out.root().join(&animation.key),
                message: m,
            })?;
        drop(resized);
        let mut outputs = vec![self.write(Role::Gif, &animation.key, &gif, Some(gif_size))?];

        let thumb_size = resize::fit_width(w, h, self.config.thumbs.width);
        let thumbs: Vec<RgbaImage> = frames
            .par_iter()
            .map(|f| {
                self.timers.time(Stage::Resize, || {
                    resize::resize(f, thumb_size.0, thumb_size.1)
                })
            })
            .collect();
        let sp = &self.config.sprite;
        let layout = sprite::layout(
            thumbs.len() as u32,
            thumb_size.0,
            thumb_size.1,
            sp.columns,
            sp.padding,
        );
        let sheet = self
            .timers
            .time(Stage::Sprite, || sprite::compose(&thumbs, &layout));
        let png = self.encode_png(&sheet, Stage::Sprite)?;
        let sheet_key = output::with_suffix(&animation.key, &sp.suffix, Some("png"));
        let mut out = self.write(
            Role::Sprite,
            &sheet_key,
            &png,
            Some((layout.width, layout.height)),
        )?;
        out.frames = Some(layout.frames.clone());
        outputs.push(out);
        let atlas = SpriteAtlas {
            image: sheet_key
                .rsplit('/')
                .next()
                .unwrap_or(&sheet_key)
                .to_owned(),
            layout,
        };
        let mut json = serde_json::to_string_pretty(&atlas).expect("atlas serializes");
        json.push('\n');
        let json_key = output::with_suffix(&animation.key, &sp.suffix, Some("json"));
        outputs.push(self.write(Role::SpriteMap, &json_key, json.as_bytes(), None)?);
        Ok(outputs)
    }

    fn write(
        &self,
        role: Role,
        key: &str,
        bytes: &[u8],
        size: Option<(u32, u32)>,
    ) -> Result<OutputFile> {
        self.timers
            .time(Stage::Write, || self.out.write(key, bytes))?;
        Ok(OutputFile {
            role,
            path: key.to_owned(),
            width: size.map(|s| s.0),
            height: size.map(|s| s.1),
            bytes: bytes.len() as u64,
            hash: assetmap::hash(bytes),
            frames: None,
        })
    }

    fn finish(
        self,
        manifest: &Manifest,
        results: Vec<UnitResult>,
        started: Instant,
    ) -> Result<Outcome> {
        let plan = self.plan;
        let mut infos: Vec<Option<Result<ImageInfo>>> =
            (0..plan.sources.len()).map(|_| None).collect();
        let mut source_outputs = BTreeMap::new();
        let mut animation_outputs = BTreeMap::new();
        let mut diagnostics = Vec::new();
        for result in results {
            for (s, info) in result.infos {
                infos[s] = Some(info);
            }
            for (s, file, outputs) in result.sources {
                source_outputs.insert(s, (file, outputs));
            }
            animation_outputs.extend(result.animations);
            diagnostics.extend(result.diagnostics);
        }
        let infos: Vec<Result<ImageInfo>> = infos
            .into_iter()
            .zip(&plan.sources)
            .map(|(info, source)| {
                info.unwrap_or_else(|| Err(Error::decode(&source.path, "not processed")))
            })
            .collect();
        diagnostics.extend(validate::diagnose(manifest, plan, &infos));

        let map = self.asset_map(&source_outputs, &animation_outputs);
        let mut summary = BuildSummary::default();
        for (file, outputs) in source_outputs.values() {
            summary.source_bytes += file.bytes;
            summary.optimized_bytes += outputs
                .iter()
                .filter(|o| o.role == Role::Optimized)
                .map(|o| o.bytes)
                .sum::<u64>();
        }
        let all_outputs = source_outputs
            .values()
            .flat_map(|(_, o)| o)
            .chain(animation_outputs.values().flatten());
        for o in all_outputs {
            summary.files += 1;
            summary.written_bytes += o.bytes;
        }
        let map_bytes = map.to_json();
        let map_path = self
            .config
            .asset_map
            .path
            .to_string_lossy()
            .replace('\\', "/");
        self.out.write(&map_path, map_bytes.as_bytes())?;
        summary.files += 1;
        summary.written_bytes += map_bytes.len() as u64;
        if let Some(copy) = &self.config.asset_map.data_copy {
            let yaml = map.to_yaml().map_err(|m| Error::Encode {
                path: copy.clone(),
                message: m,
            })?;
            output::write_atomic(copy, yaml.as_bytes(), None)?;
        }
        summary.stages = STAGES
            .iter()
            .map(|&s| {
                (
                    s,
                    Duration::from_nanos(self.timers.0[s as usize].load(Ordering::Relaxed)),
                )
            })
            .collect();
        summary.wall = started.elapsed();
        let images = plan.sources.len() + plan.animations.len();
        Ok(Outcome {
            report: Report::new(diagnostics, manifest.pages.len(), images),
            summary,
            asset_map: map,
        })
    }

    fn asset_map(
        &self,
        sources: &BTreeMap<usize, (FileInfo, Vec<OutputFile>)>,
        animations: &BTreeMap<usize, Vec<OutputFile>>,
    ) -> AssetMap {
        let content = &self.config.content;
        let pages = |users: &[Use]| -> Vec<String> {
            let set: BTreeSet<String> = users.iter().map(|u| page_name(content, &u.page)).collect();
            set.into_iter().collect()
        };
        let written = |users: &[Use]| -> BTreeSet<String> {
            users.iter().map(|u| u.written.clone()).collect()
        };
        let mut assets = BTreeMap::new();
        for (&s, (file, outputs)) in sources {
            let source = &self.plan.sources[s];
            let asset = Asset {
                kind: if source.is_frame() {
                    Kind::Frame
                } else {
                    Kind::Image
                },
                source: Some(file.clone()),
                frames: Vec::new(),
                outputs: outputs.clone(),
                pages: pages(&source.users),
            };
            for key in written(&source.users) {
                assets.insert(key, asset.clone());
            }
        }
        for (&a, outputs) in animations {
            let animation = &self.plan.animations[a];
            let frames = animation
                .frames
                .iter()
                .map(|&s| {
                    let users = &self.plan.sources[s].users;
                    users
                        .iter()
                        .find(|u| u.page == animation.page)
                        .unwrap_or(&users[0])
                        .written
                        .clone()
                })
                .collect();
            let asset = Asset {
                kind: Kind::Animation,
                source: None,
                frames,
                outputs: outputs.clone(),
                pages: pages(&animation.users),
            };
            for key in written(&animation.users) {
                assets.insert(key, asset.clone());
            }
        }
        AssetMap {
            version: assetmap::SCHEMA_VERSION,
            assets,
        }
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

fn page_name(content: &Path, page: &Path) -> String {
    page.strip_prefix(content)
        .unwrap_or(page)
        .to_string_lossy()
        .replace('\\', "/")
}
