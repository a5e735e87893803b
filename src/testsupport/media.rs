//! Independent oracles for the videos assetmill writes: `ffprobe` and
//! `ffmpeg` (which `.ci/run` installs; find them with
//! [`super::tool`]) read and decode them, so the tests do not trust
//! assetmill's own muxers to check themselves.

use crate::stages::video::Picture;
use std::path::Path;
use std::process::Command;

/// What `ffprobe` says about a video, read from [`ffprobe_json`].
#[derive(Debug)]
pub struct Probe {
    pub codec: String,
    pub profile: String,
    pub width: u32,
    pub height: u32,
    pub color_range: String,
    pub color_space: String,
    pub color_transfer: String,
    pub color_primaries: String,
    pub streams: usize,
    /// Each frame's presentation time and duration, in milliseconds.
    pub frames: Vec<(u64, u64)>,
    /// The container's duration, in milliseconds.
    pub duration_ms: u64,
    /// Whatever ffprobe printed at warning level or above.
    pub warnings: String,
}

/// Runs `ffprobe` on `video` for its streams, frames and format: its JSON
/// document and whatever it printed at warning level or above.
///
/// # Panics
///
/// When ffprobe fails or prints no JSON.
pub fn ffprobe_json(ffprobe: &Path, video: &Path) -> (serde_json::Value, String) {
    let out = Command::new(ffprobe)
        .args([
            "-v",
            "warning",
            "-show_streams",
            "-show_frames",
            "-show_format",
        ])
        .args(["-of", "json"])
        .arg(video)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe {}: {out:?}", video.display());
    let json = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    (json, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn ms(value: &serde_json::Value) -> u64 {
    let text = value.as_str().unwrap_or("nan");
    let seconds: f64 = text.parse().unwrap_or(f64::NAN);
    assert!(seconds.is_finite(), "not a time: {value}");
    (seconds * 1000.0).round() as u64
}

/// [`ffprobe_json`] read into a [`Probe`].
pub fn probe(ffprobe: &Path, video: &Path) -> Probe {
    let (json, warnings) = ffprobe_json(ffprobe, video);
    let stream = &json["streams"][0];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let frames = json["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| {
            // ffprobe 5 says pkt_duration_time, later versions duration_time.
            let duration = if f["duration_time"].is_string() {
                &f["duration_time"]
            } else {
                &f["pkt_duration_time"]
            };
            (ms(&f["pts_time"]), ms(duration))
        })
        .collect();
    Probe {
        codec: text(&stream["codec_name"]),
        profile: text(&stream["profile"]),
        width: stream["width"].as_u64().unwrap_or(0) as u32,
        height: stream["height"].as_u64().unwrap_or(0) as u32,
        color_range: text(&stream["color_range"]),
        color_space: text(&stream["color_space"]),
        color_transfer: text(&stream["color_transfer"]),
        color_primaries: text(&stream["color_primaries"]),
        streams: json["streams"].as_array().map_or(0, Vec::len),
        frames,
        duration_ms: ms(&json["format"]["duration"]),
        warnings,
    }
}

/// Decodes every frame with ffmpeg (libdav1d for AV1, its own H.264
/// decoder) into 4:2:0 planes, one per frame as stored (no frame rate
/// conversion).
///
/// # Panics
///
/// When ffmpeg fails, says anything at error level, or returns a partial
/// frame.
pub fn decode(ffmpeg: &Path, video: &Path, width: u32, height: u32) -> Vec<Picture> {
    let out = Command::new(ffmpeg)
        .args(["-v", "error", "-i"])
        .arg(video)
        // One output frame per decoded frame, none duplicated for a
        // constant frame rate.
        .args(["-fps_mode", "passthrough"])
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg {}: {out:?}", video.display());
    assert!(
        out.stderr.is_empty(),
        "ffmpeg said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (w, h) = (width as usize, height as usize);
    let size = w * h + 2 * (w / 2) * (h / 2);
    assert_eq!(out.stdout.len() % size, 0, "partial frame");
    out.stdout
        .chunks(size)
        .map(|c| Picture {
            width,
            height,
            y: c[..w * h].to_vec(),
            u: c[w * h..w * h + w * h / 4].to_vec(),
            v: c[w * h + w * h / 4..].to_vec(),
        })
        .collect()
}
