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
    /// For stills with variants: a ready `srcset` per format (`webp`,
    /// `avif`, and the source's own `png` or `jpeg`, whose full-width
    /// candidate is the optimized copy itself): every distinct width
    /// once, narrowest first, as `path 480w` with
    /// paths relative to the image root and spaces, commas and other
    /// characters a `srcset` cannot hold percent-encoded.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub srcset: BTreeMap<String, String>,
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
    /// A responsive variant of a still (WebP at one width).
    Still,
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
            Role::Still => "still variant",
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
    /// For still variants: the format (`webp`, `avif`, `png`, `jpeg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// For lossy outputs (thumbnails, GIFs, videos, stills): the mean SSIM of the
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

/// The `srcset` of each format among a source's still variants (see
/// [`Asset::srcset`]): each distinct made width once, narrowest first.
/// `own` is the source's format (`png`): when variants in that format
/// have none at the source's width, the optimized copy is that candidate.
pub fn srcset(outputs: &[OutputFile], own: &str) -> BTreeMap<String, String> {
    let mut by_format: BTreeMap<String, Vec<(u32, &str)>> = BTreeMap::new();
    for o in outputs.iter().filter(|o| o.role == Role::Still) {
        if let (Some(format), Some(width)) = (&o.format, o.width) {
            by_format
                .entry(format.clone())
                .or_default()
                .push((width, &o.path));
        }
    }
    let optimized = outputs.iter().find(|o| o.role == Role::Optimized);
    if let (Some(candidates), Some(copy)) = (by_format.get_mut(own), optimized)
        && let Some(width) = copy.width
        && !candidates.iter().any(|&(w, _)| w == width)
    {
        candidates.push((width, &copy.path));
    }
    by_format
        .into_iter()
        .map(|(format, mut candidates)| {
            // Stable: of equal widths, the first planned (the configured
            // width's name before `-full`) is kept.
            candidates.sort_by_key(|&(w, _)| w);
            candidates.dedup_by_key(|&mut (w, _)| w);
            let list: Vec<String> = (candidates.iter())
                .map(|(w, path)| format!("{} {w}w", url_path(path)))
                .collect();
            (format, list.join(", "))
        })
        .collect()
}

/// A relative path as a URL path a `srcset` can hold: unreserved
/// characters and `/` as they are, everything else (spaces and commas,
/// which separate candidates, `%`, non-ASCII) percent-encoded as UTF-8.
pub fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
            srcset: BTreeMap::new(),
        };
        AssetMap {
            version: SCHEMA_VERSION,
            assets: BTreeMap::from([(HOSTILE.to_owned(), asset)]),
        }
    }

    fn still(path: &str, width: u32) -> OutputFile {
        OutputFile {
            role: Role::Still,
            path: path.into(),
            width: Some(width),
            height: Some(width / 2),
            bytes: 1,
            hash: String::new(),
            frames: None,
            duration_ms: None,
            cells: None,
            format: Some("webp".into()),
            ssim: Some(0.99),
        }
    }

    #[test]
    fn a_srcset_lists_each_width_once_with_paths_a_browser_can_split() {
        let outputs = [
            still("m/Arm Biceps,1-240w.webp", 240),
            still("m/Arm Biceps,1-480w.webp", 400),
            still("m/Arm Biceps,1-full.webp", 400),
        ];
        let set = srcset(&outputs, "png");
        assert_eq!(
            set["webp"],
            "m/Arm%20Biceps%2C1-240w.webp 240w, m/Arm%20Biceps%2C1-480w.webp 400w"
        );
        assert_eq!(url_path("a/é%.webp"), "a/%C3%A9%25.webp");
        assert!(srcset(&[], "png").is_empty());
    }

    #[test]
    fn the_optimized_copy_is_the_full_width_candidate_of_the_source_s_own_format() {
        let png = |path: &str, width| OutputFile {
            format: Some("png".into()),
            ..still(path, width)
        };
        let copy = OutputFile {
            role: Role::Optimized,
            format: None,
            ssim: None,
            ..still("m/a.png", 600)
        };
        let outputs = [
            copy.clone(),
            png("m/a-240w.png", 240),
            still("m/a-240w.webp", 240),
            still("m/a-full.webp", 600),
        ];
        let set = srcset(&outputs, "png");
        assert_eq!(set["png"], "m/a-240w.png 240w, m/a.png 600w");
        assert_eq!(set["webp"], "m/a-240w.webp 240w, m/a-full.webp 600w");
        // A variant of the source's width wins; other formats never take
        // the copy.
        let outputs = [copy.clone(), png("m/a-960w.png", 600)];
        assert_eq!(srcset(&outputs, "png")["png"], "m/a-960w.png 600w");
        let set = srcset(&[copy, png("m/a-240w.png", 240)], "jpeg");
        assert_eq!(set["png"], "m/a-240w.png 240w");
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
