//! The human text of the documents: what the command prints without
//! `--format json`. Every name in it is in [`names`]' text form, so no
//! name starts a line of its own or acts on a terminal.

use super::{Build, Check, Explain, Fatal};
use crate::outputs::names::{self, text as n};
use crate::pipeline::explain::show_value;
use crate::pipeline::{Cleaned, Stage};
use std::fmt::{self, Display, Formatter};
use std::path::Path;

/// `error: ` and the message: one line, as the command writes it on stderr.
impl Display for Fatal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.fatal)
    }
}

/// One line per diagnostic (and hint), then the summary line.
impl Display for Check<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report.to_text())
    }
}

/// The report of a build, a dry run, a check or a merge: its diagnostics,
/// then (for a dry run or check) every output to build or remove, then the
/// summary lines.
impl Display for Build<'_> {
    fn fmt(&self, t: &mut Formatter<'_>) -> fmt::Result {
        let outcome = self.outcome;
        let report = &outcome.report;
        let s = &outcome.summary;
        for d in &report.diagnostics {
            writeln!(t, "{d}")?;
        }
        if self.dry_run {
            for c in &outcome.changes {
                let remote = match c.remote {
                    Some(true) => "; in the remote cache",
                    Some(false) => "; to make",
                    None => "",
                };
                writeln!(
                    t,
                    "would build {} ({}{remote})",
                    n(&c.path),
                    c.reason.label()
                )?;
            }
            for path in &outcome.removed {
                writeln!(t, "would remove {} (no longer referenced)", n(path))?;
            }
            writeln!(t, "{}", report.summary)?;
            if let Some(r) = &s.remote {
                writeln!(
                    t,
                    "remote cache {} ({}): {} of the outputs to build are there, {} are not; \
                     {} rejected, {} errors",
                    r.store, r.mode, r.hits, r.misses, r.rejected, r.errors
                )?;
            }
            return if !self.check {
                writeln!(
                    t,
                    "dry run: {} to build, {} up to date, {} to remove, {} sources to decode; \
                     nothing written",
                    s.built, s.reused, s.removed, s.decoded
                )
            } else if self.up_to_date {
                writeln!(t, "check: all {} outputs are up to date", s.reused)
            } else {
                writeln!(
                    t,
                    "check: {} outputs to build and {} to remove; run `assetmill build`",
                    s.built, s.removed
                )
            };
        }
        if let Some(m) = &self.merged {
            writeln!(
                t,
                "merged {} shards: copied {} files ({:.2} MB)",
                m.shards,
                m.files,
                mb(m.bytes)
            )?;
        }
        writeln!(t, "{}", report.summary)?;
        if outcome.cancelled {
            return writeln!(
                t,
                "stopped: built {} files before the signal; they are recorded, and the next \
                 build continues from there",
                s.built
            );
        }
        let saved = if s.source_bytes > 0 {
            100.0 * (1.0 - s.optimized_bytes as f64 / s.source_bytes as f64)
        } else {
            0.0
        };
        writeln!(
            t,
            "built {} files, reused {}, removed {}, decoded {} sources; wrote {:.2} MB, out/ \
             holds {:.2} MB",
            s.built,
            s.reused,
            s.removed,
            s.decoded,
            mb(s.written_bytes),
            mb(s.output_bytes)
        )?;
        if let Some(r) = &s.remote {
            writeln!(
                t,
                "remote cache {} ({}): {} hits ({:.2} MB fetched), {} misses, {} stored \
                 ({:.2} MB), {} rejected, {} errors",
                r.store,
                r.mode,
                r.hits,
                mb(r.downloaded_bytes),
                r.misses,
                r.uploaded,
                mb(r.uploaded_bytes),
                r.rejected,
                r.errors
            )?;
        }
        writeln!(
            t,
            "sources {:.2} MB -> optimized copies {:.2} MB ({saved:.1}% saved)",
            mb(s.source_bytes),
            mb(s.optimized_bytes)
        )?;
        let stages: Vec<String> = s
            .stages
            .iter()
            .filter(|(_, t)| **t > 0.0005)
            .map(|(stage, t)| format!("{} {t:.2}s", stage.name()))
            .collect();
        writeln!(
            t,
            "time {:.2}s wall; CPU by stage: {}",
            s.seconds,
            stages.join(", ")
        )?;
        if let Some(path) = &outcome.review {
            writeln!(t, "report: {}", names::path_text(path))?;
        }
        if let Some(fix) = s.av1.fix
            && s.stages.get(&Stage::Video).is_some_and(|&t| t > 1.0)
        {
            writeln!(
                t,
                "note: AV1 runs without SIMD (this assetmill's rav1e has no assembly), about \
                 4-5x slower; fix: {fix}"
            )?;
        }
        Ok(())
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// One block per output (what it is made from, its settings, the pages
/// that use it, whether a build would remake it and why), then one line
/// for all of them.
impl Display for Explain<'_> {
    fn fmt(&self, t: &mut Formatter<'_>) -> fmt::Result {
        let e = self.explanation;
        let value = |v: &serde_json::Value| n(&show_value(v)).into_owned();
        let hash = |h: &Option<String>| h.clone().unwrap_or_else(|| "(cannot be read)".into());
        if let Some(source) = &e.source {
            writeln!(
                t,
                "source {} ({})\n{} outputs are made from it:\n",
                n(&source.key),
                hash(&source.hash),
                e.outputs.len()
            )?;
        }
        for o in &e.outputs {
            let role = serde_json::to_value(o.role)
                .ok()
                .map(|v| value(&v))
                .unwrap_or_default();
            writeln!(t, "{} ({role})", n(&o.path))?;
            match &o.animation {
                Some(animation) => writeln!(
                    t,
                    "  made from the {} frames of {}, in order:",
                    o.inputs.len(),
                    n(animation)
                )?,
                None => writeln!(t, "  made from:")?,
            }
            for (i, input) in o.inputs.iter().enumerate() {
                let i = if o.animation.is_some() {
                    format!("{:>3}. ", i + 1)
                } else {
                    String::new()
                };
                writeln!(t, "    {i}{} {}", n(&input.key), hash(&input.hash))?;
            }
            writeln!(t, "  settings (options hash {}):", o.options_hash)?;
            for (name, v) in &o.settings {
                writeln!(t, "    {} {}", n(name), value(v))?;
            }
            writeln!(t, "  used by:")?;
            for u in &o.pages {
                writeln!(
                    t,
                    "    {}:{} ({} {})",
                    n(&u.page),
                    u.line,
                    u.role.label(),
                    n(&u.written)
                )?;
            }
            match o.reason {
                None => writeln!(t, "  up to date")?,
                Some(reason) => {
                    writeln!(t, "  a build would remake it ({}):", reason.label())?;
                    for why in &o.why {
                        writeln!(t, "    {}", n(&why.to_string()))?;
                    }
                    match o.remote {
                        Some(true) => writeln!(
                            t,
                            "  the remote cache has it: a build fetches it instead of making it"
                        )?,
                        Some(false) => {
                            writeln!(t, "  the remote cache does not have it: a build makes it")?
                        }
                        None => {}
                    }
                }
            }
            writeln!(t)?;
        }
        let stale = e.outputs.iter().filter(|o| o.reason.is_some()).count();
        let outputs = match e.outputs.len() {
            1 => "1 output".to_owned(),
            n => format!("{n} outputs"),
        };
        if stale == 0 {
            writeln!(t, "explain: up to date ({outputs})")
        } else {
            writeln!(t, "explain: a build would remake {stale} of {outputs}")
        }
    }
}

/// The report of `clean`: every file it left in place and why, then one
/// line.
#[derive(Debug, Clone, Copy)]
pub struct Clean<'a> {
    pub cleaned: &'a Cleaned,
    /// The output folder cleaned.
    pub out: &'a Path,
}

impl Display for Clean<'_> {
    fn fmt(&self, t: &mut Formatter<'_>) -> fmt::Result {
        for d in &self.cleaned.refused {
            writeln!(t, "{d}")?;
        }
        let left = match self.cleaned.refused.len() {
            0 => String::new(),
            n => format!("; left {n} in place (see above)"),
        };
        writeln!(
            t,
            "removed {} files from {}{left}",
            self.cleaned.removed.len(),
            names::path_text(self.out)
        )
    }
}

/// The last line of `synth`: what it wrote.
impl Display for crate::synth::SynthSummary {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pages, {} images written ({:.1} MB), {} existing files kept",
            self.pages,
            self.images,
            self.bytes as f64 / 1e6,
            self.skipped
        )
    }
}
