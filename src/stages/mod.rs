//! The pixel and encoding stages, in the order a frame meets them:
//! [`decode`] and [`validate`] a source, [`resize`] it, [`optimize`] the
//! PNGs, then assemble the frames into a GIF ([`animate`]), videos
//! ([`video`]) and a sprite sheet ([`sprite`]) with its [`atlas`]es.
//! [`ssim`] measures quality.
//! Stages are pure functions of their inputs: no printing, no files outside
//! what they are given.

pub mod animate;
pub mod atlas;
pub mod decode;
pub mod optimize;
pub mod resize;
pub mod sprite;
pub mod ssim;
pub mod still;
pub mod validate;
pub mod video;
