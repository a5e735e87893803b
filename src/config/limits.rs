//! The `limits:` section: sanity limits checked from image headers before
//! any pixel is decoded, so a hostile or huge file is refused before it
//! costs anything, and the memory the pipeline may plan to use.

use super::values::ByteSize;
use serde::{Deserialize, Serialize};

/// Sanity limits checked from image headers before any pixel is decoded,
/// and the memory the pipeline may plan to use.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most pixels one image (or one animation frame's canvas) may have, in
    /// millions. Default: 40.
    pub max_megapixels: f64,
    /// Longest side in pixels. Default: 16384.
    pub max_side: u32,
    /// Most frames an existing animated image may have. Default: 1000.
    pub max_frames: u32,
    /// Most pixels an existing animation may hold in all, canvas area times
    /// frames (what decoding every frame costs). Default: 1000000000.
    pub max_animation_pixels: u64,
    /// Most pixels one video may encode: its frame area times the frames
    /// one loop shows. Each is converted, encoded, decoded again and
    /// measured (SSIM), so this bounds a video's time: an existing GIF of
    /// 999 tiny frames on a 1000x1000 screen is a 25 KB file but 999
    /// million pixels of video. A video over it is not made (an error
    /// names it); the GIF still is. Default: 100000000 (48 frames of
    /// 1920x1080, 434 of 480x480).
    pub max_video_pixels: u64,
    /// Memory the pipeline plans for at once: every unit's buffers are
    /// sized before they are allocated, units run together only while
    /// their sum fits, and a unit that alone cannot fit is refused with an
    /// error. An integer is bytes; `"512 MiB"`, `"1.5 GB"` are also read.
    /// Default: 1 GiB.
    pub max_memory: ByteSize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_megapixels: 40.0,
            max_side: 16384,
            max_frames: 1000,
            max_animation_pixels: 1_000_000_000,
            max_video_pixels: 100_000_000,
            max_memory: ByteSize(1 << 30),
        }
    }
}
