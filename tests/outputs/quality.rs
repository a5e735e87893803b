//! The `ssim` of every lossy output in the asset map, checked against an
//! independent measurement: the file decoded by another decoder (ffmpeg for
//! the videos, image's GIF decoder for the GIF, image's PNG decoder for
//! thumbnails), the source resized by another resizer (image's Lanczos3
//! rather than fast_image_resize) and composited on the same background,
//! and SSIM computed by this file's own implementation, window by window.
//! The two must agree to within 0.005; the figure must also be the same in
//! every build and survive a warm one.

use crate::common;

use assetmill::internals::cache::fingerprint;
use common::{Site, alpha_frame, build, muscle_page, png_rgba_bytes};
use image::imageops::FilterType;
use image::{AnimationDecoder, Rgba, Rgba32FImage, RgbaImage};
use std::path::Path;
use std::process::Command;

const TOLERANCE: f64 = 0.005;

/// SSIM as defined: BT.601 luma over mid grey, 8x8 windows every 4
/// pixels (one clipped window when a side is shorter), K1 = 0.01,
/// K2 = 0.03, mean over windows.
pub(crate) fn reference_ssim(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let luma = |img: &RgbaImage| -> Vec<f64> {
        img.pixels()
            .map(|p| {
                let alpha = f64::from(p[3]) / 255.0;
                let y = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
                alpha * y + (1.0 - alpha) * 128.0
            })
            .collect()
    };
    let (la, lb) = (luma(a), luma(b));
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (c1, c2) = ((0.01 * 255.0f64).powi(2), (0.03 * 255.0f64).powi(2));
    let mut scores = Vec::new();
    for y0 in (0..=h.max(8) - 8).step_by(4) {
        for x0 in (0..=w.max(8) - 8).step_by(4) {
            let mut px = Vec::new();
            for y in y0..(y0 + 8).min(h) {
                for x in x0..(x0 + 8).min(w) {
                    px.push((la[y * w + x], lb[y * w + x]));
                }
            }
            let n = px.len() as f64;
            let ma = px.iter().map(|p| p.0).sum::<f64>() / n;
            let mb = px.iter().map(|p| p.1).sum::<f64>() / n;
            let va = px.iter().map(|p| (p.0 - ma).powi(2)).sum::<f64>() / n;
            let vb = px.iter().map(|p| (p.1 - mb).powi(2)).sum::<f64>() / n;
            let cov = px.iter().map(|p| (p.0 - ma) * (p.1 - mb)).sum::<f64>() / n;
            scores.push(
                ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                    / ((ma * ma + mb * mb + c1) * (va + vb + c2)),
            );
        }
    }
    scores.iter().sum::<f64>() / scores.len() as f64
}

/// Lanczos3 with image's resizer, on premultiplied alpha (as browsers and
/// the pipeline resize), in f32.
pub(crate) fn lanczos(source: &RgbaImage, width: u32, height: u32) -> RgbaImage {
    if source.dimensions() == (width, height) {
        return source.clone();
    }
    let pre = Rgba32FImage::from_fn(source.width(), source.height(), |x, y| {
        let p = source.get_pixel(x, y);
        let a = f32::from(p[3]) / 255.0;
        Rgba([
            f32::from(p[0]) / 255.0 * a,
            f32::from(p[1]) / 255.0 * a,
            f32::from(p[2]) / 255.0 * a,
            a,
        ])
    });
    let small = image::imageops::resize(&pre, width, height, FilterType::Lanczos3);
    RgbaImage::from_fn(width, height, |x, y| {
        let p = small.get_pixel(x, y);
        let a = p[3].clamp(0.0, 1.0);
        let c = |v: f32| {
            let v = if a > 0.0 { v / a } else { 0.0 };
            (v * 255.0).round().clamp(0.0, 255.0) as u8
        };
        Rgba([c(p[0]), c(p[1]), c(p[2]), (a * 255.0).round() as u8])
    })
}

/// `image` flattened on `bg` and cropped to `size` (what a video encodes).
fn flattened(image: &RgbaImage, size: (u32, u32), bg: [u8; 3]) -> RgbaImage {
    RgbaImage::from_fn(size.0, size.1, |x, y| {
        let p = image.get_pixel(x, y);
        let a = f64::from(p[3]) / 255.0;
        let c = |i: usize| (f64::from(p[i]) * a + f64::from(bg[i]) * (1.0 - a)).round() as u8;
        Rgba([c(0), c(1), c(2), 255])
    })
}

/// Every frame of a video as ffmpeg decodes and converts it to RGB
/// (BT.709, limited range, as the streams are tagged).
fn ffmpeg_frames(ffmpeg: &Path, video: &Path, size: (u32, u32)) -> Vec<RgbaImage> {
    let out = Command::new(ffmpeg)
        .args(["-v", "error", "-i"])
        .arg(video)
        .args([
            "-fps_mode",
            "passthrough",
            "-sws_flags",
            "bilinear+accurate_rnd+full_chroma_int",
            "-vf",
            "scale=in_color_matrix=bt709:in_range=limited:out_range=full",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg {}: {out:?}", video.display());
    let frame_bytes = (size.0 * size.1 * 3) as usize;
    assert_eq!(out.stdout.len() % frame_bytes, 0, "partial frame");
    out.stdout
        .chunks(frame_bytes)
        .map(|c| {
            let rgb = image::RgbImage::from_raw(size.0, size.1, c.to_vec()).unwrap();
            image::DynamicImage::ImageRgb8(rgb).to_rgba8()
        })
        .collect()
}

/// A GIF's frames as image's decoder composites them.
fn gif_frames(bytes: &[u8]) -> Vec<RgbaImage> {
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
    decoder
        .into_frames()
        .map(|f| f.unwrap().into_buffer())
        .collect()
}

fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.into_iter().collect();
    values.iter().sum::<f64>() / values.len() as f64
}

/// An animated GIF of `frames` frames (an existing one, used as a page
/// image), each frame a shifted pattern.
fn existing_gif(width: u16, height: u16, frames: u32) -> Vec<u8> {
    let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 3]).collect();
    common::indexed_gif(width, height, frames, &palette, |x, y, i| {
        ((x * 3 + y * 2 + i * 20) % 256) as u8
    })
}

/// A site with an opaque gallery (resized for the GIF), a transparent one
/// and an existing GIF shown as a page image; thumbnails 64 px wide.
fn site() -> (Site, assetmill::Config) {
    let site = Site::new();
    site.page("muscles/leg.md", &muscle_page("Leg-Quad", 4));
    site.frames("Leg-Quad", 4, 200, 150);
    site.page("muscles/arm.md", &muscle_page("Arm-Disc", 3));
    for i in 1..=3u32 {
        site.asset_bytes(
            &format!("muscles/png/Arm-Disc-{i}.png"),
            &png_rgba_bytes(&alpha_frame(90, 70, i)),
        );
    }
    site.page(
        "methods.md",
        "---\nlayout: page\ntitle: Methods\nimages:\n  - image_id: m1\n    image_name: 'figures/spin.gif'\n    image_title: Spin\n    image_alt: Spin\n---\n",
    );
    site.asset_bytes("figures/spin.gif", &existing_gif(48, 34, 5));
    let mut config = site.config();
    config.gif.width = 120;
    config.thumbs.width = 64;
    config.video.background = assetmill::config::Rgb([20, 40, 200]);
    (site, config)
}

/// The sources of an asset's frames, in order, as RGBA.
fn sources(site: &Site, key: &str, asset: &serde_json::Value) -> Vec<RgbaImage> {
    match asset["frames"].as_array() {
        Some(frames) => frames
            .iter()
            .map(|f| {
                image::open(site.images().join(f.as_str().unwrap()))
                    .unwrap()
                    .to_rgba8()
            })
            .collect(),
        None => gif_frames(&std::fs::read(site.images().join(key)).unwrap()),
    }
}

#[test]
fn every_lossy_output_records_an_ssim_an_independent_measurement_agrees_with() {
    let Some(ffmpeg) = common::tool("ffmpeg") else {
        return;
    };
    let (site, config) = site();
    build(&config);
    let map = site.asset_map();
    let bg = config.video.background.0;
    let mut worst: std::collections::BTreeMap<String, f64> = Default::default();
    let mut seen = std::collections::BTreeSet::new();
    for (key, asset) in map["assets"].as_object().unwrap() {
        for o in asset["outputs"].as_array().unwrap() {
            let role = o["role"].as_str().unwrap();
            let path = site.out().join(o["path"].as_str().unwrap());
            let size = (
                o["width"].as_u64().unwrap_or(0) as u32,
                o["height"].as_u64().unwrap_or(0) as u32,
            );
            let independent = match role {
                "thumb" => {
                    let thumb = image::open(&path).unwrap().to_rgba8();
                    let source = image::open(site.images().join(key)).unwrap().to_rgba8();
                    let want = lanczos(&source, thumb.width(), thumb.height());
                    reference_ssim(&thumb, &want)
                }
                "gif" => {
                    let shown = gif_frames(&std::fs::read(&path).unwrap());
                    let sources = sources(&site, key, asset);
                    assert_eq!(shown.len(), sources.len(), "{key}");
                    mean(shown.iter().zip(&sources).map(|(got, source)| {
                        reference_ssim(got, &lanczos(source, got.width(), got.height()))
                    }))
                }
                "webm" | "mp4" => {
                    let shown = ffmpeg_frames(&ffmpeg, &path, size);
                    let sources = sources(&site, key, asset);
                    assert_eq!(shown.len(), sources.len(), "{}", path.display());
                    // The GIF-size frames: the gallery resized to gif.width,
                    // an existing GIF as it is.
                    let (gw, gh) = if asset["frames"].is_array() {
                        assetmill::internals::resize::fit_width(
                            sources[0].width(),
                            sources[0].height(),
                            config.gif.width,
                        )
                    } else {
                        sources[0].dimensions()
                    };
                    mean(shown.iter().zip(&sources).map(|(got, source)| {
                        let want = flattened(&lanczos(source, gw, gh), size, bg);
                        reference_ssim(got, &want)
                    }))
                }
                _ => {
                    assert!(o.get("ssim").is_none(), "{role} {key} has an ssim");
                    continue;
                }
            };
            let recorded = o["ssim"]
                .as_f64()
                .unwrap_or_else(|| panic!("{role} {key}: no ssim"));
            let diff = (recorded - independent).abs();
            eprintln!("{role:5} {key}: recorded {recorded:.4}, independent {independent:.4}");
            assert!(
                diff <= TOLERANCE,
                "{role} {key}: recorded {recorded}, independent {independent:.5}"
            );
            assert!(
                recorded > 0.8 && recorded <= 1.0,
                "{role} {key}: {recorded}"
            );
            let w = worst.entry(role.to_owned()).or_default();
            *w = w.max(diff);
            seen.insert(role.to_owned());
        }
    }
    eprintln!("largest difference per role: {worst:?}");
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["gif", "mp4", "thumb", "webm"]
    );
    // The existing GIF got its videos, measured too.
    let spin = &map["assets"]["figures/spin.gif"]["outputs"];
    assert!(
        spin.as_array()
            .unwrap()
            .iter()
            .filter(|o| o["ssim"].is_number())
            .count()
            == 2
    );
}

#[test]
fn the_figures_are_deterministic_cached_and_remade_once_from_an_older_cache() {
    let (site, config) = site();
    build(&config);
    let first = std::fs::read(site.out().join("assets.json")).unwrap();
    let text = String::from_utf8(first.clone()).unwrap();
    assert!(text.contains("\"ssim\": "), "{text}");
    // Rounded to 4 decimals.
    for line in text.lines().filter(|l| l.contains("\"ssim\"")) {
        let value = line.split(':').nth(1).unwrap().trim().trim_end_matches(',');
        assert!(
            value.split('.').nth(1).is_none_or(|d| d.len() <= 4),
            "{line}"
        );
    }

    // A warm build reuses everything and keeps every figure.
    let warm = build(&config);
    assert_eq!(warm.summary.built, 0, "{:?}", warm.summary);
    assert_eq!(
        std::fs::read(site.out().join("assets.json")).unwrap(),
        first
    );

    // A fresh build measures the same.
    std::fs::remove_dir_all(site.out()).unwrap();
    build(&config);
    assert_eq!(
        std::fs::read(site.out().join("assets.json")).unwrap(),
        first
    );

    // A cache written before outputs were measured (no `ssim`, the old
    // option keys of the thumbnails and the GIF) is not trusted for them:
    // they are made again, and measured.
    let cache_path = assetmill::internals::cache::Cache::path(&site.out());
    let mut cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache_path).unwrap()).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let old_thumb = fingerprint(&("thumb", version, config.thumbs.width, &config.optimize));
    let old_gif = fingerprint(&("gif", version, &config.gif));
    let mut stripped = 0;
    for record in cache["outputs"].as_object_mut().unwrap().values_mut() {
        let old = match record["file"]["role"].as_str().unwrap() {
            "thumb" => old_thumb.clone(),
            "gif" => old_gif.clone(),
            _ => continue,
        };
        record["options"] = old.into();
        record["file"].as_object_mut().unwrap().remove("ssim");
        stripped += 1;
    }
    assert!(stripped > 0);
    std::fs::write(&cache_path, serde_json::to_vec(&cache).unwrap()).unwrap();
    let after = build(&config);
    assert_eq!(after.summary.built, stripped, "{:?}", after.summary);
    assert_eq!(
        std::fs::read(site.out().join("assets.json")).unwrap(),
        first
    );
}
