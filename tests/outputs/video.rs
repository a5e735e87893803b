//! The videos beside every GIF: decoded by an independent tool (ffmpeg,
//! ffprobe) and compared with the sources: frame counts, every frame's
//! duration, dimensions, colour tags, pixels; and how they rebuild.

use crate::common;

use assetmill::internals::ssim;
use assetmill::internals::video::{Format, yuv};
use common::media::{self, Probe};
use common::{Site, alpha_frame, build, changed, frame, muscle_page, png_bytes, tree};
use image::{Rgba, RgbaImage};
use std::path::{Path, PathBuf};

struct Tools {
    ffprobe: PathBuf,
    ffmpeg: PathBuf,
}

fn tools() -> Option<Tools> {
    Some(Tools {
        ffprobe: common::tool("ffprobe")?,
        ffmpeg: common::tool("ffmpeg")?,
    })
}

/// Checks what both videos of an animation must satisfy and returns their
/// probes (webm, mp4).
fn check_pair(tools: &Tools, base: &Path, durations: &[u64], size: (u32, u32)) -> [Probe; 2] {
    [Format::Webm, Format::Mp4].map(|format| {
        let path = base.with_extension(format.extension());
        let p = media::probe(&tools.ffprobe, &path);
        assert_eq!(p.warnings, "", "{}: ffprobe warned", path.display());
        assert_eq!(p.streams, 1, "one video stream, no audio");
        assert_eq!((p.width, p.height), size, "{}", path.display());
        let got: Vec<u64> = p.frames.iter().map(|f| f.1).collect();
        assert_eq!(got, durations, "{}: frame durations", path.display());
        let mut at = 0;
        for (i, f) in p.frames.iter().enumerate() {
            assert_eq!(f.0, at, "{}: frame {i} starts", path.display());
            at += f.1;
        }
        assert_eq!(
            p.duration_ms,
            durations.iter().sum::<u64>(),
            "{}",
            path.display()
        );
        assert_eq!(
            [
                &p.color_range,
                &p.color_space,
                &p.color_primaries,
                &p.color_transfer
            ],
            ["tv", "bt709", "bt709", "iec61966-2-1"],
            "{}: colour tags",
            path.display()
        );
        match format {
            Format::Webm => assert_eq!(p.codec, "av1"),
            Format::Mp4 => {
                assert_eq!(p.codec, "h264");
                assert_eq!(p.profile, "Constrained Baseline");
            }
        }
        p
    })
}

/// Decodes a video and returns each frame as RGBA (BT.709 limited → sRGB).
fn decoded(tools: &Tools, path: &Path, size: (u32, u32)) -> Vec<RgbaImage> {
    media::decode(&tools.ffmpeg, path, size.0, size.1)
        .iter()
        .map(|p| image::DynamicImage::ImageRgb8(yuv::to_rgb(p)).to_rgba8())
        .collect()
}

/// The source as a video shows it: flattened on `bg`, cropped to `size`.
fn expected(source: &RgbaImage, size: (u32, u32), bg: [u8; 3]) -> RgbaImage {
    RgbaImage::from_fn(size.0, size.1, |x, y| {
        let p = source.get_pixel(x, y);
        let a = u32::from(p[3]);
        let c = |i: usize| ((u32::from(p[i]) * a + u32::from(bg[i]) * (255 - a) + 127) / 255) as u8;
        Rgba([c(0), c(1), c(2), 255])
    })
}

#[test]
fn gallery_animation_gets_a_webm_and_an_mp4_that_match_its_frames() {
    let Some(tools) = tools() else { return };
    let site = Site::new();
    // A name with spaces, and odd dimensions: the videos are cropped to
    // 94x62, never scaled.
    let name = "Arm-Biceps Brachii";
    site.page("muscles/biceps.md", &muscle_page(name, 5));
    site.frames(name, 5, 95, 63);
    let mut config = site.config();
    config.gif.delay_ms = 120;
    let outcome = build(&config);

    let base = site.out().join(format!("muscles/gif/{name}.gif"));
    let [webm, mp4] = check_pair(&tools, &base, &[120; 5], (94, 62));
    assert!(webm.frames.len() == 5 && mp4.frames.len() == 5);
    for format in [Format::Webm, Format::Mp4] {
        let path = base.with_extension(format.extension());
        let frames = decoded(&tools, &path, (94, 62));
        assert_eq!(frames.len(), 5);
        for (i, got) in frames.iter().enumerate() {
            let source = image::DynamicImage::ImageRgb8(frame(95, 63, i as u32 + 1)).to_rgba8();
            let want = expected(&source, (94, 62), [255; 3]);
            let s = ssim::mean_ssim(&want, got);
            assert!(s > 0.95, "{format:?} frame {i}: SSIM {s:.4}");
        }
    }

    // The asset map lists both beside the GIF, with what templates need.
    let outputs = animation_outputs(&site, name);
    for (role, ext) in [("webm", "webm"), ("mp4", "mp4"), ("gif", "gif")] {
        let o = outputs
            .iter()
            .find(|o| o["role"] == role)
            .unwrap_or_else(|| panic!("{role}"));
        assert_eq!(o["path"], format!("muscles/gif/{name}.{ext}"));
        assert_eq!(o["frames"], 5);
        assert_eq!(o["duration_ms"], 600);
        let bytes = std::fs::read(site.out().join(format!("muscles/gif/{name}.{ext}"))).unwrap();
        assert_eq!(o["bytes"], bytes.len());
        assert_eq!(o["hash"], assetmill::assetmap::hash(&bytes));
        if role != "gif" {
            assert_eq!(
                (o["width"].as_u64(), o["height"].as_u64()),
                (Some(94), Some(62))
            );
        }
    }
    assert!(
        outcome
            .summary
            .stages
            .contains_key(&assetmill::Stage::Video)
    );
}

/// A GIF whose frames have their own delays (centiseconds; 0 means the
/// browser default of 100 ms).
fn uneven_gif(width: u16, height: u16, delays: &[u16]) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
        let mut encoder = gif::Encoder::new(&mut bytes, width, height, &palette).unwrap();
        encoder.set_repeat(gif::Repeat::Infinite).unwrap();
        for (i, &delay) in delays.iter().enumerate() {
            let pixels: Vec<u8> = (0..u32::from(width) * u32::from(height))
                .map(|p| ((p % u32::from(width)) * 4 + i as u32 * 60) as u8)
                .collect();
            let mut frame = gif::Frame {
                width,
                height,
                delay,
                ..Default::default()
            };
            frame.buffer = pixels.into();
            encoder.write_frame(&frame).unwrap();
        }
    }
    bytes
}

#[test]
fn an_existing_gif_keeps_its_uneven_delays() {
    let Some(tools) = tools() else { return };
    let site = Site::new();
    site.page(
        "methods.md",
        "---\nlayout: page\ntitle: Methods\nimages:\n  - image_id: m1\n    image_name: 'figures/how it turns.gif'\n    image_title: How\n    image_alt: How\n---\n",
    );
    site.asset_bytes(
        "figures/how it turns.gif",
        &uneven_gif(40, 30, &[5, 37, 120, 0]),
    );
    build(&site.config());
    let base = site.out().join("figures/how it turns.gif");
    // 0 cs is shown for 100 ms by browsers, and so by the videos.
    check_pair(&tools, &base, &[50, 370, 1200, 100], (40, 30));
    // The GIF itself is the source, copied unchanged.
    assert_eq!(
        std::fs::read(&base).unwrap(),
        std::fs::read(site.images().join("figures/how it turns.gif")).unwrap()
    );
}

#[test]
fn transparent_sources_are_flattened_on_the_background_and_an_option_change_remakes_only_videos() {
    let Some(tools) = tools() else { return };
    let site = Site::new();
    site.page("muscles/a.md", &muscle_page("Arm-A", 3));
    for i in 1..=3u32 {
        site.asset_bytes(
            &format!("muscles/png/Arm-A-{i}.png"),
            &common::png_rgba_bytes(&alpha_frame(64, 48, i)),
        );
    }
    let mut config = site.config();
    build(&config);
    let base = site.out().join("muscles/gif/Arm-A.gif");
    let corner = |bg: [u8; 3]| {
        for format in [Format::Webm, Format::Mp4] {
            let frames = decoded(&tools, &base.with_extension(format.extension()), (64, 48));
            for (i, got) in frames.iter().enumerate() {
                let want = expected(&alpha_frame(64, 48, i as u32 + 1), (64, 48), bg);
                let s = ssim::mean_ssim(&want, got);
                assert!(s > 0.9, "{format:?} frame {i} on {bg:?}: SSIM {s:.4}");
                let px = got.get_pixel(1, 1);
                for c in 0..3 {
                    assert!(
                        px[c].abs_diff(bg[c]) <= 8,
                        "{format:?}: corner {px:?} on {bg:?}"
                    );
                }
            }
        }
    };
    corner([255, 255, 255]);

    let before = tree(&site.out());
    config.video.background = assetmill::config::Rgb([0, 0, 0]);
    let outcome = build(&config);
    let after = tree(&site.out());
    let remade = changed(&before, &after);
    assert_eq!(
        remade.iter().map(String::as_str).collect::<Vec<_>>(),
        [
            "assets.json",
            "muscles/gif/Arm-A.mp4",
            "muscles/gif/Arm-A.webm"
        ],
        "only the videos (and the map, for their hashes) change"
    );
    // The frames were decoded again (the videos need them), but the GIF,
    // thumbnails and sprite were reused.
    assert_eq!(outcome.summary.built, 3);
    corner([0, 0, 0]);
}

#[test]
fn videos_rebuild_only_when_their_inputs_or_options_change() {
    let Some(tools) = tools() else { return };
    let site = Site::new();
    for name in ["Arm-A", "Arm-B"] {
        site.page(&format!("muscles/{name}.md"), &muscle_page(name, 3));
        site.frames(name, 3, 48, 48);
    }
    let mut config = site.config();
    build(&config);
    let first = tree(&site.out());

    // Warm: nothing is decoded or encoded.
    let warm = build(&config);
    assert_eq!((warm.summary.decoded, warm.summary.built), (0, 0));
    assert!(changed(&first, &tree(&site.out())).is_empty());

    // One changed frame remakes its own animation's videos only.
    site.asset_bytes("muscles/png/Arm-B-2.png", &png_bytes(&frame(48, 48, 99)));
    build(&config);
    let second = tree(&site.out());
    let remade = changed(&first, &second);
    for want in [
        "muscles/gif/Arm-B.webm",
        "muscles/gif/Arm-B.mp4",
        "muscles/gif/Arm-B.gif",
    ] {
        assert!(remade.contains(want), "{want} not remade: {remade:?}");
    }
    assert!(!remade.iter().any(|c| c.contains("Arm-A")), "{remade:?}");
    check_pair(
        &tools,
        &site.out().join("muscles/gif/Arm-B.gif"),
        &[100; 3],
        (48, 48),
    );

    // An AV1 option remakes the WebMs and nothing else.
    config.video.av1.speed = 10;
    build(&config);
    let third = tree(&site.out());
    let remade = changed(&second, &third);
    assert_eq!(
        remade.iter().map(String::as_str).collect::<Vec<_>>(),
        [
            "assets.json",
            "muscles/gif/Arm-A.webm",
            "muscles/gif/Arm-B.webm"
        ]
    );

    // No formats: video off, and the videos written before are removed.
    config.video.formats.clear();
    let off = build(&config);
    assert_eq!(off.summary.removed, 4);
    assert!(!site.out().join("muscles/gif/Arm-A.webm").exists());
    assert!(site.out().join("muscles/gif/Arm-A.gif").exists());
}

#[test]
fn videos_are_the_same_bytes_whatever_the_thread_count() {
    let site = Site::new();
    site.page("muscles/a.md", &muscle_page("Arm-A", 4));
    site.frames("Arm-A", 4, 64, 64);
    let config = site.config();
    let mut runs = Vec::new();
    for threads in [1, 2] {
        let _ = std::fs::remove_dir_all(site.out());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| build(&config));
        runs.push(["webm", "mp4"].map(|ext| {
            std::fs::read(site.out().join(format!("muscles/gif/Arm-A.{ext}"))).unwrap()
        }));
    }
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn a_gif_too_small_for_a_video_is_an_error_at_its_line_and_the_rest_is_built() {
    let site = Site::new();
    let page = "---\nimages:\n  - image_id: dot\n    image_name: 'tiny dot.gif'\n    image_title: Dot\n    image_alt: Dot\n  - image_id: big\n    image_name: big.gif\n    image_title: Big\n    image_alt: Big\n---\n";
    site.page("p.md", page);
    site.asset_bytes("tiny dot.gif", &uneven_gif(8, 8, &[10, 10]));
    site.asset_bytes("big.gif", &uneven_gif(32, 32, &[10, 20]));
    let out = site.run(&["build", "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let line = common::line_of(page, "image_id: dot");
    for ext in ["webm", "mp4"] {
        let want = format!(
            "p.md:{line}: error: page image tiny dot.gif: tiny dot.{ext} not made: a 8x8 frame is too small"
        );
        assert!(text.contains(&want), "{want}\n{text}");
        assert!(
            site.out().join(format!("big.{ext}")).is_file(),
            "the rest is built"
        );
        assert!(!site.out().join(format!("tiny dot.{ext}")).exists());
    }
    assert!(site.out().join("tiny dot.gif").is_file());
}

/// Grain that moves a pixel a frame over a gradient: the hard case for
/// the encoders, whose SSIM at the default quantizers is well below 1.
fn grainy_frames(site: &Site, name: &str, count: usize) {
    for i in 0..count as u32 {
        let image = image::RgbImage::from_fn(96, 96, |x, y| {
            let h = (x + i).wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA6B);
            let grain = (h.wrapping_mul(0xC2B2_AE35) >> 26) as u8; // 0..63
            let v = (x * 2) as u8 / 2 + grain;
            image::Rgb([v, v / 2 + 60, 200 - grain])
        });
        site.asset_bytes(
            &format!("muscles/png/{name}-{}.png", i + 1),
            &png_bytes(&image),
        );
    }
}

/// The asset map's output records of the animation `muscles/gif/{name}.gif`.
fn animation_outputs(site: &Site, name: &str) -> Vec<serde_json::Value> {
    let map = site.asset_map();
    map["assets"][format!("muscles/gif/{name}.gif")]["outputs"]
        .as_array()
        .unwrap()
        .clone()
}

/// Per video extension: (bytes, the SSIM the asset map records).
fn recorded(site: &Site, name: &str) -> [(u64, f64); 2] {
    let outputs = animation_outputs(site, name);
    ["webm", "mp4"].map(|role| {
        let o = outputs.iter().find(|o| o["role"] == role).unwrap();
        (o["bytes"].as_u64().unwrap(), o["ssim"].as_f64().unwrap())
    })
}

#[test]
fn a_video_below_its_quality_floor_is_made_again_at_a_better_quantizer() {
    let site = Site::new();
    let name = "Arm-Grain";
    let page = muscle_page(name, 4);
    site.page("muscles/grain.md", &page);
    grainy_frames(&site, name, 4);
    let mut config = site.config();
    config.video.av1.quality = 0;
    config.video.h264.quality = 0;
    let off = build(&config);
    assert!(
        off.report.diagnostics.is_empty(),
        "{:?}",
        off.report.diagnostics
    );
    let plain = recorded(&site, name);
    let base = site.out().join(format!("muscles/gif/{name}.gif"));
    let decoded_ssim = |tools: &Tools| {
        [Format::Webm, Format::Mp4].map(|format| {
            let frames = decoded(tools, &base.with_extension(format.extension()), (96, 96));
            let sum: f64 = (frames.iter().enumerate())
                .map(|(i, got)| {
                    let path = site
                        .images()
                        .join(format!("muscles/png/{name}-{}.png", i + 1));
                    let source = image::open(path).unwrap().to_rgba8();
                    ssim::mean_ssim(&expected(&source, (96, 96), [255; 3]), got)
                })
                .sum();
            sum / frames.len() as f64
        })
    };
    let plain_decoded = tools().map(|t| decoded_ssim(&t));

    // A floor a little above what the configured quantizers give.
    let quality = |ssim: f64| ((ssim - 0.9) * 1000.0).ceil() as u8 + 2;
    let floors = plain.map(|(_, ssim)| quality(ssim));
    assert!(floors.iter().all(|&q| q < 100), "{plain:?}: no room above");
    config.video.av1.quality = floors[0];
    config.video.h264.quality = floors[1];
    let raised = build(&config);
    let line = common::line_of(&page, "- image_id:");
    let notes: Vec<String> = (raised.report.diagnostics.iter())
        .map(|d| {
            assert_eq!(d.severity, assetmill::Severity::Note, "{d}");
            assert_eq!(d.line, Some(line), "{d}");
            d.message.clone()
        })
        .collect();
    assert_eq!(notes.len(), 2, "{notes:#?}");
    let now = recorded(&site, name);
    for (((key, knob, from), floor), ((plain_bytes, plain_ssim), (bytes, ssim))) in [
        ("video.av1.quality", "video.av1.quantizer", 120),
        ("video.h264.quality", "video.h264.qp", 26),
    ]
    .into_iter()
    .zip(floors)
    .zip(plain.into_iter().zip(now))
    {
        let target = assetmill::config::ssim_target(floor);
        assert!(ssim >= target - 0.000_05, "{key}: {ssim} < {target}");
        assert!(ssim > plain_ssim && bytes > plain_bytes, "{key}");
        let prefix = format!("{knob} lowered from {from} to ");
        let note = (notes.iter())
            .find(|n| n.contains(&prefix))
            .unwrap_or_else(|| panic!("{prefix}: {notes:#?}"));
        assert!(
            note.contains(&format!("to reach the SSIM floor {target:.3} of {key}")),
            "{note}"
        );
    }
    // An independent decoder sees the better pictures too.
    if let (Some(tools), Some(before)) = (tools(), plain_decoded) {
        let after = decoded_ssim(&tools);
        for (b, a) in before.iter().zip(after) {
            assert!(a > *b, "decoded SSIM {b:.4} -> {a:.4}");
        }
    }

    // A floor no quantizer reaches: the best clip made is kept, with a
    // warning at the page's line; the build goes on.
    config.video.av1.quality = 100;
    config.video.h264.quality = 100;
    let out_of_reach = build(&config);
    let warnings: Vec<&assetmill::Diagnostic> = (out_of_reach.report.diagnostics.iter())
        .filter(|d| d.severity == assetmill::Severity::Warning)
        .collect();
    assert_eq!(warnings.len(), 2, "{:?}", out_of_reach.report.diagnostics);
    for (knob, best) in [("video.av1.quantizer", 60), ("video.h264.qp", 12)] {
        let want = format!("even at {knob} {best}, the best tried");
        let d = (warnings.iter())
            .find(|d| d.message.contains(&want))
            .unwrap_or_else(|| panic!("{want}: {warnings:#?}"));
        assert_eq!(d.line, Some(line));
    }
    let best = recorded(&site, name);
    assert!(best[0].1 > now[0].1 && best[1].1 > now[1].1);
}
