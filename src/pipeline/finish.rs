//! The end of a build: the diagnostics of everything it covered, the
//! asset map and its `_data` copy, the new cache, and the removal of
//! outputs no page wants any more. A stopped build ends in [`cancelled`]
//! instead.

use super::assemble::asset_map;
use super::cache::{self, Cache, Record};
use super::checkpoint::record;
use super::clean::remove_stale;
use super::keys::{self, Owner};
use super::outcome::{BuildSummary, Made, Outcome};
use super::scope::Scope;
use super::work::{UnitResult, Worker};
use crate::error::{Error, Result};
use crate::input::manifest::Manifest;
use crate::outputs::assetmap::{self, AssetMap, OutputFile, Role};
use crate::outputs::diagnostics::{Diagnostic, Report};
use crate::outputs::guard::DataCopy;
use crate::progress::Event;
use crate::stages::decode::ImageInfo;
use crate::stages::validate;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The outcome of a stopped build: what finished is recorded (by the last
/// checkpoint); nothing is removed and the asset map is not rewritten.
pub(super) fn cancelled(
    worker: &Worker<'_>,
    manifest: &Manifest,
    results: Vec<UnitResult>,
    started: Instant,
) -> Outcome {
    let mut summary = BuildSummary::default();
    let mut diagnostics = Vec::new();
    let mut changes = Vec::new();
    for result in results {
        for m in &result.made {
            summary.count(m, &mut changes);
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
pub(super) struct MapFiles<'a> {
    pub path: &'a str,
    pub copy: Option<DataCopy>,
}

/// Ends a build that ran to the end: see the module docs.
#[allow(clippy::too_many_arguments)]
pub(super) fn outcome(
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
    let mut made: Vec<Made> = Vec::new();
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
        diagnostics.extend(super::budgets::unknown_pages(config, manifest));
    }
    made.sort_by(|a, b| a.planned.path.cmp(&b.planned.path));

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
    for m in &made {
        summary.count(m, &mut changes);
        summary.output_bytes += m.file.bytes;
        if m.planned.role == Role::Optimized {
            summary.optimized_bytes += m.file.bytes;
            if let Owner::Source(s) = m.planned.owner {
                summary.source_bytes += infos[s].as_ref().map_or(0, |i| i.bytes);
            }
        }
        record(&mut cache, plan, hashes, &m.planned, &m.file);
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
        format: None,
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
    summary.stages = worker.timers.seconds();
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
