//! AV1 tuning for turntables: rav1e's individual speed settings, one row
//! per setting x quantizer, on the clips of one or more synth corpora.
//!
//!   cargo run --release -p assetmill-benches --bin av1_tune -- DIR... \
//!       [--only 'NAME;NAME'] [--quantizers 120,100,140]
//!       [--repeat 3]
//!   (--only takes whole setting names, or the part before a colon;
//!   each row's CPU is the least of --repeat runs)
//!   (add `--features asm` for rav1e's assembly; benches/av1_tune.sh
//!   makes the corpora and runs both builds)
//!
//! Each DIR is a synth site's `assets/muscles/png`. Every animation (the
//! frames `NAME-N.png`) is scaled to 480 px wide, as the pipeline does,
//! flattened on white and encoded on one thread, as the pipeline's
//! `--jobs 1` does. A row gives the CPU seconds of the encodes, the total
//! WebM bytes and the mean SSIM measured as the pipeline measures it
//! (rav1e's reconstruction, which every AV1 decoder shows, against the
//! flattened source, luma). The summary puts each setting at the SSIM of
//! the first one at the first quantizer (the default today) by linear
//! interpolation between its two quantizers on either side: the bytes and
//! CPU it needs for the same quality. CPU is the process's user + system
//! time (Linux `/proc/self/stat`), not wall time, which on a shared
//! machine varies by 10-50 % from run to run.
#[path = "cpu.rs"]
mod cpu;
use assetmill::config::Av1Options;
use assetmill::internals::resize;
use assetmill::internals::ssim::{self, Luma};
use assetmill::internals::video::{VideoEncoder, av1::WebmEncoder, yuv};
use rav1e::prelude::*;
use std::collections::BTreeMap;

const WHITE: [u8; 3] = [255, 255, 255];
const FRAME_MS: u32 = 100;

/// One animation, ready to encode: its pictures and their references.
struct Clip {
    pictures: Vec<yuv::Picture>,
    references: Vec<Luma>,
}

type Adjust = fn(&mut EncoderConfig);

/// Low latency (no hidden frames: each frame refers back only), several
/// references, the complex intra modes on keyframes, no scene detection
/// (a turntable is one scene) and the shortest RDO lookahead: the best of
/// the combinations tried on the first corpora (0.988x the bytes at the
/// same SSIM), which did not hold on the bundled sample and the plain
/// muscle scene (1.03x and 1.07x).
fn turntable(c: &mut EncoderConfig) {
    c.low_latency = true;
    c.speed_settings.multiref = true;
    c.speed_settings.prediction.prediction_modes =
        rav1e::config::PredictionModesSetting::ComplexKeyframes;
    c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
    c.speed_settings.rdo_lookahead_frames = 1;
}

/// The settings tried, each a change to a preset.
fn candidates() -> Vec<(&'static str, u8, Adjust)> {
    fn none(_: &mut EncoderConfig) {}
    vec![
        ("preset 7 (today)", 7, none),
        ("short loops: 7 LL multiref complex-key", 7, turntable),
        ("preset 6", 6, none),
        ("preset 8", 8, none),
        ("preset 9", 9, none),
        ("preset 10", 10, none),
        ("7, no scene detection", 7, |c| {
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None
        }),
        ("7, fast scene detection", 7, |c| {
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::Fast
        }),
        ("7, lookahead 5", 7, |c| {
            c.speed_settings.rdo_lookahead_frames = 5
        }),
        ("7, no scene detection, lookahead 1", 7, |c| {
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
            c.speed_settings.rdo_lookahead_frames = 1;
        }),
        ("7, lookahead 10", 7, |c| {
            c.speed_settings.rdo_lookahead_frames = 10
        }),
        ("7, low latency", 7, |c| c.low_latency = true),
        ("7, tune psnr", 7, |c| c.tune = Tune::Psnr),
        ("7, partitions 8-32", 7, |c| {
            c.speed_settings.partition.partition_range =
                PartitionRange::new(BlockSize::BLOCK_8X8, BlockSize::BLOCK_32X32)
        }),
        ("7, partitions 16-32", 7, |c| {
            c.speed_settings.partition.partition_range =
                PartitionRange::new(BlockSize::BLOCK_16X16, BlockSize::BLOCK_32X32)
        }),
        ("7, partitions 16-64", 7, |c| {
            c.speed_settings.partition.partition_range =
                PartitionRange::new(BlockSize::BLOCK_16X16, BlockSize::BLOCK_64X64)
        }),
        ("7, no loop restoration", 7, |c| {
            c.speed_settings.lrf = false
        }),
        ("7, no cdef", 7, |c| c.speed_settings.cdef = false),
        ("7, sad subpel", 7, |c| {
            c.speed_settings.motion.use_satd_subpel = false
        }),
        ("7, segmentation off", 7, |c| {
            c.speed_settings.segmentation = SegmentationLevel::Disabled
        }),
        ("7, 2 tiles", 7, |c| c.tiles = 2),
        ("7 LL, multiref", 7, |c| {
            c.low_latency = true;
            c.speed_settings.multiref = true;
        }),
        ("6 LL", 6, |c| c.low_latency = true),
        ("8 LL, loop restoration", 8, |c| {
            c.low_latency = true;
            c.speed_settings.lrf = true;
        }),
        ("7 LL, no scene detection", 7, |c| {
            c.low_latency = true;
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
        }),
        ("7 LL, lookahead 1", 7, |c| {
            c.low_latency = true;
            c.speed_settings.rdo_lookahead_frames = 1;
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
        }),
        ("7 LL, sad subpel", 7, |c| {
            c.low_latency = true;
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
            c.speed_settings.motion.use_satd_subpel = false;
        }),
        ("7 LL, partitions 8-32", 7, |c| {
            c.low_latency = true;
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
            c.speed_settings.partition.partition_range =
                PartitionRange::new(BlockSize::BLOCK_8X8, BlockSize::BLOCK_32X32);
        }),
        ("7 LL, complex keyframes", 7, |c| {
            c.low_latency = true;
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
            c.speed_settings.prediction.prediction_modes =
                rav1e::config::PredictionModesSetting::ComplexKeyframes;
        }),
        ("short loops + sad subpel", 7, |c| {
            turntable(c);
            c.speed_settings.motion.use_satd_subpel = false;
        }),
        ("short loops + partitions 8-32", 7, |c| {
            turntable(c);
            c.speed_settings.partition.partition_range =
                PartitionRange::new(BlockSize::BLOCK_8X8, BlockSize::BLOCK_32X32);
        }),
        ("short loops, simple modes", 7, |c| {
            turntable(c);
            c.speed_settings.prediction.prediction_modes =
                rav1e::config::PredictionModesSetting::Simple;
        }),
        ("short loops, no multiref", 7, |c| {
            turntable(c);
            c.speed_settings.multiref = false;
        }),
        ("short loops, no loop restoration", 7, |c| {
            turntable(c);
            c.speed_settings.lrf = false;
        }),
        ("short loops, no multiref, partitions 8-32", 7, |c| {
            turntable(c);
            c.speed_settings.multiref = false;
            c.speed_settings.partition.partition_range =
                PartitionRange::new(BlockSize::BLOCK_8X8, BlockSize::BLOCK_32X32);
        }),
        ("short loops at 8, loop restoration", 8, |c| {
            turntable(c);
            c.speed_settings.lrf = true;
        }),
        ("6 LL, no scene detection, lookahead 1", 6, |c| {
            c.low_latency = true;
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
            c.speed_settings.rdo_lookahead_frames = 1;
        }),
        ("7 LL, partitions 16-64", 7, |c| {
            c.low_latency = true;
            c.speed_settings.scene_detection_mode = SceneDetectionSpeed::None;
            c.speed_settings.partition.partition_range =
                PartitionRange::new(BlockSize::BLOCK_16X16, BlockSize::BLOCK_64X64);
        }),
    ]
}

fn main() {
    let mut dirs = Vec::new();
    let mut only: Option<Vec<String>> = None;
    let mut quantizers: Vec<u8> = vec![120, 100, 140];
    let mut repeat = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => {
                only = Some(
                    args.next()
                        .expect("--only NAMES")
                        .split(';')
                        .map(str::to_owned)
                        .collect(),
                )
            }
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--repeat N")
            }
            "--quantizers" => {
                quantizers = args
                    .next()
                    .expect("--quantizers Q,Q")
                    .split(',')
                    .map(|q| q.parse().expect("a quantizer 0-255"))
                    .collect()
            }
            _ => dirs.push(arg),
        }
    }
    assert!(
        !dirs.is_empty(),
        "usage: av1_tune DIR... [--only NAMES] [--quantizers Q,Q]"
    );
    let clips: Vec<Clip> = dirs.iter().flat_map(|d| load(d)).collect();
    let frames: usize = clips.iter().map(|c| c.pictures.len()).sum();
    println!(
        "{} clips, {frames} frames at {}x{}; rav1e SIMD: {}",
        clips.len(),
        clips[0].pictures[0].width,
        clips[0].pictures[0].height,
        assetmill::internals::video::av1::simd().unwrap_or_else(|| "none".into())
    );
    println!("| setting | quantizer | CPU s | bytes | SSIM |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    let mut rows: BTreeMap<&str, Vec<(u8, f64, usize, f64)>> = BTreeMap::new();
    let mut order = Vec::new();
    for (name, preset, adjust) in candidates() {
        if only.as_ref().is_some_and(|o| {
            !o.iter()
                .any(|n| name == n || name.starts_with(&format!("{n}:")))
        }) {
            continue;
        }
        order.push(name);
        for &quantizer in &quantizers {
            let options = Av1Options {
                speed: preset,
                quantizer,
                ..Av1Options::default()
            };
            // The least CPU of `repeat` runs (the bytes are the same).
            let mut secs = f64::INFINITY;
            let mut results = Vec::new();
            for _ in 0..repeat {
                let start = cpu::seconds();
                results = one.install(|| {
                    clips
                        .iter()
                        .map(|clip| encode(clip, options, adjust))
                        .collect::<Vec<(usize, f64)>>()
                });
                secs = secs.min(cpu::seconds() - start);
            }
            let bytes: usize = results.iter().map(|r| r.0).sum();
            let ssim = results.iter().map(|r| r.1).sum::<f64>() / results.len() as f64;
            println!("| {name} | {quantizer} | {secs:.2} | {bytes} | {ssim:.5} |");
            rows.entry(name)
                .or_default()
                .push((quantizer, secs, bytes, ssim));
        }
    }
    let Some(&(_, base_secs, base_bytes, target)) = order.first().and_then(|n| rows[n].first())
    else {
        return;
    };
    println!(
        "\nAt the SSIM of `{}` at quantizer {} ({target:.5}):",
        order[0], quantizers[0]
    );
    println!("| setting | CPU x | bytes x |");
    println!("| --- | ---: | ---: |");
    for name in order {
        let mut points = rows[name].clone();
        points.sort_by(|a, b| a.3.total_cmp(&b.3));
        let at = points
            .windows(2)
            .find(|w| w[0].3 <= target && target <= w[1].3);
        match at {
            Some(w) => {
                let t = if w[1].3 > w[0].3 {
                    (target - w[0].3) / (w[1].3 - w[0].3)
                } else {
                    0.0
                };
                let lerp = |a: f64, b: f64| a + (b - a) * t;
                let secs = lerp(w[0].1, w[1].1);
                let bytes = lerp(w[0].2 as f64, w[1].2 as f64);
                println!(
                    "| {name} | {:.2} | {:.3} |",
                    secs / base_secs,
                    bytes / base_bytes as f64
                );
            }
            None => println!("| {name} | (SSIM not bracketed by the quantizers tried) | |"),
        }
    }
}

/// The animations in `dir`, scaled to 480 px wide.
fn load(dir: &str) -> Vec<Clip> {
    let mut groups: BTreeMap<String, Vec<(u32, std::path::PathBuf)>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("a folder of frames") {
        let path = entry.expect("a folder entry").path();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let Some((name, i)) = stem.rsplit_once('-') else {
            continue;
        };
        let Ok(i) = i.parse() else { continue };
        groups.entry(name.to_owned()).or_default().push((i, path));
    }
    groups
        .into_values()
        .map(|mut files| {
            files.sort();
            let mut clip = Clip {
                pictures: Vec::new(),
                references: Vec::new(),
            };
            for (_, path) in files {
                let frame = image::open(&path).expect("a PNG frame").to_rgba8();
                let (w, h) = resize::fit_width(frame.width(), frame.height(), 480);
                let frame = resize::resize(&frame, w, h);
                clip.pictures
                    .push(yuv::from_rgba(&frame, WHITE).expect("a frame large enough"));
                let flat = yuv::flatten(&frame, WHITE).expect("a frame large enough");
                clip.references.push(Luma::of_rgb(&flat));
            }
            clip
        })
        .collect()
}

/// Bytes and mean SSIM of one clip encoded with `options` changed by
/// `adjust`.
fn encode(clip: &Clip, options: Av1Options, adjust: Adjust) -> (usize, f64) {
    let (w, h) = (clip.pictures[0].width, clip.pictures[0].height);
    let mut encoder: Box<dyn VideoEncoder> =
        Box::new(WebmEncoder::adjusted(w, h, options, adjust).expect("rav1e accepts the settings"));
    let mut shown = Vec::new();
    for picture in &clip.pictures {
        encoder.push(picture, FRAME_MS).expect("rav1e encodes");
        shown.extend(encoder.take_shown());
    }
    encoder.flush().expect("rav1e flushes");
    shown.extend(encoder.take_shown());
    let bytes = encoder.finish().expect("a WebM").len();
    assert_eq!(shown.len(), clip.references.len(), "every frame comes back");
    let sum: f64 = shown
        .iter()
        .zip(&clip.references)
        .map(|(picture, reference)| {
            let picture = picture.as_ref().expect("a reconstruction");
            ssim::ssim(&Luma::of_rgb(&yuv::to_rgb(picture)), reference)
        })
        .sum();
    (bytes, sum / clip.references.len() as f64)
}
