//! Options: one plain struct with a documented default for every field,
//! read from an optional `assetmill.yml` and overridden by command-line
//! flags. The pipeline only ever sees a [`Config`].
//!
//! Unknown keys are errors that name the key, so a typo never silently
//! falls back to a default.
//!
//! The folder is split by job, and everything is re-exported here so a
//! caller names `crate::config::X` whatever file `X` lives in:
//!
//! - this file: [`Config`] itself, its defaults and the command-line
//!   [`Overrides`];
//! - [`load`]: finding and parsing the file (relative folders, remarks);
//! - [`validate`]: the ranges no run could use, refused naming the key;
//! - [`options`]: one options struct per feature (thumbnails, GIF, sprite,
//!   PNG optimization, asset map, review);
//! - [`video`]: the video options, with the encoders' own settings and
//!   ranges (the stages read them from here; config imports no stage);
//! - [`stills`]: which still images get responsive variants, and how;
//! - [`limits`]: the sanity and memory limits;
//! - [`budgets`]: the `budgets:` section (size budgets per output role);
//! - [`remote`]: the `remote_cache:` section (a cache shared by machines);
//! - [`values`] and [`delay`]: the value types written in the file and
//!   their parsers (sizes, colours, play counts; the one delay rule front
//!   matter shares).

pub mod budgets;
pub mod delay;
pub mod limits;
pub mod load;
pub mod options;
pub mod remote;
pub mod stills;
pub mod validate;
pub mod values;
pub mod video;

pub use budgets::{BudgetLevel, Budgets, PageBudgets, SizeLimit, budget_key};
pub use limits::Limits;
pub use options::{
    AssetMapOptions, AtlasFormat, GifOptions, OptimizeOptions, ReviewOptions, SpriteOptions, Strip,
    ThumbOptions,
};
pub use remote::{Location, RemoteCacheOptions, RemoteMode};
pub use stills::{AvifOptions, Codec, StillFormat, StillQuality, StillRole, StillsOptions};
pub use values::{ByteSize, Loop, Rgb, ssim_target};
pub use video::{Av1Options, Format, H264Options, VideoOptions};

use crate::outputs::diagnostics::Diagnostic;
use serde::{Deserialize, Serialize};
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
    pub stills: StillsOptions,
    pub optimize: OptimizeOptions,
    pub limits: Limits,
    pub asset_map: AssetMapOptions,
    /// The HTML review page; the key in the file is `report`.
    #[serde(rename = "report")]
    pub review: ReviewOptions,
    pub budgets: Budgets,
    pub remote_cache: RemoteCacheOptions,
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
            stills: StillsOptions::default(),
            optimize: OptimizeOptions::default(),
            limits: Limits::default(),
            asset_map: AssetMapOptions::default(),
            review: ReviewOptions::default(),
            budgets: Budgets::default(),
            remote_cache: RemoteCacheOptions::default(),
            file: None,
            remarks: Vec::new(),
        }
    }
}

/// Command-line values that override the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub content: Option<PathBuf>,
    pub images: Option<PathBuf>,
    pub out: Option<PathBuf>,
    /// `--remote-cache URL` (or `ASSETMILL_REMOTE_CACHE`).
    pub remote_cache: Option<String>,
    /// `--remote-cache-mode` (or `ASSETMILL_REMOTE_CACHE_MODE`).
    pub remote_cache_mode: Option<RemoteMode>,
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
}
