//! `assetmill build` on real files: decode what was written and compare it
//! with the sources.

use crate::common;

use assetmill::assetmap::hash;
use assetmill::internals::{resize, ssim};
use assetmill::progress::Quiet;
use common::{Site, muscle_page};
use image::{AnimationDecoder, DynamicImage, RgbaImage};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn decode(path: &Path) -> DynamicImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn gif_frames(path: &Path) -> Vec<RgbaImage> {
    let bytes = std::fs::read(path).unwrap();
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
    decoder
        .into_frames()
        .map(|f| f.unwrap().into_buffer())
        .collect()
}

/// Two animation pages (opaque 300x200 frames, and RGBA frames with spaces
/// in their names), an overview page reusing the first, and a methods page
/// with a JPEG and an existing GIF.
fn site() -> Site {
    let site = Site::new();
    site.page("muscles/arm.md", &muscle_page("Arm-Biceps", 4));
    site.frames("Arm-Biceps", 4, 300, 200);
    site.page("arm-overview.md", &muscle_page("Arm-Biceps", 4));
    site.page("muscles/back.md", &muscle_page("Back Lat", 3));
    for i in 1..=3 {
        let frame = common::alpha_frame(120, 120, i);
        let mut png = Vec::new();
        frame
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        site.asset_bytes(&format!("muscles/png/Back Lat-{i}.png"), &png);
    }
    site.page(
        "methods.md",
        "---\nimages:\n  - image_id: photo\n    image_name: figures/photo.jpg\n    image_alt: A photo\n  - image_id: anim\n    image_name: figures/anim.gif\n    image_alt: An animation\n---\n{% include page-image im_id=\"photo\" %}{% include page-image im_id=\"anim\" %}\n",
    );
    site.asset_bytes(
        "figures/photo.jpg",
        &common::jpeg_bytes(&common::frame(80, 60, 3)),
    );
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        for i in 0..2 {
            let f = DynamicImage::ImageRgb8(common::frame(20, 20, i)).to_rgba8();
            enc.encode_frame(image::Frame::new(f)).unwrap();
        }
    }
    site.asset_bytes("figures/anim.gif", &gif);
    site
}

#[test]
fn builds_every_output_and_a_matching_asset_map() {
    let site = site();
    let outcome = assetmill::build(&site.config(), Default::default(), &Quiet).unwrap();
    assert_eq!(
        outcome.report.summary.errors,
        0,
        "{}",
        outcome.report.to_text()
    );
    let out = site.out();

    // Optimized copies: pixel-identical; other formats byte-identical.
    for i in 1..=4 {
        let rel = format!("muscles/png/Arm-Biceps-{i}.png");
        assert_eq!(
            decode(&out.join(&rel)),
            decode(&site.images().join(&rel)),
            "{rel}"
        );
    }
    for rel in ["figures/photo.jpg", "figures/anim.gif"] {
        assert_eq!(
            std::fs::read(out.join(rel)).unwrap(),
            std::fs::read(site.images().join(rel)).unwrap()
        );
    }

    // Thumbnails: 256 wide, aspect kept, close to a reference Lanczos resize.
    for i in 1..=4 {
        let thumb = decode(&out.join(format!("muscles/png/Arm-Biceps-{i}-thumb.png"))).to_rgba8();
        assert_eq!(thumb.dimensions(), (256, 171));
        let source = decode(
            &site
                .images()
                .join(format!("muscles/png/Arm-Biceps-{i}.png")),
        )
        .to_rgba8();
        let reference =
            image::imageops::resize(&source, 256, 171, image::imageops::FilterType::Lanczos3);
        let err = ssim::mean_abs_error(&thumb, &reference);
        assert!(
            err < 2.0,
            "thumb {i} differs from a reference resize by {err}"
        );
    }
    // Never upscaled: the 120 px alpha frames keep their size.
    let alpha_thumb = decode(&out.join("muscles/png/Back Lat-1-thumb.png")).to_rgba8();
    assert_eq!(alpha_thumb.dimensions(), (120, 120));
    assert_eq!(alpha_thumb.get_pixel(0, 0)[3], 0);
    assert_eq!(alpha_thumb.get_pixel(60, 60)[3], 255);

    // GIF: frame count, size, delay, loop, and every frame close to its source.
    let gif_path = out.join("muscles/gif/Arm-Biceps.gif");
    let frames = gif_frames(&gif_path);
    assert_eq!(frames.len(), 4);
    let reader = gif::DecodeOptions::new()
        .read_info(std::fs::File::open(&gif_path).unwrap())
        .unwrap();
    assert_eq!((reader.width(), reader.height()), (300, 200));
    assert_eq!(reader.repeat(), gif::Repeat::Infinite);
    let mut reader = reader;
    assert_eq!(reader.read_next_frame().unwrap().unwrap().delay, 10);
    for (i, frame) in frames.iter().enumerate() {
        let source = decode(
            &site
                .images()
                .join(format!("muscles/png/Arm-Biceps-{}.png", i + 1)),
        )
        .to_rgba8();
        // These test frames are a worst case for any GIF: broad ramps in two
        // colour axes at once, tens of thousands of colours. gifski scores
        // 0.873 on them; smooth renders score above 0.99 (benches/gif_quality.sh).
        let s = ssim::mean_ssim(frame, &source);
        let e = ssim::mean_abs_error(frame, &source);
        assert!(
            s > 0.86 && e < 6.5,
            "GIF frame {i}: SSIM {s}, mean error {e}"
        );
    }
    // Alpha sources give GIF transparency.
    for frame in gif_frames(&out.join("muscles/gif/Back Lat.gif")) {
        assert_eq!(frame.get_pixel(0, 0)[3], 0);
        assert_eq!(frame.get_pixel(60, 60)[3], 255);
    }

    // Sprite: each rectangle of the atlas is that frame's thumbnail.
    let sheet = decode(&out.join("muscles/gif/Arm-Biceps-sprite.png")).to_rgba8();
    let atlas: Value = serde_json::from_slice(
        &std::fs::read(out.join("muscles/gif/Arm-Biceps-sprite.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(atlas["image"], "Arm-Biceps-sprite.png");
    assert_eq!(
        (atlas["columns"].as_u64(), atlas["rows"].as_u64()),
        (Some(2), Some(2))
    );
    let rects = atlas["frames"].as_array().unwrap();
    assert_eq!(rects.len(), 4);
    for (i, r) in rects.iter().enumerate() {
        let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| r[k].as_u64().unwrap() as u32);
        let cell = image::imageops::crop_imm(&sheet, x, y, w, h).to_image();
        let thumb =
            decode(&out.join(format!("muscles/png/Arm-Biceps-{}-thumb.png", i + 1))).to_rgba8();
        assert_eq!(cell, thumb, "sprite cell {i}");
    }

    // Asset map: every output exists with the recorded bytes and hash.
    let map: Value =
        serde_json::from_slice(&std::fs::read(out.join("assets.json")).unwrap()).unwrap();
    let assets = map["assets"].as_object().unwrap();
    assert_eq!(assets.len(), 4 + 3 + 2 + 2);
    for (key, asset) in assets {
        for o in asset["outputs"].as_array().unwrap() {
            let bytes = std::fs::read(out.join(o["path"].as_str().unwrap())).unwrap();
            assert_eq!(o["bytes"].as_u64().unwrap(), bytes.len() as u64, "{key}");
            assert_eq!(o["hash"].as_str().unwrap(), hash(&bytes), "{key}");
        }
    }
    let gif = &assets["muscles/gif/Arm-Biceps.gif"];
    assert_eq!(gif["kind"], "animation");
    assert_eq!(
        gif["pages"],
        serde_json::json!(["arm-overview.md", "muscles/arm.md"])
    );
    assert_eq!(gif["frames"][3], "muscles/png/Arm-Biceps-4.png");
    let roles: Vec<&str> = gif["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["gif", "webm", "mp4", "sprite", "sprite-map"]);
    let frame = &assets["muscles/png/Arm-Biceps-1.png"];
    assert_eq!(frame["kind"], "frame");
    assert_eq!(frame["source"]["width"], 300);
    assert_eq!(
        frame["source"]["hash"],
        hash(&std::fs::read(site.images().join("muscles/png/Arm-Biceps-1.png")).unwrap())
    );
    assert_eq!(assets["figures/photo.jpg"]["kind"], "image");

    // Nothing written beside out/ (the site root holds only what we made).
    let mut top: Vec<String> = std::fs::read_dir(site.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["assets", "content", "out"]);
    // No temp files left behind.
    assert!(
        walk(&out).iter().all(|p| !p.contains(".assetmill-")),
        "{:?}",
        walk(&out)
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path.to_string_lossy().into_owned());
        }
    }
    files.sort();
    files
}

#[test]
fn a_broken_page_does_not_stop_the_others() {
    let site = site();
    site.page("muscles/leg.md", &muscle_page("Leg-Soleus", 3));
    site.frames("Leg-Soleus", 3, 300, 200);
    let good = std::fs::read(site.images().join("muscles/png/Leg-Soleus-2.png")).unwrap();
    site.asset_bytes("muscles/png/Leg-Soleus-2.png", &good[..good.len() / 3]);
    let out = site.run(&["build", "--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("content/muscles/leg.md:")
            && stdout.contains("Leg-Soleus-2.png: truncated PNG"),
        "{stdout}"
    );
    let o = site.out();
    assert!(!o.join("muscles/gif/Leg-Soleus.gif").exists());
    assert!(!o.join("muscles/gif/Leg-Soleus-sprite.png").exists());
    assert!(!o.join("muscles/png/Leg-Soleus-2.png").exists());
    // The bad page's good frames and every other page are built.
    assert!(o.join("muscles/png/Leg-Soleus-1-thumb.png").exists());
    assert!(o.join("muscles/gif/Arm-Biceps.gif").exists());
    assert!(o.join("assets.json").exists());
}

/// Every file under `dir` but the build lock, which holds a process id.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        // The lock holds a process id, the review report the run's timings.
        .filter(|p| !p.ends_with("/.assetmill/lock") && !p.ends_with("/.assetmill/report.html"))
        .map(|p| {
            (
                p.strip_prefix(&dir.to_string_lossy().into_owned())
                    .unwrap()
                    .to_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn outputs_are_identical_for_any_thread_count() {
    let site = site();
    let one = site.run(&["build", "--quiet", "--jobs", "1", "--out", "out1"]);
    let two = site.run(&["build", "--quiet", "--jobs", "2", "--out", "out2"]);
    assert!(one.status.success() && two.status.success());
    let (a, b) = (
        tree(&site.root().join("out1")),
        tree(&site.root().join("out2")),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(
            bytes == &b[path],
            "{path} differs between --jobs 1 and --jobs 2"
        );
    }
}

#[test]
fn refuses_to_write_over_the_image_root() {
    let site = site();
    let mut config = site.config();
    config.out = site.images();
    assert!(assetmill::build(&config, Default::default(), &Quiet).is_err());
    let out = site.run(&["build", "--out", "assets"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn resize_is_never_an_upscale() {
    let small = RgbaImage::new(10, 10);
    assert_eq!(resize::to_width(&small, 256).dimensions(), (10, 10));
}

#[test]
fn gif_of_a_rendered_turntable_is_close_to_its_frames() {
    use assetmill::synth::render::{RenderParams, render_frame};
    let site = Site::new();
    site.page("muscles/leg.md", &muscle_page("Leg-Soleus", 8));
    let params = RenderParams {
        width: 160,
        height: 160,
        alpha: false,
        seed: 3,
        scene: Default::default(),
    };
    let frames: Vec<RgbaImage> = (0..8).map(|i| render_frame(&params, i, 8)).collect();
    for (i, frame) in frames.iter().enumerate() {
        let rgb = DynamicImage::ImageRgba8(frame.clone()).to_rgb8();
        site.asset_bytes(
            &format!("muscles/png/Leg-Soleus-{}.png", i + 1),
            &common::png_bytes(&rgb),
        );
    }
    let outcome = assetmill::build(&site.config(), Default::default(), &Quiet).unwrap();
    assert_eq!(
        outcome.report.summary.errors,
        0,
        "{}",
        outcome.report.to_text()
    );
    let decoded = gif_frames(&site.out().join("muscles/gif/Leg-Soleus.gif"));
    assert_eq!(decoded.len(), 8);
    // The default's promise is a mean SSIM of 0.99 over all frames; no
    // frame falls far below it.
    let mut total = 0.0;
    for (i, (d, s)) in decoded.iter().zip(&frames).enumerate() {
        let s = ssim::mean_ssim(d, s);
        assert!(s > 0.985, "frame {i}: SSIM {s}");
        total += s;
    }
    let mean = total / frames.len() as f64;
    assert!(mean >= 0.99, "mean SSIM {mean}");
}

#[test]
fn yaml_copy_of_the_asset_map_for_jekyll_data() {
    let site = site();
    common::write(
        &site.root().join("assetmill.yml"),
        b"asset_map:\n  data_copy: _data/assets.yml\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let yaml = std::fs::read_to_string(site.root().join("_data/assets.yml")).unwrap();
    assert!(yaml.contains("muscles/gif/Arm-Biceps.gif"), "{yaml}");
    let json: Value = site.asset_map();
    let parsed: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(parsed, json);
}

/// A source named like another output (a hand-made thumbnail listed as a
/// gallery frame beside its frame, a file named like an animation's sheet)
/// would share one output path. Neither is made; an error at each entry
/// names the other and its `page:line`; the asset map holds every path once,
/// and the next build is warm.
#[test]
fn two_outputs_on_one_path_are_refused_and_named() {
    let site = Site::new();
    site.page("muscles/arm.md", &muscle_page("Arm-Biceps", 3));
    site.frames("Arm-Biceps", 3, 64, 48);
    let extras = "---\nimages:\n  - image_id: sheet\n    image_name: muscles/gif/Arm-Biceps-sprite.png\n    image_alt: A hand-made sheet\ngallery:\n  - image_url: muscles/png/Arm-Biceps-1-thumb.png\n---\n{% include page-image im_id=\"sheet\" %}\n";
    site.page("extras.md", extras);
    site.png("muscles/gif/Arm-Biceps-sprite.png", 30, 20, 7);
    site.png("muscles/png/Arm-Biceps-1-thumb.png", 32, 24, 8);

    let (code, doc) = site.json(&["build", "--format", "json"]);
    assert_eq!(code, 1, "{doc:#}");
    let errors: Vec<(String, u64, String)> = common::diagnostics(&doc)
        .into_iter()
        .filter(|(_, _, severity, _)| severity == "error")
        .map(|(file, line, _, message)| (file, line, message))
        .collect();
    let arm = std::fs::read_to_string(site.content().join("muscles/arm.md")).unwrap();
    let frame_line = common::line_of(&arm, "Arm-Biceps-1.png") as u64;
    // An image entry's line is its first key's.
    let gif_line = common::line_of(&arm, "image_id") as u64;
    let expect = [
        (
            "content/extras.md",
            common::line_of(extras, "1-thumb.png") as u64,
            format!("its optimized copy `muscles/png/Arm-Biceps-1-thumb.png` is also the thumbnail of the gallery frame muscles/png/Arm-Biceps-1.png (content/muscles/arm.md:{frame_line})"),
        ),
        (
            "content/muscles/arm.md",
            frame_line,
            "its thumbnail `muscles/png/Arm-Biceps-1-thumb.png` is also the optimized copy of the gallery frame muscles/png/Arm-Biceps-1-thumb.png (content/extras.md:7)".to_owned(),
        ),
        (
            "content/extras.md",
            common::line_of(extras, "image_id") as u64,
            format!("its optimized copy `muscles/gif/Arm-Biceps-sprite.png` is also the sprite sheet of the page image muscles/gif/Arm-Biceps.gif (content/muscles/arm.md:{gif_line})"),
        ),
        (
            "content/muscles/arm.md",
            gif_line,
            "its sprite sheet `muscles/gif/Arm-Biceps-sprite.png` is also the optimized copy of the page image muscles/gif/Arm-Biceps-sprite.png (content/extras.md:3)".to_owned(),
        ),
    ];
    for (file, line, message) in &expect {
        assert!(
            errors
                .iter()
                .any(|(f, l, m)| f == file && l == line && m.contains(message.as_str())),
            "no error at {file}:{line}: {message}\n{errors:#?}"
        );
    }
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for gone in [
        "muscles/png/Arm-Biceps-1-thumb.png",
        "muscles/gif/Arm-Biceps-sprite.png",
        "muscles/gif/Arm-Biceps-sprite.json",
    ] {
        assert!(!site.out().join(gone).exists(), "{gone} was written");
    }
    // Everything else is built, and the map names each path once.
    assert!(site.out().join("muscles/gif/Arm-Biceps.gif").is_file());
    assert!(
        site.out()
            .join("muscles/png/Arm-Biceps-2-thumb.png")
            .is_file()
    );
    let map: Value = site.asset_map();
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    for asset in map["assets"].as_object().unwrap().values() {
        for output in asset["outputs"].as_array().unwrap() {
            let path = output["path"].as_str().unwrap().to_owned();
            let hash = output["hash"].as_str().unwrap().to_owned();
            let before = hashes.insert(path.clone(), hash.clone());
            assert!(before.is_none_or(|b| b == hash), "{path} twice");
        }
    }
    // Warm: nothing is made again, and `--check` finds it up to date.
    let (code, doc) = site.json(&["build", "--format", "json"]);
    assert_eq!(code, 1);
    assert_eq!(doc["summary"]["built"], 0, "{doc:#}");
    let check = site.run(&["build", "--check"]);
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(text.contains("check: all"), "{text}");
}
