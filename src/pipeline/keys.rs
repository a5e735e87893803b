//! What each unit of work should produce, and whether the cache already has
//! it: every planned output gets an input hash (the bytes it derives from)
//! and its settings: a flat map of every setting that shapes it by dotted
//! name (`gif.width`, `assetmill.version`; for a GIF or video fitted to a
//! size budget, `budgets.fit.bytes` too), whose fingerprint is its options
//! hash. The cache keeps each distinct map by that hash, so `--explain`
//! can say which value changed.

use super::units::Unit;
use crate::config::Config;
use crate::outputs::assetmap::Role;
pub use crate::pipeline::cache::Settings;
use crate::pipeline::cache::{Cache, fingerprint};
use crate::plan::timing::Timing;
use crate::plan::{Plan, Variant};
use crate::stages::video;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// Why an output has to be (re)built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
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
///
/// `settings` names every setting that shapes it; `options` is their
/// fingerprint ([`options_hash`]), the key the cache compares. Build a
/// `Planned` with [`Planned::new`], add per-output settings with
/// [`Planned::set`], and call [`Planned::finish`] once they are all in
/// (`unit_outputs` does, for everything it returns).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub path: String,
    pub role: Role,
    pub owner: Owner,
    /// For a still variant: its format and width (from the plan).
    pub variant: Option<Variant>,
    pub inputs: String,
    /// Every setting that shapes the output, by dotted name.
    pub settings: Settings,
    /// The fingerprint of `settings`, set by [`Planned::finish`].
    pub options: String,
    /// `None` when the cached file can be reused as it is.
    pub stale: Option<Reason>,
    /// Set when the remote cache supplied it in this build (then `stale`
    /// is `None`): why it had to be made.
    pub fetched: Option<Reason>,
}

impl Planned {
    /// An output with the settings of its role; `options` is empty until
    /// [`Planned::finish`].
    pub fn new(path: String, role: Role, owner: Owner, inputs: String, config: &Config) -> Self {
        Planned {
            path,
            role,
            owner,
            variant: None,
            inputs,
            settings: settings(config, role),
            options: String::new(),
            stale: None,
            fetched: None,
        }
    }

    /// Adds (or replaces) one setting of this output only, e.g.
    /// `budgets.fit.bytes`. Call before [`Planned::finish`].
    pub fn set(&mut self, name: &str, value: impl Into<Value>) {
        self.settings.insert(name.to_owned(), value.into());
    }

    /// Takes the options fingerprint from the settings as they now are.
    pub fn finish(&mut self) {
        self.options = options_hash(&self.settings);
    }
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Part of the key of every output whose quality is measured (its `ssim`
/// in the asset map): a cache written before outputs were measured holds
/// them without a figure, so they are made (and measured) once more.
/// Change it when the measurement changes.
const MEASURED: &str = "ssim-1";

/// The options fingerprint of a settings map: the one place it is taken,
/// so the key and what `--explain` shows cannot drift apart.
pub fn options_hash(settings: &Settings) -> String {
    fingerprint(settings)
}

/// Adds `value` (a serialized config section) under `prefix`: objects are
/// flattened into dotted names, anything else is one entry.
fn flatten(settings: &mut Settings, prefix: &str, value: Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(settings, &format!("{prefix}.{k}"), v);
            }
        }
        Value::Number(n) if n.is_f64() => {
            settings.insert(prefix.to_owned(), shortest(n.as_f64().unwrap_or_default()));
        }
        other => {
            settings.insert(prefix.to_owned(), other);
        }
    }
}

/// A float as its shortest form: an `f32` option (`gif.dither: 0.1`)
/// serializes widened to `0.10000000149011612`; shown and keyed as `0.1`.
fn shortest(x: f64) -> Value {
    let narrow = x as f32;
    let value = if f64::from(narrow) == x {
        narrow.to_string().parse().unwrap_or(x)
    } else {
        x
    };
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn section<T: serde::Serialize>(settings: &mut Settings, prefix: &str, value: &T) {
    // Config sections are plain data; they always serialize.
    flatten(
        settings,
        prefix,
        serde_json::to_value(value).unwrap_or(Value::Null),
    );
}

/// The settings that shape every output of `role`, by dotted name: the
/// configuration keys as written in `assetmill.yml` (`gif.width`), and the
/// versions and revisions of what makes it (`assetmill.version`,
/// `animate.encoder_revision`, `video.encoders.rav1e`,
/// `measure.revision`).
pub fn settings(config: &Config, role: Role) -> Settings {
    let mut s = Settings::new();
    s.insert(
        "role".into(),
        serde_json::to_value(role).unwrap_or(Value::Null),
    );
    s.insert("assetmill.version".into(), VERSION.into());
    let measured = |s: &mut Settings| {
        s.insert("measure.revision".into(), MEASURED.into());
    };
    match role {
        Role::Optimized => section(&mut s, "optimize", &config.optimize),
        Role::Thumb => {
            measured(&mut s);
            s.insert("thumbs.width".into(), config.thumbs.width.into());
            section(&mut s, "optimize", &config.optimize);
        }
        Role::Gif => {
            measured(&mut s);
            s.insert(
                "animate.encoder_revision".into(),
                crate::stages::animate::ENCODER_REVISION.into(),
            );
            section(&mut s, "gif", &config.gif);
            // How it plays is the `timing.*` of each animation (front
            // matter over these defaults), set in `unit_outputs`.
            s.retain(|k, _| !matches!(k.as_str(), "gif.delay_ms" | "gif.loop" | "gif.pingpong"));
        }
        Role::Sprite => {
            s.insert("thumbs.width".into(), config.thumbs.width.into());
            section(&mut s, "sprite", &config.sprite);
            // Which atlases are written beside the sheet does not shape it.
            s.remove("sprite.atlas");
            section(&mut s, "optimize", &config.optimize);
        }
        Role::SpriteMap | Role::TexturePacker => {
            s.insert(
                "atlas.revision".into(),
                crate::stages::atlas::REVISION.into(),
            );
            s.insert("thumbs.width".into(), config.thumbs.width.into());
            section(&mut s, "sprite", &config.sprite);
            s.remove("sprite.atlas");
        }
        Role::Webm | Role::Mp4 => {
            // Videos are made from the GIF-size frames and the GIF's
            // delays, so those GIF options shape them; quality, dither and
            // palette do not. The encoder versions are part of the key;
            // rav1e's assembly is not: it gives the same bytes (checked).
            measured(&mut s);
            for (name, version) in video::ENCODERS {
                s.insert(format!("video.encoders.{name}"), version.into());
            }
            let v = &config.video;
            match role {
                Role::Webm => section(&mut s, "video.av1", &v.av1),
                _ => section(&mut s, "video.h264", &v.h264),
            }
            section(&mut s, "video.background", &v.background);
            s.insert("gif.width".into(), config.gif.width.into());
        }
        Role::Still => {
            // Which images get variants does not shape one; the codec,
            // width and encoder settings of each are set per output
            // (`variant_settings`).
            measured(&mut s);
        }
        Role::AssetMap => {}
    }
    s
}

/// What shapes one still variant beyond its role's settings: its format
/// and width, the versions of the crates that encode it, and the options
/// that codec reads (`stills.quality` and `stills.avif` for the lossy
/// ones, `optimize` for PNG).
fn variant_settings(config: &Config, variant: Variant) -> Settings {
    use crate::config::Codec;
    let mut s = Settings::new();
    s.insert("still.format".into(), variant.codec.name().into());
    s.insert(
        "still.width".into(),
        variant.width.map_or(Value::from("full"), Value::from),
    );
    s.insert(
        "stills.revision".into(),
        crate::stages::still::REVISION.into(),
    );
    for (name, version) in crate::stages::still::encoders(variant.codec) {
        s.insert(format!("stills.encoders.{name}"), version.into());
    }
    let stills = &config.stills;
    match variant.codec {
        Codec::Png => section(&mut s, "optimize", &config.optimize),
        Codec::Avif => {
            section(&mut s, "stills.quality", &stills.quality);
            section(&mut s, "stills.avif", &stills.avif);
        }
        Codec::Webp | Codec::Jpeg => section(&mut s, "stills.quality", &stills.quality),
    }
    s
}

/// How an animation output plays, as its settings: each gallery frame's
/// delay as the GIF stores it (ms), ping-pong, and (for what records it:
/// the GIF and the atlases, not the videos) the loop.
fn set_timing(p: &mut Planned, timing: &Timing) {
    let delays: Vec<u32> = timing.delays_cs[..timing.frames()]
        .iter()
        .map(|&cs| u32::from(cs) * 10)
        .collect();
    p.set("timing.delays_ms", delays);
    p.set("timing.pingpong", timing.pingpong);
    if !matches!(p.role, Role::Webm | Role::Mp4) {
        p.set(
            "timing.loop",
            serde_json::to_value(timing.repeat).unwrap_or(Value::Null),
        );
    }
}

/// The options fingerprint of each role (before any per-output setting).
pub fn options(config: &Config, role: Role) -> String {
    options_hash(&settings(config, role))
}

/// Plans a unit's outputs: the ones the plan names for its sources and
/// animation (see [`crate::plan::outputs`]), each with its input hash and
/// settings. `hashes` are the sources' content hashes (`None` when
/// unreadable: never fresh); `fit` gives the size budget in bytes an output
/// is fitted to under `budgets.fit`, if any.
pub fn unit_outputs(
    unit: &Unit,
    plan: &Plan,
    config: &Config,
    owner: &[Option<usize>],
    hashes: &[Option<String>],
    fit: &dyn Fn(&Planned) -> Option<u64>,
) -> Vec<Planned> {
    let mut planned = Vec::new();
    let source = |s: usize, planned: &mut Vec<Planned>| {
        let inputs = hashes[s].clone().unwrap_or_default();
        for o in &plan.sources[s].outputs {
            let owner = Owner::Source(s);
            let mut p = Planned::new(o.path.clone(), o.role, owner, inputs.clone(), config);
            if let Some(variant) = o.variant {
                p.variant = Some(variant);
                p.settings.extend(variant_settings(config, variant));
            }
            planned.push(p);
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
                .map(|f| crate::pipeline::cache::frames_hash(&f))
                .unwrap_or_default();
            // The GIF, the videos and the atlases play as the timing says
            // (front matter over config): it is part of their settings.
            let timing = animation.timing(&config.gif);
            for o in &animation.outputs {
                let owner = Owner::Animation(a);
                let mut p = Planned::new(o.path.clone(), o.role, owner, inputs.clone(), config);
                if o.role != Role::Sprite {
                    set_timing(&mut p, &timing);
                }
                planned.push(p);
            }
        }
    }
    // With `budgets.fit`, the budget a GIF or video is fitted to shapes its
    // bytes, so it is part of that output's key (and only that output's:
    // budgets that are only checked change no bytes).
    for p in &mut planned {
        if let Some(bytes) = fit(p) {
            p.set("budgets.fit.bytes", bytes);
        }
    }
    // Per-output settings go in above this line; the key is taken last.
    for p in &mut planned {
        p.finish();
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
    // Only a regular file counts (a FIFO planted there must not block),
    // reached without following a link (`out/` may be restored from a CI
    // cache), of the recorded size (compared before reading) and hash.
    use crate::fsread::{Verdict, compare, open_inside};
    let Ok(mut file) = open_inside(out, &planned.path) else {
        return Some(Reason::OutputMissing);
    };
    match compare(&mut file, record.file.bytes, &record.file.hash, &mut |_| {
        Ok(())
    }) {
        Ok(Verdict::Same) => None,
        Ok(_) => Some(Reason::OutputAltered),
        Err(_) => Some(Reason::OutputMissing),
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
    cached: &[Option<crate::stages::decode::ImageInfo>],
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

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: [Role; 9] = [
        Role::Optimized,
        Role::Thumb,
        Role::Gif,
        Role::Webm,
        Role::Mp4,
        Role::Sprite,
        Role::SpriteMap,
        Role::Still,
        Role::AssetMap,
    ];

    /// The roles whose key changes when `change` is applied to the config.
    fn touched(change: impl Fn(&mut Config)) -> Vec<Role> {
        let before = Config::default();
        let mut after = before.clone();
        change(&mut after);
        ROLES
            .into_iter()
            .filter(|&r| options(&before, r) != options(&after, r))
            .collect()
    }

    #[test]
    fn each_option_keys_exactly_the_outputs_it_shapes() {
        assert_eq!(
            touched(|c| c.gif.width = 400),
            [Role::Gif, Role::Webm, Role::Mp4]
        );
        assert_eq!(touched(|c| c.gif.quality = 50), [Role::Gif]);
        assert_eq!(
            touched(|c| c.thumbs.width = 128),
            [Role::Thumb, Role::Sprite, Role::SpriteMap]
        );
        assert_eq!(touched(|c| c.thumbs.suffix = "-t".into()), []);
        assert_eq!(touched(|c| c.video.av1.quantizer = 90), [Role::Webm]);
        assert_eq!(touched(|c| c.video.h264.qp = 30), [Role::Mp4]);
        // Stills are keyed per variant (see the next test). Which images
        // get variants, and at which widths, shapes none: each variant's
        // width and format are its own settings.
        assert_eq!(
            touched(|c| c.stills.quality = crate::config::StillQuality::Fixed(70)),
            []
        );
        assert_eq!(touched(|c| c.stills.widths = vec![100]), []);
        assert_eq!(touched(|c| c.stills.roles.clear()), []);
        assert_eq!(
            touched(|c| c.optimize.level = 2),
            [Role::Optimized, Role::Thumb, Role::Sprite]
        );
        assert_eq!(
            touched(|c| c.sprite.padding = 2),
            [Role::Sprite, Role::SpriteMap]
        );
        // Budgets are checked, not keyed (fit adds its own per output).
        assert_eq!(touched(|c| c.budgets.fit = true), []);
    }

    #[test]
    fn each_codec_s_variants_are_keyed_by_the_options_it_reads() {
        use crate::config::{Codec, StillQuality};
        let keyed = |codec, change: &dyn Fn(&mut Config)| {
            let before = Config::default();
            let mut after = before.clone();
            change(&mut after);
            let v = Variant {
                codec,
                width: Some(240),
            };
            variant_settings(&before, v) != variant_settings(&after, v)
        };
        let quality = |c: &mut Config| c.stills.quality = StillQuality::Fixed(70);
        let speed = |c: &mut Config| c.stills.avif.speed = 4;
        let level = |c: &mut Config| c.optimize.level = 2;
        for (codec, by_quality, by_speed, by_level) in [
            (Codec::Webp, true, false, false),
            (Codec::Avif, true, true, false),
            (Codec::Jpeg, true, false, false),
            (Codec::Png, false, false, true),
        ] {
            assert_eq!(keyed(codec, &quality), by_quality, "{codec:?}");
            assert_eq!(keyed(codec, &speed), by_speed, "{codec:?}");
            assert_eq!(keyed(codec, &level), by_level, "{codec:?}");
        }
        let config = Config::default();
        let of = |codec, width| variant_settings(&config, Variant { codec, width });
        assert_ne!(of(Codec::Webp, Some(240)), of(Codec::Webp, None));
        assert_ne!(of(Codec::Webp, None), of(Codec::Avif, None));
        assert_eq!(of(Codec::Avif, None)["stills.encoders.rav1e"], "0.8.1");
    }

    #[test]
    fn settings_have_dotted_names_and_plain_values() {
        let mut config = Config::default();
        config.gif.dither = 0.1;
        config.gif.repeat = crate::config::Loop::Times(3);
        let gif = settings(&config, Role::Gif);
        assert_eq!(gif["gif.width"], 480);
        assert_eq!(gif["gif.dither"], 0.1);
        // How it plays is each animation's `timing.*`, not these defaults.
        assert!(!gif.contains_key("gif.loop") && !gif.contains_key("gif.delay_ms"));
        assert_eq!(
            gif["animate.encoder_revision"],
            crate::stages::animate::ENCODER_REVISION
        );
        assert_eq!(gif["role"], "gif");
        let webm = settings(&config, Role::Webm);
        assert_eq!(webm["video.av1.quantizer"], 120);
        assert_eq!(webm["video.background"], "#ffffff");
        assert_eq!(webm["video.encoders.rav1e"], video::ENCODERS[0].1);
        assert!(webm.keys().all(|k| !k.starts_with("gif.quality")));
        // The options hash is the settings' fingerprint, and a per-output
        // setting changes it.
        let mut p = Planned::new(
            "a.gif".into(),
            Role::Gif,
            Owner::Animation(0),
            "x".into(),
            &config,
        );
        p.finish();
        assert_eq!(p.options, options(&config, Role::Gif));
        p.set("budgets.fit.bytes", 1000u64);
        p.finish();
        assert_ne!(p.options, options(&config, Role::Gif));
        assert_eq!(p.options, options_hash(&p.settings));
    }

    #[test]
    fn timing_settings_name_delays_pingpong_and_the_loop_where_it_shapes() {
        use crate::plan::timing::Written;
        let config = Config::default();
        let written = Written {
            delay_ms: Some(85),
            repeat: Some(crate::config::Loop::Times(3)),
            pingpong: Some(true),
            holds: vec![Some(600), None, None],
        };
        let timing = Timing::resolve(&written, 3, &config.gif);
        let planned = |role| {
            let mut p = Planned::new("a".into(), role, Owner::Animation(0), "x".into(), &config);
            set_timing(&mut p, &timing);
            p.settings
        };
        let gif = planned(Role::Gif);
        assert_eq!(gif["timing.delays_ms"], serde_json::json!([600, 90, 90]));
        assert_eq!(gif["timing.pingpong"], true);
        assert_eq!(gif["timing.loop"], 3);
        assert_eq!(planned(Role::TexturePacker)["timing.loop"], 3);
        let webm = planned(Role::Webm);
        assert_eq!(webm["timing.delays_ms"], serde_json::json!([600, 90, 90]));
        assert!(
            !webm.contains_key("timing.loop"),
            "a video has no loop count"
        );
    }
}
