//! What a build leaves behind: files under `out/` ([`output`]), the asset
//! map templates read ([`assetmap`]) and the diagnostics people read
//! ([`report`]).

pub mod assetmap;
pub mod output;
pub mod report;
