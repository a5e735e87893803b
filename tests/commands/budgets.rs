//! Size budgets (`budgets:`), through the real binary on small sites: an
//! output over budget fails the build (or warns) at the page line that
//! asked for it, on warm builds too; checking rebuilds nothing; and
//! `budgets.fit` lowers a GIF's or a video's quality until it fits, which
//! is checked against a plain build at the quality it reports.

use crate::common;

use common::media;
use common::{Site, changed, line_of, muscle_page, tree};
use image::AnimationDecoder;
use serde_json::Value;
use std::path::Path;

const PAGE: &str = "muscles/biceps.md";
const NAME: &str = "Arm-Biceps";
const FRAMES: usize = 4;
const GIF: &str = "muscles/gif/Arm-Biceps.gif";

/// One animation page (4 frames of 96x96) and `assetmill.yml` = `yaml`.
fn site(yaml: &str) -> Site {
    let site = Site::new();
    site.page(PAGE, &muscle_page(NAME, FRAMES));
    site.frames(NAME, FRAMES, 96, 96);
    site.page("overview.md", &muscle_page(NAME, FRAMES));
    site.configure(yaml);
    site
}

/// `assetmill build --format json` in the site: (exit code, document).
fn build(site: &Site, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["-q", "build", "--format", "json"];
    all.extend_from_slice(args);
    site.json(&all)
}

/// The diagnostics of a build document as (severity, file, line, message).
fn diagnostics(doc: &Value) -> Vec<(String, String, Option<u64>, String)> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["severity"].as_str().unwrap().to_owned(),
                d["file"].as_str().unwrap().to_owned(),
                d["line"].as_u64(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The line of the page's one image entry (where its list item starts).
fn image_line(page: &str) -> u64 {
    line_of(page, "- image_id:") as u64
}

/// Replaces the frames with shaded rings, which need about four times the
/// bytes at the default `gif.quality` (a large palette) that they need at
/// the lowest (32 colours), so the quality changes the GIF's size.
fn ringed_frames(site: &Site) {
    for i in 1..=FRAMES as u32 {
        let image = image::RgbImage::from_fn(96, 96, |x, y| {
            let dy = y as f32 - 48.0 - i as f32 * 3.0;
            let d = ((x as f32 - 48.0).powi(2) + dy.powi(2)).sqrt();
            image::Rgb([
                (d * 5.0) as u8,
                (255.0 - d * 3.0).max(0.0) as u8,
                (x * 2 + i * 10) as u8,
            ])
        });
        site.asset_bytes(
            &format!("muscles/png/{NAME}-{i}.png"),
            &common::png_bytes(&image),
        );
    }
}

fn size(site: &Site, rel: &str) -> u64 {
    std::fs::metadata(site.out().join(rel)).unwrap().len()
}

fn gif_frames(path: &Path) -> Vec<image::RgbaImage> {
    let bytes = std::fs::read(path).unwrap();
    image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes))
        .unwrap()
        .into_frames()
        .map(|f| f.unwrap().into_buffer())
        .collect()
}

const NO_VIDEO: &str = "video:\n  formats: []\n";

#[test]
fn an_output_over_budget_is_an_error_at_each_line_that_uses_it_cold_and_warm() {
    let site = site(&format!(
        "{NO_VIDEO}budgets:\n  gif: 1000\n  thumb: 100\n  sprite: 10 MB\n"
    ));
    let page = muscle_page(NAME, FRAMES);
    let (code, doc) = build(&site, &[]);
    assert_eq!(code, 1, "{doc:#}");
    let gif_bytes = size(&site, GIF);
    assert!(gif_bytes > 1000, "the GIF is written all the same");
    let found = diagnostics(&doc);
    let want =
        format!("out/{GIF} is {gif_bytes} bytes, over the gif budget of 1000 bytes (budgets.gif)");
    for file in ["content/muscles/biceps.md", "content/overview.md"] {
        assert!(
            found.contains(&(
                "error".into(),
                file.into(),
                Some(image_line(&page)),
                want.clone()
            )),
            "{file}: {found:#?}"
        );
    }
    // Every thumbnail is over 100 bytes: one error per gallery line of
    // each page, naming the thumbnail.
    for i in 1..=FRAMES {
        let thumb = format!("muscles/png/{NAME}-{i}-thumb.png");
        let line = line_of(&page, &format!("image_url: muscles/png/{NAME}-{i}.png")) as u64;
        let message = format!(
            "out/{thumb} is {} bytes, over the thumb budget of 100 bytes (budgets.thumb)",
            size(&site, &thumb)
        );
        assert!(
            found.contains(&(
                "error".into(),
                "content/overview.md".into(),
                Some(line),
                message
            )),
            "{thumb}: {found:#?}"
        );
    }
    // 2 pages x (1 GIF + 4 thumbnails); the sprite is within 10 MB.
    assert_eq!(doc["errors"], 10, "{found:#?}");

    // Warm: everything is reused, and the build fails the same way.
    let before = tree(&site.out());
    let (code, warm) = build(&site, &[]);
    assert_eq!(code, 1);
    assert_eq!(warm["summary"]["built"], 0, "{warm:#}");
    assert_eq!(diagnostics(&warm), found);
    assert!(changed(&before, &tree(&site.out())).is_empty());
}

#[test]
fn level_warn_reports_a_warning_and_the_build_succeeds() {
    let site = site(&format!(
        "{NO_VIDEO}budgets:\n  sprite: 1 KB\n  level: warn\n"
    ));
    let (code, doc) = build(&site, &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["errors"], 0);
    let sprite = format!("muscles/gif/{NAME}-sprite.png");
    let bytes = size(&site, &sprite);
    let message = format!(
        "out/{sprite} is {:.1} KB ({bytes} bytes), over the sprite budget of 1 KB (budgets.sprite)",
        bytes as f64 / 1000.0
    );
    let warnings: Vec<_> = diagnostics(&doc)
        .into_iter()
        .filter(|d| d.0 == "warning")
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings.iter().all(|d| d.3 == message), "{warnings:#?}");
}

#[test]
fn a_page_budget_replaces_the_global_one_for_that_page() {
    let page = muscle_page(NAME, FRAMES);
    // Global: generous. The overview page's own: too small. A page that
    // does not exist: a warning.
    let site = site(&format!(
        "{NO_VIDEO}budgets:\n  gif: 10 MB\n  pages:\n    overview.md: {{ gif: 2000 }}\n    \
         muscles/nope.md: {{ gif: 1 }}\n"
    ));
    let (code, doc) = build(&site, &[]);
    assert_eq!(code, 1);
    let found = diagnostics(&doc);
    let errors: Vec<_> = found.iter().filter(|d| d.0 == "error").collect();
    assert_eq!(errors.len(), 1, "{found:#?}");
    assert_eq!(errors[0].1, "content/overview.md");
    assert_eq!(errors[0].2, Some(image_line(&page)));
    assert!(
        errors[0]
            .3
            .ends_with("over the gif budget of 2000 bytes (budgets.pages.\"overview.md\".gif)"),
        "{}",
        errors[0].3
    );
    assert!(
        found.iter().any(|d| d.0 == "warning"
            && d.1 == "content/muscles/nope.md"
            && d.3.contains("names no page")),
        "{found:#?}"
    );

    // A page's generous budget does not lift the stricter global one for
    // the other page that uses the same GIF.
    site.configure(&format!(
        "{NO_VIDEO}budgets:\n  gif: 2000\n  pages:\n    overview.md: {{ gif: 10 MB }}\n"
    ));
    let (code, doc) = build(&site, &[]);
    assert_eq!(code, 1);
    let errors: Vec<_> = diagnostics(&doc)
        .into_iter()
        .filter(|d| d.0 == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].1, "content/muscles/biceps.md");
    assert!(errors[0].3.ends_with("(budgets.gif)"), "{}", errors[0].3);
}

#[test]
fn budgets_without_fit_rebuild_nothing() {
    let site = site(NO_VIDEO);
    let (code, _) = build(&site, &[]);
    assert_eq!(code, 0);
    let before = tree(&site.out());
    for yaml in [
        "budgets:\n  gif: 1\n  sprite: 1\n  thumb: 1\n  optimized: 1\n",
        "budgets:\n  gif: 10 MB\n  level: warn\n  pages:\n    overview.md: { gif: 1 }\n",
    ] {
        site.configure(&format!("{NO_VIDEO}{yaml}"));
        let (_, doc) = build(&site, &[]);
        assert_eq!(doc["summary"]["built"], 0, "{yaml}: {doc:#}");
        assert_eq!(doc["changes"], Value::Array(Vec::new()), "{yaml}");
        assert!(doc["errors"].as_u64().unwrap() + doc["warnings"].as_u64().unwrap() > 0);
        assert!(changed(&before, &tree(&site.out())).is_empty(), "{yaml}");
    }
}

#[test]
fn fit_picks_the_best_gif_quality_under_the_budget() {
    // The GIF at the configured quality (90) and at the lowest (1).
    let site = site(&format!("{NO_VIDEO}gif:\n  quality: 1\n"));
    ringed_frames(&site);
    assert_eq!(build(&site, &[]).0, 0);
    let lowest = std::fs::read(site.out().join(GIF)).unwrap();
    site.configure(NO_VIDEO);
    assert_eq!(build(&site, &[]).0, 0);
    let best = std::fs::read(site.out().join(GIF)).unwrap();
    assert!(
        lowest.len() * 3 < best.len() * 2,
        "quality must matter here: {} vs {} bytes",
        lowest.len(),
        best.len()
    );

    // A budget between the two: fitted, and said so at both pages.
    let budget = (lowest.len() + best.len()) / 2;
    let fit = format!("{NO_VIDEO}budgets:\n  gif: {budget}\n  fit: true\n");
    site.configure(&fit);
    let (code, doc) = build(&site, &[]);
    assert_eq!(code, 0, "{doc:#}");
    let changes: Vec<&str> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(changes, [GIF], "only the GIF is fitted");
    let fitted = std::fs::read(site.out().join(GIF)).unwrap();
    assert!(fitted.len() <= budget, "{} > {budget}", fitted.len());
    let frames = gif_frames(&site.out().join(GIF));
    assert_eq!(frames.len(), FRAMES);
    assert!(frames.iter().all(|f| f.dimensions() == (96, 96)));
    let notes: Vec<_> = diagnostics(&doc)
        .into_iter()
        .filter(|d| d.0 == "note")
        .collect();
    assert_eq!(notes.len(), 2, "{notes:#?}");
    let prefix = format!("out/{GIF}: gif.quality lowered from 90 to ");
    let quality: u8 = notes[0]
        .3
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(|| panic!("{}", notes[0].3));
    assert!((1..90).contains(&quality));
    assert!(
        notes[0].3.ends_with(&format!(
            "to fit the gif budget of {budget} bytes (budgets.gif); now {} bytes",
            fitted.len()
        )),
        "{}",
        notes[0].3
    );

    // The same threads or not, the same bytes.
    let clean = tree(&site.out());
    std::fs::remove_dir_all(site.out()).unwrap();
    assert_eq!(build(&site, &["--jobs", "1"]).0, 0);
    assert!(changed(&clean, &tree(&site.out())).is_empty());

    // Warm: nothing rebuilt. A checked-only budget: nothing rebuilt. A
    // new GIF budget: the GIF alone.
    let (_, warm) = build(&site, &[]);
    assert_eq!(warm["summary"]["built"], 0, "{warm:#}");
    site.configure(&format!("{fit}  sprite: 10 MB\n"));
    assert_eq!(build(&site, &[]).1["summary"]["built"], 0);
    site.configure(&fit.replace(&budget.to_string(), &(budget - 1).to_string()));
    let (_, again) = build(&site, &[]);
    assert_eq!(again["changes"].as_array().unwrap().len(), 1, "{again:#}");
    assert_eq!(again["changes"][0]["path"], GIF);

    // The quality it reports gives exactly these bytes without a budget.
    site.configure(&format!("{NO_VIDEO}gif:\n  quality: {quality}\n"));
    assert_eq!(build(&site, &[]).0, 0);
    assert_eq!(std::fs::read(site.out().join(GIF)).unwrap(), fitted);
}

#[test]
fn fit_that_cannot_be_met_keeps_the_smallest_gif_and_fails() {
    let site = site(&format!("{NO_VIDEO}gif:\n  quality: 1\n"));
    ringed_frames(&site);
    assert_eq!(build(&site, &[]).0, 0);
    let lowest = std::fs::read(site.out().join(GIF)).unwrap();

    site.configure(&format!("{NO_VIDEO}budgets:\n  gif: 100\n  fit: true\n"));
    let (code, doc) = build(&site, &[]);
    assert_eq!(code, 1);
    let kept = std::fs::read(site.out().join(GIF)).unwrap();
    assert_eq!(kept, lowest, "the smallest GIF, at gif.quality 1, is kept");
    assert_eq!(gif_frames(&site.out().join(GIF)).len(), FRAMES);
    let errors: Vec<_> = diagnostics(&doc)
        .into_iter()
        .filter(|d| d.0 == "error")
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(
        errors[0].3,
        format!(
            "out/{GIF} is {} bytes, over the gif budget of 100 bytes (budgets.gif), even at \
             the lowest quality budgets.fit tries (gif.quality 1)",
            kept.len()
        )
    );
    // Warm, reused: the same error.
    let (code, warm) = build(&site, &[]);
    assert_eq!((code, &warm["summary"]["built"]), (1, &Value::from(0)));
    assert_eq!(diagnostics(&warm), diagnostics(&doc));
}

#[test]
fn fit_lowers_video_quantizers_until_the_videos_fit() {
    let site = Site::new();
    site.page(PAGE, &muscle_page(NAME, FRAMES));
    site.frames(NAME, FRAMES, 64, 64);
    let webm = GIF.replace(".gif", ".webm");
    let mp4 = GIF.replace(".gif", ".mp4");
    let videos = |site: &Site| [&webm, &mp4].map(|p| std::fs::read(site.out().join(p)).unwrap());
    site.configure(
        // The lowest quality, without the floor that would raise it.
        "video:\n  av1:\n    quantizer: 255\n    quality: 0\n  h264:\n    qp: 51\n    quality: 0\n",
    );
    assert_eq!(build(&site, &[]).0, 0);
    let lowest = videos(&site);
    site.configure("");
    assert_eq!(build(&site, &[]).0, 0);
    let best = videos(&site);
    let budgets: Vec<usize> = lowest
        .iter()
        .zip(&best)
        .map(|(l, b)| {
            assert!(l.len() < b.len(), "{} vs {}", l.len(), b.len());
            (l.len() + b.len()) / 2
        })
        .collect();

    site.configure(&format!(
        "budgets:\n  webm: {}\n  mp4: {}\n  fit: true\n",
        budgets[0], budgets[1]
    ));
    let (code, doc) = build(&site, &[]);
    assert_eq!(code, 0, "{doc:#}");
    let fitted = videos(&site);
    let notes: Vec<String> = diagnostics(&doc)
        .into_iter()
        .filter(|d| d.0 == "note")
        .map(|d| d.3)
        .collect();
    assert_eq!(notes.len(), 2, "{notes:#?}");
    let mut chosen = Vec::new();
    for ((path, key, from), (video, budget)) in [
        (&webm, "video.av1.quantizer", 120),
        (&mp4, "video.h264.qp", 26),
    ]
    .into_iter()
    .zip(fitted.iter().zip(&budgets))
    {
        assert!(video.len() <= *budget, "{path}: {} > {budget}", video.len());
        let prefix = format!("out/{path}: {key} lowered from {from} to ");
        let note = notes
            .iter()
            .find(|n| n.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{prefix}: {notes:#?}"));
        let value: u8 = note[prefix.len()..]
            .split(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert!(value > from, "{note}");
        assert!(
            note.ends_with(&format!("now {} bytes", video.len())),
            "{note}"
        );
        chosen.push(value);
        if let Some(ffprobe) = common::tool("ffprobe") {
            let probe = media::probe(&ffprobe, &site.out().join(path));
            assert_eq!(probe.frames.len(), FRAMES, "{path}");
            assert_eq!((probe.width, probe.height), (64, 64), "{path}");
            assert_eq!(probe.warnings, "", "{path}");
        }
    }

    // The values it reports give exactly these videos without budgets.
    site.configure(&format!(
        "video:\n  av1:\n    quantizer: {}\n  h264:\n    qp: {}\n",
        chosen[0], chosen[1]
    ));
    assert_eq!(build(&site, &[]).0, 0);
    assert!(
        videos(&site) == fitted,
        "a plain build at the chosen values differs"
    );
}

#[test]
fn fit_also_fits_the_video_of_an_existing_gif() {
    // A page showing an animated GIF of its own (no gallery): its MP4 is
    // transcoded from the GIF's frames, decoded again for each QP tried.
    let site = Site::new();
    site.page(
        "methods.md",
        "---\nimages:\n  - image_id: anim\n    image_name: figures/anim.gif\n---\n",
    );
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        for i in 0..FRAMES as u32 {
            let frame = image::RgbaImage::from_fn(64, 64, |x, y| {
                let d =
                    ((x as f32 - 32.0).powi(2) + (y as f32 - 20.0 - i as f32 * 6.0).powi(2)).sqrt();
                image::Rgba([
                    (d * 6.0) as u8,
                    (255.0 - d * 4.0).max(0.0) as u8,
                    (x * 3) as u8,
                    255,
                ])
            });
            encoder.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    site.asset_bytes("figures/anim.gif", &gif);
    let mp4 = "figures/anim.mp4";
    site.configure("video:\n  formats: [mp4]\n  h264:\n    qp: 51\n    quality: 0\n");
    assert_eq!(build(&site, &[]).0, 0);
    let lowest = std::fs::read(site.out().join(mp4)).unwrap();
    // This clip is below the default SSIM floor at qp 26; without the
    // floor, the budget is fitted from the configured qp.
    let mp4_only = "video:\n  formats: [mp4]\n  h264:\n    quality: 0\n";
    site.configure(mp4_only);
    assert_eq!(build(&site, &[]).0, 0);
    let best = std::fs::read(site.out().join(mp4)).unwrap();
    assert!(
        lowest.len() < best.len(),
        "{} vs {}",
        lowest.len(),
        best.len()
    );

    let budget = (lowest.len() + best.len()) / 2;
    site.configure(&format!(
        "{mp4_only}budgets:\n  mp4: {budget}\n  fit: true\n"
    ));
    let (code, doc) = build(&site, &[]);
    assert_eq!(code, 0, "{doc:#}");
    let fitted = std::fs::read(site.out().join(mp4)).unwrap();
    assert!(fitted.len() <= budget);
    let notes: Vec<_> = diagnostics(&doc)
        .into_iter()
        .filter(|d| d.0 == "note")
        .collect();
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(
        (notes[0].1.as_str(), notes[0].2),
        ("content/methods.md", Some(3))
    );
    let prefix = format!("out/{mp4}: video.h264.qp lowered from 26 to ");
    let qp: u8 = notes[0]
        .3
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{}", notes[0].3));
    if let Some(ffprobe) = common::tool("ffprobe") {
        let probe = media::probe(&ffprobe, &site.out().join(mp4));
        assert_eq!(probe.frames.len(), FRAMES);
        assert_eq!(probe.warnings, "");
    }
    site.configure(&format!(
        "video:\n  formats: [mp4]\n  h264:\n    qp: {qp}\n    quality: 0\n"
    ));
    assert_eq!(build(&site, &[]).0, 0);
    assert!(std::fs::read(site.out().join(mp4)).unwrap() == fitted);
}
