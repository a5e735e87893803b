//! `assetmill build`: from the plan, one parallel pass writes every output
//! a site needs into `out/`, then the asset map; `clean` removes them.
//!
//! Work is split into units ([`units`]): one per animation (its gallery's
//! frames are decoded once and feed the optimized copies, thumbnails, GIF
//! and sprite) and one per remaining source file. Every command starts from
//! a [`prepare::Prepared`] site. Units run in parallel, longest first, as
//! many at once as the memory budget allows ([`memory`] sizes them,
//! [`schedule`] runs them), so memory does not grow with the site. The
//! cache ([`cache`]) makes rebuilds incremental: sources are hashed (read,
//! not decoded) and an output is remade only when its inputs, its options,
//! or the file on disk changed. A file that fails to load yields the same
//! diagnostics as `check` and no outputs; everything else is still built.
//!
//! The files follow a build: [`prepare`] → [`scope`] (a shard's part) →
//! [`keys`] (what each output should be, and whether the cache has it) →
//! [`memory`] (sizes) → [`schedule`] → [`isolate`] → [`work`] (making a unit's outputs;
//! videos raised to their [`quality`] floor, all checked against [`budgets`]) → [`checkpoint`] → [`finish`] ([`assemble`]
//! the asset map, [`clean`] what is stale); [`dry_run`] stops after
//! [`keys`].

mod assemble;
mod budgets;
mod build;
pub mod cache;
mod check;
mod checkpoint;
mod clean;
mod dry_run;
pub mod explain;
mod fault;
mod finish;
mod finished;
mod isolate;
mod keys;
pub mod lock;
mod memory;
pub mod merge;
mod outcome;
mod prepare;
mod quality;
mod remote;
mod schedule;
mod scope;
pub mod shard;
mod stamp;
mod timers;
mod units;
#[cfg(feature = "watch")]
pub mod watch;
mod work;

pub use build::{BuildOptions, build};
pub use check::check;
pub use clean::{Cleaned, clean};
pub use keys::{Reason, Settings};
pub use outcome::{BuildSummary, Change, Outcome};
pub use remote::session::RemoteFigures;
pub use schedule::Order;
pub use shard::Shard;
pub use timers::Stage;
