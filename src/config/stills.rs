//! The `stills:` section: responsive variants of still images (WebP, AVIF
//! and the source's own format at several widths, for `srcset`), which
//! images get them, and how their quality is chosen. Off unless `roles`
//! names some images.

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
    /// Glob patterns of image paths (relative to the image root, as front
    /// matter writes them): when any are given, only images `roles`
    /// selects whose path matches one get variants. `*` stays within a
    /// folder, `**` crosses folders (`figures/**`, `muscles/png/Arm-*`).
    /// Default: `[]` (every image `roles` selects).
    pub paths: Vec<String>,
    /// Widths in pixels, never upscaled; the source's own width is always
    /// made too. Default: `[]` (the source's width only).
    pub widths: Vec<u32>,
    /// Which formats to write: `webp`, `avif` (slow without rav1e's
    /// assembly: see `avif.speed`) and `original` (the source's own
    /// format: PNG, optimized losslessly, or JPEG; PNG for other
    /// formats). Default: `[webp]`.
    pub formats: Vec<StillFormat>,
    /// An encoder quality from 1 to 100, or `{ssim: 0.99}`: each variant
    /// is the smallest file whose SSIM against the resized source reaches
    /// the target. PNG variants are lossless and ignore it. Default: 80.
    pub quality: StillQuality,
    /// The AVIF encoder's settings.
    pub avif: AvifOptions,
}

/// How AVIF variants are encoded (rav1e, 4:4:4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AvifOptions {
    /// rav1e speed preset, 0 (slowest, smallest) to 10 (fastest). Default:
    /// 6.
    pub speed: u8,
}

impl Default for AvifOptions {
    fn default() -> Self {
        AvifOptions { speed: 6 }
    }
}

impl Default for StillsOptions {
    fn default() -> Self {
        StillsOptions {
            roles: Vec::new(),
            paths: Vec::new(),
            widths: Vec::new(),
            formats: vec![StillFormat::Webp],
            quality: StillQuality::Fixed(80),
            avif: AvifOptions::default(),
        }
    }
}

impl StillsOptions {
    /// Whether any image gets variants.
    pub fn enabled(&self) -> bool {
        !self.roles.is_empty() && !self.formats.is_empty()
    }

    /// Whether `path` (relative to the image root) passes `paths`; an
    /// invalid pattern (refused when the file is read) matches nothing.
    pub fn path_selected(&self, path: &str) -> bool {
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.paths.is_empty()
            || (self.paths.iter())
                .filter_map(|p| glob::Pattern::new(p).ok())
                .any(|p| p.matches_with(path, options))
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

/// A format `stills.formats` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StillFormat {
    /// Lossy WebP (libwebp), alpha kept losslessly.
    Webp,
    /// Lossy AVIF (rav1e, 4:4:4), alpha kept (encoded at a higher quality).
    Avif,
    /// The source's own format: PNG (lossless) or JPEG; PNG for any
    /// other source format.
    Original,
}

impl StillFormat {
    /// The codec that makes this format's variant of the image at `path`
    /// (its extension decides `original`).
    pub fn codec(self, path: &str) -> Codec {
        match self {
            StillFormat::Webp => Codec::Webp,
            StillFormat::Avif => Codec::Avif,
            StillFormat::Original => match extension_of(path).to_ascii_lowercase().as_str() {
                "jpg" | "jpeg" => Codec::Jpeg,
                _ => Codec::Png,
            },
        }
    }
}

/// The extension of `path`'s file name, without the dot (`""` if none).
fn extension_of(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').map_or("", |(_, ext)| ext)
}

/// What encodes a variant: a [`StillFormat`] resolved for one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    Webp,
    Avif,
    Png,
    Jpeg,
}

impl Codec {
    /// The format's name: the asset map's `format`, a `srcset` key and
    /// the MIME subtype (`image/webp`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Webp => "webp",
            Codec::Avif => "avif",
            Codec::Png => "png",
            Codec::Jpeg => "jpeg",
        }
    }

    /// The variant's file extension for a source at `path`: a JPEG keeps
    /// the source's own spelling (`jpg`, `jpeg`).
    pub fn extension(self, path: &str) -> String {
        match self {
            Codec::Jpeg => extension_of(path).to_owned(),
            Codec::Webp | Codec::Avif | Codec::Png => self.name().to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_narrow_the_roles_with_globs_that_keep_to_folders() {
        let mut stills = StillsOptions::default();
        assert!(stills.path_selected("anything/at all.png"));
        stills.paths = vec!["figures/**".into(), "muscles/png/Arm-*".into()];
        assert!(stills.path_selected("figures/plate.png"));
        assert!(stills.path_selected("figures/deep/er/plate.png"));
        assert!(stills.path_selected("muscles/png/Arm-Biceps Brachii-1.png"));
        // `*` does not cross a folder; matching is case-sensitive.
        assert!(!stills.path_selected("muscles/png/Arm-x/1.png"));
        assert!(!stills.path_selected("Figures/plate.png"));
        assert!(!stills.path_selected("muscles/png/Leg-Soleus-1.png"));
    }

    #[test]
    fn original_is_the_source_s_own_format_and_spelling() {
        let cases = [
            (StillFormat::Original, "a/b.png", Codec::Png, "png"),
            (StillFormat::Original, "a/b.JPG", Codec::Jpeg, "JPG"),
            (StillFormat::Original, "a.b/c.jpeg", Codec::Jpeg, "jpeg"),
            (StillFormat::Original, "a/still.gif", Codec::Png, "png"),
            (StillFormat::Original, "a.jpg/noext", Codec::Png, "png"),
            (StillFormat::Avif, "a/b.jpg", Codec::Avif, "avif"),
            (StillFormat::Webp, "a/b.png", Codec::Webp, "webp"),
        ];
        for (format, path, codec, extension) in cases {
            assert_eq!(format.codec(path), codec, "{path}");
            assert_eq!(codec.extension(path), extension, "{path}");
        }
    }
}
