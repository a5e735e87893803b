//! What a build hands back: its summary figures, the outputs it (re)built
//! and why, what it removed, and its diagnostics.

use super::keys::{Planned, Reason};
use super::remote::session::RemoteFigures;
use super::timers::Stage;
use crate::outputs::assetmap::{AssetMap, OutputFile};
use crate::outputs::diagnostics::Report;
use crate::stages::video::av1::Av1Simd;
use serde::Serialize;
use std::collections::BTreeMap;

/// An output that is (or would be) rebuilt, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Change {
    pub path: String,
    pub reason: Reason,
    /// With a remote cache: whether it has this output (a build fetches
    /// it: `true`) or it must be made (`false`). Absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<bool>,
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
    /// How AV1 is encoded on this machine.
    pub av1: Av1Simd,
    /// What the remote cache did; absent when none is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteFigures>,
}

impl BuildSummary {
    /// Counts one output as built (or fetched from the remote cache; with
    /// why) or reused.
    pub(super) fn count(&mut self, made: &Made, changes: &mut Vec<Change>) {
        if made.built {
            self.built += 1;
            self.written_bytes += made.file.bytes;
            let p = &made.planned;
            changes.extend(p.stale.or(p.fetched).map(|reason| Change {
                path: p.path.clone(),
                reason,
                remote: p.fetched.map(|_| true),
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

impl Outcome {
    /// Adds diagnostics found after the report was made (the remote
    /// cache's warnings, a review report that could not be written).
    pub(super) fn add(&mut self, more: Vec<crate::outputs::diagnostics::Diagnostic>) {
        if more.is_empty() {
            return;
        }
        let report = &self.report;
        let mut diagnostics = report.diagnostics.clone();
        diagnostics.extend(more);
        self.report = Report::new(diagnostics, report.summary.pages, report.summary.images);
    }
}

/// A planned output now in place, and whether this run wrote it (made it,
/// or fetched it from the remote cache; else it was reused as the cache
/// recorded it).
#[derive(Debug, Clone)]
pub(super) struct Made {
    pub planned: Planned,
    pub file: OutputFile,
    pub built: bool,
}
