//! One options struct per feature, each with its documented defaults:
//! what the thumbnails, GIFs, sprite sheets, PNG optimization, asset map
//! and HTML review look like. Each is a section of `assetmill.yml`
//! (`thumbs:`, `gif:`, …) and denies keys it does not know.

use super::delay::deserialize_delay;
use super::values::Loop;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Gallery thumbnails.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThumbOptions {
    /// Thumbnail width in pixels; aspect is kept, never upscaled. Default: 256.
    pub width: u32,
    /// Inserted before the extension: `X.png` → `X-thumb.png`. Default: `-thumb`.
    pub suffix: String,
}

impl Default for ThumbOptions {
    fn default() -> Self {
        ThumbOptions {
            width: 256,
            suffix: "-thumb".to_owned(),
        }
    }
}

/// Animated GIFs assembled from gallery frames.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GifOptions {
    /// Output width in pixels, never upscaled. Default: 480.
    pub width: u32,
    /// Delay between frames in milliseconds, from 1 to 655350: the rule
    /// front matter's `image_delay_ms` follows ([`super::delay::delay`]).
    /// GIF stores hundredths of a second, so it is rounded up to the next
    /// 10 ms. Default: 100.
    #[serde(deserialize_with = "deserialize_delay")]
    pub delay_ms: u32,
    /// Default: `forever`.
    #[serde(rename = "loop")]
    pub repeat: Loop,
    /// Play forward then back (without showing the two end frames twice).
    /// Default: false. A page's `image_pingpong` overrides it.
    pub pingpong: bool,
    /// Floyd–Steinberg dithering strength, 0 (off) to 1. Default: 0 (on
    /// smooth renders dithering lowers SSIM and adds bytes).
    pub dither: f32,
    /// 1–100: the smallest palette (32 to 255 colours, nine sizes) whose
    /// mean SSIM over up to 8 frames spread through the animation reaches
    /// 0.9 + quality/1000 is used. Default: 90.
    pub quality: u8,
    /// Source alpha below this becomes GIF transparency. Default: 128.
    pub alpha_threshold: u8,
}

impl Default for GifOptions {
    fn default() -> Self {
        GifOptions {
            width: 480,
            delay_ms: 100,
            repeat: Loop::Forever,
            pingpong: false,
            dither: 0.0,
            quality: 90,
            alpha_threshold: 128,
        }
    }
}

/// Sprite sheets: every frame of an animation at thumbnail size in a grid.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpriteOptions {
    /// Columns of the grid; `null` means ceil(sqrt(frames)). Default: null.
    pub columns: Option<u32>,
    /// Transparent pixels between cells. Default: 0.
    pub padding: u32,
    /// Inserted before the extension of the animation's name. Default: `-sprite`.
    pub suffix: String,
    /// The atlases written beside each sheet: `assetmill` (`X-sprite.json`)
    /// and `texturepacker` (`X-sprite.texturepacker.json`, the "JSON (Hash)"
    /// format Phaser and PixiJS load). Default: `[assetmill]`.
    pub atlas: Vec<AtlasFormat>,
}

/// A sprite atlas format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AtlasFormat {
    /// assetmill's own JSON: cells, frame durations and play order.
    Assetmill,
    /// TexturePacker's "JSON (Hash)".
    Texturepacker,
}

impl Default for SpriteOptions {
    fn default() -> Self {
        SpriteOptions {
            columns: None,
            padding: 0,
            suffix: "-sprite".to_owned(),
            atlas: vec![AtlasFormat::Assetmill],
        }
    }
}

/// Which metadata oxipng may remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strip {
    /// Keep every chunk.
    None,
    /// Remove chunks that do not affect rendering (oxipng's `safe`).
    Safe,
    /// Remove everything but what is needed to decode.
    All,
}

/// Lossless PNG optimization.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizeOptions {
    /// oxipng preset, 0 (fast) to 6 (slow). Default: 1. Preset 2 (the
    /// `oxipng -o 2` default) spends twice the time in a final libdeflate
    /// pass at level 11 for about 0.8 % smaller PNGs; assetmill's smaller
    /// GIFs more than pay for that, so the whole output stays smaller than
    /// the `oxipng -o 2` tool chain's at half its time (benches/compare.sh).
    pub level: u8,
    /// Default: `safe`.
    pub strip: Strip,
}

impl Default for OptimizeOptions {
    fn default() -> Self {
        OptimizeOptions {
            level: 1,
            strip: Strip::Safe,
        }
    }
}

/// The asset map that templates and scripts read.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssetMapOptions {
    /// Path of the JSON map, relative to `out`. Default: `assets.json`.
    pub path: PathBuf,
    /// Also write a YAML copy here, for Jekyll's `site.data` (e.g.
    /// `_data/assets.yml`); relative to the configuration file's folder. The
    /// one file assetmill writes outside `out`, and only when asked. Default: none.
    pub data_copy: Option<PathBuf>,
}

impl Default for AssetMapOptions {
    fn default() -> Self {
        AssetMapOptions {
            path: PathBuf::from("assets.json"),
            data_copy: None,
        }
    }
}

/// The HTML review page `build` writes after every run (the `report:`
/// section of the file).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewOptions {
    /// Write it. Default: true.
    pub enabled: bool,
    /// Where, relative to `out`. The default sits in the dot-folder that
    /// also holds the cache, which static site generators do not publish.
    /// Default: `.assetmill/report.html`.
    pub path: PathBuf,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions {
            enabled: true,
            path: PathBuf::from(".assetmill/report.html"),
        }
    }
}
