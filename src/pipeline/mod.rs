//! `assetmill build`: from the plan, one parallel pass writes every output
//! a site needs into `out/`, then the asset map; `clean` removes them.
//!
//! Work is split into units: one per animation (its gallery's frames are
//! decoded once and feed the optimized copies, thumbnails, GIF and sprite)
//! and one per remaining source file. Units run in parallel in waves sized
//! to the memory budget (`budget.rs`), so memory does not grow with the
//! site. The cache ([`crate::cache`]) makes rebuilds incremental: sources
//! are hashed (read, not decoded) and an output is remade only when its
//! inputs, its options, or the file on disk changed. A file that fails to load yields the same
//! diagnostics as `check` and no outputs; everything else is still built.

mod budget;
pub mod cache;
pub mod explain;
mod fault;
mod keys;
pub mod lock;
pub mod merge;
pub mod shard;
mod sizes;
mod work;

pub use keys::{Reason, Settings};
pub use shard::Shard;

use crate::assetmap::{self, Asset, AssetMap, FileInfo, Kind, OutputFile, Role};
use crate::config::Config;
use crate::decode::{self, ImageInfo};
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::manifest::{self, Manifest};
use crate::optimize;
use crate::output::{OutDir, Removal};
use crate::outputs::guard::{self, DataCopy, Protected};
use crate::plan::{self, Plan, Use};
use crate::progress::{Event, Progress, UnitOutput};
use crate::report::{Diagnostic, Report};
use crate::review::Review;
use crate::validate::{self, RootGuard};
use cache::{Cache, Record};
use keys::{Owner, Planned};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use work::{UnitResult, Worker};

/// The pipeline's stages, for timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Hash,
    Decode,
    Optimize,
    Resize,
    Animate,
    Video,
    Sprite,
    /// Decoding lossy outputs again to measure their SSIM.
    Measure,
    Write,
}

const STAGES: [Stage; 9] = [
    Stage::Hash,
    Stage::Decode,
    Stage::Optimize,
    Stage::Resize,
    Stage::Animate,
    Stage::Video,
    Stage::Sprite,
    Stage::Measure,
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
            Stage::Video => "video",
            Stage::Sprite => "sprite",
            Stage::Measure => "measure",
            Stage::Write => "write",
        }
    }
}

/// CPU time spent per stage, summed over threads.
#[derive(Debug, Default)]
struct Timers([AtomicU64; 9]);

impl Timers {
    fn time<T>(&self, stage: Stage, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let value = f();
        self.0[stage as usize].fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        value
    }

    /// Books `spent` under `to` instead of `from`, which timed it as part
    /// of a larger step (measuring a video happens while it is encoded).
    fn rebook(&self, from: Stage, to: Stage, spent: Duration) {
        let nanos = spent.as_nanos() as u64;
        let _ = self.0[from as usize].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
            Some(t.saturating_sub(nanos))
        });
        self.0[to as usize].fetch_add(nanos, Ordering::Relaxed);
    }
}

/// How to run a build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Work out what would be rebuilt or removed, and write nothing.
    pub dry_run: bool,
    /// Set (by a signal handler, say) to stop: no new unit starts, what is
    /// finished is recorded in the cache, nothing stale is removed, and the
    /// outcome says `cancelled`.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Build only this shard's units (see [`shard`]), into an output folder
    /// of its own, with a partial asset map; no `_data` copy or report.
    pub shard: Option<Shard>,
}

impl BuildOptions {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// An output that is (or would be) rebuilt, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Change {
    pub path: String,
    pub reason: Reason,
}

/// Figures for the end-of-run summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
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

impl BuildSummary {
    /// Counts one output as built (with why) or reused.
    fn count(
        &mut self,
        planned: &Planned,
        file: &OutputFile,
        built: bool,
        changes: &mut Vec<Change>,
    ) {
        if built {
            self.built += 1;
            self.written_bytes += file.bytes;
            changes.extend(planned.stale.map(|reason| Change {
                path: planned.path.clone(),
                reason,
            }));
        } else {
            self.reused += 1;
        }
    }
}

/// Everything a build produced.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub summary: BuildSummary,
    pub asset_map: AssetMap,
    /// Outputs rebuilt (or, in a dry run, to rebuild), sorted by path.
    pub changes: Vec<Change>,
    /// Stale outputs removed (or, in a dry run, that would be), sorted;
    /// only what was (or would be) done.
    pub removed: Vec<String>,
    /// The build was stopped before it finished (see
    /// [`BuildOptions::cancel`]).
    pub cancelled: bool,
    /// Where the HTML review report was written, if it was.
    pub review: Option<std::path::PathBuf>,
}

enum Unit {
    Animation(usize),
    Single(usize),
}

/// The part of the plan a build covers: all of it, or one shard's units.
struct Scope {
    /// Set for a shard build.
    stamp: Option<shard::Stamp>,
    /// Sources whose own outputs (and validation) this build covers.
    sources: Vec<bool>,
    /// Animations whose outputs this build makes.
    animations: Vec<bool>,
    /// Sources this build reads: its own, and every frame of its
    /// animations.
    reads: Vec<bool>,
}

impl Scope {
    /// Problems with the pages themselves are reported by the full build,
    /// or by shard 1 only.
    fn pages(&self) -> bool {
        self.stamp.as_ref().is_none_or(|s| s.shard.index == 1)
    }

    /// Picks this build's units and records what they cover.
    fn select(
        config: &Config,
        plan: &Plan,
        owner: &[Option<usize>],
        units: Vec<Unit>,
        wanted: Option<Shard>,
    ) -> (Scope, Vec<Unit>) {
        let Some(wanted) = wanted else {
            let scope = Scope {
                stamp: None,
                sources: vec![true; plan.sources.len()],
                animations: vec![true; plan.animations.len()],
                reads: vec![true; plan.sources.len()],
            };
            return (scope, units);
        };
        let shards = shard::split(plan, owner, &units, wanted.count);
        let stamp = shard::stamp(config, plan, owner, &units, &shards, wanted);
        let mut scope = Scope {
            stamp: Some(stamp),
            sources: vec![false; plan.sources.len()],
            animations: vec![false; plan.animations.len()],
            reads: vec![false; plan.sources.len()],
        };
        let mine: Vec<Unit> = units
            .into_iter()
            .zip(shards)
            .filter(|&(_, s)| s == wanted.index)
            .map(|(u, _)| u)
            .collect();
        for unit in &mine {
            match *unit {
                Unit::Single(s) => {
                    scope.sources[s] = true;
                    scope.reads[s] = true;
                }
                Unit::Animation(a) => {
                    scope.animations[a] = true;
                    for &s in &plan.animations[a].frames {
                        scope.reads[s] = true;
                    }
                }
            }
        }
        for (s, o) in owner.iter().enumerate() {
            if o.is_some_and(|a| scope.animations[a]) {
                scope.sources[s] = true;
            }
        }
        (scope, mine)
    }
}

/// Runs the whole build. `Err` only when the output folder itself cannot be
/// used; every per-file problem is a diagnostic in the report.
pub fn build(config: &Config, options: BuildOptions, progress: &dyn Progress) -> Result<Outcome> {
    let started = Instant::now();
    let manifest = manifest::read_site(&config.content);
    let plan = plan::plan(&manifest, config);
    let owner = owners(&plan);
    let units = units(&plan, &owner);
    if let Some(wanted) = options.shard {
        shard::refuse_count(wanted, units.len(), &config.content)?;
    }
    // Every check on where this build writes comes before its first write.
    let protected = Protected::site(config);
    protected.existing(&config.out)?;
    let map_path = map_path(config);
    let plan_paths = plan.output_paths();
    guard::refuse_map_collisions(&config.out, &map_path, &plan_paths)?;
    // A shard's map is partial: the `_data` copy is the merge's to write.
    let data_copy = match (&config.asset_map.data_copy, options.shard) {
        (Some(copy), None) => {
            let pages = manifest.pages.iter().map(|p| p.path.as_path());
            Some(protected.data_copy(copy, pages, &config.out, &map_path, &plan_paths)?)
        }
        _ => None,
    };
    let out = if options.dry_run {
        protected.existing(&config.out)?
    } else {
        protected.create(&config.out)?
    };
    let _lock = if options.dry_run {
        None
    } else {
        let lock = Lock::acquire(&out, &|m| progress.note(m))?;
        remove_temp_files(&out);
        Some(lock)
    };
    let old = Cache::load_noting(&config.out, &|m| progress.note(m));
    let (scope, units) = Scope::select(config, &plan, &owner, units, options.shard);
    if let Some(stamp) = &scope.stamp {
        shard::refuse_full_cache(&config.out, &old, stamp)?;
    }
    let timers = Timers::default();
    let guard = RootGuard::new(&config.images);

    // Content hashes of every source this build reads: read, not decoded.
    let hashes: Vec<Option<String>> = timers.time(Stage::Hash, || {
        plan.sources
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                if !scope.reads[i] {
                    return None;
                }
                guard.check(s).ok()?;
                decode::read_source(&s.path, &config.limits)
                    .ok()
                    .map(|b| assetmap::hash(&b))
            })
            .collect()
    });
    fault::pause_after_hashing();
    let limits = cache::fingerprint(&config.limits);
    let info_key = |s: usize| hashes[s].as_ref().map(|h| format!("{h}:{limits}"));
    let cached_info: Vec<Option<ImageInfo>> = (0..plan.sources.len())
        // Entries from before colour was recorded are decoded again once.
        .map(|s| info_key(s).and_then(|k| old.sources.get(&k).copied()))
        .map(|i| i.filter(|i| i.colour.is_some()))
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

    let decode_sets: Vec<Vec<usize>> = units
        .iter()
        .zip(&planned)
        .map(|(unit, p)| keys::decode_set(unit, &plan, p, &owner, &cached_info))
        .collect();
    let to_decode: usize = decode_sets.iter().map(Vec::len).sum();
    progress.event(&Event::Start {
        pages: manifest.pages.len(),
        images: plan.sources.len() + plan.animations.len(),
        units: units.len(),
        outputs: planned.iter().map(Vec::len).sum(),
        stale: planned
            .iter()
            .flatten()
            .filter(|p| p.stale.is_some())
            .count(),
        decode: to_decode,
        shard: options.shard.map(|s| s.to_string()),
        dry_run: options.dry_run,
    });
    if options.dry_run {
        let fresh = Fresh {
            config,
            old: &old,
            hashes: &hashes,
            cached_info: &cached_info,
            scope: &scope,
            copy: data_copy.as_ref(),
        };
        return Ok(dry_run(
            &out, &fresh, &manifest, &plan, &planned, &all_paths, &map_path, to_decode, started,
            progress,
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
    // A shard's stamp says its build finished; it is set again only then.
    pending.shard = None;
    pending.save(&out)?;

    let worker = Worker {
        config,
        plan: &plan,
        out: &out,
        cache: &old,
        png: optimize::oxipng_options(&config.optimize),
        owner,
        cached_info,
        hashes: &hashes,
        guard,
        timers,
        decoded: AtomicUsize::new(0),
        progress,
    };
    progress.start("pages", units.len() as u64);
    progress.start("frames", to_decode as u64);
    let mut checkpoint = Checkpoint::new(pending, &plan, &hashes);
    // Units run in waves sized to the memory budget (see budget.rs); between
    // waves the cache is checkpointed and a stop request is honoured.
    let jobs: Vec<(&Unit, Vec<Planned>)> = units.iter().zip(planned).collect();
    let results: Vec<UnitResult> = budget::run(
        &worker,
        jobs,
        &|unit, planned, budget| run_unit(&worker, unit, planned, budget, &options),
        &mut |results| {
            checkpoint.save(&out, results, false);
            !options.cancelled()
        },
    );
    progress.finish("frames");
    progress.finish("pages");
    if options.cancelled() {
        checkpoint.save(&out, &results, true);
        return Ok(cancelled(&worker, &manifest, results, started));
    }
    let map = MapFiles {
        path: &map_path,
        copy: data_copy,
    };
    let mut outcome = finish(
        &worker, &old, &manifest, &hashes, &scope, results, &all_paths, map, started,
    )?;
    if config.report.enabled && scope.stamp.is_none() {
        write_review(config, &manifest, &out, &all_paths, &mut outcome);
    }
    Ok(outcome)
}

/// Writes the HTML review report; failing to is an error in the outcome
/// like any other output's.
fn write_review(
    config: &Config,
    manifest: &Manifest,
    out: &OutDir,
    all_paths: &BTreeSet<String>,
    outcome: &mut Outcome,
) {
    let rel = config.report.path.to_string_lossy().replace('\\', "/");
    let written = if all_paths.contains(&rel) {
        Err(Error::UnsafePath {
            path: out.root().join(&rel),
            message: "report.path names a file the build makes; choose another".into(),
        })
    } else {
        Review::new(config, manifest, outcome).write(out, &rel)
    };
    match written {
        Ok(path) => outcome.review = Some(path),
        Err(e) => {
            let report = &outcome.report;
            let mut diagnostics = report.diagnostics.clone();
            diagnostics.push(Diagnostic::error(e.path(), None, e.detail()));
            outcome.report = Report::new(diagnostics, report.summary.pages, report.summary.images);
        }
    }
}

/// Runs one unit, turning a panic anywhere inside it (in oxipng's or the
/// encoders' own threads too: rayon carries it to the caller) into an
/// internal error on every page that uses it; the other units go on.
fn run_unit(
    worker: &Worker<'_>,
    unit: &Unit,
    planned: Vec<Planned>,
    budget: budget::UnitBudget,
    options: &BuildOptions,
) -> UnitResult {
    if options.cancelled() {
        return UnitResult::default();
    }
    let started = Instant::now();
    let result = run_guarded(worker, unit, planned, budget);
    let progress = worker.progress;
    progress.event(&Event::Unit {
        unit: shard::unit_key(worker.plan, unit),
        kind: match unit {
            Unit::Animation(_) => "animation",
            Unit::Single(_) => "source",
        },
        seconds: started.elapsed().as_secs_f64(),
        outputs: result
            .made
            .iter()
            .map(|(planned, file, built)| UnitOutput {
                path: &planned.path,
                role: planned.role,
                bytes: file.bytes,
                built: *built,
            })
            .collect(),
        errors: result
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::report::Severity::Error)
            .count(),
    });
    for d in &result.diagnostics {
        progress.event(&Event::Diagnostic(d));
    }
    result
}

/// Runs one unit, turning a panic into diagnostics (see [`run_unit`]).
fn run_guarded(
    worker: &Worker<'_>,
    unit: &Unit,
    planned: Vec<Planned>,
    budget: budget::UnitBudget,
) -> UnitResult {
    let run = || {
        fault::inject(worker.plan, unit);
        worker.run(unit, planned, budget)
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            let (path, users) = match *unit {
                Unit::Single(s) => (&worker.plan.sources[s].path, &worker.plan.sources[s].users),
                Unit::Animation(a) => {
                    let animation = &worker.plan.animations[a];
                    (
                        &worker.plan.sources[animation.frames[0]].path,
                        &animation.users,
                    )
                }
            };
            let error = Error::Internal {
                path: path.clone(),
                message,
            };
            UnitResult {
                diagnostics: users.iter().map(|u| u.error(error.detail())).collect(),
                ..UnitResult::default()
            }
        }
    }
}

/// Saves what finished so far into the cache while a build runs, so a
/// build that is stopped (Ctrl-C, a kill, a crash) keeps it: the next run
/// reuses every output recorded here whose file is still intact.
struct Checkpoint<'a> {
    plan: &'a Plan,
    hashes: &'a [Option<String>],
    cache: Cache,
    recorded: usize,
    last: Instant,
}

impl<'a> Checkpoint<'a> {
    /// Saving costs a serialization of the cache; at most this often.
    const EVERY: Duration = Duration::from_millis(500);

    fn new(pending: Cache, plan: &'a Plan, hashes: &'a [Option<String>]) -> Self {
        Checkpoint {
            plan,
            hashes,
            cache: pending,
            recorded: 0,
            last: Instant::now(),
        }
    }

    fn save(&mut self, out: &OutDir, results: &[UnitResult], force: bool) {
        for result in &results[self.recorded..] {
            for (planned, file, built) in &result.made {
                if *built {
                    record(&mut self.cache, self.plan, self.hashes, planned, file);
                }
            }
        }
        self.recorded = results.len();
        if force || self.last.elapsed() >= Self::EVERY {
            // A failed checkpoint only costs work on the next run; the
            // final save reports its own failure.
            let _ = self.cache.save(out);
            self.last = Instant::now();
        }
    }
}

/// Records an output in the cache, with its settings and, for an
/// animation's output, the frames its input hash stands for.
fn record(
    cache: &mut Cache,
    plan: &Plan,
    hashes: &[Option<String>],
    planned: &Planned,
    file: &OutputFile,
) {
    cache.remember_settings(&planned.options, &planned.settings);
    if let Owner::Animation(a) = planned.owner
        && !planned.inputs.is_empty()
    {
        cache.remember_frames(&plan.animations[a].key, frame_list(plan, hashes, a));
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

/// An animation's frames in order, with their content hashes (empty when
/// unreadable).
fn frame_list(plan: &Plan, hashes: &[Option<String>], a: usize) -> Vec<cache::Frame> {
    plan.animations[a]
        .frames
        .iter()
        .map(|&s| cache::Frame {
            key: plan.sources[s].key.clone(),
            hash: hashes[s].clone().unwrap_or_default(),
        })
        .collect()
}

/// The outcome of a stopped build: what finished is recorded (by the last
/// checkpoint); nothing is removed and the asset map is not rewritten.
fn cancelled(
    worker: &Worker<'_>,
    manifest: &Manifest,
    results: Vec<UnitResult>,
    started: Instant,
) -> Outcome {
    let mut summary = BuildSummary::default();
    let mut diagnostics = Vec::new();
    let mut changes = Vec::new();
    for result in results {
        for (planned, file, built) in &result.made {
            summary.count(planned, file, *built, &mut changes);
        }
        diagnostics.extend(result.diagnostics);
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    summary.decoded = worker.decoded.load(Ordering::Relaxed);
    summary.seconds = started.elapsed().as_secs_f64();
    let images = worker.plan.sources.len() + worker.plan.animations.len();
    Outcome {
        report: Report::new(diagnostics, manifest.pages.len(), images),
        summary,
        asset_map: AssetMap::default(),
        changes,
        removed: Vec::new(),
        cancelled: true,
        review: None,
    }
}

/// Where the asset map goes: its path in `out/`, and its checked `_data`
/// copy, if one is written.
struct MapFiles<'a> {
    path: &'a str,
    copy: Option<DataCopy>,
}

#[allow(clippy::too_many_arguments)]
fn finish(
    worker: &Worker<'_>,
    old: &Cache,
    manifest: &Manifest,
    hashes: &[Option<String>],
    scope: &Scope,
    results: Vec<UnitResult>,
    all_paths: &BTreeSet<String>,
    map_files: MapFiles<'_>,
    started: Instant,
) -> Result<Outcome> {
    let (plan, config) = (worker.plan, worker.config);
    let map_path = map_files.path;
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
    // Unit diagnostics were sent as events when their unit finished.
    let from_units = diagnostics.len();
    let infos: Vec<Result<ImageInfo>> = infos
        .into_iter()
        .zip(&plan.sources)
        .map(|(info, source)| {
            info.unwrap_or_else(|| Err(Error::decode(&source.path, "not processed")))
        })
        .collect();
    diagnostics.extend(validate::diagnose_in(
        manifest,
        plan,
        &infos,
        scope.pages(),
        &|s| scope.sources[s],
        &|a| scope.animations[a],
    ));
    if scope.pages() {
        diagnostics.extend(config.remarks.iter().cloned());
        diagnostics.extend(sizes::unknown_pages(config, manifest));
    }
    made.sort_by(|a, b| a.0.path.cmp(&b.0.path));

    let map = asset_map(config, plan, &infos, hashes, scope, &made);
    let map_bytes = map.to_json();
    let map_full = worker.out.path(map_path)?;
    let map_unchanged = crate::fsread::read_regular(&map_full, map_bytes.len() as u64)
        .is_ok_and(|b| b == map_bytes.as_bytes());
    // Failing to write the map or the cache (a full disk) is reported like
    // any other output: the run still ends with every error and its summary.
    let mut map_written = map_unchanged;
    if !map_unchanged {
        match worker.out.write(map_path, map_bytes.as_bytes()) {
            Ok(_) => map_written = true,
            Err(e) => diagnostics.push(Diagnostic::error(&map_full, None, e.detail())),
        }
    }
    if let Some(copy) = map_files.copy
        && let Err(e) = map
            .to_yaml()
            .map_err(|message| Error::Encode {
                path: copy.path().to_owned(),
                message,
            })
            .and_then(|yaml| copy.write(&yaml))
    {
        diagnostics.push(Diagnostic::error(copy.path(), None, e.detail()));
    }

    // The new cache: every output in place, every valid source's facts.
    let limits = cache::fingerprint(&config.limits);
    let mut cache = Cache {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        shard: scope.stamp.clone(),
        ..Cache::default()
    };
    for (s, info) in infos.iter().enumerate() {
        if !scope.sources[s] {
            continue;
        }
        if let (Ok(info), Some(hash)) = (info, &hashes[s]) {
            cache.sources.insert(format!("{hash}:{limits}"), *info);
        }
    }
    let mut summary = BuildSummary::default();
    let mut changes = Vec::new();
    for (planned, file, built) in &made {
        summary.count(planned, file, *built, &mut changes);
        summary.output_bytes += file.bytes;
        if planned.role == Role::Optimized {
            summary.optimized_bytes += file.bytes;
            if let Owner::Source(s) = planned.owner {
                summary.source_bytes += infos[s].as_ref().map_or(0, |i| i.bytes);
            }
        }
        record(&mut cache, plan, hashes, planned, file);
    }
    let map_file = OutputFile {
        role: Role::AssetMap,
        path: map_path.to_owned(),
        width: None,
        height: None,
        bytes: map_bytes.len() as u64,
        hash: assetmap::hash(map_bytes.as_bytes()),
        frames: None,
        duration_ms: None,
        cells: None,
        ssim: None,
    };
    if map_unchanged {
        summary.reused += 1;
    } else if map_written {
        summary.built += 1;
        summary.written_bytes += map_file.bytes;
    }
    if map_written {
        summary.output_bytes += map_file.bytes;
        let settings = keys::settings(config, Role::AssetMap);
        let options = keys::options_hash(&settings);
        cache.remember_settings(&options, &settings);
        cache.outputs.insert(
            map_path.to_owned(),
            Record {
                inputs: map_file.hash.clone(),
                options,
                file: map_file,
            },
        );
    } else {
        // Not written: keep it known so a later run can clean it up.
        cache.pending.insert(map_path.to_owned());
    }

    // Planned outputs that could not be made (a failed write, a source
    // that no longer decodes) stay known, so a later run can remove them if
    // they are no longer wanted; they are not removed now.
    let known = old.known_paths();
    for path in all_paths {
        if !cache.outputs.contains_key(path) && known.contains(path) {
            cache.pending.insert(path.clone());
        }
    }
    // Stale outputs: recorded by an earlier run, no longer planned.
    let stale: Vec<String> = known
        .into_iter()
        .filter(|p| !all_paths.contains(p) && p != map_path)
        .collect();
    let (removed, refused) = remove_stale(worker.out, &stale, false);
    summary.removed = removed.len();
    diagnostics.extend(refused);
    if let Err(e) = cache.save(worker.out) {
        diagnostics.push(Diagnostic::error(
            Cache::path(&config.out),
            None,
            format!("{} (the next build redoes what this one did)", e.detail()),
        ));
    }

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
    for d in &diagnostics[from_units..] {
        worker.progress.event(&Event::Diagnostic(d));
    }
    let images = plan.sources.len() + plan.animations.len();
    Ok(Outcome {
        report: Report::new(diagnostics, manifest.pages.len(), images),
        summary,
        asset_map: map,
        changes,
        removed,
        cancelled: false,
        review: None,
    })
}

/// Removes stale outputs (or, with `dry_run`, checks which would be
/// removed) without following links. Returns what was (would be) removed
/// and a warning for each that was left in place.
fn remove_stale(out: &OutDir, paths: &[String], dry_run: bool) -> (Vec<String>, Vec<Diagnostic>) {
    let mut removed = Vec::new();
    let mut refused = Vec::new();
    for path in paths {
        match out.remove(path, dry_run) {
            Ok(Removal::Removed) => removed.push(path.clone()),
            Ok(Removal::Absent) => {}
            Err(e) => refused.push(Diagnostic::warning(e.path(), None, e.detail())),
        }
    }
    (removed, refused)
}

/// What a dry run needs to tell whether the asset map is up to date.
struct Fresh<'a> {
    config: &'a Config,
    old: &'a Cache,
    hashes: &'a [Option<String>],
    cached_info: &'a [Option<ImageInfo>],
    scope: &'a Scope,
    /// The checked `_data` copy, when this build writes one.
    copy: Option<&'a DataCopy>,
}

impl Fresh<'_> {
    /// When every output is up to date, the asset map (and its `_data`
    /// copy) this build would write, compared with what is on disk: a
    /// change for each that differs. (When outputs are stale, the map is
    /// remade with them and is not listed on its own.)
    fn map_changes(&self, plan: &Plan, planned: &[Vec<Planned>], map_path: &str) -> Vec<Change> {
        let infos: Vec<Result<ImageInfo>> = self
            .cached_info
            .iter()
            .zip(&plan.sources)
            .map(|(info, source)| info.ok_or_else(|| Error::decode(&source.path, "not valid")))
            .collect();
        let made: Vec<(Planned, OutputFile, bool)> = planned
            .iter()
            .flatten()
            .filter_map(|p| {
                let record = self.old.outputs.get(&p.path)?;
                Some((p.clone(), record.file.clone(), false))
            })
            .collect();
        let map = asset_map(self.config, plan, &infos, self.hashes, self.scope, &made);
        let differs = |path: &Path, bytes: &[u8]| -> Option<Reason> {
            match crate::fsread::read_regular(path, bytes.len() as u64 + 1) {
                Err(_) => Some(Reason::OutputMissing),
                Ok(b) if b != bytes => Some(Reason::InputChanged),
                Ok(_) => None,
            }
        };
        let mut changes = Vec::new();
        let json = map.to_json();
        if let Some(reason) = differs(&self.config.out.join(map_path), json.as_bytes()) {
            changes.push(Change {
                path: map_path.to_owned(),
                reason,
            });
        }
        if let Some(copy) = self.copy
            && let Ok(yaml) = map.to_yaml()
            && let Some(reason) = differs(copy.path(), DataCopy::contents(&yaml).as_bytes())
        {
            changes.push(Change {
                path: crate::names::path(copy.path()).into_owned(),
                reason,
            });
        }
        changes
    }
}

#[allow(clippy::too_many_arguments)]
fn dry_run(
    out: &OutDir,
    fresh: &Fresh<'_>,
    manifest: &Manifest,
    plan: &Plan,
    planned: &[Vec<Planned>],
    all_paths: &BTreeSet<String>,
    map_path: &str,
    to_decode: usize,
    started: Instant,
    progress: &dyn Progress,
) -> Outcome {
    let mut changes: Vec<Change> = planned
        .iter()
        .flatten()
        .filter_map(|p| {
            p.stale.map(|reason| Change {
                path: p.path.clone(),
                reason,
            })
        })
        .collect();
    let stale: Vec<String> = fresh
        .old
        .known_paths()
        .into_iter()
        .filter(|p| !all_paths.contains(p) && p != map_path)
        .collect();
    let (removed, refused) = remove_stale(out, &stale, true);
    let outputs_fresh = changes.is_empty() && removed.is_empty();
    let planned_count = planned.iter().flatten().count();
    if outputs_fresh {
        changes = fresh.map_changes(plan, planned, map_path);
    }
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    if fresh.scope.pages() {
        diagnostics.extend(fresh.config.remarks.iter().cloned());
        diagnostics.extend(manifest.diagnostics.iter().cloned());
        diagnostics.extend(plan.diagnostics.iter().cloned());
    }
    diagnostics.extend(refused);
    for d in &diagnostics {
        progress.event(&Event::Diagnostic(d));
    }
    let summary = BuildSummary {
        built: changes.len(),
        reused: planned_count - if outputs_fresh { 0 } else { changes.len() },
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
        cancelled: false,
        review: None,
    }
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
    scope: &Scope,
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
        let (true, Ok(info), Some(hash)) = (scope.sources[s], &infos[s], &hashes[s]) else {
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
            playback: None,
        };
        for key in written(&source.users) {
            assets.insert(key, asset.clone());
        }
    }
    for (a, animation) in plan.animations.iter().enumerate() {
        let (true, Some(outputs)) = (scope.animations[a], by_owner.get(&(1, a))) else {
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
            playback: Some(animation.timing(&config.gif).playback()),
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

/// The asset map's path inside the output folder, `/`-separated, as the
/// cache records it.
pub(crate) fn map_path(config: &Config) -> String {
    crate::names::slashed(&config.asset_map.path)
}

/// A page's path relative to the content folder, `/`-separated, by
/// [`names::slashed`](crate::names::slashed): exact when the name is UTF-8,
/// else with `\xNN` for each byte that is not.
pub(crate) fn page_name(content: &Path, page: &Path) -> String {
    crate::names::slashed(page.strip_prefix(content).unwrap_or(page))
}

/// Deletes temp files a killed run left (only assetmill's own names, never
/// through a link).
fn remove_temp_files(out: &OutDir) {
    for rel in crate::output::leftover_temp_files(out.root()) {
        let _ = out.remove(&rel, false);
    }
}

/// Removes every output assetmill recorded making in `out/`, the asset map
/// and the cache, leaving anything else there alone. Returns the paths
/// removed.
pub fn clean(config: &Config, progress: &dyn Progress) -> Result<Cleaned> {
    let out = Protected::site(config).existing(&config.out)?;
    if !config.out.is_dir() {
        return Ok(Cleaned::default());
    }
    let lock = Lock::acquire(&out, &|m| progress.note(m))?;
    let old = Cache::load(&config.out);
    let mut paths: Vec<String> = old.known_paths().into_iter().collect();
    // The review report, wherever it was configured to go.
    let report = config.report.path.to_string_lossy().replace('\\', "/");
    if !report.starts_with(&format!("{}/", cache::DIR)) {
        paths.push(report);
    }
    let (removed, refused) = remove_stale(&out, &paths, false);
    remove_temp_files(&out);
    drop(lock);
    // `remove_dir_all` does not follow links; the lock refused a linked
    // cache folder already.
    let dir = config.out.join(cache::DIR);
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let _ = std::fs::remove_dir(&config.out);
    Ok(Cleaned { removed, refused })
}

/// What `clean` did.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Files removed.
    pub removed: Vec<String>,
    /// Files left in place because removing them was not safe, each with
    /// why.
    pub refused: Vec<Diagnostic>,
}
