//! Where progress and the end-of-run document go: bars on a terminal,
//! NDJSON events on stdout, or the document as text or JSON.

use crate::args::{Cli, Format, ProgressMode};
use assetmill::documents::{Build, EventLine, Fatal, Finish};
use assetmill::progress::{Event, Progress};
use assetmill::{Error, names};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

/// Where progress and the end-of-run document go: bars on a terminal's
/// stderr, one per stage under way, and the text (or the JSON document)
/// on stdout; with `--progress ndjson`, one event per line on stdout and
/// the text on stderr.
pub struct Reporter {
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
    pub fn bars(quiet: bool) -> Self {
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
    pub fn new(cli: &Cli, format: Format) -> Result<Self, Error> {
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
    pub fn end(&self, doc: &Build<'_>) -> ExitCode {
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
    pub fn fatal(&self, doc: &Fatal) -> ExitCode {
        if self.json {
            print(doc, Format::Json);
        }
        self.line(&Finish::from(doc).into());
        eprintln!("{doc}");
        ExitCode::from(doc.exit_code())
    }
}

/// Writes a document on stdout, as text or as JSON by `names::json`.
/// Every document holds its names as strings, so the JSON cannot fail;
/// should a new type break that, the run says so on stderr and returns
/// false (the caller then exits 1) instead of panicking or printing
/// nothing. A closed pipe (`| head`) is not an error worth a panic.
pub fn print(doc: &(impl serde::Serialize + std::fmt::Display), format: Format) -> bool {
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
pub fn exit(printed: bool, code: u8) -> ExitCode {
    ExitCode::from(if printed { code } else { 1 })
}
