//! `assetmill watch`: build, then build again after every saved change to
//! the pages, the images or the configuration, until stopped.
//!
//! Each round is an ordinary incremental [`build`]: the cache knows what a
//! change touches, so a saved frame remakes its copy, thumbnail, GIF,
//! sprite and videos and nothing else. Changes are joined by notify's
//! debouncer (an editor's save-by-rename is one change; sixteen frames
//! saved at once are one batch, so one rebuild of their animation), and
//! changes that arrive during a build are the next round's batch.
//!
//! What assetmill itself writes never starts a round: anything under the
//! output folder, the asset map's `_data` copy, and temporary files (its
//! own and editors' swap and backup files). A configuration that no longer
//! loads is reported and the last good one kept; nothing is built until
//! it loads again. A bad page or image is a diagnostic of the round, as in
//! any build, and stays in every round's report until it is fixed. Setting
//! the stop flag (Ctrl-C) cancels a running build the way `build` is
//! cancelled (finished outputs recorded in the cache) and ends the watch.

use super::{BuildOptions, Outcome, build};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::outputs::output::TEMP_PREFIX;
use crate::progress::Progress;
use notify_debouncer_full::notify::{EventKind, RecursiveMode, Watcher};
use notify_debouncer_full::{DebounceEventResult, Debouncer, FileIdCache, new_debouncer};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How long a path must be quiet before its change counts (an editor's
    /// save, a burst of frames, become one batch).
    pub debounce: Duration,
    /// Set to stop: a running build is cancelled, and `watch` returns.
    pub stop: Arc<AtomicBool>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(200),
            stop: Arc::default(),
        }
    }
}

/// One round of watching, handed to the caller as it ends.
pub struct Round<'a> {
    /// The changed paths that started it (empty for the first build), as
    /// the file system reported them.
    pub changed: &'a [PathBuf],
    /// The build's outcome; or why nothing was built (the configuration
    /// no longer loads, or the output folder cannot be used).
    pub result: std::result::Result<&'a Outcome, &'a Error>,
}

/// Builds with `load()`'s configuration, then again after every batch of
/// changes, calling `round` after each, until `options.stop` is set.
/// `Err` only when watching cannot start (the first configuration does not
/// load, or a folder cannot be watched).
pub fn watch(
    load: &dyn Fn() -> Result<Config>,
    options: &WatchOptions,
    progress: &dyn Progress,
    round: &mut dyn FnMut(&Round<'_>),
) -> Result<()> {
    let mut config = load()?;
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(options.debounce, None, tx)
        .map_err(|e| unwatchable(&config.content, "cannot start watching", e))?;
    let mut roots = Roots::of(&config);
    if let Some(e) = roots.watch(&mut debouncer).into_iter().next() {
        return Err(e);
    }
    let stopped = || options.stop.load(Ordering::Relaxed);
    let run = |config: &Config, changed: &[PathBuf], round: &mut dyn FnMut(&Round<'_>)| {
        // Cheapest units first: a round that touches many makes the quick
        // ones (single images, small animations) before the slow videos.
        let build_options = BuildOptions {
            cancel: Some(options.stop.clone()),
            order: super::schedule::Order::CheapestFirst,
            ..Default::default()
        };
        let result = build(config, build_options, progress);
        round(&Round {
            changed,
            result: result.as_ref(),
        });
    };
    run(&config, &[], round);
    let mut broken = false;
    let mut pending = BTreeSet::new();
    while !stopped() {
        let take = |batch: DebounceEventResult, pending: &mut BTreeSet<PathBuf>| {
            // Watcher errors (a folder removed, an overflowing queue) are
            // not changes; the next save is seen again.
            for event in batch.into_iter().flatten() {
                if matches!(event.kind, EventKind::Access(_)) {
                    continue;
                }
                pending.extend(event.paths.iter().filter(|p| roots.starts(p)).cloned());
            }
        };
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(batch) => take(batch, &mut pending),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if pending.is_empty() || stopped() {
            continue;
        }
        // The debouncer hands over the paths that went quiet at each of
        // its ticks, so a burst can straddle two: wait until half a
        // debounce passes without more.
        while let Ok(batch) = rx.recv_timeout(options.debounce / 2) {
            take(batch, &mut pending);
        }
        let changed: Vec<PathBuf> = std::mem::take(&mut pending).into_iter().collect();
        if broken || changed.iter().any(|p| roots.is_config(p)) {
            match load() {
                Ok(loaded) => {
                    broken = false;
                    let new_roots = Roots::of(&loaded);
                    if new_roots.watched() != roots.watched() {
                        for (path, _) in roots.watched() {
                            let _ = debouncer.unwatch(&path);
                        }
                        for e in new_roots.watch(&mut debouncer) {
                            round(&Round {
                                changed: &changed,
                                result: Err(&e),
                            });
                        }
                    }
                    roots = new_roots;
                    config = loaded;
                }
                Err(e) => {
                    broken = true;
                    round(&Round {
                        changed: &changed,
                        result: Err(&e),
                    });
                    continue;
                }
            }
        }
        run(&config, &changed, round);
    }
    debouncer.stop();
    Ok(())
}

/// What is watched, and which changes start a round.
#[derive(Debug)]
struct Roots {
    content: PathBuf,
    images: PathBuf,
    /// The configuration file, when one was read or would be.
    config: Option<PathBuf>,
    /// Written by assetmill: never a reason to build.
    out: PathBuf,
    data_copy: Option<PathBuf>,
}

impl Roots {
    fn of(config: &Config) -> Roots {
        Roots {
            content: full(&config.content),
            images: full(&config.images),
            config: config.file.as_deref().map(full),
            out: full(&config.out),
            data_copy: config.asset_map.data_copy.as_deref().map(full),
        }
    }

    /// The folders to watch: the content and image folders (recursively),
    /// the configuration's folder (only its file counts).
    fn watched(&self) -> Vec<(PathBuf, RecursiveMode)> {
        let mut folders = vec![
            (self.content.clone(), RecursiveMode::Recursive),
            (self.images.clone(), RecursiveMode::Recursive),
        ];
        if let Some(parent) = self.config.as_deref().and_then(Path::parent)
            && !folders.iter().any(|(f, _)| parent.starts_with(f))
        {
            folders.push((parent.to_owned(), RecursiveMode::NonRecursive));
        }
        folders.dedup_by(|a, b| a.0.starts_with(&b.0));
        folders
    }

    /// Starts watching every folder of [`Roots::watched`]; the error of
    /// each that cannot be watched.
    fn watch<W: Watcher, C: FileIdCache>(&self, debouncer: &mut Debouncer<W, C>) -> Vec<Error> {
        (self.watched().into_iter())
            .filter_map(|(path, mode)| {
                (debouncer.watch(&path, mode).err())
                    .map(|e| unwatchable(&path, "cannot watch it", e))
            })
            .collect()
    }

    fn is_config(&self, path: &Path) -> bool {
        self.config.as_deref() == Some(path)
    }

    /// Whether a change to `path` starts a round.
    fn starts(&self, path: &Path) -> bool {
        if self.is_config(path) {
            return true;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let scratch = name.starts_with(TEMP_PREFIX)
            || name.starts_with(".#")
            || name.ends_with('~')
            || name.ends_with(".swp")
            || name.ends_with(".swx")
            || name == "4913";
        !scratch
            && !path.starts_with(&self.out)
            && self.data_copy.as_deref() != Some(path)
            && (path.starts_with(&self.content) || path.starts_with(&self.images))
    }
}

/// Why `path` cannot be watched, as the error every caller reports.
fn unwatchable(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.to_owned(),
        source: std::io::Error::other(format!("{what}: {e}")),
    }
}

/// `path` made absolute and, where it exists, with symlinks resolved, as
/// the watcher reports paths under it.
fn full(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    // A file not made yet (the `_data` copy, `out/`): its folder resolved.
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => parent
            .canonicalize()
            .map_or(absolute.clone(), |p| p.join(name)),
        _ => absolute,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_pages_and_the_config_start_a_round() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for d in ["content/_data", "assets", "out"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("assetmill.yml"), "").unwrap();
        let mut config = Config {
            content: root.join("content"),
            images: root.join("assets"),
            out: root.join("out"),
            file: Some(root.join("assetmill.yml")),
            ..Default::default()
        };
        config.asset_map.data_copy = Some(root.join("content/_data/assets.yml"));
        let roots = Roots::of(&config);
        for (path, starts) in [
            ("content/muscles/biceps.md", true),
            ("assets/muscles/png/Arm-1.png", true),
            ("assetmill.yml", true),
            ("other.yml", false),
            ("content/_data/assets.yml", false),
            ("out/muscles/png/Arm-1.png", false),
            ("assets/muscles/png/.assetmill-x.tmp", false),
            ("content/muscles/.biceps.md.swp", false),
            ("content/muscles/biceps.md~", false),
            ("content/muscles/4913", false),
        ] {
            assert_eq!(roots.starts(&root.join(path)), starts, "{path}");
        }
        let watched: Vec<PathBuf> = roots.watched().into_iter().map(|(p, _)| p).collect();
        assert_eq!(watched, [root.join("content"), root.join("assets"), root]);
    }
}
