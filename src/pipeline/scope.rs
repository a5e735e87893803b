//! The part of the plan a build covers: all of it, or one shard's units
//! (see [`super::shard`]).

use super::prepare::Prepared;
use super::shard::{self, Shard};
use super::units::{self, Unit};

/// The part of the plan a build covers: all of it, or one shard's units.
pub(super) struct Scope {
    /// Set for a shard build.
    pub stamp: Option<shard::Stamp>,
    /// Sources whose own outputs (and validation) this build covers.
    pub sources: Vec<bool>,
    /// Animations whose outputs this build makes.
    pub animations: Vec<bool>,
    /// Sources this build reads: its own, and every frame of its
    /// animations.
    pub reads: Vec<bool>,
}

impl Scope {
    /// Problems with the pages themselves are reported by the full build,
    /// or by shard 1 only.
    pub(super) fn pages(&self) -> bool {
        self.stamp.as_ref().is_none_or(|s| s.shard.index == 1)
    }

    /// Picks this build's units and records what they cover.
    pub(super) fn select(prepared: &Prepared<'_>, wanted: Option<Shard>) -> (Scope, Vec<Unit>) {
        let plan = &prepared.plan;
        let Some(wanted) = wanted else {
            let scope = Scope {
                stamp: None,
                sources: vec![true; plan.sources.len()],
                animations: vec![true; plan.animations.len()],
                reads: vec![true; plan.sources.len()],
            };
            return (scope, prepared.units.clone());
        };
        let (owner, units) = (&prepared.owner, &prepared.units);
        let shards = shard::split(plan, owner, units, wanted.count);
        let stamp = shard::stamp(prepared.config, plan, owner, units, &shards, wanted);
        let mine: Vec<Unit> = units
            .iter()
            .zip(shards)
            .filter(|&(_, s)| s == wanted.index)
            .map(|(&u, _)| u)
            .collect();
        let mut scope = Scope {
            stamp: Some(stamp),
            sources: vec![false; plan.sources.len()],
            animations: vec![false; plan.animations.len()],
            reads: units::reads(plan, &mine),
        };
        for unit in &mine {
            match *unit {
                Unit::Single(s) => scope.sources[s] = true,
                Unit::Animation(a) => scope.animations[a] = true,
            }
        }
        for (s, o) in owner.iter().enumerate() {
            if o.is_some_and(|a| scope.animations[a]) {
                scope.sources[s] = true;
            }
        }
        (scope, mine)
    }
}
