//! Removing outputs: the ones no page wants any more (at the end of a
//! build), temp files a killed run left, and with `assetmill clean`
//! everything assetmill recorded making.

use super::cache::{self, Cache};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::outputs::diagnostics::Diagnostic;
use crate::outputs::guard::Protected;
use crate::outputs::output::{OutDir, Removal};
use crate::pipeline::lock::Lock;
use crate::progress::Progress;

/// Removes stale outputs (or, with `dry_run`, checks which would be
/// removed) without following links. Returns what was (would be) removed
/// and a warning for each that was left in place.
pub(super) fn remove_stale(
    out: &OutDir,
    paths: &[String],
    dry_run: bool,
) -> (Vec<String>, Vec<Diagnostic>) {
    let mut removed = Vec::new();
    let mut refused = Vec::new();
    for path in paths {
        match out.remove(path, dry_run) {
            Ok(Removal::Removed) => removed.push(path.clone()),
            Ok(Removal::Absent) => {}
            Err(e) => refused.push(Diagnostic::warning(e.path(), None, e.detail())),
        }
    }
    (removed, refused)
}

/// Deletes temp files a killed run left (only assetmill's own names, never
/// through a link).
pub(super) fn remove_temp_files(out: &OutDir) {
    for rel in crate::outputs::output::leftover_temp_files(out.root()) {
        let _ = out.remove(&rel, false);
    }
}

/// Removes every output assetmill recorded making in `out/`, the asset map
/// and the cache, leaving anything else there alone. Returns the paths
/// removed.
pub fn clean(config: &Config, progress: &dyn Progress) -> Result<Cleaned> {
    let out = Protected::site(config).existing(&config.out)?;
    if !config.out.is_dir() {
        return Ok(Cleaned::default());
    }
    let lock = Lock::acquire(&out, &|m| progress.note(m))?;
    let old = Cache::load(&config.out);
    let mut paths: Vec<String> = old.known_paths().into_iter().collect();
    // The review report, wherever it was configured to go.
    let report = crate::outputs::names::forward_slashes(&config.review.path);
    if !report.starts_with(&format!("{}/", cache::DIR)) {
        paths.push(report);
    }
    let (removed, refused) = remove_stale(&out, &paths, false);
    remove_temp_files(&out);
    drop(lock);
    // `remove_dir_all` does not follow links; the lock refused a linked
    // cache folder already.
    let dir = config.out.join(cache::DIR);
    std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let _ = std::fs::remove_dir(&config.out);
    Ok(Cleaned { removed, refused })
}

/// What `clean` did.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Files removed.
    pub removed: Vec<String>,
    /// Files left in place because removing them was not safe, each with
    /// why.
    pub refused: Vec<Diagnostic>,
}
