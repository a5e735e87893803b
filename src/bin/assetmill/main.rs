//! The `assetmill` command: parses arguments, installs the progress display
//! and the Ctrl-C/SIGTERM handler, calls the library and prints what it
//! returns (the documents of [`assetmill::documents`], as JSON or as text),
//! with an exit code (0 clean, 1 problems found, 2 bad usage or
//! configuration, 130 stopped by a signal).

mod args;
mod reporter;
mod watching;

use args::{Cli, Command, Format, Scene};
use assetmill::config::RemoteMode;
use reporter::{Reporter, exit, print};

use assetmill::BuildOptions;
use assetmill::Error;
use assetmill::config::{Config, Overrides};
use assetmill::documents::{Build, Check, Explain, Fatal, Mode, text};
use assetmill::synth::{self, SynthOptions};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn main() -> ExitCode {
    let cli = Cli::from_env();
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
    let overrides = match overrides(&cli) {
        Ok(overrides) => overrides,
        Err(e) => return usage_error(&e),
    };
    if let Command::Watch { debounce } = cli.command {
        return watching::run(&cli, &overrides, debounce, stop_on_signals());
    }
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
        } => match assetmill::explain(&config, path) {
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
                ..Default::default()
            };
            match assetmill::build(&config, options, &report) {
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
            match assetmill::merge(&config, shards, options, &report) {
                Ok(merged) => report.end(&Build::merged(&merged)),
                Err(e) => report.fatal(&Fatal::new(&e, Mode::Build)),
            }
        }
        Command::Check { format } => {
            let found = assetmill::check(&config, &bars);
            let doc = Check::new(&found);
            exit(print(&doc, *format), doc.exit_code())
        }
        Command::Clean => match assetmill::clean(&config, &bars) {
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
        Command::Synth { .. } | Command::Watch { .. } => unreachable!("handled above"),
    }
}

/// The command line's values over the file's: the folders, and the remote
/// cache from its flags or else its variables (an empty variable, as CI
/// sets for an unset secret or setting, is no value).
fn overrides(cli: &Cli) -> Result<Overrides, Error> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mode = match (cli.remote_cache_mode, var("ASSETMILL_REMOTE_CACHE_MODE")) {
        (Some(mode), _) => Some(mode),
        (None, Some(text)) => Some(RemoteMode::parse(&text).ok_or_else(|| Error::Config {
            path: "ASSETMILL_REMOTE_CACHE_MODE".into(),
            message: format!("`{text}` is not read-write, read-only or off"),
        })?),
        (None, None) => None,
    };
    Ok(Overrides {
        content: cli.content.clone(),
        images: cli.images.clone(),
        out: cli.out.clone(),
        remote_cache: cli
            .remote_cache
            .clone()
            .or_else(|| var("ASSETMILL_REMOTE_CACHE")),
        remote_cache_mode: mode,
    })
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
            Scene::Fibres => synth::render::SceneKind::Fibres,
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

pub(crate) fn usage_error(e: &Error) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}
