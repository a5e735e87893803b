//! The `stills:` section: responsive variants of still images (WebP at
//! several widths, for `srcset`), which images get them, and how their
//! quality is chosen. Off unless `roles` names some images.

use serde::{Deserialize, Serialize};

/// Variants of still images: every width in every format, beside the
/// optimized original, recorded in the asset map with a `srcset` per
/// format.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StillsOptions {
    /// Which images get variants: `gallery` (gallery frames) and `page`
    /// (page images that are not animated GIFs). Default: `[]`, no
    /// variants.
    pub roles: Vec<StillRole>,
    /// Widths in pixels, never upscaled; the source's own width is always
    /// made too. Default: `[]` (the source's width only).
    pub widths: Vec<u32>,
    /// Which formats to write. Default: `[webp]`.
    pub formats: Vec<StillFormat>,
    /// An encoder quality from 1 to 100, or `{ssim: 0.99}`: each variant
    /// is the smallest file whose SSIM against the resized source reaches
    /// the target. Default: 80.
    pub quality: StillQuality,
}

impl Default for StillsOptions {
    fn default() -> Self {
        StillsOptions {
            roles: Vec::new(),
            widths: Vec::new(),
            formats: vec![StillFormat::Webp],
            quality: StillQuality::Fixed(80),
        }
    }
}

impl StillsOptions {
    /// Whether any image gets variants.
    pub fn enabled(&self) -> bool {
        !self.roles.is_empty() && !self.formats.is_empty()
    }

    /// The widths of a source `width` pixels wide: the configured ones it
    /// is wider than, then its own, ascending and without repeats.
    pub fn widths_for(&self, width: u32) -> Vec<u32> {
        let mut widths: Vec<u32> = (self.widths.iter().copied())
            .filter(|&w| w > 0 && w < width)
            .chain([width])
            .collect();
        widths.sort_unstable();
        widths.dedup();
        widths
    }
}

/// Which images get variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StillRole {
    /// Gallery frames.
    Gallery,
    /// Page images that are not animated GIFs.
    Page,
}

/// A variant's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StillFormat {
    /// Lossy WebP (libwebp), alpha kept losslessly.
    Webp,
}

impl StillFormat {
    pub fn extension(self) -> &'static str {
        match self {
            StillFormat::Webp => "webp",
        }
    }

    /// The MIME type a `<source type>` names.
    pub fn mime(self) -> &'static str {
        match self {
            StillFormat::Webp => "image/webp",
        }
    }
}

/// How a variant's encoder quality is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum StillQuality {
    /// The encoder's quality, 1 (smallest) to 100 (best).
    Fixed(u8),
    /// The smallest file whose SSIM reaches this.
    Target {
        /// Mean SSIM against the source resized to the variant's width,
        /// above 0 and at most 1.
        ssim: f64,
    },
}
