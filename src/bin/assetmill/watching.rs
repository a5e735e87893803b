//! `assetmill watch`: runs [`assetmill::watch`] and prints one line per
//! round (what changed, what was rebuilt, the problems count), then every
//! problem the site still has, so an error stays on screen until fixed.
//! With `--progress ndjson`, each round's events and its `finish` event go
//! to stdout as a build's would, and the lines to stderr.

use crate::args::{Cli, Format, ProgressMode};
use crate::reporter::Reporter;
use assetmill::config::{Config, Overrides};
use assetmill::documents::{Build, Mode};
use assetmill::{Round, Severity, WatchOptions};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub fn run(cli: &Cli, overrides: &Overrides, debounce_ms: u64, stop: Arc<AtomicBool>) -> ExitCode {
    let ndjson = cli.progress == ProgressMode::Ndjson;
    let report = match Reporter::new(cli, Format::Text) {
        Ok(report) => report,
        Err(e) => return crate::usage_error(&e),
    };
    let load = || Config::load(cli.config.as_deref(), overrides);
    let options = WatchOptions {
        debounce: Duration::from_millis(debounce_ms),
        stop: stop.clone(),
    };
    // Resolved like the watcher's paths, so they show relative to it.
    let here = std::env::current_dir().unwrap_or_default();
    let here = here.canonicalize().unwrap_or(here);
    let mut on_round = |round: &Round<'_>| {
        let line = line(round, &here);
        if ndjson {
            if let Ok(outcome) = round.result {
                let _ = report.end(&Build::new(outcome, Mode::Build));
            }
            eprintln!("{line}");
        } else {
            println!("{line}");
            if let Ok(outcome) = round.result {
                for d in &outcome.report.diagnostics {
                    if d.severity != Severity::Note {
                        println!("  {d}");
                    }
                }
            }
        }
    };
    match assetmill::watch(&load, &options, &report, &mut on_round) {
        Ok(()) if stop.load(Ordering::Relaxed) => ExitCode::from(130),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::usage_error(&e),
    }
}

/// The round's one line: what changed (nothing, for the first build),
/// then what the build did.
fn line(round: &Round<'_>, here: &Path) -> String {
    let first = round.changed.is_empty();
    let what = if first {
        "first build".to_owned()
    } else {
        let names: Vec<String> = round.changed.iter().map(|p| shown(p, here)).collect();
        format!("{} changed", first_three(&names, " and "))
    };
    match round.result {
        Err(e) => format!("{what}: nothing built: {e} (fix it and save again)"),
        Ok(outcome) => {
            let s = &outcome.summary;
            let r = &outcome.report.summary;
            let built: Vec<String> = outcome.changes.iter().map(|c| c.path.clone()).collect();
            let listed = if built.is_empty() {
                String::new()
            } else {
                format!(" ({})", first_three(&built, ", "))
            };
            let stopped = if outcome.cancelled { ", stopped" } else { "" };
            let tail = if first {
                " — watching for changes (Ctrl-C to stop)"
            } else {
                ""
            };
            format!(
                "{what}: built {}{listed}, reused {} in {:.1} s; {}, {}{stopped}{tail}",
                s.built,
                s.reused,
                s.seconds,
                count(r.errors, "error"),
                count(r.warnings, "warning")
            )
        }
    }
}

/// The first three of `names`, then `{and}N more` for the rest.
fn first_three(names: &[String], and: &str) -> String {
    let shown = names[..names.len().min(3)].join(", ");
    match names.len().saturating_sub(3) {
        0 => shown,
        more => format!("{shown}{and}{more} more"),
    }
}

/// `1 error`, `2 errors`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `path` relative to the working folder `here` when under it.
fn shown(path: &Path, here: &Path) -> String {
    path.strip_prefix(here)
        .unwrap_or(path)
        .display()
        .to_string()
}
