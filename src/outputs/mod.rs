//! What a build leaves behind: files under `out/` ([`output`]), written
//! only through the checks of [`guard`]; the asset map templates read
//! ([`assetmap`]), the diagnostics people read ([`diagnostics`]) and the HTML
//! page they look at ([`review`]), every name in them written by one rule
//! ([`names`]).

pub mod assetmap;
pub mod diagnostics;
pub mod guard;
pub mod names;
pub mod output;
pub mod review;
