//! One build's use of the remote cache: the store, whether this build may
//! write to it, its figures, and the one switch that stops using it.
//!
//! A store that fails [`TRIP`] requests (down, slow past its timeouts,
//! refusing the credentials: each request already retried once) is not
//! asked anything more in this build: one warning says why, and every
//! output it would have supplied is made here. (Fewer failures, a
//! connection dropped now and then, cost only their outputs, and one
//! warning at the end.) A wrong object costs only that output: it is
//! rejected with a warning naming it, and made here.

use super::requests::Fault;
use super::store::Store;
use crate::config::{Config, Location, RemoteMode};
use crate::outputs::diagnostics::Diagnostic;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Failed requests that stop a build's use of the store.
pub const TRIP: usize = 3;

/// What a build did with the remote cache, for the summary (JSON, NDJSON
/// and the text line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RemoteFigures {
    /// The store's URL (it never holds credentials).
    pub store: String,
    /// `read-write` or `read-only`.
    pub mode: String,
    /// Outputs fetched and used in place of making them (in a dry run,
    /// `--check` or `--explain`: found there, nothing fetched).
    pub hits: usize,
    /// Outputs looked for and not there (or not looked for, once the
    /// store failed), so made here.
    pub misses: usize,
    /// Objects refused: not what their record or name says, or too big.
    pub rejected: usize,
    /// Requests that failed (the store down, slow or refusing).
    pub errors: usize,
    /// Objects stored by this build, and their bytes.
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    /// Bytes fetched (records, outputs and source facts).
    pub downloaded_bytes: u64,
}

/// The remote cache while one build runs.
pub struct Remote {
    pub(super) store: Store,
    /// Whether this build stores what it makes.
    pub writes: bool,
    pub(super) figures: Mutex<RemoteFigures>,
    /// The first failure, and whether the store stopped being used.
    down: Mutex<(Option<Fault>, bool)>,
    /// The build's stop request: once set, nothing more is asked.
    cancel: Option<Arc<AtomicBool>>,
    warnings: Mutex<Vec<Diagnostic>>,
}

impl Remote {
    /// The remote cache `config` names, if any and not `off`. A store that
    /// cannot be set up is a warning (in `warnings`), and no store.
    pub fn open(config: &Config, warnings: &mut Vec<Diagnostic>) -> Option<Remote> {
        let options = &config.remote_cache;
        let url = options.url.as_deref()?;
        if options.mode == RemoteMode::Off {
            return None;
        }
        // The URL was checked when the configuration was read.
        let location = Location::parse(url).ok()?;
        let name = location.to_string();
        match Store::open(&location) {
            Ok(store) => {
                let writes = options.mode == RemoteMode::ReadWrite && location.writable();
                let mode = if writes {
                    RemoteMode::ReadWrite
                } else {
                    RemoteMode::ReadOnly
                };
                Some(Remote {
                    store,
                    figures: Mutex::new(RemoteFigures {
                        store: name,
                        mode: mode.name().into(),
                        ..RemoteFigures::default()
                    }),
                    writes,
                    down: Mutex::new((None, false)),
                    cancel: None,
                    warnings: Mutex::new(Vec::new()),
                })
            }
            Err(e) => {
                warnings.push(Diagnostic::warning(
                    PathBuf::from(&name),
                    None,
                    format!("remote cache not used: {e}; every output is made here"),
                ));
                None
            }
        }
    }

    /// The same store, asking nothing more once `cancel` is set (a
    /// stopped build does not wait for lookups and downloads it no
    /// longer needs).
    pub fn stopping_on(mut self, cancel: Option<Arc<AtomicBool>>) -> Remote {
        self.cancel = cancel;
        self
    }

    /// Whether the store is still asked: it has not failed [`TRIP`]
    /// times, and the build was not stopped.
    pub fn up(&self) -> bool {
        !lock(&self.down).1
            && !self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Counts a failed request; the [`TRIP`]th stops the store's use, with
    /// a warning saying what failed and why.
    pub(super) fn failed(&self, doing: &str, fault: &Fault) {
        let errors = {
            let mut figures = lock(&self.figures);
            figures.errors += 1;
            figures.errors
        };
        let mut down = lock(&self.down);
        let first = down.0.get_or_insert_with(|| fault.clone()).clone();
        if errors >= TRIP && !down.1 {
            down.1 = true;
            let then = if self.writes {
                "outputs it lacks are made here, and nothing more is stored there"
            } else {
                "outputs it lacks are made here"
            };
            self.warn(
                None,
                format!(
                    "remote cache: {doing} failed {errors} times (first: {}); it is not used \
                     for the rest of this build: {then}",
                    first.0
                ),
            );
        }
    }

    /// A warning about the store (`path`: the output it concerns).
    pub(super) fn warn(&self, path: Option<PathBuf>, message: String) {
        let file = path.unwrap_or_else(|| PathBuf::from(&lock(&self.figures).store));
        lock(&self.warnings).push(Diagnostic::warning(file, None, message));
    }

    /// The objects refused so far.
    pub(super) fn rejected(&self) -> usize {
        lock(&self.figures).rejected
    }

    /// Updates the figures.
    pub(super) fn count(&self, change: impl FnOnce(&mut RemoteFigures)) {
        change(&mut lock(&self.figures));
    }

    /// The figures and warnings so far (the warnings are taken; failures
    /// too few to stop the store are one warning here).
    pub fn report(&self) -> (RemoteFigures, Vec<Diagnostic>) {
        let figures = lock(&self.figures).clone();
        {
            let mut down = lock(&self.down);
            if let (Some(first), false) = (down.0.take(), down.1) {
                self.warn(
                    None,
                    format!(
                        "remote cache: {} requests failed (first: {}); their outputs were made \
                         here",
                        figures.errors, first.0
                    ),
                );
            }
        }
        let warnings = std::mem::take(&mut *lock(&self.warnings));
        (figures, warnings)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
