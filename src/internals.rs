//! Not part of the API: the building blocks this repository's own tests,
//! benchmarks and fuzz targets reach into (pixel stages used as
//! oracles, the cache and lock, the plan). Hidden from the documentation
//! and free to change in any release; a program embedding assetmill uses
//! the front door at the crate root.

pub use crate::input::manifest;
pub use crate::outputs::{guard, review};
pub use crate::pipeline::{cache, lock};
pub use crate::stages::{animate, decode, optimize, resize, sprite, ssim, still, video};

/// The plan (see `src/plan/`).
pub mod plan {
    pub use crate::plan::*;
}
