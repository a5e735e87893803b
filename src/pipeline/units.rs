//! The units of work a plan splits into: one per complete animation (its
//! frames are decoded once and feed every output made from them) and one
//! per remaining source file. A unit is what runs on one thread, what the
//! memory budget sizes and what a shard is made of.

use crate::plan::Plan;

/// One unit of work: an animation, or a source file of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Index into [`Plan::animations`].
    Animation(usize),
    /// Index into [`Plan::sources`].
    Single(usize),
}

impl Unit {
    /// The unit's name in progress events.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Unit::Animation(_) => "animation",
            Unit::Single(_) => "source",
        }
    }
}

/// Each source is owned by the first complete animation that lists it, or
/// by a unit of its own (`None`).
pub(crate) fn owners(plan: &Plan) -> Vec<Option<usize>> {
    let mut owner = vec![None; plan.sources.len()];
    for (a, animation) in plan.animations.iter().enumerate() {
        if animation.incomplete {
            continue;
        }
        for &s in &animation.frames {
            owner[s].get_or_insert(a);
        }
    }
    owner
}

/// Every unit of the plan: the complete animations, then the sources no
/// animation owns.
pub(crate) fn units(plan: &Plan, owner: &[Option<usize>]) -> Vec<Unit> {
    let animations = (0..plan.animations.len())
        .filter(|&a| !plan.animations[a].incomplete)
        .map(Unit::Animation);
    let singles = (0..plan.sources.len())
        .filter(|&s| owner[s].is_none())
        .map(Unit::Single);
    animations.chain(singles).collect()
}

/// The sources `units` read: a lone source's own file, and every frame of
/// an animation (also those another animation owns).
pub(crate) fn reads<'u>(plan: &Plan, units: impl IntoIterator<Item = &'u Unit>) -> Vec<bool> {
    let mut reads = vec![false; plan.sources.len()];
    for unit in units {
        match *unit {
            Unit::Single(s) => reads[s] = true,
            Unit::Animation(a) => {
                for &s in &plan.animations[a].frames {
                    reads[s] = true;
                }
            }
        }
    }
    reads
}
