//! Stage: sprite atlases. A sheet's [`Layout`] and its animation's
//! [`Timing`] as the JSON a viewer loads beside the sheet:
//!
//! - assetmill's own (`X-sprite.json`): the grid, one rectangle per cell
//!   in gallery order, and how the animation plays (each cell's duration,
//!   the order shown, the loop);
//! - TexturePacker's "JSON (Hash)" (`X-sprite.texturepacker.json`), which
//!   Phaser and PixiJS load as a spritesheet: `frames` keyed by frame file
//!   name, an `animations` list in play order, and `meta`.
//!
//! Both are pure functions of their inputs and print keys in a fixed
//! order, so the same sheet gives the same bytes.

use crate::plan::timing::{Playback, Timing};
use crate::stages::sprite::{Layout, Rect};
use serde::Serialize;
use std::collections::BTreeMap;

/// Bumped whenever the same sheet and timing give different atlas bytes;
/// part of the atlases' cache keys. 2: timing added.
pub const REVISION: u32 = 2;

/// assetmill's atlas.
#[derive(Serialize)]
struct Assetmill<'a> {
    /// The sheet's file name, beside the atlas.
    image: &'a str,
    #[serde(flatten)]
    layout: &'a Layout,
    playback: Playback,
}

/// assetmill's atlas of a sheet named `image` (a file name beside it).
pub fn assetmill(image: &str, layout: &Layout, timing: &Timing) -> String {
    let atlas = Assetmill {
        image,
        layout,
        playback: timing.playback(),
    };
    pretty(&atlas)
}

/// A TexturePacker frame rectangle.
#[derive(Serialize)]
struct TpRect {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

#[derive(Serialize)]
struct TpSize {
    w: u32,
    h: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TpFrame {
    frame: TpRect,
    rotated: bool,
    trimmed: bool,
    sprite_source_size: TpRect,
    source_size: TpSize,
    /// Milliseconds, as Phaser and Aseprite's JSON Hash carry it.
    duration: u32,
}

#[derive(Serialize)]
struct TpMeta<'a> {
    app: &'static str,
    version: &'static str,
    image: &'a str,
    format: &'static str,
    size: TpSize,
    scale: &'static str,
}

#[derive(Serialize)]
struct TexturePacker<'a> {
    frames: BTreeMap<String, TpFrame>,
    animations: BTreeMap<String, Vec<String>>,
    meta: TpMeta<'a>,
}

/// The TexturePacker "JSON (Hash)" atlas of a sheet named `image`.
///
/// `frames` are the gallery's source paths, one per cell; each frame is
/// keyed by its file name (its whole path when two frames share a file
/// name). A file listed twice is one frame, at its first cell. Cells are
/// never rotated or trimmed, so `spriteSourceSize` is the whole cell.
/// `animations` holds one list, named `animation`, in play order (with
/// ping-pong's way back), which PixiJS's `AnimatedSprite` plays.
pub fn texturepacker(
    image: &str,
    layout: &Layout,
    frames: &[&str],
    animation: &str,
    timing: &Timing,
) -> Result<String, String> {
    if frames.len() != layout.frames.len() {
        return Err(format!(
            "{} frames for a sheet of {} cells",
            frames.len(),
            layout.frames.len()
        ));
    }
    let names = frame_names(frames);
    let mut tp_frames = BTreeMap::new();
    for (i, (name, rect)) in names.iter().zip(&layout.frames).enumerate() {
        if tp_frames.contains_key(name) {
            continue;
        }
        let &Rect { x, y, w, h } = rect;
        tp_frames.insert(
            name.clone(),
            TpFrame {
                frame: TpRect { x, y, w, h },
                rotated: false,
                trimmed: false,
                sprite_source_size: TpRect { x: 0, y: 0, w, h },
                source_size: TpSize { w, h },
                duration: timing.frame_ms(i).unwrap_or(0),
            },
        );
    }
    let order = timing
        .sequence
        .iter()
        .map(|&i| names.get(i).cloned())
        .collect::<Option<Vec<String>>>()
        .ok_or("the timing names a frame the sheet does not have")?;
    let atlas = TexturePacker {
        frames: tp_frames,
        animations: BTreeMap::from([(animation.to_owned(), order)]),
        meta: TpMeta {
            app: "assetmill",
            version: "1.0",
            image,
            format: "RGBA8888",
            size: TpSize {
                w: layout.width,
                h: layout.height,
            },
            scale: "1",
        },
    };
    Ok(pretty(&atlas))
}

/// Each frame's key: its file name, or its whole path when another frame
/// (a different file) has the same file name.
fn frame_names(frames: &[&str]) -> Vec<String> {
    let base = |f: &str| f.rsplit('/').next().unwrap_or(f).to_owned();
    let clash = frames
        .iter()
        .enumerate()
        .any(|(i, a)| frames[..i].iter().any(|b| b != a && base(a) == base(b)));
    frames
        .iter()
        .map(|f| if clash { (*f).to_owned() } else { base(f) })
        .collect()
}

fn pretty<T: Serialize>(value: &T) -> String {
    let mut json = serde_json::to_string_pretty(value).expect("atlases serialize");
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GifOptions, Loop};
    use crate::plan::timing::Written;
    use crate::stages::sprite::layout;
    use serde_json::Value;

    fn timing(frames: usize, written: Written) -> Timing {
        Timing::resolve(&written, frames, &GifOptions::default())
    }

    #[test]
    fn texturepacker_keys_frames_by_name_with_whole_cells() {
        let l = layout(3, 10, 8, None, 2).unwrap();
        let t = timing(
            3,
            Written {
                pingpong: Some(true),
                holds: vec![Some(600), None, None],
                ..Written::default()
            },
        );
        let frames = ["m/png/Leg-1.png", "m/png/Leg-2.png", "m/png/Leg-3.png"];
        let json = texturepacker("Leg-sprite.png", &l, &frames, "Leg", &t).unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        let second = &v["frames"]["Leg-2.png"];
        assert_eq!(
            second["frame"],
            serde_json::json!({"x": 12, "y": 0, "w": 10, "h": 8})
        );
        assert_eq!(second["rotated"], false);
        assert_eq!(second["trimmed"], false);
        assert_eq!(
            second["spriteSourceSize"],
            serde_json::json!({"x": 0, "y": 0, "w": 10, "h": 8})
        );
        assert_eq!(second["sourceSize"], serde_json::json!({"w": 10, "h": 8}));
        assert_eq!(second["duration"], 100);
        assert_eq!(v["frames"]["Leg-1.png"]["duration"], 600);
        assert_eq!(
            v["animations"]["Leg"],
            serde_json::json!(["Leg-1.png", "Leg-2.png", "Leg-3.png", "Leg-2.png"])
        );
        assert_eq!(v["meta"]["image"], "Leg-sprite.png");
        assert_eq!(v["meta"]["size"], serde_json::json!({"w": 22, "h": 18}));
        assert_eq!(v["meta"]["scale"], "1");
        assert_eq!(v["meta"]["format"], "RGBA8888");
    }

    #[test]
    fn clashing_file_names_use_whole_paths_and_repeats_are_one_frame() {
        assert_eq!(
            frame_names(&["a/X-1.png", "b/X-1.png"]),
            ["a/X-1.png", "b/X-1.png"]
        );
        assert_eq!(
            frame_names(&["a/X-1.png", "a/X-1.png"]),
            ["X-1.png", "X-1.png"]
        );
        let l = layout(2, 4, 4, None, 0).unwrap();
        let t = timing(2, Written::default());
        let json = texturepacker("s.png", &l, &["a/X-1.png", "a/X-1.png"], "X", &t).unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["frames"].as_object().unwrap().len(), 1);
        assert_eq!(v["frames"]["X-1.png"]["frame"]["x"], 0);
        assert!(texturepacker("s.png", &l, &["a/X-1.png"], "X", &t).is_err());
    }

    #[test]
    fn assetmill_atlas_carries_cells_and_playback() {
        let l = layout(2, 4, 4, None, 0).unwrap();
        let t = timing(
            2,
            Written {
                delay_ms: Some(80),
                repeat: Some(Loop::Times(3)),
                ..Written::default()
            },
        );
        let v: Value = serde_json::from_str(&assetmill("s.png", &l, &t)).unwrap();
        assert_eq!(v["image"], "s.png");
        assert_eq!(
            v["frames"][1],
            serde_json::json!({"x": 4, "y": 0, "w": 4, "h": 4})
        );
        assert_eq!(v["playback"]["frame_ms"], serde_json::json!([80, 80]));
        assert_eq!(v["playback"]["order"], serde_json::json!([0, 1]));
        assert_eq!(v["playback"]["loop"], 3);
        assert_eq!(v["playback"]["duration_ms"], 160);
    }
}
