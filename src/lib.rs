//! assetmill: the image asset pipeline for static sites.
//!
//! Data flows one way, and the folders follow it:
//!
//! - [`input`]: pages → front matter → [`manifest`] (every image entry);
//! - [`plan`]: entries → jobs (each file once, with every page that uses it);
//! - [`stages`]: [`decode`], [`validate`], [`resize`], [`optimize`],
//!   [`animate`], [`sprite`];
//! - [`pipeline`]: runs the stages in parallel within a memory budget,
//!   reusing what the [`cache`] says is fresh;
//! - [`outputs`]: files under `out/`, the [`assetmap`] and the [`report`].
//!
//! The library never prints; stages report through [`progress::Progress`]
//! and return diagnostics.
//!
//! Signals are the program's: a program embedding the library under a file
//! size limit (`ulimit -f`) should catch or ignore SIGXFSZ, as the
//! `assetmill` command does, so that a write past the limit fails with
//! EFBIG (reported as a write error naming the output) instead of killing
//! the process with its temp file left behind.

pub mod config;
pub mod error;
pub mod fsread;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod outputs;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod stages;
pub mod synth;
#[doc(hidden)]
pub mod testsupport;

pub use config::Config;
pub use error::{Error, Result};
pub use input::{frontmatter, liquid, manifest};
pub use outputs::{assetmap, names, output, report, review};
pub use pipeline::{cache, lock};
pub use report::{Diagnostic, Report, Severity};
pub use stages::{animate, decode, optimize, resize, sprite, ssim, validate};
