//! Videos beside every animated GIF: the WebM (AV1, [`av1`] + [`webm`]) and
//! the MP4 (H.264, [`h264`] + [`mp4`]) that the site's `<video>` element
//! plays, from the same frames and delays as the GIF.
//!
//! Frames arrive as RGBA at the GIF's size; [`yuv`] flattens them on the
//! background, crops to even dimensions and converts them to 4:2:0 Y'CbCr
//! with one matrix and range ([`yuv::COLOUR`]), which both bitstreams and
//! both containers are tagged with. Each frame keeps its own duration in
//! milliseconds, the last one included, so a video lasts exactly as long as
//! one loop of its GIF.

pub mod av1;
pub mod h264;
pub mod mp4;
pub mod webm;
pub mod yuv;

use serde::{Deserialize, Serialize};
pub use yuv::Picture;

/// A video container and codec the pipeline writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// AV1 in WebM (rav1e).
    Webm,
    /// H.264 constrained baseline in MP4 (OpenH264).
    Mp4,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Webm => "webm",
            Format::Mp4 => "mp4",
        }
    }
}

/// AV1 encoder settings (rav1e).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Av1Options {
    /// rav1e speed preset, 0 (slowest, smallest) to 10 (fastest).
    pub speed: u8,
    /// rav1e base quantizer, 0 (best) to 255 (smallest).
    pub quantizer: u8,
}

impl Default for Av1Options {
    fn default() -> Self {
        Av1Options {
            speed: 7,
            quantizer: 110,
        }
    }
}

/// H.264 encoder settings (OpenH264).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct H264Options {
    /// Constant quantizer, 0 (best) to 51 (smallest).
    pub qp: u8,
}

impl Default for H264Options {
    fn default() -> Self {
        H264Options { qp: 26 }
    }
}

/// A video encoder fed one frame at a time; [`VideoEncoder::finish`]
/// returns the whole container file.
pub trait VideoEncoder: Send {
    /// Encodes `picture`, shown for `duration_ms` milliseconds (> 0).
    fn push(&mut self, picture: &Picture, duration_ms: u32) -> Result<(), String>;
    /// Flushes the encoder and returns the muxed file.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, String>;
}
