//! Fault injection for tests, by environment variable (unset, always
//! outside tests, each costs one look-up):
//!
//! - `ASSETMILL_FAULT_PANIC` set to a text: a unit whose first source path
//!   contains that text panics, as a bug in a stage would.
//! - `ASSETMILL_FAULT_PAUSE` set to a path: once the sources are hashed,
//!   the build creates that file and waits until it is removed, so a test
//!   can change a source between the hash and the decode.

use super::units::Unit;
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

/// Waits, when asked to, between hashing and decoding (see the module docs).
pub(super) fn pause_after_hashing() {
    let Some(path) = std::env::var_os("ASSETMILL_FAULT_PAUSE") else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    if std::fs::write(&path, b"hashed\n").is_err() {
        return;
    }
    let started = std::time::Instant::now();
    while path.exists() && started.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
