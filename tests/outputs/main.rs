//! assetmill's integration tests, part two: what `build` writes, checked
//! against independent readers (ffprobe and ffmpeg, Chromium, PixiJS, the
//! image decoders) on real files in temporary sites. Part one,
//! `tests/commands`, says why the tests are two binaries and what no test
//! may do. Run one topic with `cargo test --test outputs video::`.

// Each binary uses part of the shared helpers.
#[allow(dead_code, unused_imports)]
#[path = "../common/mod.rs"]
mod common;

mod browser;
mod build;
mod hostile_images;
mod hostile_memory;
mod incremental;
mod jekyll;
mod pixi;
mod quality;
mod review;
mod stills;
mod timing;
mod video;
