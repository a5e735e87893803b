//! assetmill's integration tests, part one: the commands (check, build
//! and its modes, size budgets, merge, clean, synth, the JSON documents)
//! on well-formed and hostile sites, the model site's own pages, and every
//! input a fuzzer found. Part two, `tests/outputs`, checks what `build`
//! writes.
//!
//! Two test binaries, not one per file: each binary links the whole crate
//! with rav1e and OpenH264, and cargo runs test binaries one after another;
//! two, because cargo compiles them side by side on two cores (one took
//! 32 s while the other core idled). No test here changes what the process
//! shares (environment, working directory, limits, signal handlers):
//! anything that needs that runs in a child process (`ulimit -f`,
//! `unshare`, `kill`). Run one topic with `cargo test --test commands ci::`.

// Each binary uses part of the shared helpers.
#[allow(dead_code, unused_imports)]
#[path = "../common/mod.rs"]
mod common;

mod authoring;
mod budgets;
mod check;
mod ci;
mod explain;
mod hostile_output;
mod hostile_pages;
mod remote;
mod watch;

// The model site's own pages, and every input a fuzzer found.
mod corpus;
mod fuzz_regressions;
