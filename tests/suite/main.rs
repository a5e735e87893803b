//! assetmill's integration tests: the real binary and the library on real
//! files in temporary sites, one module per topic.
//!
//! They are one test binary, not one per file: each binary links the whole
//! crate with rav1e and OpenH264, and cargo runs test binaries one after
//! another, so one binary links once and runs every topic's tests side by
//! side. No test here changes what the process shares (environment,
//! working directory, limits, signal handlers): anything that needs that
//! runs in a child process (`ulimit -f`, `unshare`, `kill`). Run one topic
//! with `cargo test --test suite video::`.

mod common;

// The commands, on well-formed and hostile sites.
mod authoring;
mod check;
mod ci;
mod explain;
mod hostile_output;
mod hostile_pages;

// What `build` writes, checked against independent readers.
mod browser;
mod budgets;
mod build;
mod hostile_images;
mod hostile_memory;
mod incremental;
mod pixi;
mod quality;
mod review;
mod timing;
mod video;

// The model site's own pages, and every input a fuzzer found.
mod corpus;
mod fuzz_regressions;
