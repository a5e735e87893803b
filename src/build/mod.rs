//! `assetmill build`: from the plan, one parallel pass writes every output
//! a site needs into `out/`, then the asset map; `clean` removes them.
//!
//! Work is split into units: one per animation (its gallery's frames are
//! decoded once and feed the optimized copies, thumbnails, GIF and sprite)
//! and one per remaining source file. Units run in parallel in waves of a
//! few per thread, so memory does not grow with the site. The cache
//! ([`crate::cache`]) makes rebuilds incremental: sources are hashed (read,
//! not decoded) and an output is remade only when its inputs, its options,
//! or the file on disk changed. A file that fails to load yields the same
//! diagnostics as `check` and no outputs; everything else is still built.

mod budget;
mod keys;
mod work;

pub use keys::Reason;

use crate::assetmap::{self, Asset, AssetMap, FileInfo, Kind, OutputFile, Role};
use crate::cache::{self, Cache, Record};
use crate::config::Config;
use crate::decode::{self, ImageInfo};
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::manifest::{self, Manifest};
use crate::optimize;
use crate::output::OutDir;
use crate::plan::{self, Plan, Use};
use crate::progress::Progress;
use crate::report::{Diagnostic, Report};
use crate::validate::{self, RootGuard};
use keys::{Owner, Planned};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use work::{UnitResult, Worker};

/// The pipeline's stages, for timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Hash,
    Decode,
    Optimize,
    Resize,
    Animate,
    Sprite,
    Write,
}

const STAGES: [Stage; 7] = [
    Stage::Hash,
    Stage::Decode,
    Stage::Optimize,
    Stage::Resize,
    Stage::Animate,
    Stage::Sprite,
    Stage::Write,
];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Hash => "hash",
            Stage::Decode => "decode",
            Stage::Optimize => "optimize",
            Stage::Resize => "resize",
            Stage::Animate => "animate",
            Stage::Sprite => "sprite",
            Stage::Write => "write",
        }
    }
}

/// CPU time spent per stage, summed over threads.
#[derive(Debug, Default)]
struct Timers([AtomicU64; 7]);

impl Timers {
    fn time<T>(&self, stage: Stage, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let value = f();
        self.0[stage as usize].fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        value
    }
}

/// How to run a build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// Work out what would be rebuilt or removed, and write nothing.
    pub dry_run: bool,
}

/// An output that is (or would be) rebuilt, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    pub reason: Reason,
}

/// Figures for the end-of-run summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BuildSummary {
    /// Outputs written by this run (the asset map included).
    pub built: usize,
    /// Outputs found up to date and kept.
    pub reused: usize,
    /// Stale outputs removed.
    pub removed: usize,
    /// Source files decoded.
    pub decoded: usize,
    /// Bytes of the source files referenced.
    pub source_bytes: u64,
    /// Bytes of their optimized copies.
    pub optimized_bytes: u64,
    /// Bytes written by this run.
    pub written_bytes: u64,
    /// Bytes of every output now in `out/`.
    pub output_bytes: u64,
    /// CPU seconds per stage, summed over threads.
    pub stages: BTreeMap<Stage, f64>,
    /// Wall time of the whole build, in seconds.
    pub seconds: f64,
}

/// Everything a build produced.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub summary: BuildSummary,
    pub asset_map: AssetMap,
    /// Outputs rebuilt (or, in a dry run, to rebuild), sorted by path.
    pub changes: Vec<Change>,
    /// Stale outputs removed (or to remove), sorted.
    pub removed: Vec<String>,
}

enum Unit {
    Animation(usize),
    Single(usize),
}

/// Runs the whole build. `Err` only when the output folder itself cannot be
/// used; every per-file problem is a diagnostic in the report.
pub fn build(config: &Config, options: BuildOptions, progress: &dyn Progress) -> Result<Outcome> {
    let started = Instant::now();
    refuse_out_over_sources(config)?;
    let _lock = if options.dry_run {
        None
    } else {
        Some(Lock::acquire(&config.out, &|m| progress.note(m))?)
    };
    let out = if options.dry_run {
        OutDir::existing(&config.out)
    } else {
        let out = OutDir::create(&config.out)?;
        remove_temp_files(&config.out);
        out
    };
    let old = Cache::load(&config.out);
    let manifest = manifest::read_site(&config.content);
    let plan = plan::plan(&manifest, &config.images);
    let owner = owners(&plan);
    let units = units(&plan, &owner);
    let timers = Timers::default();
    let guard = RootGuard::new(&config.images);

    // Content hashes of every source: read, not decoded.
    let hashes: Vec<Option<String>> = timers.time(Stage::Hash, || {
        plan.sources
            .par_iter()
            .map(|s| {
                guard.check(s).ok()?;
                std::fs::read(&s.path).ok().map(|b| assetmap::hash(&b))
            })
            .collect()
    });
    let limits = cache::fingerprint(&config.limits);
    let info_key = |s: usize| hashes[s].as_ref().map(|h| format!("{h}:{limits}"));
    let cached_info: Vec<Option<ImageInfo>> = (0..plan.sources.len())
        .map(|s| info_key(s).and_then(|k| old.sources.get(&k).copied()))
        .collect();

    // What each unit should produce, and what the cache already has.
    let planned: Vec<Vec<Planned>> = units
        .par_iter()
        .map(|unit| {
            let mut planned = keys::plan_unit(unit, &plan, config, &owner, &hashes);
            for p in &mut planned {
                p.stale = keys::staleness(p, &old, &config.out);
            }
            planned
        })
        .collect();
    let all_paths: BTreeSet<String> = planned.iter().flatten().map(|p| p.path.clone()).collect();
    let map_path = config.asset_map.path.to_string_lossy().replace('\\', "/");

    let decode_sets: Vec<Vec<usize>> = units
        .iter()
        .zip(&planned)
        .map(|(unit, p)| keys::decode_set(unit, &plan, p, &owner, &cached_info))
        .collect();
    let to_decode: usize = decode_sets.iter().map(Vec::len).sum();
    if options.dry_run {
        return Ok(dry_run(
            &old, &manifest, &plan, &planned, &all_paths, &map_path, to_decode, started,
        ));
    }

    // Record what this run may write before writing it, so a killed run
    // leaves nothing unaccounted for.
    let mut pending = old.clone();
    pending.pending = old
        .known_paths()
        .into_iter()
        .chain(all_paths.iter().cloned())
        .collect();
    pending.pending.insert(map_path.clone());
    pending.save(&config.out)?;

    let worker = Worker {
        config,
        plan: &plan,
        out: &out,
        cache: &old,
        png: optimize::oxipng_options(&config.optimize),
        owner,
        cached_info,
        guard,
        timers,
        decoded: AtomicUsize::new(0),
        progress,
    };
    progress.start("pages", units.len() as u64);
    progress.start("frames", to_decode as u64);
    // Units run in waves sized to the memory budget (see budget.rs).
    let jobs: Vec<(&Unit, Vec<Planned>)> = units.iter().zip(planned).collect();
    let results: Vec<UnitResult> = budget::run(&worker, jobs);
    progress.finish("frames");
    progress.finish("pages");
    finish(
        &worker, &old, &manifest, &hashes, results, &map_path, started,
    )
}

fn finish(
    worker: &Worker<'_>,
    old: &Cache,
    manifest: &Manifest,
    hashes: &[Option<String>],
    results: Vec<UnitResult>,
    map_path: &str,
    started: Instant,
) -> Result<Outcome> {
    let (plan, config) = (worker.plan, worker.config);
    let mut infos: Vec<Option<Result<ImageInfo>>> =
        worker.cached_info.iter().map(|i| i.map(Ok)).collect();
    let mut made: Vec<(Planned, OutputFile, bool)> = Vec::new();
    let mut diagnostics = Vec::new();
    for result in results {
        for (s, info) in result.infos {
            infos[s] = Some(info);
        }
        made.extend(result.made);
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
    made.sort_by(|a, b| a.0.path.cmp(&b.0.path));

    let map = asset_map(config, plan, &infos, hashes, &made);
    let map_bytes = map.to_json();
    let map_unchanged =
        std::fs::read(worker.out.path(map_path)?).is_ok_and(|b| b == map_bytes.as_bytes());
    if !map_unchanged {
        worker.out.write(map_path, map_bytes.as_bytes())?;
    }
    if let Some(copy) = &config.asset_map.data_copy {
        let yaml = map.to_yaml().map_err(|m| Error::Encode {
            path: copy.clone(),
            message: m,
        })?;
        crate::output::write_atomic(copy, yaml.as_bytes(), None)?;
    }

    // The new cache: every output in place, every valid source's facts.
    let limits = cache::fingerprint(&config.limits);
    let mut cache = Cache {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Cache::default()
    };
    for (s, info) in infos.iter().enumerate() {
        if let (Ok(info), Some(hash)) = (info, &hashes[s]) {
            cache.sources.insert(format!("{hash}:{limits}"), *info);
        }
    }
    let mut summary = BuildSummary::default();
    let mut changes = Vec::new();
    for (planned, file, built) in &made {
        if *built {
            summary.built += 1;
            summary.written_bytes += file.bytes;
            changes.extend(planned.stale.map(|reason| Change {
                path: planned.path.clone(),
                reason,
            }));
        } else {
            summary.reused += 1;
        }
        summary.output_bytes += file.bytes;
        if planned.role == Role::Optimized {
            summary.optimized_bytes += file.bytes;
            if let Owner::Source(s) = planned.owner {
                summary.source_bytes += infos[s].as_ref().map_or(0, |i| i.bytes);
            }
        }
        cache.outputs.insert(
            planned.path.clone(),
            Record {
                inputs: planned.inputs.clone(),
                options: planned.options.clone(),
                file: file.clone(),
            },
        );
    }
    let map_file = OutputFile {
        role: Role::AssetMap,
        path: map_path.to_owned(),
        width: None,
        height: None,
        bytes: map_bytes.len() as u64,
        hash: assetmap::hash(map_bytes.as_bytes()),
        frames: None,
    };
    if map_unchanged {
        summary.reused += 1;
    } else {
        summary.built += 1;
        summary.written_bytes += map_file.bytes;
    }
    summary.output_bytes += map_file.bytes;
    cache.outputs.insert(
        map_path.to_owned(),
        Record {
            inputs: map_file.hash.clone(),
            options: keys::options(config, Role::AssetMap),
            file: map_file,
        },
    );

    // Stale outputs: recorded by an earlier run, not made by this one.
    let removed: Vec<String> = old
        .known_paths()
        .into_iter()
        .filter(|p| !cache.outputs.contains_key(p))
        .collect();
    for path in &removed {
        let full = worker.out.root().join(path);
        if worker.out.path(path).is_ok() && std::fs::remove_file(&full).is_ok() {
            summary.removed += 1;
            prune_empty_dirs(worker.out.root(), &full);
        }
    }
    cache.save(&config.out)?;

    summary.decoded = worker.decoded.load(Ordering::Relaxed);
    summary.stages = STAGES
        .iter()
        .map(|&s| {
            (
                s,
                Duration::from_nanos(worker.timers.0[s as usize].load(Ordering::Relaxed))
                    .as_secs_f64(),
            )
        })
        .collect();
    summary.seconds = started.elapsed().as_secs_f64();
    let images = plan.sources.len() + plan.animations.len();
    Ok(Outcome {
        report: Report::new(diagnostics, manifest.pages.len(), images),
        summary,
        asset_map: map,
        changes,
        removed,
    })
}

#[allow(clippy::too_many_arguments)]
fn dry_run(
    old: &Cache,
    manifest: &Manifest,
    plan: &Plan,
    planned: &[Vec<Planned>],
    all_paths: &BTreeSet<String>,
    map_path: &str,
    to_decode: usize,
    started: Instant,
) -> Outcome {
    let changes: Vec<Change> = planned
        .iter()
        .flatten()
        .filter_map(|p| {
            p.stale.map(|reason| Change {
                path: p.path.clone(),
                reason,
            })
        })
        .collect();
    let removed: Vec<String> = old
        .known_paths()
        .into_iter()
        .filter(|p| !all_paths.contains(p) && p != map_path)
        .collect();
    let mut diagnostics: Vec<Diagnostic> = manifest.diagnostics.clone();
    diagnostics.extend(plan.diagnostics.iter().cloned());
    let summary = BuildSummary {
        built: changes.len(),
        reused: planned.iter().flatten().count() - changes.len(),
        removed: removed.len(),
        decoded: to_decode,
        seconds: started.elapsed().as_secs_f64(),
        ..BuildSummary::default()
    };
    let images = plan.sources.len() + plan.animations.len();
    Outcome {
        report: Report::new(diagnostics, manifest.pages.len(), images),
        summary,
        asset_map: AssetMap::default(),
        changes,
        removed,
    }
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

fn units(plan: &Plan, owner: &[Option<usize>]) -> Vec<Unit> {
    let animations = (0..plan.animations.len())
        .filter(|&a| !plan.animations[a].incomplete)
        .map(Unit::Animation);
    let singles = (0..plan.sources.len())
        .filter(|&s| owner[s].is_none())
        .map(Unit::Single);
    animations.chain(singles).collect()
}

/// The asset map from what is now in `out/`.
fn asset_map(
    config: &Config,
    plan: &Plan,
    infos: &[Result<ImageInfo>],
    hashes: &[Option<String>],
    made: &[(Planned, OutputFile, bool)],
) -> AssetMap {
    let pages = |users: &[Use]| -> Vec<String> {
        let set: BTreeSet<String> = users
            .iter()
            .map(|u| page_name(&config.content, &u.page))
            .collect();
        set.into_iter().collect()
    };
    let written =
        |users: &[Use]| -> BTreeSet<String> { users.iter().map(|u| u.written.clone()).collect() };
    let mut by_owner: BTreeMap<(u8, usize), Vec<OutputFile>> = BTreeMap::new();
    for (planned, file, _) in made {
        let key = match planned.owner {
            Owner::Source(s) => (0, s),
            Owner::Animation(a) => (1, a),
        };
        by_owner.entry(key).or_default().push(file.clone());
    }
    for files in by_owner.values_mut() {
        files.sort_by_key(|f| f.role);
    }
    let mut assets = BTreeMap::new();
    for (s, source) in plan.sources.iter().enumerate() {
        let (Ok(info), Some(hash)) = (&infos[s], &hashes[s]) else {
            continue;
        };
        let asset = Asset {
            kind: if source.is_frame() {
                Kind::Frame
            } else {
                Kind::Image
            },
            source: Some(FileInfo {
                format: decode::format_name(info.format).to_owned(),
                width: info.width,
                height: info.height,
                bytes: info.bytes,
                hash: hash.clone(),
            }),
            frames: Vec::new(),
            outputs: by_owner.get(&(0, s)).cloned().unwrap_or_default(),
            pages: pages(&source.users),
        };
        for key in written(&source.users) {
            assets.insert(key, asset.clone());
        }
    }
    for (a, animation) in plan.animations.iter().enumerate() {
        let Some(outputs) = by_owner.get(&(1, a)) else {
            continue;
        };
        let frames = animation
            .frames
            .iter()
            .map(|&s| {
                let users = &plan.sources[s].users;
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

fn page_name(content: &Path, page: &Path) -> String {
    page.strip_prefix(content)
        .unwrap_or(page)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Deletes temp files a killed run left (only assetmill's own names).
fn remove_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        match entry.file_type() {
            Ok(t) if t.is_dir() => remove_temp_files(&path),
            Ok(t) if t.is_file() && name.starts_with(".assetmill-") && name.ends_with(".tmp") => {
                let _ = std::fs::remove_file(&path);
            }
            _ => {}
        }
    }
}

/// Removes the now-empty folders between a removed file and `out/`.
fn prune_empty_dirs(root: &Path, removed: &Path) {
    let mut dir = removed.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Removes every output assetmill recorded making in `out/`, the asset map
/// and the cache, leaving anything else there alone. Returns the paths
/// removed.
pub fn clean(config: &Config, progress: &dyn Progress) -> Result<Vec<String>> {
    if !config.out.is_dir() {
        return Ok(Vec::new());
    }
    let lock = Lock::acquire(&config.out, &|m| progress.note(m))?;
    let out = OutDir::existing(&config.out);
    let old = Cache::load(&config.out);
    let mut removed = Vec::new();
    for path in old.known_paths() {
        let full = config.out.join(&path);
        if out.path(&path).is_ok() && std::fs::remove_file(&full).is_ok() {
            prune_empty_dirs(&config.out, &full);
            removed.push(path);
        }
    }
    remove_temp_files(&config.out);
    drop(lock);
    let dir = config.out.join(cache::DIR);
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let _ = std::fs::remove_dir(&config.out);
    Ok(removed)
}
