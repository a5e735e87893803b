//! The `assetmill` command: parses arguments, installs the progress display
//! and the Ctrl-C/SIGTERM handler, calls the library and prints what it
//! returns (the documents of [`assetmill::documents`], as JSON or as text),
//! with an exit code (0 clean, 1 problems found, 2 bad usage or
//! configuration, 130 stopped by a signal).

use assetmill::config::{Config, Overrides};
use assetmill::documents::{Build, Check, EventLine, Explain, Fatal, Finish, Mode, text};
use assetmill::pipeline::{self, BuildOptions};
use assetmill::progress::{Event, Progress};
use assetmill::synth::{self, SynthOptions};
use assetmill::{Error, names, validate};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

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

/// Where progress and the end-of-run document go: bars on a terminal's
/// stderr, one per stage under way, and the text (or the JSON document)
/// on stdout; with `--progress ndjson`, one event per line on stdout and
/// the text on stderr.
struct Reporter {
    enabled: bool,
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    ndjson: Option<Mutex<std::io::Stdout>>,
    json: bool,
}

impl Progress for Reporter {
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
        self.bars_mut().insert(stage.to_owned(), bar);
    }
    fn advance(&self, stage: &str, n: u64) {
        if let Some(bar) = self.bars_mut().get(stage) {
            bar.inc(n);
        }
    }
    fn finish(&self, stage: &str) {
        if let Some(bar) = self.bars_mut().remove(stage) {
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
    fn event(&self, event: &Event<'_>) {
        self.line(&EventLine::from(event));
    }
}

impl Reporter {
    /// Bars only (no events), for the commands that print a document
    /// of their own.
    fn bars(quiet: bool) -> Self {
        Reporter {
            enabled: !quiet && std::io::stderr().is_terminal(),
            multi: MultiProgress::new(),
            bars: Mutex::new(BTreeMap::new()),
            ndjson: None,
            json: false,
        }
    }

    /// For `build` and `merge`; `Err` when the options conflict (NDJSON
    /// and a JSON document both want stdout).
    fn new(cli: &Cli, format: Format) -> Result<Self, Error> {
        let ndjson = cli.progress == ProgressMode::Ndjson;
        if ndjson && format == Format::Json {
            return Err(Error::Config {
                path: PathBuf::from("--progress"),
                message: "`--progress ndjson` writes events on stdout, so it cannot be \
                          combined with `--format json`; use one or the other"
                    .into(),
            });
        }
        Ok(Reporter {
            ndjson: ndjson.then(|| Mutex::new(std::io::stdout())),
            json: format == Format::Json,
            ..Reporter::bars(cli.quiet)
        })
    }

    fn bars_mut(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ProgressBar>> {
        self.bars.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes one NDJSON line (whole, flushed) when events are on.
    fn line(&self, line: &EventLine<'_>) {
        let Some(stdout) = &self.ndjson else { return };
        match names::json(line, false) {
            Ok(line) => {
                let mut out = stdout.lock().unwrap_or_else(|e| e.into_inner());
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Err(e) => eprintln!("error: cannot write an event as JSON: {e}"),
        }
    }

    /// Ends a build or merge: the `finish` event, then the document.
    fn end(&self, doc: &Build<'_>) -> ExitCode {
        self.line(&Finish::from(doc).into());
        if self.ndjson.is_some() {
            eprint!("{doc}");
            return ExitCode::from(doc.exit_code());
        }
        let format = if self.json {
            Format::Json
        } else {
            Format::Text
        };
        exit(print(doc, format), doc.exit_code())
    }

    /// Ends a build or merge that could not go on.
    fn fatal(&self, doc: &Fatal) -> ExitCode {
        if self.json {
            print(doc, Format::Json);
        }
        self.line(&Finish::from(doc).into());
        eprintln!("{doc}");
        ExitCode::from(doc.exit_code())
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
    let bars = Reporter::bars(cli.quiet);
    if let Command::Synth { .. } = cli.command {
        return synth(&cli, &bars);
    }
    let overrides = Overrides {
        content: cli.content.clone(),
        images: cli.images.clone(),
        out: cli.out.clone(),
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(e) => return usage_error(&e),
    };
    let reporter = |format| Reporter::new(&cli, format).map_err(|e| usage_error(&e));
    match &cli.command {
        Command::Build {
            explain: Some(path),
            format,
            ..
        } => match pipeline::explain::explain(&config, path) {
            Ok(explanation) => {
                let doc = Explain::new(&explanation);
                exit(print(&doc, *format), doc.exit_code())
            }
            Err(e) => {
                if *format == Format::Json {
                    print(&Fatal::explain(&e, path), Format::Json);
                }
                usage_error(&e)
            }
        },
        Command::Build {
            dry_run,
            check,
            shard,
            format,
            ..
        } => {
            let mode = match (dry_run, check) {
                (_, true) => Mode::Check,
                (true, _) => Mode::DryRun,
                _ => Mode::Build,
            };
            let report = match reporter(*format) {
                Ok(report) => report,
                Err(code) => return code,
            };
            let options = BuildOptions {
                dry_run: mode != Mode::Build,
                cancel: Some(stop_on_signals()),
                shard: *shard,
            };
            match pipeline::build(&config, options, &report) {
                Ok(outcome) => report.end(&Build::new(&outcome, mode)),
                Err(e) => report.fatal(&Fatal::new(&e, mode)),
            }
        }
        Command::Merge { shards, format } => {
            let report = match reporter(*format) {
                Ok(report) => report,
                Err(code) => return code,
            };
            let options = BuildOptions {
                cancel: Some(stop_on_signals()),
                ..Default::default()
            };
            match pipeline::merge::merge(&config, shards, options, &report) {
                Ok(merged) => report.end(&Build::merged(&merged)),
                Err(e) => report.fatal(&Fatal::new(&e, Mode::Build)),
            }
        }
        Command::Check { format } => {
            let found = validate::check(&config, &bars);
            let doc = Check::new(&found);
            exit(print(&doc, *format), doc.exit_code())
        }
        Command::Clean => match pipeline::clean(&config, &bars) {
            Ok(cleaned) => {
                let out = &config.out;
                print!(
                    "{}",
                    text::Clean {
                        cleaned: &cleaned,
                        out
                    }
                );
                ExitCode::SUCCESS
            }
            Err(e @ Error::Config { .. }) => usage_error(&e),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Synth { .. } => unreachable!("handled above"),
    }
}

fn synth(cli: &Cli, bars: &Reporter) -> ExitCode {
    let Command::Synth {
        dir,
        from_pages,
        pages,
        frames,
        size,
        alpha,
        seed,
        scene,
    } = &cli.command
    else {
        unreachable!("called for synth")
    };
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
        (_, Some(pages_dir), Some(images)) => synth::materialize(pages_dir, images, &opts, bars),
        (Some(dir), _, _) => synth::synth_site(dir, &opts, bars),
        _ => unreachable!("clap requires DIR or --from-pages with --images"),
    };
    match result {
        Ok(summary) => {
            for d in &summary.diagnostics {
                eprintln!("{d}");
            }
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
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

/// Writes a document on stdout, as text or as JSON by `names::json`.
/// Every document holds its names as strings, so the JSON cannot fail;
/// should a new type break that, the run says so on stderr and returns
/// false (the caller then exits 1) instead of panicking or printing
/// nothing. A closed pipe (`| head`) is not an error worth a panic.
fn print(doc: &(impl serde::Serialize + std::fmt::Display), format: Format) -> bool {
    let text = match format {
        Format::Text => doc.to_string(),
        Format::Json => match names::json(doc, true) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("error: cannot write the document as JSON: {e}");
                return false;
            }
        },
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    true
}

/// `code` when the document was printed, else 1.
fn exit(printed: bool, code: u8) -> ExitCode {
    ExitCode::from(if printed { code } else { 1 })
}
