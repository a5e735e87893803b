//! Options: one plain struct with a documented default for every field,
//! read from an optional `assetmill.yml` and overridden by command-line
//! flags. The pipeline only ever sees a [`Config`].
//!
//! Unknown keys are errors that name the key, so a typo never silently
//! falls back to a default.

use crate::assetmap::Role;
use crate::error::{Error, Result};
use crate::report::Diagnostic;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file read when no `--config` is given (if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "assetmill.yml";

/// Everything that shapes a run.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Folder of pages (Markdown/HTML with YAML front matter). Default: `content`.
    pub content: PathBuf,
    /// Image root: paths in front matter are relative to it (Jekyll's
    /// `site.urlimg`). Default: `assets`.
    pub images: PathBuf,
    /// Output folder; nothing is written outside it. Default: `out`.
    pub out: PathBuf,
    pub thumbs: ThumbOptions,
    pub gif: GifOptions,
    pub sprite: SpriteOptions,
    pub video: VideoOptions,
    pub optimize: OptimizeOptions,
    pub limits: Limits,
    pub asset_map: AssetMapOptions,
    pub report: ReportOptions,
    pub budgets: Budgets,
    /// The configuration file it was read from, if any (so that nothing
    /// assetmill writes can replace it). Not a key of the file.
    #[serde(skip)]
    pub file: Option<PathBuf>,
    /// Notes and warnings about the file's values (a delay GIF rounds, or
    /// one browsers do not show as written), reported with the pages' own.
    #[serde(skip)]
    pub remarks: Vec<Diagnostic>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            content: PathBuf::from("content"),
            images: PathBuf::from("assets"),
            out: PathBuf::from("out"),
            thumbs: ThumbOptions::default(),
            gif: GifOptions::default(),
            sprite: SpriteOptions::default(),
            video: VideoOptions::default(),
            optimize: OptimizeOptions::default(),
            limits: Limits::default(),
            asset_map: AssetMapOptions::default(),
            report: ReportOptions::default(),
            budgets: Budgets::default(),
            file: None,
            remarks: Vec::new(),
        }
    }
}

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

/// How many times an animation plays. Written (and serialized) as
/// `forever` or a play count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    /// Loop forever (`loop: forever`). The default.
    Forever,
    /// Play this many times in total (`loop: 3`).
    Times(u16),
}

impl Serialize for Loop {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Loop::Forever => s.serialize_str("forever"),
            Loop::Times(n) => s.serialize_u16(*n),
        }
    }
}

impl std::fmt::Display for Loop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loop::Forever => f.write_str("forever"),
            Loop::Times(n) => write!(f, "{n}"),
        }
    }
}

/// `gif.delay_ms`, judged by the rule front matter's delays follow, from
/// the scalar as written (so `80.0` or `-5` get the rule's message too).
fn deserialize_delay<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    use crate::plan::timing;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Whole(u64),
        Signed(i64),
        Real(f64),
        Switch(bool),
        Nothing(()),
        Other(serde::de::IgnoredAny),
    }
    let key = "gif.delay_ms";
    let text = match Written::deserialize(d)? {
        Written::Text(t) => t,
        Written::Whole(n) => n.to_string(),
        Written::Signed(n) => n.to_string(),
        Written::Real(x) => format!("{x:?}"),
        Written::Switch(b) => b.to_string(),
        Written::Nothing(()) => String::new(),
        Written::Other(_) => {
            return Err(serde::de::Error::custom(timing::delay_refused(
                key,
                "a list or mapping",
            )));
        }
    };
    timing::delay(key, &text)
        .map(|delay| delay.ms)
        .map_err(serde::de::Error::custom)
}

impl<'de> Deserialize<'de> for Loop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u16),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Count(n) if n > 0 => Ok(Loop::Times(n)),
            Raw::Word(w) if w == "forever" || w == "infinite" => Ok(Loop::Forever),
            _ => Err(serde::de::Error::custom(
                "loop must be `forever` or a play count from 1 to 65535",
            )),
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
    /// front matter's `image_delay_ms` follows ([`crate::plan::timing::delay`]).
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

/// A size in bytes, written as an integer or as a number with a unit
/// (`B`, `KB`, `MB`, `GB` are powers of 1000; `KiB`, `MiB`, `GiB` of 1024).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "u64")]
pub struct ByteSize(pub u64);

impl From<ByteSize> for u64 {
    fn from(size: ByteSize) -> u64 {
        size.0
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a size (e.g. 1048576, \"400 KB\", \"1 GiB\")"))?;
        let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" | "k" => 1_000,
            "mb" | "m" => 1_000_000,
            "gb" | "g" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            other => return Err(format!("unknown size unit `{other}` in `{text}`")),
        };
        let bytes = number * scale as f64;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(format!("`{text}` is too large"));
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(ByteSize(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0 as f64;
        if self.0 >= 1 << 30 {
            write!(f, "{:.1} GiB", b / f64::from(1u32 << 30))
        } else if self.0 >= 1 << 20 {
            write!(f, "{:.1} MiB", b / f64::from(1u32 << 20))
        } else if self.0 >= 1 << 10 {
            write!(f, "{:.1} KiB", b / 1024.0)
        } else {
            write!(f, "{} B", self.0)
        }
    }
}

/// A size budget: a [`ByteSize`] that remembers how it was written, so
/// messages quote the figure from the configuration (`400 KB`) and show
/// sizes in its unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeLimit {
    pub bytes: ByteSize,
    /// As written: `400 KB`, or the integer for a plain byte count.
    pub written: String,
}

impl SizeLimit {
    /// The unit the limit was written in, as (bytes per unit, its name as
    /// written); plain bytes for an integer or `B`.
    fn unit(&self) -> (u64, &str) {
        let unit = self
            .written
            .trim()
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
            .trim();
        match format!("1 {unit}").parse::<ByteSize>() {
            Ok(ByteSize(scale)) if scale > 1 => (scale, unit),
            _ => (1, "bytes"),
        }
    }

    /// The limit as written, with `bytes` after a bare integer.
    pub fn describe(&self) -> String {
        match self.unit() {
            (1, _) => format!("{} bytes", self.bytes.0),
            _ => self.written.trim().to_owned(),
        }
    }

    /// `size` in the limit's own unit, exact bytes beside it, so a size
    /// just over the limit never reads as equal to it.
    pub fn show(&self, size: u64) -> String {
        match self.unit() {
            (1, _) => format!("{size} bytes"),
            (scale, unit) => format!("{:.1} {unit} ({size} bytes)", size as f64 / scale as f64),
        }
    }
}

impl<'de> Deserialize<'de> for SizeLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(SizeLimit {
                bytes: ByteSize(n),
                written: n.to_string(),
            }),
            Raw::Text(t) => Ok(SizeLimit {
                bytes: t.parse().map_err(serde::de::Error::custom)?,
                written: t,
            }),
        }
    }
}

impl Serialize for SizeLimit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.unit() {
            (1, _) => s.serialize_u64(self.bytes.0),
            _ => s.serialize_str(self.written.trim()),
        }
    }
}

/// What an output over its size budget is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetLevel {
    /// An error: the build fails (exit 1). The default.
    #[default]
    Error,
    /// A warning: reported, the build still succeeds.
    #[serde(alias = "warning")]
    Warn,
}

/// Size budgets for one page (`budgets.pages`): they replace the global
/// budget of the same role for the outputs this page uses.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageBudgets {
    /// Each as in [`Budgets`]. Default: none (the global budget applies).
    pub gif: Option<SizeLimit>,
    pub webm: Option<SizeLimit>,
    pub mp4: Option<SizeLimit>,
    pub sprite: Option<SizeLimit>,
    pub thumb: Option<SizeLimit>,
    pub optimized: Option<SizeLimit>,
}

/// Size budgets: the most bytes an output of each role may have. An
/// integer is bytes; `"400 KB"`, `"1.5 MB"`, `"1 MiB"` are also read. An
/// output used by several pages is held to the strictest budget among
/// them; a page listed under `pages` has its own budgets in place of the
/// global ones. Budgets never change an output unless `fit` is on, so
/// without it they are no part of any cache key.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budgets {
    /// Animated GIFs. Default: none.
    pub gif: Option<SizeLimit>,
    /// AV1 WebM videos. Default: none.
    pub webm: Option<SizeLimit>,
    /// H.264 MP4 videos. Default: none.
    pub mp4: Option<SizeLimit>,
    /// Sprite sheets. Default: none.
    pub sprite: Option<SizeLimit>,
    /// Gallery thumbnails. Default: none.
    pub thumb: Option<SizeLimit>,
    /// Optimized copies of the sources. Default: none.
    pub optimized: Option<SizeLimit>,
    /// `error` (the build fails) or `warn`. Default: `error`.
    pub level: BudgetLevel,
    /// For GIFs and videos over budget, lower the quality setting
    /// (`gif.quality`, `video.av1.quantizer`, `video.h264.qp`) to the best
    /// that fits, instead of only reporting them. Default: false.
    pub fit: bool,
    /// Budgets of single pages, keyed by the page's path relative to the
    /// content folder (`muscles/biceps.md`). Default: none.
    pub pages: BTreeMap<String, PageBudgets>,
}

/// The output roles a budget can be set for, with their keys, in the
/// order of `limits()` below.
const BUDGET_ROLES: [(Role, &str); 6] = [
    (Role::Gif, "gif"),
    (Role::Webm, "webm"),
    (Role::Mp4, "mp4"),
    (Role::Sprite, "sprite"),
    (Role::Thumb, "thumb"),
    (Role::Optimized, "optimized"),
];

/// The limit set for `role` among `limits` (in [`BUDGET_ROLES`] order).
fn limit_of(limits: [Option<&SizeLimit>; 6], role: Role) -> Option<&SizeLimit> {
    BUDGET_ROLES
        .iter()
        .zip(limits)
        .find(|((r, _), _)| *r == role)
        .and_then(|(_, limit)| limit)
}

/// The key of a role's budget (`gif`), or `None` for roles without one.
pub fn budget_key(role: Role) -> Option<&'static str> {
    BUDGET_ROLES
        .iter()
        .find_map(|(r, key)| (*r == role).then_some(*key))
}

impl PageBudgets {
    fn limits(&self) -> [Option<&SizeLimit>; 6] {
        [
            self.gif.as_ref(),
            self.webm.as_ref(),
            self.mp4.as_ref(),
            self.sprite.as_ref(),
            self.thumb.as_ref(),
            self.optimized.as_ref(),
        ]
    }

    /// The budget of an output role, if this page sets one.
    pub fn get(&self, role: Role) -> Option<&SizeLimit> {
        limit_of(self.limits(), role)
    }
}

impl Budgets {
    fn limits(&self) -> [Option<&SizeLimit>; 6] {
        [
            self.gif.as_ref(),
            self.webm.as_ref(),
            self.mp4.as_ref(),
            self.sprite.as_ref(),
            self.thumb.as_ref(),
            self.optimized.as_ref(),
        ]
    }

    /// The global budget of an output role, if one is set.
    pub fn get(&self, role: Role) -> Option<&SizeLimit> {
        limit_of(self.limits(), role)
    }

    /// Rejects budgets of 0 bytes and page keys that cannot name a page.
    fn validate(&self) -> std::result::Result<(), String> {
        let zero = |prefix: String, limits: [Option<&SizeLimit>; 6]| {
            BUDGET_ROLES
                .iter()
                .zip(limits)
                .find(|(_, limit)| limit.is_some_and(|l| l.bytes.0 == 0))
                .map(|((_, key), _)| format!("{prefix}{key} must be at least 1 byte"))
        };
        if let Some(message) = zero("budgets.".into(), self.limits()) {
            return Err(message);
        }
        for (page, budgets) in &self.pages {
            let plain = !page.is_empty()
                && !page.contains('\\')
                && page.split('/').all(|part| !matches!(part, "" | "." | ".."));
            if !plain {
                return Err(format!(
                    "budgets.pages: `{page}` must be a page's path relative to the content \
                     folder, `/`-separated, like `muscles/biceps.md`"
                ));
            }
            if let Some(message) = zero(format!("budgets.pages.\"{page}\"."), budgets.limits()) {
                return Err(message);
            }
        }
        Ok(())
    }
}

/// The videos written beside every animated GIF page image, which the
/// site's `<video>` element plays.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VideoOptions {
    /// Which videos to write: `webm` (AV1) and `mp4` (H.264). An empty list
    /// turns video off. Default: `[webm, mp4]`.
    pub formats: Vec<crate::stages::video::Format>,
    /// The colour transparent pixels are flattened on, `#rrggbb`.
    /// Default: `#ffffff`.
    pub background: Rgb,
    pub av1: crate::stages::video::Av1Options,
    pub h264: crate::stages::video::H264Options,
}

impl Default for VideoOptions {
    fn default() -> Self {
        use crate::stages::video::Format;
        VideoOptions {
            formats: vec![Format::Webm, Format::Mp4],
            background: Rgb([255, 255, 255]),
            av1: Default::default(),
            h264: Default::default(),
        }
    }
}

/// An opaque colour, written `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub [u8; 3]);

impl std::fmt::Display for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

impl Serialize for Rgb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let hex = text.strip_prefix('#').unwrap_or("");
        let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        match (hex.len(), channel(0), channel(2), channel(4)) {
            (6, Some(r), Some(g), Some(b)) => Ok(Rgb([r, g, b])),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a colour: write it as #rrggbb, e.g. #ffffff"
            ))),
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

/// The HTML review report `build` writes after every run.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportOptions {
    /// Write it. Default: true.
    pub enabled: bool,
    /// Where, relative to `out`. The default sits in the dot-folder that
    /// also holds the cache, which static site generators do not publish.
    /// Default: `.assetmill/report.html`.
    pub path: PathBuf,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            enabled: true,
            path: PathBuf::from(".assetmill/report.html"),
        }
    }
}

/// Command-line values that override the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub content: Option<PathBuf>,
    pub images: Option<PathBuf>,
    pub out: Option<PathBuf>,
}

impl Config {
    /// The defaults for a site laid out as `synth` writes one: `content/`,
    /// `assets/` and `out/` inside `root`.
    pub fn for_site(root: &Path) -> Config {
        Config {
            content: root.join("content"),
            images: root.join("assets"),
            out: root.join("out"),
            ..Config::default()
        }
    }

    /// Parses a configuration file's text. Relative folders in it are taken
    /// relative to `base` (the file's own folder).
    pub fn from_yaml(text: &str, file: &Path, base: &Path) -> Result<Config> {
        let mut options = serde_saphyr::Options::default();
        options.strict_booleans = true;
        options.with_snippet = false;
        let mut config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_saphyr::from_str_with_options(text, options).map_err(|e| {
                let at = e
                    .location()
                    .map(|l| format!("line {}: ", l.line()))
                    .unwrap_or_default();
                Error::Config {
                    path: file.to_owned(),
                    message: format!("{at}{}", e.without_snippet()),
                }
            })?
        };
        let data_copy = config.asset_map.data_copy.as_mut();
        for dir in [&mut config.content, &mut config.images, &mut config.out]
            .into_iter()
            .chain(data_copy)
        {
            if dir.is_relative() && !base.as_os_str().is_empty() {
                *dir = base.join(&*dir);
            }
        }
        config.validate(file)?;
        config.file = Some(file.to_owned());
        config.remarks = config.remarks(file);
        Ok(config)
    }

    /// Loads `explicit` if given (it must exist), else `assetmill.yml` in the
    /// working directory if present, else the defaults; then applies the
    /// command-line overrides.
    pub fn load(explicit: Option<&Path>, overrides: &Overrides) -> Result<Config> {
        let default_file = Path::new(DEFAULT_CONFIG_FILE);
        let file = match explicit {
            Some(path) => Some(path),
            None if default_file.is_file() => Some(default_file),
            None => None,
        };
        let mut config = match file {
            Some(path) => {
                let text = crate::fsread::read_regular(path, 1 << 20)
                    .map_err(|e| e.to_string())
                    .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".into()))
                    .map_err(|e| Error::Config {
                        path: path.to_owned(),
                        message: format!("cannot read configuration: {e}"),
                    })?;
                let base = path.parent().unwrap_or(Path::new(""));
                Config::from_yaml(&text, path, base)?
            }
            None => Config::default(),
        };
        if let Some(dir) = &overrides.content {
            config.content = dir.clone();
        }
        if let Some(dir) = &overrides.images {
            config.images = dir.clone();
        }
        if let Some(dir) = &overrides.out {
            config.out = dir.clone();
        }
        Ok(config)
    }

    /// What the file's accepted values will do that its writer may not
    /// expect, located at the file.
    fn remarks(&self, file: &Path) -> Vec<Diagnostic> {
        let delay = crate::plan::timing::delay("gif.delay_ms", &self.gif.delay_ms.to_string());
        let remark = delay.ok().and_then(|d| d.remark);
        remark
            .map(|(severity, message)| Diagnostic::new(severity, file, None, message))
            .into_iter()
            .collect()
    }

    /// Rejects values no run could use, naming the key.
    fn validate(&self, file: &Path) -> Result<()> {
        let bad = |message: String| {
            Err(Error::Config {
                path: file.to_owned(),
                message,
            })
        };
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
        if !(12..=51).contains(&video.h264.qp) {
            return bad("video.h264.qp must be from 12 (best) to 51 (smallest)".into());
        }
        if video
            .formats
            .iter()
            .enumerate()
            .any(|(i, f)| video.formats[..i].contains(f))
        {
            return bad("video.formats lists a format twice".into());
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
        let report = &self.report.path;
        let plain = report.is_relative()
            && report
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain || report.extension().and_then(|e| e.to_str()) != Some("html") {
            return bad(
                "report.path must be a relative path inside the output folder ending in .html"
                    .into(),
            );
        }
        if report == &self.asset_map.path {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::from_yaml(text, Path::new("assetmill.yml"), Path::new(""))
    }

    #[test]
    fn empty_file_means_defaults() {
        let defaults = Config {
            file: Some(PathBuf::from("assetmill.yml")),
            ..Config::default()
        };
        assert_eq!(parse("").unwrap(), defaults);
        assert_eq!(parse("# nothing\n").unwrap(), defaults);
    }

    #[test]
    fn sections_override_single_keys() {
        let c = parse("images: assets/images\nthumbs:\n  width: 128\ngif:\n  loop: 3\n").unwrap();
        assert_eq!(c.images, PathBuf::from("assets/images"));
        assert_eq!(c.thumbs.width, 128);
        assert_eq!(c.thumbs.suffix, "-thumb");
        assert_eq!(c.gif.repeat, Loop::Times(3));
        assert_eq!(c.gif.width, 480);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("thumbs:\n  widht: 100\n").unwrap_err().to_string();
        assert!(err.contains("widht"), "{err}");
        assert!(err.starts_with("assetmill.yml: line 2"), "{err}");
        let err = parse("imgs: x\n").unwrap_err().to_string();
        assert!(err.contains("imgs"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let err = parse("gif:\n  quality: 0\n").unwrap_err().to_string();
        assert!(err.contains("gif.quality"), "{err}");
        assert!(parse("gif:\n  loop: sometimes\n").is_err());
    }

    #[test]
    fn sizes_read_as_bytes_or_with_units() {
        let c = parse("limits:\n  max_memory: \"512 MiB\"\n").unwrap();
        assert_eq!(c.limits.max_memory, ByteSize(512 << 20));
        let c = parse("limits:\n  max_memory: 100000000\n").unwrap();
        assert_eq!(c.limits.max_memory, ByteSize(100_000_000));
        assert_eq!("1.5 MB".parse(), Ok(ByteSize(1_500_000)));
        assert_eq!("400 KB".parse(), Ok(ByteSize(400_000)));
        assert!("12 parsecs".parse::<ByteSize>().is_err());
        assert!("".parse::<ByteSize>().is_err());
        assert!("1e400 GB".parse::<ByteSize>().is_err());
        let err = parse("limits:\n  max_memory: 1000\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limits.max_memory"), "{err}");
    }

    #[test]
    fn video_work_has_a_positive_bound() {
        assert_eq!(Config::default().limits.max_video_pixels, 100_000_000);
        let c = parse("limits:\n  max_video_pixels: 5000000000\n").unwrap();
        assert_eq!(c.limits.max_video_pixels, 5_000_000_000);
        let err = parse("limits:\n  max_video_pixels: 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limits.max_video_pixels"), "{err}");
    }

    #[test]
    fn a_config_delay_is_judged_by_the_front_matter_rule() {
        let err = parse("gif:\n  delay_ms: 0\n").unwrap_err().to_string();
        assert!(
            err.contains("`gif.delay_ms` must be a whole number of milliseconds from 1 to 655350"),
            "{err}"
        );
        assert!(err.starts_with("assetmill.yml: line 2: "), "{err}");
        let c = parse("gif:\n  delay_ms: 80\n").unwrap();
        assert_eq!((c.gif.delay_ms, c.remarks.len()), (80, 0));
        let c = parse("gif:\n  delay_ms: 5\n").unwrap();
        assert_eq!(c.gif.delay_ms, 5);
        assert_eq!(c.remarks[0].severity, crate::report::Severity::Warning);
        assert_eq!(c.remarks[0].file, Path::new("assetmill.yml"));
    }

    #[test]
    fn video_section() {
        use crate::stages::video::Format;
        let c =
            parse("video:\n  formats: [mp4]\n  background: \"#0a0B0c\"\n  av1:\n    speed: 9\n")
                .unwrap();
        assert_eq!(c.video.formats, vec![Format::Mp4]);
        assert_eq!(c.video.background, Rgb([10, 11, 12]));
        assert_eq!(c.video.av1.speed, 9);
        assert_eq!(c.video.h264, Default::default());
        assert!(
            parse("video:\n  formats: []\n")
                .unwrap()
                .video
                .formats
                .is_empty()
        );
        for (bad, says) in [
            ("video:\n  formats: [webm, webm]\n", "twice"),
            ("video:\n  formats: [avi]\n", "avi"),
            ("video:\n  background: white\n", "#rrggbb"),
            ("video:\n  background: \"#fffff\"\n", "#rrggbb"),
            ("video:\n  av1:\n    speed: 11\n", "video.av1.speed"),
            ("video:\n  h264:\n    qp: 52\n", "video.h264.qp"),
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn budgets_section() {
        let c = parse(
            "budgets:\n  gif: 400 KB\n  webm: 150000\n  mp4: \"1.5 MB\"\n  level: warn\n  \
             fit: true\n  pages:\n    \"muscles/biceps brachii.md\": { gif: 1 MiB }\n",
        )
        .unwrap();
        let b = &c.budgets;
        assert_eq!(b.get(Role::Gif).map(|l| l.bytes), Some(ByteSize(400_000)));
        assert_eq!(b.get(Role::Webm).map(|l| l.bytes), Some(ByteSize(150_000)));
        assert_eq!(b.get(Role::Mp4).map(|l| l.bytes), Some(ByteSize(1_500_000)));
        assert_eq!(b.get(Role::Sprite), None);
        assert_eq!(b.get(Role::SpriteMap), None);
        assert_eq!((b.level, b.fit), (BudgetLevel::Warn, true));
        let page = &b.pages["muscles/biceps brachii.md"];
        assert_eq!(
            page.get(Role::Gif).map(|l| l.bytes),
            Some(ByteSize(1 << 20))
        );
        assert_eq!(page.get(Role::Webm), None);
        assert_eq!(parse("").unwrap().budgets, Budgets::default());
        assert_eq!(Budgets::default().level, BudgetLevel::Error);
        for (bad, says) in [
            (
                "budgets:\n  gif: 0\n",
                "budgets.gif must be at least 1 byte",
            ),
            ("budgets:\n  png: 1 MB\n", "png"),
            ("budgets:\n  gif: 3 parsecs\n", "parsecs"),
            ("budgets:\n  level: fatal\n", "fatal"),
            ("budgets:\n  fit: yes\n", "boolean"),
            (
                "budgets:\n  pages:\n    a.md: { gif: 0 KB }\n",
                "budgets.pages.\"a.md\".gif",
            ),
            ("budgets:\n  pages:\n    a.md: { sprites: 1 }\n", "sprites"),
            (
                "budgets:\n  pages:\n    ../a.md: { gif: 1 }\n",
                "relative to the content",
            ),
            (
                "budgets:\n  pages:\n    /a.md: { gif: 1 }\n",
                "relative to the content",
            ),
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn size_limits_speak_in_their_own_unit() {
        let limit = |text: &str| SizeLimit {
            bytes: text.parse().unwrap(),
            written: text.to_owned(),
        };
        assert_eq!(limit("400 KB").describe(), "400 KB");
        assert_eq!(limit("400 KB").show(400_001), "400.0 KB (400001 bytes)");
        assert_eq!(limit("1.5MiB").show(3 << 20), "3.0 MiB (3145728 bytes)");
        assert_eq!(limit("5000").describe(), "5000 bytes");
        assert_eq!(limit("5000 B").show(6000), "6000 bytes");
        let c = parse("budgets:\n  thumb: 20000\n").unwrap();
        let thumb = c.budgets.thumb.unwrap();
        assert_eq!(
            (thumb.describe(), thumb.show(20001)),
            ("20000 bytes".into(), "20001 bytes".into())
        );
    }

    #[test]
    fn relative_dirs_follow_the_config_file() {
        let c =
            Config::from_yaml("out: build\n", Path::new("site/a.yml"), Path::new("site")).unwrap();
        assert_eq!(c.out, PathBuf::from("site/build"));
        assert_eq!(c.content, PathBuf::from("site/content"));
    }
}
