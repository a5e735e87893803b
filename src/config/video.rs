//! The `video:` section: which videos to write beside each animated GIF
//! and the settings of their encoders (rav1e for AV1, OpenH264 for
//! H.264), with the ranges those settings take. The video stages read
//! these types from here, so the configuration never imports a stage.

use super::values::Rgb;

/// The default `video.av1.quality`: see [`Av1Options::quality`].
pub const QUALITY_AV1: u8 = 70;
/// The default `video.h264.quality`: see [`H264Options::quality`].
pub const QUALITY_H264: u8 = 70;
use serde::{Deserialize, Serialize};

/// The videos written beside every animated GIF page image, which the
/// site's `<video>` element plays.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideoOptions {
    /// Which videos to write: `webm` (AV1) and `mp4` (H.264). An empty list
    /// turns video off. Default: `[webm, mp4]`.
    pub formats: Vec<Format>,
    /// The colour transparent pixels are flattened on, `#rrggbb`.
    /// Default: `#ffffff`.
    pub background: Rgb,
    pub av1: Av1Options,
    pub h264: H264Options,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            formats: vec![Format::Webm, Format::Mp4],
            background: Rgb([255, 255, 255]),
            av1: Default::default(),
            h264: Default::default(),
        }
    }
}

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
    /// 0–100: the least mean SSIM a WebM may have, 0.9 + quality/1000
    /// (the scale of `gif.quality`). A clip below it at `quantizer` is
    /// encoded again at lower quantizers until it reaches it (see
    /// [`VideoOptions`]); 0 turns the floor off. Default: 70 (0.97).
    pub quality: u8,
}

impl Default for Av1Options {
    fn default() -> Self {
        Av1Options {
            speed: 7,
            quantizer: 120,
            quality: QUALITY_AV1,
        }
    }
}

/// H.264 encoder settings (OpenH264).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct H264Options {
    /// Constant quantizer, [`Self::MIN_QP`] (best; OpenH264's floor) to
    /// [`Self::MAX_QP`] (smallest). Default: 26.
    pub qp: u8,
    /// 0–100: the least mean SSIM an MP4 may have, 0.9 + quality/1000,
    /// reached by lowering `qp` as `video.av1.quality` lowers the
    /// quantizer; 0 turns the floor off. Default: 70 (0.97).
    pub quality: u8,
}

impl Default for H264Options {
    fn default() -> Self {
        H264Options {
            qp: 26,
            quality: QUALITY_H264,
        }
    }
}

impl H264Options {
    /// The lowest QP: OpenH264's rate control (`GOM_MIN_QP_MODE`) raises
    /// any lower one to it.
    pub const MIN_QP: u8 = 12;
    /// The highest QP H.264 has.
    pub const MAX_QP: u8 = 51;
    /// Whether `qp` is from [`Self::MIN_QP`] to [`Self::MAX_QP`].
    pub fn qp_allowed(&self) -> bool {
        (Self::MIN_QP..=Self::MAX_QP).contains(&self.qp)
    }

    /// The one message refusing a QP outside the range, from the
    /// configuration or from the encoder.
    pub fn qp_refused() -> String {
        format!(
            "video.h264.qp must be from {} (best) to {} (smallest)",
            Self::MIN_QP,
            Self::MAX_QP
        )
    }
}
