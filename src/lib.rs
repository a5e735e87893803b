//! assetmill: the image asset pipeline for static sites.
//!
//! Pages keep their images in YAML front matter; assetmill reads every
//! page, validates every image it names, and writes what the site's
//! templates expect under `out/`: optimized copies, thumbnails, GIFs,
//! WebM/MP4 videos and sprite sheets, with an asset map (JSON) and an HTML
//! review. Builds are incremental (a content-addressed cache) and
//! deterministic.
//!
//! # The front door
//!
//! Each command of the `assetmill` program is one function here, taking a
//! [`Config`] (the `assetmill.yml` options) and a [`Progress`] to report
//! through ([`Quiet`] reports nothing; the library never prints):
//!
//! - [`check`] validates and returns a [`Report`] of [`Diagnostic`]s;
//! - [`build`] makes every output ([`BuildOptions`]: dry run, a shard,
//!   cancellation) and returns an [`Outcome`];
//! - [`explain`] says what one output is made from and why it would be
//!   remade;
//! - [`merge`] joins shard builds' folders; [`clean`] removes outputs.
//!
//! Features: `cli` (the default) builds the `assetmill` program and turns
//! on `watch` ([`watch`]: rebuild on every save) and `remote` (a remote
//! cache on S3-compatible or HTTP storage, `Config::remote_cache`). A
//! program using the library with `default-features = false` compiles
//! none of their crates; without `remote`, a configured remote cache is a
//! warning and the build runs without it.
//!
//! The JSON documents the program prints are in [`documents`], with their
//! schemas; per-file problems are diagnostics in the result, and `Err`
//! ([`Error`]) means the command could not run at all.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let site = tempfile::tempdir()?;
//! let config = assetmill::Config::for_site(site.path());
//! std::fs::create_dir_all(config.images.join("img"))?;
//! std::fs::create_dir_all(&config.content)?;
//! let red = image::RgbaImage::from_pixel(64, 48, image::Rgba([200, 30, 30, 255]));
//! red.save(config.images.join("img/red.png"))?;
//! std::fs::write(
//!     config.content.join("red.md"),
//!     "---\nimages:\n  - image_id: red\n    image_name: img/red.png\n    \
//!      image_title: Red\n    image_alt: A red square\n---\n",
//! )?;
//!
//! let report = assetmill::check(&config, &assetmill::Quiet);
//! assert_eq!(report.summary.errors, 0, "{report:?}");
//!
//! let outcome = assetmill::build(&config, assetmill::BuildOptions::default(), &assetmill::Quiet)?;
//! let asset = &outcome.asset_map.assets["img/red.png"];
//! assert_eq!(asset.outputs[0].width, Some(64));
//! assert!(config.out.join(&asset.outputs[0].path).is_file());
//! # Ok(())
//! # }
//! ```
//!
//! # Inside
//!
//! Data flows one way, and the folders of `src/` follow it: `input/`
//! (pages → front matter → manifest) → `plan/` (each file once, with every
//! page that uses it) → `stages/` (pure pixel and encoding work) →
//! `pipeline/` (units of work in parallel within a memory budget, the
//! cache, shards) → `outputs/` (files under `out/`, the asset map, the
//! diagnostics, the review). Stages report through [`Progress`] and return
//! diagnostics.
//!
//! Signals are the program's: a program embedding the library under a file
//! size limit (`ulimit -f`) should catch or ignore SIGXFSZ, as the
//! `assetmill` command does, so that a write past the limit fails with
//! EFBIG (reported as a write error naming the output) instead of killing
//! the process with its temp file left behind.

pub mod config;
pub mod documents;
mod error;
mod fsread;
#[doc(hidden)]
pub mod fuzzing;
mod input;
#[doc(hidden)]
pub mod internals;
mod nearest;
mod outputs;
mod pipeline;
mod plan;
pub mod progress;
mod stages;
pub mod synth;
#[doc(hidden)]
pub mod testsupport;

// The front door: the commands, their options and what they return.
pub use config::Config;
pub use error::{Error, Result};
pub use outputs::diagnostics::{Diagnostic, Report, Severity};
pub use outputs::{assetmap, names};
pub use pipeline::explain::{Explained, Explanation, Input, PageUse, Why, explain};
pub use pipeline::merge::{Merged, merge};
#[cfg(feature = "watch")]
pub use pipeline::watch::{Round, WatchOptions, watch};
pub use pipeline::{
    BuildOptions, BuildSummary, Change, Cleaned, Order, Outcome, Reason, RemoteFigures, Settings,
    Shard, Stage, build, check, clean,
};
pub use progress::{Progress, Quiet};
pub use stages::video::av1::Av1Simd;
