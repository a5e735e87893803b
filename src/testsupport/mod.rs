//! Support for assetmill's own tests, shared by the unit tests under
//! `src/` and the integration tests under `tests/`, so that each rule and
//! each independent reader has one home. Not part of the library's
//! interface (hidden from its docs, like [`crate::fuzzing`]).
//!
//! - The rule for a tool or a resource a test needs and cannot find
//!   ([`tool`], [`unavailable`]): skipped with a note on a developer's
//!   machine, a failure under CI ([`under_ci`]), where `.ci/run` installs
//!   every tool.
//! - [`media`]: `ffprobe` and `ffmpeg`, independent oracles for the videos.
//! - Under `cfg(test)` only, the readers the unit tests check the encoders
//!   with, kept out of the encoder files: [`mp4`] (ISO-BMFF boxes and the
//!   sample table), [`webm`] (Matroska elements and blocks) and [`h264`]
//!   (parameter sets, slice headers, OpenH264's decoder).
//!
//! The library never prints; this module's one exception is the note on
//! stderr when a test is skipped, which the test harness shows.

#[cfg(test)]
pub mod h264;
pub mod media;
#[cfg(test)]
pub mod mp4;
#[cfg(test)]
pub mod webm;

use std::fmt::Display;
use std::path::PathBuf;

/// Whether the tests run under CI: the `CI` variable is set to anything
/// but empty, `0` or `false` (in any case). GitHub Actions, GitLab CI and
/// most other services set `CI=true`.
pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| means_ci(&v.to_string_lossy()))
}

/// The rule of [`under_ci`] for one value of `CI`.
fn means_ci(value: &str) -> bool {
    let value = value.trim();
    !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false"))
}

/// A test cannot run here because `what` is missing (`why` says how that
/// showed). Under CI ([`under_ci`]) this fails the test; elsewhere it
/// notes the skip on stderr and the test returns early.
///
/// # Panics
///
/// Under CI, always.
pub fn unavailable(what: &str, why: impl Display) {
    assert!(
        !under_ci(),
        "{what} is required under CI (.ci/run installs the tools): {why}"
    );
    eprintln!("skipped: {what} is missing ({why})");
}

/// Finds the program `name` on `PATH`. `None` (after [`unavailable`]:
/// a failure under CI) when it is not there.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        unavailable(name, "not on PATH");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `under_ci` reads the process environment, which other tests share,
    /// so the rule itself is checked on the value, not by setting `CI`.
    #[test]
    fn ci_is_any_value_but_empty_zero_or_false() {
        for (value, ci) in [
            ("true", true),
            ("1", true),
            ("yes", true),
            ("", false),
            ("0", false),
            ("false", false),
            ("FALSE", false),
        ] {
            assert_eq!(means_ci(value), ci, "CI={value:?}");
        }
    }
}
