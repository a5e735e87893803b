//! assetmill: the image asset pipeline for static sites.
//!
//! Data flows one way: [`manifest`] (pages → entries) → [`plan`] (entries →
//! jobs) → stages ([`decode`], …) → reports. The library never prints;
//! stages report through [`progress::Progress`] and return diagnostics.

pub mod animate;
pub mod assetmap;
pub mod build;
pub mod cache;
pub mod config;
pub mod decode;
pub mod error;
pub mod frontmatter;
pub mod fsread;
#[doc(hidden)]
pub mod fuzzing;
pub mod liquid;
pub mod lock;
pub mod manifest;
pub mod optimize;
pub mod output;
pub mod plan;
pub mod progress;
pub mod report;
pub mod resize;
pub mod sprite;
pub mod ssim;
pub mod synth;
pub mod validate;

pub use config::Config;
pub use error::{Error, Result};
pub use report::{Diagnostic, Report, Severity};
