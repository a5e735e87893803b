//! The asset map: one JSON document (and optionally a YAML copy for
//! Jekyll's `site.data`) describing every image the pages reference and
//! every file built from it. Keys are paths exactly as written in front
//! matter; every collection is sorted and nothing depends on time, so the
//! same inputs give the same bytes.

use crate::stages::sprite::Rect;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the map's shape; bumped on incompatible changes.
/// 2: videos (`webm`, `mp4`); `frames` is now a frame count and the sprite
/// rectangles moved to `cells`.
pub const SCHEMA_VERSION: u32 = 2;

/// The whole map.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AssetMap {
    pub version: u32,
    pub assets: BTreeMap<String, Asset>,
}

/// What an asset is to the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A page image file.
    Image,
    /// A gallery frame.
    Frame,
    /// A GIF assembled from a gallery.
    Animation,
}

/// One referenced path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asset {
    pub kind: Kind,
    /// The source file (absent for animations, which have no source file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<FileInfo>,
    /// For animations: the frames, as written in the gallery, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<String>,
    pub outputs: Vec<OutputFile>,
    /// Pages that use it, relative to the content folder, sorted.
    pub pages: Vec<String>,
    /// For animations: how the GIF, videos and atlases play (each frame's
    /// duration, the order shown, the loop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playback: Option<crate::plan::timing::Playback>,
}

/// A file's vital statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// BLAKE3 of the file's bytes, hex.
    pub hash: String,
}

/// What an output is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The source, losslessly optimized (PNG) or copied unchanged.
    Optimized,
    Thumb,
    Gif,
    /// AV1 in WebM, beside the GIF.
    Webm,
    /// H.264 in MP4, beside the GIF.
    Mp4,
    Sprite,
    /// The sprite's JSON atlas.
    SpriteMap,
    /// The sprite's atlas in TexturePacker's "JSON (Hash)" format.
    #[serde(rename = "texturepacker")]
    TexturePacker,
    /// The asset map itself (recorded in the build cache only).
    AssetMap,
}

impl Role {
    /// What the output is, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Role::Optimized => "optimized copy",
            Role::Thumb => "thumbnail",
            Role::Gif => "GIF",
            Role::Webm => "WebM video",
            Role::Mp4 => "MP4 video",
            Role::Sprite => "sprite sheet",
            Role::SpriteMap => "sprite atlas",
            Role::TexturePacker => "TexturePacker atlas",
            Role::AssetMap => "asset map",
        }
    }

    /// A sheet's JSON companion (written with the sheet, or not at all).
    pub fn is_atlas(self) -> bool {
        matches!(self, Role::SpriteMap | Role::TexturePacker)
    }
}

/// One file under `out/`. (Not `Eq`: `ssim` is a float.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFile {
    pub role: Role,
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub bytes: u64,
    pub hash: String,
    /// For GIFs and videos: the number of frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    /// For GIFs and videos: how long one loop lasts, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// For sprites: each frame's rectangle, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells: Option<Vec<Rect>>,
    /// For lossy outputs (thumbnails, GIFs, videos): the mean SSIM of the
    /// decoded file's frames against the Lanczos-resized sources, rounded
    /// to 4 decimals (see [`ssim_figure`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssim: Option<f64>,
}

/// An SSIM as the map records it: rounded to 4 decimals, so the JSON is
/// short and the same on every machine for the same measurement.
pub fn ssim_figure(ssim: f64) -> f64 {
    (ssim * 10_000.0).round() / 10_000.0
}

/// BLAKE3 of some bytes as lowercase hex.
pub fn hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// [`hash`] of bytes that arrive in pieces (a file read in chunks).
#[derive(Default)]
pub struct Hasher(blake3::Hasher);

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(&self) -> String {
        self.0.finalize().to_hex().to_string()
    }
}

impl AssetMap {
    /// The map as JSON, by [`names::json`](crate::outputs::names::json): names are
    /// strings here already (pages by [`names::slashed`](crate::outputs::names::slashed)).
    pub fn to_json(&self) -> String {
        // Strings, numbers and string-keyed maps only: nothing to refuse.
        let mut s = crate::outputs::names::json(self, true).expect("the map always serializes");
        s.push('\n');
        s
    }

    pub fn to_yaml(&self) -> Result<String, String> {
        serde_saphyr::to_string(self).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image name as YAML allows it: ESC sequences, a newline, C1, DEL
    /// and a bidi override.
    const HOSTILE: &str = "a\u{1b}[2J\n::error x\u{202e}\u{85}\u{7f}\u{7}.png";

    fn map() -> AssetMap {
        let asset = Asset {
            kind: Kind::Image,
            source: None,
            frames: vec![],
            outputs: vec![],
            pages: vec!["bad-\\xFF.md".into()],
            playback: None,
        };
        AssetMap {
            version: SCHEMA_VERSION,
            assets: BTreeMap::from([(HOSTILE.to_owned(), asset)]),
        }
    }

    #[test]
    fn names_keep_their_value_and_no_control_character_is_written_raw() {
        let json = map().to_json();
        assert!(
            json.chars()
                .all(|c| c == '\n' || !crate::outputs::names::acts(c)),
            "{json:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(back["assets"][HOSTILE].is_object(), "{json}");
        assert_eq!(back["assets"][HOSTILE]["pages"][0], "bad-\\xFF.md");
        // The YAML copy escapes C0, C1 and DEL by YAML's own rules.
        let yaml = map().to_yaml().unwrap();
        assert!(
            yaml.chars().all(|c| c == '\n' || !c.is_control()),
            "{yaml:?}"
        );
    }
}
