//! Rejects values no run could use, naming the key, so a bad value fails
//! when the file is read instead of half-way through a build.

use super::Config;
use super::stills::StillQuality;
use super::video::H264Options;
use crate::error::{Error, Result};
use std::path::Path;

impl Config {
    /// Rejects values no run could use, naming the key.
    pub(super) fn validate(&self, file: &Path) -> Result<()> {
        let bad = |message: String| {
            Err(Error::Config {
                path: file.to_owned(),
                message,
            })
        };
        if let Some(url) = &self.remote_cache.url
            && let Err(e) = super::Location::parse(url)
        {
            return bad(format!("remote_cache.url: {e}"));
        }
        if self.thumbs.width == 0 {
            return bad("thumbs.width must be at least 1".into());
        }
        if self.thumbs.suffix.is_empty() || self.thumbs.suffix.contains('/') {
            return bad("thumbs.suffix must be non-empty and contain no `/`".into());
        }
        if self.sprite.suffix.is_empty() || self.sprite.suffix.contains('/') {
            return bad("sprite.suffix must be non-empty and contain no `/`".into());
        }
        if self.gif.width == 0 || self.gif.width > 65535 {
            return bad("gif.width must be from 1 to 65535".into());
        }
        if !(0.0..=1.0).contains(&self.gif.dither) {
            return bad("gif.dither must be from 0 to 1".into());
        }
        if !(1..=100).contains(&self.gif.quality) {
            return bad("gif.quality must be from 1 to 100".into());
        }
        let video = &self.video;
        if video.av1.speed > 10 {
            return bad("video.av1.speed must be from 0 (slowest) to 10 (fastest)".into());
        }
        if video.av1.quality > 100 {
            return bad("video.av1.quality must be from 0 (no floor) to 100".into());
        }
        if video.h264.quality > 100 {
            return bad("video.h264.quality must be from 0 (no floor) to 100".into());
        }
        if !video.h264.qp_allowed() {
            return bad(H264Options::qp_refused());
        }
        if video
            .formats
            .iter()
            .enumerate()
            .any(|(i, f)| video.formats[..i].contains(f))
        {
            return bad("video.formats lists a format twice".into());
        }
        let stills = &self.stills;
        if stills.widths.iter().any(|&w| w == 0 || w > 65535) {
            return bad("stills.widths must each be from 1 to 65535".into());
        }
        if (stills.formats.iter().enumerate()).any(|(i, f)| stills.formats[..i].contains(f)) {
            return bad("stills.formats lists a format twice".into());
        }
        if stills.avif.speed > 10 {
            return bad("stills.avif.speed must be from 0 (slowest) to 10 (fastest)".into());
        }
        if let Some((p, e)) =
            (stills.paths.iter()).find_map(|p| glob::Pattern::new(p).err().map(|e| (p, e)))
        {
            return bad(format!("stills.paths: `{p}` is not a glob pattern: {e}"));
        }
        match stills.quality {
            StillQuality::Fixed(q) if !(1..=100).contains(&q) => {
                return bad("stills.quality must be from 1 to 100, or {ssim: 0.99}".into());
            }
            StillQuality::Target { ssim } if !(ssim > 0.0 && ssim <= 1.0) => {
                return bad("stills.quality.ssim must be above 0 and at most 1".into());
            }
            _ => {}
        }
        let atlas = &self.sprite.atlas;
        if atlas
            .iter()
            .enumerate()
            .any(|(i, f)| atlas[..i].contains(f))
        {
            return bad("sprite.atlas lists a format twice".into());
        }
        if self.sprite.columns == Some(0) {
            return bad("sprite.columns must be at least 1 (or null for automatic)".into());
        }
        if let Some(copy) = &self.asset_map.data_copy {
            let ext = copy.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "yml" | "yaml") {
                return bad("asset_map.data_copy must name a .yml or .yaml file".into());
            }
        }
        let review = &self.review.path;
        let plain = review.is_relative()
            && review
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain || review.extension().and_then(|e| e.to_str()) != Some("html") {
            return bad(
                "report.path must be a relative path inside the output folder ending in .html"
                    .into(),
            );
        }
        if review == &self.asset_map.path {
            return bad("report.path and asset_map.path name the same file".into());
        }
        if self.optimize.level > 6 {
            return bad("optimize.level must be from 0 to 6".into());
        }
        if self.limits.max_megapixels.is_nan()
            || self.limits.max_megapixels <= 0.0
            || self.limits.max_side == 0
        {
            return bad("limits.max_megapixels and limits.max_side must be positive".into());
        }
        if self.limits.max_frames == 0
            || self.limits.max_animation_pixels == 0
            || self.limits.max_video_pixels == 0
        {
            return bad(
                "limits.max_frames, limits.max_animation_pixels and limits.max_video_pixels \
                 must be positive"
                    .into(),
            );
        }
        if self.limits.max_memory.0 < 16 << 20 {
            return bad("limits.max_memory must be at least 16 MiB".into());
        }
        self.budgets.validate().or_else(bad)
    }
}
