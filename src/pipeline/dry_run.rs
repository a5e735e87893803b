//! `build --dry-run` (and `--check`): what a build would remake and
//! remove, and whether the asset map would change, with nothing written.

use super::assemble::asset_map;
use super::cache::Cache;
use super::clean::remove_stale;
use super::keys::{Planned, Reason};
use super::outcome::{BuildSummary, Change, Made, Outcome};
use super::prepare::Prepared;
use super::scope::Scope;
use crate::error::{Error, Result};
use crate::outputs::assetmap::AssetMap;
use crate::outputs::diagnostics::{Diagnostic, Report};
use crate::outputs::guard::DataCopy;
use crate::outputs::output::OutDir;
use crate::progress::{Event, Progress};
use crate::stages::decode::ImageInfo;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

/// What a dry run needs to tell whether the asset map is up to date.
pub(super) struct Fresh<'a> {
    pub prepared: &'a Prepared<'a>,
    pub old: &'a Cache,
    pub hashes: &'a [Option<String>],
    pub cached_info: &'a [Option<ImageInfo>],
    pub scope: &'a Scope,
    /// The checked `_data` copy, when this build writes one.
    pub copy: Option<&'a DataCopy>,
    pub map_path: &'a str,
    /// With a remote cache: whether it has each stale output, by path.
    pub available: Option<std::collections::BTreeMap<String, bool>>,
}

impl Fresh<'_> {
    /// When every output is up to date, the asset map (and its `_data`
    /// copy) this build would write, compared with what is on disk: a
    /// change for each that differs. (When outputs are stale, the map is
    /// remade with them and is not listed on its own.)
    fn map_changes(&self, planned: &[Vec<Planned>]) -> Vec<Change> {
        let (plan, config) = (&self.prepared.plan, self.prepared.config);
        let infos: Vec<Result<ImageInfo>> = self
            .cached_info
            .iter()
            .zip(&plan.sources)
            .map(|(info, source)| info.ok_or_else(|| Error::decode(&source.path, "not valid")))
            .collect();
        let made: Vec<Made> = planned
            .iter()
            .flatten()
            .filter_map(|p| {
                let record = self.old.outputs.get(&p.path)?;
                Some(Made {
                    planned: p.clone(),
                    file: record.file.clone(),
                    built: false,
                })
            })
            .collect();
        let map = asset_map(config, plan, &infos, self.hashes, self.scope, &made);
        let differs = |path: &Path, bytes: &[u8]| -> Option<Reason> {
            match crate::fsread::read_regular(path, bytes.len() as u64 + 1) {
                Err(_) => Some(Reason::OutputMissing),
                Ok(b) if b != bytes => Some(Reason::InputChanged),
                Ok(_) => None,
            }
        };
        let mut changes = Vec::new();
        let json = map.to_json();
        if let Some(reason) = differs(&config.out.join(self.map_path), json.as_bytes()) {
            changes.push(Change {
                path: self.map_path.to_owned(),
                reason,
                remote: None,
            });
        }
        if let Some(copy) = self.copy
            && let Ok(yaml) = map.to_yaml()
            && let Some(reason) = differs(copy.path(), DataCopy::contents(&yaml).as_bytes())
        {
            changes.push(Change {
                path: crate::outputs::names::path(copy.path()).into_owned(),
                reason,
                remote: None,
            });
        }
        changes
    }
}

/// The outcome of a dry run: every stale output as a change, what would be
/// removed, and (when nothing else changes) whether the asset map would.
pub(super) fn outcome(
    out: &OutDir,
    fresh: &Fresh<'_>,
    planned: &[Vec<Planned>],
    all_paths: &BTreeSet<String>,
    to_decode: usize,
    started: Instant,
    progress: &dyn Progress,
) -> Outcome {
    let (manifest, plan) = (&fresh.prepared.manifest, &fresh.prepared.plan);
    let mut changes: Vec<Change> = planned
        .iter()
        .flatten()
        .filter_map(|p| {
            p.stale.map(|reason| Change {
                path: p.path.clone(),
                reason,
                remote: fresh
                    .available
                    .as_ref()
                    .map(|a| a.get(&p.path).copied().unwrap_or(false)),
            })
        })
        .collect();
    let stale: Vec<String> = fresh
        .old
        .known_paths()
        .into_iter()
        .filter(|p| !all_paths.contains(p) && p != fresh.map_path)
        .collect();
    let (removed, refused) = remove_stale(out, &stale, true);
    let outputs_fresh = changes.is_empty() && removed.is_empty();
    let planned_count = planned.iter().flatten().count();
    if outputs_fresh {
        changes = fresh.map_changes(planned);
    }
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    if fresh.scope.pages() {
        diagnostics.extend(fresh.prepared.config.remarks.iter().cloned());
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
