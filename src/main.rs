//! The `assetmill` command: parses arguments, installs the progress display
//! and the Ctrl-C/SIGTERM handler, calls the library and turns the outcome
//! into an exit code (0 clean, 1 problems found, 2 bad usage or
//! configuration, 130 stopped by a signal).

use assetmill::config::{Config, Overrides};
use assetmill::pipeline::merge::Merged;
use assetmill::pipeline::{self, Outcome, Stage};
use assetmill::progress::{Event, Progress};
use assetmill::stages::video;
use assetmill::synth::{self, SynthOptions, SynthSummary};
use assetmill::{Error, names};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

#[derive(Parser)]
#[command(
    name = "assetmill",
    version,
    about = "The image asset pipeline for static sites"
)]
struct Cli {
    /// Configuration file (default: assetmill.yml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Folder of pages with YAML front matter (overrides `content`).
    #[arg(long, global = true, value_name = "DIR")]
    content: Option<PathBuf>,
    /// Image root that front-matter paths are relative to (overrides `images`).
    #[arg(long, global = true, value_name = "DIR")]
    images: Option<PathBuf>,
    /// Output folder (overrides `out`).
    #[arg(long, global = true, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', global = true, value_name = "N")]
    jobs: Option<usize>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// How to report progress: `bars` on a terminal's stderr, or `ndjson`:
    /// one JSON event per line on stdout as work happens (the human report
    /// then goes to stderr).
    #[arg(long, global = true, value_enum, default_value_t = ProgressMode::Bars)]
    progress: ProgressMode,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate, then write thumbnails, optimized copies, GIFs, sprite
    /// sheets and the asset map into the output folder. Incremental: only
    /// what changed is rebuilt; outputs whose source left the pages are removed.
    Build {
        /// List what would be rebuilt or removed, and why; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Verify that every output is up to date: exit 0 if so, else 1 with
        /// one line per output to build or remove. Writes nothing.
        #[arg(long, conflicts_with = "dry_run")]
        check: bool,
        /// Explain one output (a path in the output folder, e.g.
        /// muscles/gif/Arm.gif) or every output of one source (a path as
        /// written in front matter): what it is made from, the settings that
        /// shape it, the pages that use it, and whether a build would remake
        /// it and why. Writes nothing; exit 0 if up to date, 1 if a build
        /// would remake it, 2 if PATH is unknown.
        #[arg(long, value_name = "PATH", conflicts_with_all = ["dry_run", "check", "shard"])]
        explain: Option<String>,
        /// Build only shard I of N (1 <= I <= N) into an output folder of its
        /// own, for a CI matrix; join the folders with `merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<pipeline::Shard>,
        /// Report format (json: one document for CI).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Join the output folders of `build --shard I/N` jobs into --out, as
    /// one `build` would have written it (then a `build` there builds
    /// nothing). Refuses missing, overlapping or mismatched shards.
    Merge {
        /// The shard output folders, every shard 1..N once.
        #[arg(required = true, value_name = "SHARD_OUT")]
        shards: Vec<PathBuf>,
        /// Report format (json: one document for CI).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Remove every file assetmill recorded making in the output folder
    /// (and its cache); anything else there is left alone.
    Clean,
    /// Read every page and validate every image it references.
    Check {
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write a synthetic site (pages + rendered frames), or with
    /// --from-pages, render every image an existing page tree references.
    Synth {
        /// Folder to create the site in (content/ and assets/ inside it).
        #[arg(required_unless_present = "from_pages", conflicts_with = "from_pages")]
        dir: Option<PathBuf>,
        /// Render images for the pages in this folder into --images ROOT.
        #[arg(long, value_name = "PAGES_DIR", requires = "images")]
        from_pages: Option<PathBuf>,
        /// Number of muscle pages.
        #[arg(long, default_value_t = 4)]
        pages: usize,
        /// Rotation frames per page.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
        frames: u32,
        /// Frame size in pixels (square).
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(16..=8192))]
        size: u32,
        /// Transparent backgrounds.
        #[arg(long)]
        alpha: bool,
        /// Seed for names, shapes and colours.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// What the frames show: one muscle-like body, or several glossy
        /// objects of different hues with fine specular detail.
        #[arg(long, value_enum, default_value_t = Scene::Muscle)]
        scene: Scene,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scene {
    Muscle,
    Objects,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProgressMode {
    Bars,
    Ndjson,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Terminal progress bars on stderr, one per stage under way.
struct Bars {
    enabled: bool,
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Bars {
    fn new(quiet: bool) -> Self {
        Bars {
            enabled: !quiet && std::io::stderr().is_terminal(),
            multi: MultiProgress::new(),
            bars: Mutex::new(BTreeMap::new()),
        }
    }

    fn bars(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ProgressBar>> {
        self.bars.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = self
            .multi
            .add(ProgressBar::new(total).with_prefix(stage.to_owned()));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} {elapsed}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        self.bars().insert(stage.to_owned(), bar);
    }
    fn advance(&self, stage: &str, n: u64) {
        if let Some(bar) = self.bars().get(stage) {
            bar.inc(n);
        }
    }
    fn finish(&self, stage: &str) {
        if let Some(bar) = self.bars().remove(stage) {
            bar.finish_and_clear();
        }
    }
    fn note(&self, message: &str) {
        let message = names::text(message);
        let _ = self.multi.println(&message);
        if !self.enabled {
            eprintln!("{message}");
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    report_file_size_limits();
    if let Some(jobs) = cli.jobs
        && let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
    {
        eprintln!("error: cannot start {jobs} worker threads: {e}");
        return ExitCode::from(2);
    }
    let overrides = Overrides {
        content: cli.content.clone(),
        images: cli.images.clone(),
        out: cli.out.clone(),
    };
    let bars = Bars::new(cli.quiet);
    let load_config = || Config::load(cli.config.as_deref(), &overrides);
    match &cli.command {
        Command::Build {
            dry_run,
            check,
            explain,
            shard,
            format,
        } => {
            let config = match load_config() {
                Ok(config) => config,
                Err(e) => return usage_error(&e),
            };
            if let Some(path) = explain {
                return match pipeline::explain::explain(&config, path) {
                    Ok(explanation) => report_explanation(&explanation, *format),
                    Err(e) => {
                        if *format == Format::Json {
                            print_json(&serde_json::json!({"query": path, "fatal": e.to_string()}));
                        }
                        usage_error(&e)
                    }
                };
            }
            let mode = match (dry_run, check) {
                (_, true) => Mode::Check,
                (true, _) => Mode::DryRun,
                _ => Mode::Build,
            };
            let Some(report) = Reporter::new(cli.progress, *format, bars) else {
                return usage_error(&ndjson_conflict());
            };
            let options = pipeline::BuildOptions {
                dry_run: mode != Mode::Build,
                cancel: Some(stop_on_signals()),
                shard: *shard,
            };
            match pipeline::build(&config, options, &report) {
                Ok(outcome) => report.build(&outcome, mode, None),
                Err(e) => report.fatal(&e, mode),
            }
        }
        Command::Merge { shards, format } => {
            let config = match load_config() {
                Ok(config) => config,
                Err(e) => return usage_error(&e),
            };
            let Some(report) = Reporter::new(cli.progress, *format, bars) else {
                return usage_error(&ndjson_conflict());
            };
            let options = pipeline::BuildOptions {
                cancel: Some(stop_on_signals()),
                ..Default::default()
            };
            match pipeline::merge::merge(&config, shards, options, &report) {
                Ok(merged) => report.build(&merged.outcome, Mode::Build, Some(&merged)),
                Err(e) => report.fatal(&e, Mode::Build),
            }
        }
        Command::Clean => {
            let config = match load_config() {
                Ok(config) => config,
                Err(e) => return usage_error(&e),
            };
            match pipeline::clean(&config, &bars) {
                Ok(cleaned) => {
                    for d in &cleaned.refused {
                        println!("{d}");
                    }
                    println!(
                        "removed {} files from {}{}",
                        cleaned.removed.len(),
                        names::path_text(&config.out),
                        match cleaned.refused.len() {
                            0 => String::new(),
                            n => format!("; left {n} in place (see above)"),
                        }
                    );
                    ExitCode::SUCCESS
                }
                Err(e @ Error::Config { .. }) => usage_error(&e),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Check { format } => {
            let config = match load_config() {
                Ok(config) => config,
                Err(e) => return usage_error(&e),
            };
            let report = pipeline::check(&config, &bars);
            match format {
                Format::Text => print!("{}", report.to_text()),
                Format::Json if !print_json(&report) => return ExitCode::FAILURE,
                Format::Json => {}
            }
            ExitCode::from(u8::from(report.has_errors()))
        }
        Command::Synth {
            dir,
            from_pages,
            pages,
            frames,
            size,
            alpha,
            seed,
            scene,
        } => {
            let opts = SynthOptions {
                pages: *pages,
                frames: *frames,
                size: *size,
                alpha: *alpha,
                seed: *seed,
                scene: match scene {
                    Scene::Muscle => synth::render::SceneKind::Muscle,
                    Scene::Objects => synth::render::SceneKind::Objects,
                },
            };
            let result = match (dir, from_pages, &cli.images) {
                (_, Some(pages_dir), Some(images)) => {
                    synth::materialize(pages_dir, images, &opts, &bars)
                }
                (Some(dir), _, _) => synth::synth_site(dir, &opts, &bars),
                _ => unreachable!("clap requires DIR or --from-pages with --images"),
            };
            report_synth(result)
        }
    }
}

/// A flag set by the first Ctrl-C or SIGTERM, which the build checks to
/// stop cleanly (finished work recorded, temp files removed, lock
/// released); a second signal ends the process at once.
fn stop_on_signals() -> Arc<AtomicBool> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Registration fails only for forbidden signals; these are not.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, flag.clone());
        let _ = signal_hook::flag::register(signal, flag.clone());
    }
    flag
}

/// Under a file size limit (`ulimit -f`) a write past it raises SIGXFSZ,
/// whose default action kills the process with no message and leaves the
/// temp file behind. With the signal caught, that write fails with EFBIG
/// instead, which the library reports as a write error naming the output
/// (its temp file removed) while the run goes on. A program embedding the
/// library should do the same.
fn report_file_size_limits() {
    #[cfg(unix)]
    {
        // Registration fails only for forbidden signals; this is not one.
        let _ = signal_hook::flag::register(
            signal_hook::consts::SIGXFSZ,
            Arc::new(AtomicBool::new(false)),
        );
    }
}

fn usage_error(e: &Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// Prints `value` as a JSON document on stdout, by `names::json`. Every
/// output type holds its names as strings, so this cannot fail; should a
/// new type break that, the run says so on stderr and returns false (the
/// caller then exits 1) instead of panicking or printing nothing.
fn print_json(value: &impl serde::Serialize) -> bool {
    match names::json(value, true) {
        Ok(doc) => {
            println!("{doc}");
            true
        }
        Err(e) => {
            eprintln!("error: cannot write the report as JSON: {e}");
            false
        }
    }
}

/// Prints an explanation; exit 0 when everything explained is up to date,
/// 1 when a build would remake something (as `build --check`).
fn report_explanation(explanation: &pipeline::explain::Explanation, format: Format) -> ExitCode {
    use std::io::Write;
    let code = u8::from(!explanation.up_to_date());
    let text = match format {
        Format::Json => match names::json(explanation, true) {
            Ok(doc) => doc + "\n",
            Err(e) => {
                eprintln!("error: cannot write the explanation as JSON: {e}");
                return ExitCode::FAILURE;
            }
        },
        Format::Text => explanation_text(explanation),
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::from(code)
}

/// The text form of an explanation: one block per output, every name in
/// it by `names::text`.
fn explanation_text(e: &pipeline::explain::Explanation) -> String {
    use names::text as n;
    use std::fmt::Write;
    let show_value = |v: &serde_json::Value| n(&pipeline::explain::show_value(v)).into_owned();
    let hash = |h: &Option<String>| h.clone().unwrap_or_else(|| "(cannot be read)".into());
    let mut t = String::new();
    if let Some(source) = &e.source {
        let _ = writeln!(
            t,
            "source {} ({})
{} outputs are made from it:
",
            n(&source.key),
            hash(&source.hash),
            e.outputs.len()
        );
    }
    for o in &e.outputs {
        let role = serde_json::to_value(o.role)
            .ok()
            .map(|v| show_value(&v))
            .unwrap_or_default();
        let _ = writeln!(t, "{} ({role})", n(&o.path));
        match &o.animation {
            Some(animation) => {
                let _ = writeln!(
                    t,
                    "  made from the {} frames of {}, in order:",
                    o.inputs.len(),
                    n(animation)
                );
            }
            None => {
                let _ = writeln!(t, "  made from:");
            }
        }
        for (i, input) in o.inputs.iter().enumerate() {
            let i = if o.animation.is_some() {
                format!("{:>3}. ", i + 1)
            } else {
                String::new()
            };
            let _ = writeln!(t, "    {i}{} {}", n(&input.key), hash(&input.hash));
        }
        let _ = writeln!(t, "  settings (options hash {}):", o.options_hash);
        for (name, value) in &o.settings {
            let _ = writeln!(t, "    {} {}", n(name), show_value(value));
        }
        let _ = writeln!(t, "  used by:");
        for u in &o.pages {
            let _ = writeln!(
                t,
                "    {}:{} ({} {})",
                n(&u.page),
                u.line,
                u.role.label(),
                n(&u.written)
            );
        }
        match o.reason {
            None => {
                let _ = writeln!(t, "  up to date");
            }
            Some(reason) => {
                let _ = writeln!(t, "  a build would remake it ({}):", reason.label());
                for why in &o.why {
                    let _ = writeln!(t, "    {}", n(&why.to_string()));
                }
            }
        }
        t.push('\n');
    }
    let stale = e.outputs.iter().filter(|o| o.reason.is_some()).count();
    let outputs = match e.outputs.len() {
        1 => "1 output".to_owned(),
        n => format!("{n} outputs"),
    };
    let _ = if stale == 0 {
        writeln!(t, "explain: up to date ({outputs})")
    } else {
        writeln!(t, "explain: a build would remake {stale} of {outputs}")
    };
    t
}

fn report_synth(result: Result<SynthSummary, Error>) -> ExitCode {
    match result {
        Ok(summary) => {
            for d in &summary.diagnostics {
                eprintln!("{d}");
            }
            println!(
                "{} pages, {} images written ({:.1} MB), {} existing files kept",
                summary.pages,
                summary.images,
                summary.bytes as f64 / 1e6,
                summary.skipped
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ndjson_conflict() -> Error {
    Error::Config {
        path: PathBuf::from("--progress"),
        message: "`--progress ndjson` writes events on stdout, so it cannot be combined with \
                  `--format json`; use one or the other"
            .into(),
    }
}

/// What `build` was asked to do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Build,
    DryRun,
    Check,
}

/// Where the progress and the end-of-run report go: bars and text (or one
/// JSON document) by default; with `--progress ndjson`, events on stdout
/// and the text on stderr.
struct Reporter {
    bars: Bars,
    ndjson: Option<Mutex<std::io::Stdout>>,
    format: Format,
}

impl Progress for Reporter {
    fn start(&self, stage: &str, total: u64) {
        self.bars.start(stage, total);
    }
    fn advance(&self, stage: &str, n: u64) {
        self.bars.advance(stage, n);
    }
    fn finish(&self, stage: &str) {
        self.bars.finish(stage);
    }
    fn note(&self, message: &str) {
        self.bars.note(message);
    }
    fn event(&self, event: &Event<'_>) {
        match names::json(event, false) {
            Ok(line) => self.line(&line),
            Err(e) => eprintln!("error: cannot write an event as JSON: {e}"),
        }
    }
}

impl Reporter {
    /// `None` when the options conflict (NDJSON and a JSON document both
    /// want stdout).
    fn new(mode: ProgressMode, format: Format, bars: Bars) -> Option<Self> {
        match (mode, format) {
            (ProgressMode::Ndjson, Format::Json) => None,
            (ProgressMode::Ndjson, _) => Some(Reporter {
                bars,
                ndjson: Some(Mutex::new(std::io::stdout())),
                format,
            }),
            _ => Some(Reporter {
                bars,
                ndjson: None,
                format,
            }),
        }
    }

    /// Writes one NDJSON line (whole, flushed) when events are on.
    fn line(&self, value: &str) {
        use std::io::Write;
        if let Some(stdout) = &self.ndjson {
            let mut out = stdout.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(out, "{value}");
            let _ = out.flush();
        }
    }

    /// The human report: stdout, or stderr when stdout carries events.
    fn text(&self, text: &str) {
        if self.ndjson.is_some() {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }

    fn fatal(&self, e: &Error, mode: Mode) -> ExitCode {
        let code = if matches!(e, Error::Config { .. }) {
            2
        } else {
            1
        };
        if self.format == Format::Json {
            print_json(&serde_json::json!({
                "dry_run": mode != Mode::Build,
                "check": mode == Mode::Check,
                "fatal": e.to_string(),
                "errors": 1,
            }));
        }
        self.finish(&Finish {
            event: "finish",
            exit_code: code,
            fatal: Some(e.to_string()),
            ..Finish::default()
        });
        eprintln!("error: {e}");
        ExitCode::from(code)
    }

    fn build(&self, outcome: &Outcome, mode: Mode, merged: Option<&Merged>) -> ExitCode {
        let report = &outcome.report;
        let s = &outcome.summary;
        let stale = !(outcome.changes.is_empty() && outcome.removed.is_empty());
        let code = if outcome.cancelled {
            130
        } else {
            u8::from(report.has_errors() || (mode == Mode::Check && stale))
        };
        let review = outcome
            .review
            .as_deref()
            .map(|p| names::path(p).into_owned());
        let merged_doc = merged
            .map(|m| serde_json::json!({"shards": m.shards, "files": m.files, "bytes": m.bytes}));
        self.finish(&Finish {
            event: "finish",
            exit_code: code,
            fatal: None,
            dry_run: mode != Mode::Build,
            check: mode == Mode::Check,
            up_to_date: !stale,
            errors: report.summary.errors,
            warnings: report.summary.warnings,
            changes: outcome.changes.len(),
            removed: outcome.removed.len(),
            cancelled: outcome.cancelled,
            merged: merged_doc.clone(),
            report: review.clone(),
            summary: Some(s.clone()),
        });
        if self.format == Format::Json {
            let doc = serde_json::json!({
                "dry_run": mode != Mode::Build,
                "check": mode == Mode::Check,
                "up_to_date": !stale,
                "merged": merged_doc,
                "summary": s,
                "pages": report.summary.pages,
                "images": report.summary.images,
                "errors": report.summary.errors,
                "warnings": report.summary.warnings,
                "diagnostics": report.diagnostics,
                "changes": outcome.changes,
                "removed": outcome.removed,
                "cancelled": outcome.cancelled,
                "report": review,
            });
            return if print_json(&doc) {
                ExitCode::from(code)
            } else {
                ExitCode::FAILURE
            };
        }
        self.text(&human(outcome, mode, merged));
        ExitCode::from(code)
    }
}

/// The last NDJSON event of a run.
#[derive(Default, serde::Serialize)]
struct Finish {
    event: &'static str,
    exit_code: u8,
    /// Set when the run could not go on at all.
    fatal: Option<String>,
    dry_run: bool,
    check: bool,
    up_to_date: bool,
    errors: usize,
    warnings: usize,
    changes: usize,
    removed: usize,
    cancelled: bool,
    merged: Option<serde_json::Value>,
    /// The review report's path, by `names::path`.
    report: Option<String>,
    summary: Option<pipeline::BuildSummary>,
}

impl Reporter {
    fn finish(&self, finish: &Finish) {
        match names::json(finish, false) {
            Ok(line) => self.line(&line),
            Err(e) => eprintln!("error: cannot write an event as JSON: {e}"),
        }
    }
}

/// The text report of a build, a dry run, a check or a merge.
fn human(outcome: &Outcome, mode: Mode, merged: Option<&Merged>) -> String {
    use std::fmt::Write;
    let report = &outcome.report;
    let s = &outcome.summary;
    let mut t = String::new();
    for d in &report.diagnostics {
        let _ = writeln!(t, "{d}");
    }
    if mode != Mode::Build {
        for c in &outcome.changes {
            let _ = writeln!(
                t,
                "would build {} ({})",
                names::text(&c.path),
                c.reason.label()
            );
        }
        for path in &outcome.removed {
            let _ = writeln!(
                t,
                "would remove {} (no longer referenced)",
                names::text(path)
            );
        }
        let _ = writeln!(t, "{}", report.summary);
        if mode == Mode::Check {
            if outcome.changes.is_empty() && outcome.removed.is_empty() {
                let _ = writeln!(t, "check: all {} outputs are up to date", s.reused);
            } else {
                let _ = writeln!(
                    t,
                    "check: {} outputs to build and {} to remove; run `assetmill build`",
                    s.built, s.removed
                );
            }
        } else {
            let _ = writeln!(
                t,
                "dry run: {} to build, {} up to date, {} to remove, {} sources to decode; \
                 nothing written",
                s.built, s.reused, s.removed, s.decoded
            );
        }
        return t;
    }
    if let Some(m) = merged {
        let _ = writeln!(
            t,
            "merged {} shards: copied {} files ({:.2} MB)",
            m.shards,
            m.files,
            mb(m.bytes)
        );
    }
    if outcome.cancelled {
        let _ = writeln!(t, "{}", report.summary);
        let _ = writeln!(
            t,
            "stopped: built {} files before the signal; they are recorded, and the next \
             build continues from there",
            s.built
        );
        return t;
    }
    let saved = if s.source_bytes > 0 {
        100.0 * (1.0 - s.optimized_bytes as f64 / s.source_bytes as f64)
    } else {
        0.0
    };
    let _ = writeln!(t, "{}", report.summary);
    let _ = writeln!(
        t,
        "built {} files, reused {}, removed {}, decoded {} sources; wrote {:.2} MB, out/ holds \
         {:.2} MB",
        s.built,
        s.reused,
        s.removed,
        s.decoded,
        mb(s.written_bytes),
        mb(s.output_bytes)
    );
    let _ = writeln!(
        t,
        "sources {:.2} MB -> optimized copies {:.2} MB ({saved:.1}% saved)",
        mb(s.source_bytes),
        mb(s.optimized_bytes)
    );
    let stages: Vec<String> = s
        .stages
        .iter()
        .filter(|(_, t)| **t > 0.0005)
        .map(|(stage, t)| format!("{} {t:.2}s", stage.name()))
        .collect();
    let _ = writeln!(
        t,
        "time {:.2}s wall; CPU by stage: {}",
        s.seconds,
        stages.join(", ")
    );
    if let Some(path) = &outcome.review {
        let _ = writeln!(t, "report: {}", names::path_text(path));
    }
    if !video::AV1_ASSEMBLY && s.stages.get(&Stage::Video).is_some_and(|&t| t > 1.0) {
        let _ = writeln!(
            t,
            "note: this assetmill was built without rav1e's assembly, so AV1 encoding runs \
             about 4-5x slower; with nasm installed, build with `--features asm`"
        );
    }
    t
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
