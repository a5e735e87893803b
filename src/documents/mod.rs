//! The documents assetmill hands to programs: one type for each JSON
//! document the command prints (`check`, `build` and `merge` with
//! `--format json`, `build --explain`'s JSON, the document of a run that
//! could not go on) and for each NDJSON line of `--progress ndjson`, built
//! from the library's own results. A program embedding the library gets the
//! same documents as one reading the command's output, and the same human
//! text: each document's `Display` ([`text`]) is what the command prints
//! without `--format json`.
//!
//! Every document (every NDJSON line too) starts with a `schema` field, its
//! name and version, e.g. `assetmill.build/1`. The version goes up when a
//! field is removed or changes meaning, not when one is added. Each is
//! described by a JSON Schema in the repository's `schema/` folder,
//! generated from these types (a test fails when the two differ, and
//! another validates what the binary prints against them).
//!
//! Write a document with [`names::json`](crate::outputs::names::json): it keeps
//! names from acting on a terminal, as the command does. This module sits
//! after the pipeline: it reads results and runs nothing.

pub mod text;

use crate::error::Error;
use crate::outputs::diagnostics::{Diagnostic, Report};
use crate::outputs::names;
use crate::pipeline::explain::Explanation;
use crate::pipeline::merge::Merged;
use crate::pipeline::{BuildSummary, Change, Outcome};
use crate::progress::Event;
use serde::Serialize;

/// What `build` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Make the outputs.
    Build,
    /// `--dry-run`: say what a build would do; write nothing.
    DryRun,
    /// `--check`: as a dry run, and fail unless everything is up to date.
    Check,
}

/// `check --format json`: every problem found in the pages and their
/// images, and the counts of the summary line.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Check<'a> {
    /// `assetmill.check/1`.
    #[cfg_attr(test, schemars(extend("const" = "assetmill.check/1")))]
    pub schema: &'static str,
    /// Files with front matter.
    pub pages: usize,
    /// Distinct images referenced (files to validate plus animations to
    /// assemble).
    pub images: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Sorted by file, line and severity.
    pub diagnostics: &'a [Diagnostic],
    #[serde(skip)]
    report: &'a Report,
}

impl<'a> Check<'a> {
    pub const SCHEMA: &'static str = "assetmill.check/1";

    pub fn new(report: &'a Report) -> Self {
        Check {
            schema: Self::SCHEMA,
            pages: report.summary.pages,
            images: report.summary.images,
            errors: report.summary.errors,
            warnings: report.summary.warnings,
            diagnostics: &report.diagnostics,
            report,
        }
    }

    /// 1 when an error was found, else 0.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.errors > 0)
    }
}

/// What `merge` joined (the `merged` part of its build document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct MergeCounts {
    /// Shard folders joined.
    pub shards: usize,
    /// Files copied out of them, and their bytes.
    pub files: usize,
    pub bytes: u64,
}

impl From<&Merged> for MergeCounts {
    fn from(m: &Merged) -> Self {
        MergeCounts {
            shards: m.shards,
            files: m.files,
            bytes: m.bytes,
        }
    }
}

/// `build --format json` (also with `--dry-run`, `--check`, `--shard`) and
/// `merge --format json`: what the run did, or would do, and every problem
/// found.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Build<'a> {
    /// `assetmill.build/1`.
    #[cfg_attr(test, schemars(extend("const" = "assetmill.build/1")))]
    pub schema: &'static str,
    /// Nothing was written (`--dry-run` or `--check`).
    pub dry_run: bool,
    /// `--check`: the run fails unless everything is up to date.
    pub check: bool,
    /// No output was (or would be) built or removed.
    pub up_to_date: bool,
    /// For `merge`: what it joined; `null` for `build`.
    pub merged: Option<MergeCounts>,
    /// The work done (or to do) and its time.
    pub summary: &'a BuildSummary,
    /// Files with front matter.
    pub pages: usize,
    /// Distinct images referenced.
    pub images: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Sorted by file, line and severity.
    pub diagnostics: &'a [Diagnostic],
    /// Outputs rebuilt (or to rebuild), and why; sorted by path.
    pub changes: &'a [Change],
    /// Stale outputs removed (or to remove), sorted.
    pub removed: &'a [String],
    /// The run was stopped by a signal before it finished.
    pub cancelled: bool,
    /// The HTML review's path, when one was written.
    pub review: Option<String>,
    #[serde(skip)]
    outcome: &'a Outcome,
}

impl<'a> Build<'a> {
    pub const SCHEMA: &'static str = "assetmill.build/1";

    pub fn new(outcome: &'a Outcome, mode: Mode) -> Self {
        let summary = &outcome.report.summary;
        Build {
            schema: Self::SCHEMA,
            dry_run: mode != Mode::Build,
            check: mode == Mode::Check,
            up_to_date: outcome.changes.is_empty() && outcome.removed.is_empty(),
            merged: None,
            summary: &outcome.summary,
            pages: summary.pages,
            images: summary.images,
            errors: summary.errors,
            warnings: summary.warnings,
            diagnostics: &outcome.report.diagnostics,
            changes: &outcome.changes,
            removed: &outcome.removed,
            cancelled: outcome.cancelled,
            review: outcome
                .review
                .as_deref()
                .map(|p| names::path(p).into_owned()),
            outcome,
        }
    }

    /// The document of a merge: the build that finished the merged folder.
    pub fn merged(merged: &'a Merged) -> Self {
        Build {
            merged: Some(MergeCounts::from(merged)),
            ..Build::new(&merged.outcome, Mode::Build)
        }
    }

    /// 130 when stopped by a signal; else 1 when an error was found or,
    /// for `--check`, an output is not up to date; else 0.
    pub fn exit_code(&self) -> u8 {
        if self.cancelled {
            130
        } else {
            u8::from(self.errors > 0 || (self.check && !self.up_to_date))
        }
    }
}

/// The document of a run that could not go on at all (a bad configuration,
/// a locked output folder, `--explain` of an unknown path): printed instead
/// of the command's own document.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Fatal {
    /// `assetmill.fatal/1`.
    #[cfg_attr(test, schemars(extend("const" = "assetmill.fatal/1")))]
    pub schema: &'static str,
    /// As in the build document (true for `--explain`).
    pub dry_run: bool,
    pub check: bool,
    /// For `--explain`: PATH as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The error, one line.
    pub fatal: String,
    /// Always 1.
    pub errors: usize,
    #[serde(skip)]
    exit_code: u8,
}

impl Fatal {
    pub const SCHEMA: &'static str = "assetmill.fatal/1";

    /// A build, dry run, check or merge that stopped on `error`.
    pub fn new(error: &Error, mode: Mode) -> Self {
        Fatal {
            schema: Self::SCHEMA,
            dry_run: mode != Mode::Build,
            check: mode == Mode::Check,
            query: None,
            fatal: error.to_string(),
            errors: 1,
            exit_code: if matches!(error, Error::Config { .. }) {
                2
            } else {
                1
            },
        }
    }

    /// `--explain QUERY` that could not explain it (an unknown path is
    /// bad usage, as any other reason is).
    pub fn explain(error: &Error, query: &str) -> Self {
        Fatal {
            query: Some(query.to_owned()),
            exit_code: 2,
            ..Fatal::new(error, Mode::DryRun)
        }
    }

    /// 2 for bad usage or configuration, else 1.
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }
}

/// `build --explain PATH --format json`: the [`Explanation`] with its
/// `schema`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Explain<'a> {
    /// `assetmill.explain/1`.
    #[cfg_attr(test, schemars(extend("const" = "assetmill.explain/1")))]
    pub schema: &'static str,
    #[serde(flatten)]
    pub explanation: &'a Explanation,
}

impl<'a> Explain<'a> {
    pub const SCHEMA: &'static str = "assetmill.explain/1";

    pub fn new(explanation: &'a Explanation) -> Self {
        Explain {
            schema: Self::SCHEMA,
            explanation,
        }
    }

    /// 0 when everything explained is up to date, 1 when a build would
    /// remake something (as `build --check`).
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.explanation.up_to_date())
    }
}

/// The last NDJSON line of a run: the build document's counts (or the
/// fatal error) and the exit code.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Finish<'a> {
    /// `finish`.
    #[cfg_attr(test, schemars(extend("const" = "finish")))]
    pub event: &'static str,
    pub exit_code: u8,
    /// Set when the run could not go on at all (then the counts are 0).
    pub fatal: Option<String>,
    pub dry_run: bool,
    pub check: bool,
    pub up_to_date: bool,
    pub errors: usize,
    pub warnings: usize,
    /// How many outputs were (or would be) built, and removed.
    pub changes: usize,
    pub removed: usize,
    pub cancelled: bool,
    pub merged: Option<MergeCounts>,
    /// The HTML review's path, when one was written.
    pub review: Option<String>,
    /// As in the build document; `null` after a fatal error.
    pub summary: Option<&'a BuildSummary>,
}

impl<'a> From<&Build<'a>> for Finish<'a> {
    fn from(b: &Build<'a>) -> Self {
        Finish {
            event: "finish",
            exit_code: b.exit_code(),
            fatal: None,
            dry_run: b.dry_run,
            check: b.check,
            up_to_date: b.up_to_date,
            errors: b.errors,
            warnings: b.warnings,
            changes: b.changes.len(),
            removed: b.removed.len(),
            cancelled: b.cancelled,
            merged: b.merged,
            review: b.review.clone(),
            summary: Some(b.summary),
        }
    }
}

impl From<&Fatal> for Finish<'static> {
    fn from(f: &Fatal) -> Self {
        Finish {
            event: "finish",
            exit_code: f.exit_code,
            fatal: Some(f.fatal.clone()),
            dry_run: f.dry_run,
            check: f.check,
            up_to_date: false,
            errors: f.errors,
            warnings: 0,
            changes: 0,
            removed: 0,
            cancelled: false,
            merged: None,
            review: None,
            summary: None,
        }
    }
}

/// One line of `--progress ndjson`: a progress [`Event`] as the build
/// reports it, or the [`Finish`] line, with the `schema` every line
/// carries. Tell them apart by `event`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct EventLine<'a> {
    /// `assetmill.event/1`.
    #[cfg_attr(test, schemars(extend("const" = "assetmill.event/1")))]
    pub schema: &'static str,
    #[serde(flatten)]
    pub body: EventBody<'a>,
}

/// What an [`EventLine`] holds.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum EventBody<'a> {
    /// `start`, `unit` or `diagnostic`.
    Progress(&'a Event<'a>),
    /// `finish`: always the last line.
    Finish(Finish<'a>),
}

impl<'a> EventLine<'a> {
    pub const SCHEMA: &'static str = "assetmill.event/1";

    pub fn new(body: EventBody<'a>) -> Self {
        EventLine {
            schema: Self::SCHEMA,
            body,
        }
    }
}

impl<'a> From<&'a Event<'a>> for EventLine<'a> {
    fn from(event: &'a Event<'a>) -> Self {
        EventLine::new(EventBody::Progress(event))
    }
}

impl<'a> From<Finish<'a>> for EventLine<'a> {
    fn from(finish: Finish<'a>) -> Self {
        EventLine::new(EventBody::Finish(finish))
    }
}

#[cfg(test)]
mod schema;
