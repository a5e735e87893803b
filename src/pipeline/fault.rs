//! Fault injection for the tests of the panic policy: with the environment
//! variable `ASSETMILL_FAULT_PANIC` set to a text, a unit whose first
//! source path contains that text panics, as a bug in a stage would. Unset
//! (always, outside tests), this costs one environment look-up per unit.

use super::Unit;
use crate::plan::Plan;

pub(super) fn inject(plan: &Plan, unit: &Unit) {
    let Some(pattern) = std::env::var_os("ASSETMILL_FAULT_PANIC") else {
        return;
    };
    let source = match *unit {
        Unit::Single(s) => s,
        Unit::Animation(a) => plan.animations[a].frames[0],
    };
    let path = plan.sources[source].path.to_string_lossy();
    if path.contains(&*pattern.to_string_lossy()) {
        panic!("injected fault in the unit of {path}");
    }
}
