//! `assetmill check`: the prepared site validated, nothing written. Every
//! source is decoded once (see [`crate::validate`]).

use super::prepare::Prepared;
use crate::config::Config;
use crate::outputs::diagnostics::Report;
use crate::progress::Progress;

/// Reads the site, validates everything and returns the report.
pub fn check(config: &Config, progress: &dyn Progress) -> Report {
    let prepared = Prepared::new(config);
    let (_, report) =
        crate::stages::validate::validate(&prepared.manifest, &prepared.plan, config, progress);
    report
}
