//! What each unit of work should produce, and whether the cache already has
//! it: every planned output gets an input hash (the bytes it derives from)
//! and an options hash (every setting that shapes it, and the version;
//! for a GIF or video fitted to a size budget, that budget too).

use super::Unit;
use crate::assetmap::Role;
use crate::cache::{Cache, fingerprint};
use crate::config::{AtlasFormat, Config};
use crate::output;
use crate::plan::{self, Plan};
use crate::stages::video;
use serde::Serialize;
use std::path::Path;

/// Why an output has to be (re)built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    New,
    InputChanged,
    OptionsChanged,
    OutputMissing,
    OutputAltered,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::InputChanged => "input changed",
            Reason::OptionsChanged => "options changed",
            Reason::OutputMissing => "output missing",
            Reason::OutputAltered => "output altered",
        }
    }
}

/// Whose output it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Source(usize),
    Animation(usize),
}

/// One output a unit should produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub path: String,
    pub role: Role,
    pub owner: Owner,
    pub inputs: String,
    pub options: String,
    /// `None` when the cached file can be reused as it is.
    pub stale: Option<Reason>,
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Part of the key of every output whose quality is measured (its `ssim`
/// in the asset map): a cache written before outputs were measured holds
/// them without a figure, so they are made (and measured) once more.
/// Change it when the measurement changes.
const MEASURED: &str = "ssim-1";

/// The option fingerprint of each role.
pub fn options(config: &Config, role: Role) -> String {
    match role {
        Role::Optimized => fingerprint(&("optimized", VERSION, &config.optimize)),
        Role::Thumb => fingerprint(&(
            "thumb",
            VERSION,
            MEASURED,
            config.thumbs.width,
            &config.optimize,
        )),
        Role::Gif => fingerprint(&(
            "gif",
            VERSION,
            MEASURED,
            crate::animate::ENCODER_REVISION,
            &config.gif,
        )),
        Role::Sprite => fingerprint(&(
            "sprite",
            VERSION,
            config.thumbs.width,
            &config.sprite,
            &config.optimize,
        )),
        Role::SpriteMap | Role::TexturePacker => fingerprint(&(
            role,
            VERSION,
            crate::stages::atlas::REVISION,
            config.thumbs.width,
            config.sprite.columns,
            config.sprite.padding,
            &config.sprite.suffix,
        )),
        Role::Webm | Role::Mp4 => {
            // Videos are made from the GIF-size frames and the GIF's
            // delays, so those GIF options shape them; quality, dither and
            // palette do not. The encoder versions are part of the key;
            // rav1e's assembly is not: it gives the same bytes (checked).
            let v = &config.video;
            let codec = match role {
                Role::Webm => fingerprint(&("av1", &v.av1)),
                _ => fingerprint(&("h264", &v.h264)),
            };
            fingerprint(&(
                role,
                VERSION,
                MEASURED,
                video::ENCODERS,
                codec,
                v.background,
                config.gif.width,
                config.gif.delay_ms,
            ))
        }
        Role::AssetMap => fingerprint(&("asset-map", VERSION)),
    }
}

/// The videos beside a GIF at `key`, one per configured format.
fn videos(config: &Config, key: &str) -> impl Iterator<Item = (Role, String)> {
    config.video.formats.iter().map(move |f| {
        let role = match f {
            video::Format::Webm => Role::Webm,
            video::Format::Mp4 => Role::Mp4,
        };
        (role, output::with_suffix(key, "", Some(f.extension())))
    })
}

/// Plans a unit's outputs. `hashes` are the sources' content hashes
/// (`None` when unreadable: never fresh).
pub fn plan_unit(
    unit: &Unit,
    plan: &Plan,
    config: &Config,
    owner: &[Option<usize>],
    hashes: &[Option<String>],
) -> Vec<Planned> {
    let mut planned = Vec::new();
    let source = |s: usize, planned: &mut Vec<Planned>| {
        let inputs = hashes[s].clone().unwrap_or_default();
        let key = &plan.sources[s].key;
        planned.push(Planned {
            path: key.clone(),
            role: Role::Optimized,
            owner: Owner::Source(s),
            inputs: inputs.clone(),
            options: options(config, Role::Optimized),
            stale: None,
        });
        if plan.sources[s].is_frame() {
            planned.push(Planned {
                path: output::with_suffix(key, &config.thumbs.suffix, Some("png")),
                role: Role::Thumb,
                owner: Owner::Source(s),
                inputs: inputs.clone(),
                options: options(config, Role::Thumb),
                stale: None,
            });
        }
        // An existing GIF shown as a page image gets its videos, transcoded
        // from its own frames and delays.
        let source = &plan.sources[s];
        if plan::is_gif(key) && source.users.iter().any(|u| u.role == plan::Role::PageImage) {
            for (role, path) in videos(config, key) {
                planned.push(Planned {
                    path,
                    role,
                    owner: Owner::Source(s),
                    inputs: inputs.clone(),
                    options: options(config, role),
                    stale: None,
                });
            }
        }
    };
    match *unit {
        Unit::Single(s) => source(s, &mut planned),
        Unit::Animation(a) => {
            let animation = &plan.animations[a];
            let mut seen = Vec::new();
            for &s in &animation.frames {
                if owner[s] == Some(a) && !seen.contains(&s) {
                    seen.push(s);
                    source(s, &mut planned);
                }
            }
            let frames: Option<Vec<&str>> = animation
                .frames
                .iter()
                .map(|&s| hashes[s].as_deref())
                .collect();
            let inputs = frames
                .map(|f| crate::assetmap::hash(f.join(",").as_bytes()))
                .unwrap_or_default();
            let sprite = &config.sprite.suffix;
            let videos = videos(config, &animation.key);
            let atlases = config.sprite.atlas.iter().map(|format| match format {
                AtlasFormat::Assetmill => (
                    Role::SpriteMap,
                    output::with_suffix(&animation.key, sprite, Some("json")),
                ),
                AtlasFormat::Texturepacker => (
                    Role::TexturePacker,
                    output::with_suffix(
                        &animation.key,
                        &format!("{sprite}.texturepacker"),
                        Some("json"),
                    ),
                ),
            });
            // The GIF, the videos and the atlases play as the timing says:
            // the timing (front matter over config) is part of their keys.
            let timing = fingerprint(&animation.timing(&config.gif));
            for (role, path) in [
                (Role::Gif, animation.key.clone()),
                (
                    Role::Sprite,
                    output::with_suffix(&animation.key, sprite, Some("png")),
                ),
            ]
            .into_iter()
            .chain(atlases)
            .chain(videos)
            {
                let options = match role {
                    Role::Sprite => options(config, role),
                    _ => fingerprint(&(options(config, role), "timing", &timing)),
                };
                planned.push(Planned {
                    path,
                    role,
                    owner: Owner::Animation(a),
                    inputs: inputs.clone(),
                    options,
                    stale: None,
                });
            }
        }
    }
    // With `budgets.fit`, the budget a GIF or video is fitted to shapes its
    // bytes, so it is part of that output's key (and only that output's:
    // budgets that are only checked change no bytes).
    for p in &mut planned {
        if let Some(limit) = super::sizes::fit_target(config, plan, p) {
            p.options = fingerprint(&(&p.options, "fit", limit.bytes));
        }
    }
    planned
}

/// Compares a planned output with the cache and the file on disk.
pub fn staleness(planned: &Planned, cache: &Cache, out: &Path) -> Option<Reason> {
    let Some(record) = cache.outputs.get(&planned.path) else {
        return Some(Reason::New);
    };
    if planned.inputs.is_empty() || record.inputs != planned.inputs {
        return Some(Reason::InputChanged);
    }
    if record.options != planned.options {
        return Some(Reason::OptionsChanged);
    }
    // Only a regular file counts (a FIFO planted there must not block).
    match crate::fsread::read_regular(&out.join(&planned.path), u64::MAX) {
        Err(_) => Some(Reason::OutputMissing),
        Ok(bytes) if crate::assetmap::hash(&bytes) != record.file.hash => {
            Some(Reason::OutputAltered)
        }
        Ok(_) => None,
    }
}

/// The sources a unit must decode: every frame when its animation's outputs
/// are stale, else the sources it owns that have stale outputs or whose
/// validation is not cached.
pub fn decode_set(
    unit: &Unit,
    plan: &Plan,
    planned: &[Planned],
    owner: &[Option<usize>],
    cached: &[Option<crate::decode::ImageInfo>],
) -> Vec<usize> {
    let (frames, owns): (Vec<usize>, Box<dyn Fn(usize) -> bool>) = match *unit {
        Unit::Single(s) => (vec![s], Box::new(move |t| t == s)),
        Unit::Animation(a) => (
            plan.animations[a].frames.clone(),
            Box::new(move |t| owner[t] == Some(a)),
        ),
    };
    let animation_stale = planned
        .iter()
        .any(|p| matches!(p.owner, Owner::Animation(_)) && p.stale.is_some());
    let source_stale = |s: usize| {
        cached[s].is_none()
            || planned
                .iter()
                .any(|p| p.owner == Owner::Source(s) && p.stale.is_some())
    };
    let mut set: Vec<usize> = frames
        .into_iter()
        .filter(|&s| animation_stale || (owns(s) && source_stale(s)))
        .collect();
    set.sort_unstable();
    set.dedup();
    set
}
