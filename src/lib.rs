//! assetmill: the image asset pipeline for static sites.
//!
//! Data flows one way: [`manifest`] (pages → entries) → [`plan`] (entries →
//! jobs) → stages ([`decode`], …) → reports. The library never prints;
//! stages report through [`progress::Progress`] and return diagnostics.

pub mod config;
pub mod decode;
pub mod error;
pub mod frontmatter;
pub mod liquid;
pub mod manifest;
pub mod plan;
pub mod progress;
pub mod report;
pub mod synth;
pub mod validate;

pub use config::Config;
pub use error::{Error, Result};
pub use report::{Diagnostic, Report, Severity};
