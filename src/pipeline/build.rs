//! One build from start to end: the checks on where it writes, then
//! [`Prepared`] → scope → keys → units, longest first → finish. The steps live
//! in their own files; this one orders them.

use super::checkpoint::Checkpoint;
use super::clean::remove_temp_files;
use super::dry_run::{self, Fresh};
use super::finish::{self, MapFiles};
use super::isolate::run_unit;
use super::keys::{self, Planned};
use super::outcome::Outcome;
use super::prepare::Prepared;
use super::remote::fetch;
use super::remote::session::Remote;
use super::remote::upload;
use super::scope::Scope;
use super::shard::{self, Shard};
use super::timers::{Stage, Timers};
use super::units::Unit;
use super::work::{UnitResult, Worker};
use super::{cache, fault};
use super::{memory, schedule};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::input::manifest::Manifest;
use crate::outputs::diagnostics::Diagnostic;
use crate::outputs::guard::{self, Protected};
use crate::outputs::output::OutDir;
use crate::outputs::review::Review;
use crate::pipeline::cache::Cache;
use crate::pipeline::lock::Lock;
use crate::progress::{Event, Progress};
use crate::stages::decode::ImageInfo;
use crate::stages::optimize;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

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
    /// Which units start first: the most work (the shortest build, the
    /// default) or the least (what is quick is in place soonest).
    pub order: schedule::Order,
}

impl BuildOptions {
    pub(super) fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// Runs the whole build. `Err` only when the output folder itself cannot be
/// used; every per-file problem is a diagnostic in the report.
pub fn build(config: &Config, options: BuildOptions, progress: &dyn Progress) -> Result<Outcome> {
    let started = Instant::now();
    let prepared = Prepared::new(config);
    if let Some(wanted) = options.shard {
        shard::refuse_count(wanted, prepared.units.len(), &config.content)?;
    }
    // Every check on where this build writes comes before its first write.
    let protected = Protected::site(config);
    protected.existing(&config.out)?;
    let map_path = prepared.map_path();
    let plan_paths = prepared.plan.output_paths();
    guard::refuse_map_collisions(&config.out, &map_path, &plan_paths)?;
    // A shard's map is partial: the `_data` copy is the merge's to write.
    let data_copy = match (&config.asset_map.data_copy, options.shard) {
        (Some(copy), None) => {
            let pages = prepared.manifest.pages.iter().map(|p| p.path.as_path());
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
    let mut old = Cache::load_noting(&config.out, &|m| progress.note(m));
    let (scope, units) = Scope::select(&prepared, options.shard);
    if let Some(stamp) = &scope.stamp {
        shard::refuse_full_cache(&config.out, &old, stamp)?;
    }
    let timers = Timers::default();

    // Content hashes of every source this build reads: read, not decoded.
    let hashes = timers.time(Stage::Hash, || prepared.hash(&scope.reads));
    fault::pause_after_hashing();
    let limits = cache::fingerprint(&config.limits);
    let info_key = |s: usize| hashes[s].as_ref().map(|h| format!("{h}:{limits}"));
    let mut cached_info: Vec<Option<ImageInfo>> = (0..prepared.plan.sources.len())
        // Entries from before colour was recorded are decoded again once.
        .map(|s| info_key(s).and_then(|k| old.sources.get(&k).copied()))
        .map(|i| i.filter(|i| i.colour.is_some()))
        .collect();

    // What each unit should produce, and what the cache already has.
    let mut planned: Vec<Vec<Planned>> = units
        .par_iter()
        .map(|unit| {
            let mut planned = prepared.outputs(unit, &hashes);
            for p in &mut planned {
                p.stale = keys::staleness(p, &old, &config.out);
            }
            planned
        })
        .collect();
    let all_paths: BTreeSet<String> = planned.iter().flatten().map(|p| p.path.clone()).collect();

    // The remote cache: what it has of the stale outputs is fetched now
    // and counts as made (a dry run only asks whether it has them).
    let mut remote_notes = Vec::new();
    let remote = Remote::open(config, &mut remote_notes)
        .map(|r| Arc::new(r.stopping_on(options.cancel.clone())));
    let known_info = cached_info.clone();
    let download = fetch::download_limit(config.limits.max_memory.0);
    let mut available = None;
    if let Some(remote) = &remote {
        if options.dry_run {
            let stale: Vec<&Planned> = planned
                .iter()
                .flatten()
                .filter(|p| p.stale.is_some())
                .collect();
            available = Some(fetch::available(remote, &stale, download, &config.out));
        } else {
            let unknown = fetch::unknown(
                &prepared.plan,
                &scope.sources,
                &hashes,
                &cached_info,
                &limits,
            );
            for (s, info) in fetch::fetch(remote, &out, &mut planned, &mut old, &unknown, download)
            {
                cached_info[s] = Some(info);
            }
        }
    }

    let decode_sets: Vec<Vec<usize>> = units
        .iter()
        .zip(&planned)
        .map(|(unit, p)| keys::decode_set(unit, &prepared.plan, p, &prepared.owner, &cached_info))
        .collect();
    let to_decode: usize = decode_sets.iter().map(Vec::len).sum();
    let plan = &prepared.plan;
    progress.event(&Event::Start {
        pages: prepared.manifest.pages.len(),
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
            prepared: &prepared,
            old: &old,
            hashes: &hashes,
            cached_info: &cached_info,
            scope: &scope,
            copy: data_copy.as_ref(),
            map_path: &map_path,
            available,
        };
        let mut outcome = dry_run::outcome(
            &out, &fresh, &planned, &all_paths, to_decode, started, progress,
        );
        add_remote(&mut outcome, remote.as_deref(), remote_notes, progress);
        return Ok(outcome);
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
        plan,
        out: &out,
        cache: &old,
        png: optimize::oxipng_options(&config.optimize),
        owner: &prepared.owner,
        cached_info,
        hashes: &hashes,
        root: &prepared.root,
        timers,
        decoded: AtomicUsize::new(0),
        progress,
    };
    progress.start("pages", units.len() as u64);
    progress.start("frames", to_decode as u64);
    let mut checkpoint = Checkpoint::new(pending, plan, &hashes);
    // Units are sized to the memory budget (memory.rs) and run longest
    // first within it (schedule.rs); as each ends, the cache is
    // checkpointed and a stop request is honoured.
    let jobs: Vec<(&Unit, Vec<Planned>, Vec<usize>)> = units
        .iter()
        .zip(planned)
        .zip(decode_sets)
        .map(|((unit, planned), decode)| (unit, planned, decode))
        .collect();
    let threads = rayon::current_num_threads();
    let budgets = memory::budgets(&worker.facts(), &jobs, threads);
    let jobs: Vec<schedule::Job<_>> = jobs
        .into_iter()
        .zip(budgets)
        .map(|((unit, planned, _), budget)| schedule::Job {
            peak: budget.peak,
            work: budget.work,
            job: (unit, planned, budget),
        })
        .collect();
    let results: Vec<UnitResult> = schedule::run(
        jobs,
        options.order,
        config.limits.max_memory.0,
        threads * 2,
        &|(unit, planned, budget)| {
            run_unit(&worker, unit, planned, budget, &|| options.cancelled())
        },
        &mut |result| {
            checkpoint.record(&out, result);
            if let Some(remote) = &remote {
                let made = &result.made;
                let (infos, hashes) = (&result.infos, worker.hashes);
                upload::store(
                    remote,
                    out.root(),
                    made,
                    infos,
                    &known_info,
                    hashes,
                    &limits,
                );
            }
            !options.cancelled()
        },
        progress,
    );
    progress.finish("frames");
    progress.finish("pages");
    if options.cancelled() {
        checkpoint.flush(&out);
        if let Some(remote) = &remote {
            upload::finish(remote, upload::WAIT_STOPPED);
        }
        let mut outcome = finish::cancelled(&worker, &prepared.manifest, results, started);
        add_remote(&mut outcome, remote.as_deref(), remote_notes, progress);
        return Ok(outcome);
    }
    if let Some(remote) = &remote {
        upload::finish(remote, upload::WAIT);
    }
    let map = MapFiles {
        path: &map_path,
        copy: data_copy,
    };
    let mut outcome = finish::outcome(
        &worker,
        &old,
        &prepared.manifest,
        &hashes,
        &scope,
        results,
        &all_paths,
        map,
        started,
    )?;
    add_remote(&mut outcome, remote.as_deref(), remote_notes, progress);
    if config.review.enabled && scope.stamp.is_none() {
        write_review(config, &prepared.manifest, &out, &all_paths, &mut outcome);
    }
    Ok(outcome)
}

/// The remote cache's figures and warnings, into the outcome (and sent as
/// events).
fn add_remote(
    outcome: &mut Outcome,
    remote: Option<&Remote>,
    mut notes: Vec<Diagnostic>,
    progress: &dyn Progress,
) {
    if let Some(remote) = remote {
        let (figures, warnings) = remote.report();
        outcome.summary.remote = Some(figures);
        notes.extend(warnings);
    }
    for d in &notes {
        progress.event(&Event::Diagnostic(d));
    }
    outcome.add(notes);
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
    let rel = crate::outputs::names::forward_slashes(&config.review.path);
    let written = if all_paths.contains(&rel) {
        Err(Error::UnsafePath {
            path: out.root().join(&rel),
            message: "report.path names a file the build makes; choose another".into(),
        })
    } else {
        Review::new(config, manifest, &*outcome).write(out, &rel)
    };
    match written {
        Ok(path) => outcome.review = Some(path),
        Err(e) => outcome.add(vec![Diagnostic::error(e.path(), None, e.detail())]),
    }
}
