//! The first half of every command, written once: pages → manifest →
//! plan → units of work → each source's content hash → every planned
//! output with its key. `build` (and its dry run), `--explain`, `merge`
//! and `check` all start from a [`Prepared`] site, so they cannot disagree
//! about what the pages ask for, what a unit is, or how a source is read.
//!
//! Sources are hashed by reading them (not decoding them) inside the image
//! root. The build decodes each source later and checks that the bytes it
//! decodes are the bytes hashed here (`Error::Changed`), so an output is
//! never recorded under the hash of other bytes.

use super::budgets;
use super::keys::{self, Planned};
use super::units::{self, Unit};
use crate::config::Config;
use crate::input::manifest::{self, Manifest};
use crate::outputs::assetmap;
use crate::plan::{self, Plan};
use crate::stages::decode;
use crate::stages::validate::RootGuard;
use rayon::prelude::*;

/// A site read and planned: what every command derives its work from.
pub(crate) struct Prepared<'c> {
    pub config: &'c Config,
    pub manifest: Manifest,
    pub plan: Plan,
    /// The animation that owns each source (see [`units::owners`]).
    pub owner: Vec<Option<usize>>,
    /// Every unit of work, in plan order.
    pub units: Vec<Unit>,
    /// Keeps reads inside the image root.
    pub root: RootGuard,
}

impl<'c> Prepared<'c> {
    /// Reads every page under the content folder and plans the site.
    pub fn new(config: &'c Config) -> Self {
        Self::from_manifest(config, manifest::read_site(&config.content))
    }

    /// Plans the site of pages already read.
    pub fn from_manifest(config: &'c Config, manifest: Manifest) -> Self {
        let plan = plan::plan(&manifest, config);
        let owner = units::owners(&plan);
        let units = units::units(&plan, &owner);
        Prepared {
            config,
            manifest,
            plan,
            owner,
            units,
            root: RootGuard::new(&config.images),
        }
    }

    /// The content hash of each source `reads` marks (read, not decoded,
    /// within the limits); `None` for the others and for a source that
    /// cannot be read or resolves outside the image root.
    pub fn hash(&self, reads: &[bool]) -> Vec<Option<String>> {
        self.plan
            .sources
            .par_iter()
            .zip(reads)
            .map(|(s, &read)| {
                if !read {
                    return None;
                }
                self.root.check(s).ok()?;
                decode::read_source(&s.path, &self.config.limits)
                    .ok()
                    .map(|b| assetmap::hash(&b))
            })
            .collect()
    }

    /// The outputs `unit` makes, keyed by `hashes` (`None`: unread, never
    /// fresh).
    pub fn outputs(&self, unit: &Unit, hashes: &[Option<String>]) -> Vec<Planned> {
        let fit = |p: &Planned| {
            budgets::fit_target(self.config, &self.plan, p).map(|limit| limit.bytes.0)
        };
        keys::unit_outputs(unit, &self.plan, self.config, &self.owner, hashes, &fit)
    }

    /// Every unit's outputs, for their paths and roles only: nothing is
    /// read (paths and roles do not depend on the sources' bytes).
    pub fn layout(&self) -> Vec<Vec<Planned>> {
        let none = vec![None; self.plan.sources.len()];
        self.units.iter().map(|u| self.outputs(u, &none)).collect()
    }

    /// The asset map's path inside the output folder, `/`-separated, as
    /// the cache records it.
    pub fn map_path(&self) -> String {
        crate::outputs::names::slashed(&self.config.asset_map.path)
    }
}
