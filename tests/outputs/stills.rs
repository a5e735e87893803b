//! Still variants (`stills:`): every selected still at every width in
//! WebP beside its optimized original, decoded by another decoder and
//! measured by the tests' own SSIM against the tests' own resize; the
//! asset map's records and `srcset` strings; warm builds stay warm; no
//! variant unless configured.

use crate::common;
use crate::quality::{lanczos, reference_ssim};

use assetmill::config::{StillFormat, StillQuality, StillRole};
use assetmill::internals::resize;
use common::{Site, alpha_frame, build, muscle_page, png_rgba_bytes};
use image::RgbaImage;
use serde_json::Value;

/// A gallery page with 3 RGBA frames of 200x150 (a name with a space),
/// and a page with a still PNG of 300x200 and a GIF page image.
fn site() -> Site {
    let site = Site::new();
    site.page("muscles/biceps.md", &muscle_page("Arm-Biceps Brachii", 3));
    for i in 1..=3 {
        site.asset_bytes(
            &format!("muscles/png/Arm-Biceps Brachii-{i}.png"),
            &png_rgba_bytes(&alpha_frame(200, 150, i)),
        );
    }
    site.page(
        "figures.md",
        "---\nimages:\n  - image_id: fig\n    image_name: figures/plate.png\n    image_alt: Plate\n  \
         - image_id: anim\n    image_name: figures/turn.gif\n    image_alt: Turn\n---\n",
    );
    site.asset_bytes(
        "figures/plate.png",
        &png_rgba_bytes(&alpha_frame(300, 200, 7)),
    );
    site.asset_bytes(
        "figures/turn.gif",
        &common::indexed_gif(32, 32, 2, &[200, 10, 10, 10, 10, 200], |x, _, f| {
            ((x / 8 + f) % 2) as u8
        }),
    );
    site
}

fn config(site: &Site, quality: StillQuality) -> assetmill::Config {
    let mut config = site.config();
    config.video.formats.clear();
    config.stills.roles = vec![StillRole::Gallery, StillRole::Page];
    config.stills.widths = vec![100, 250];
    config.stills.formats = vec![StillFormat::Webp];
    config.stills.quality = quality;
    config
}

fn source(site: &Site, key: &str) -> RgbaImage {
    image::open(site.images().join(key)).unwrap().into_rgba8()
}

/// Checks the variants of `key` (source `width` x `height`): names,
/// decoded sizes, SSIM against the tests' own resize and measure (within
/// 0.005 of the map's), and the `srcset`. Returns the map's SSIMs.
fn check_variants(site: &Site, map: &Value, key: &str, (width, height): (u32, u32)) -> Vec<f64> {
    let asset = &map["assets"][key];
    let stem = key.trim_end_matches(".png");
    let want: Vec<(String, u32)> = [
        (format!("{stem}-100w.webp"), 100),
        (format!("{stem}-250w.webp"), 250.min(width)),
        (format!("{stem}-full.webp"), width),
    ]
    .into();
    let stills: Vec<&Value> = (asset["outputs"].as_array().unwrap().iter())
        .filter(|o| o["role"] == "still")
        .collect();
    let paths: Vec<&str> = stills.iter().map(|o| o["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        want.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>()
    );
    let original = source(site, key);
    let mut figures = Vec::new();
    for (o, (path, w)) in stills.iter().zip(&want) {
        let bytes = std::fs::read(site.out().join(path)).unwrap();
        assert_eq!(o["bytes"], bytes.len(), "{path}");
        assert_eq!(o["hash"], assetmill::assetmap::hash(&bytes));
        assert_eq!(o["format"], "webp");
        let h = (u64::from(height) * u64::from(*w) + u64::from(width) / 2) / u64::from(width);
        let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP)
            .unwrap()
            .into_rgba8();
        assert_eq!(decoded.dimensions(), (*w, h as u32), "{path}");
        assert_eq!(
            (o["width"].as_u64(), o["height"].as_u64()),
            (Some(u64::from(*w)), Some(h))
        );
        // Alpha is kept losslessly: exactly the pipeline's resize of it.
        let resized = resize::to_width(&original, *w);
        for (d, r) in decoded.pixels().zip(resized.pixels()) {
            assert_eq!(d[3], r[3], "{path}: alpha");
        }
        let reference = lanczos(&original, *w, h as u32);
        let ours = reference_ssim(&decoded, &reference);
        let recorded = o["ssim"].as_f64().unwrap();
        assert!(
            (ours - recorded).abs() < 0.005,
            "{path}: {ours} vs {recorded}"
        );
        figures.push(recorded);
    }
    // Each distinct width once, narrowest first, URL-safe.
    let url = stem.replace(' ', "%20");
    let widths: Vec<u32> = {
        let mut w: Vec<u32> = want.iter().map(|(_, w)| *w).collect();
        w.dedup();
        w
    };
    let names = ["100w", "250w", "full"];
    let expected: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| format!("{url}-{}.webp {w}w", names[i]))
        .collect();
    assert_eq!(asset["srcset"]["webp"], expected.join(", "), "{key}");
    figures
}

#[test]
fn selected_stills_get_webp_variants_at_each_width_with_srcset_data() {
    let site = site();
    let config_at = config;
    let config = config_at(&site, StillQuality::Fixed(80));
    let outcome = build(&config);
    assert!(
        outcome.report.diagnostics.is_empty(),
        "{:?}",
        outcome.report.diagnostics
    );
    let map = site.asset_map();
    for i in 1..=3 {
        let key = format!("muscles/png/Arm-Biceps Brachii-{i}.png");
        for s in check_variants(&site, &map, &key, (200, 150)) {
            assert!(s > 0.95, "{key}: {s}");
        }
    }
    check_variants(&site, &map, "figures/plate.png", (300, 200));
    // Not a still: the GIF page image and the assembled animation.
    for key in ["figures/turn.gif", "muscles/gif/Arm-Biceps Brachii.gif"] {
        let asset = &map["assets"][key];
        assert!(asset.is_object(), "{key}");
        assert!(asset.get("srcset").is_none(), "{key}");
        assert!(
            (asset["outputs"].as_array().unwrap().iter()).all(|o| o["role"] != "still"),
            "{key}"
        );
    }
    assert!(
        outcome
            .summary
            .stages
            .contains_key(&assetmill::Stage::Still)
    );

    // Warm: nothing is made again.
    let warm = build(&config);
    assert_eq!(warm.summary.built, 0);
    // Another quality remakes the variants only.
    let lower = build(&config_at(&site, StillQuality::Fixed(40)));
    assert_eq!(
        lower.summary.built,
        4 * 3 + 1,
        "the variants and the asset map"
    );
}

#[test]
fn an_ssim_target_gives_each_variant_what_it_needs_and_no_more() {
    let site = site();
    let high = build(&config(&site, StillQuality::Target { ssim: 0.995 }));
    assert!(high.report.diagnostics.is_empty());
    let map = site.asset_map();
    let bytes = |map: &Value| -> u64 {
        (map["assets"].as_object().unwrap().values())
            .flat_map(|a| a["outputs"].as_array().unwrap().clone())
            .filter(|o| o["role"] == "still")
            .map(|o| o["bytes"].as_u64().unwrap())
            .sum()
    };
    let high_bytes = bytes(&map);
    for s in check_variants(&site, &map, "figures/plate.png", (300, 200)) {
        assert!(s >= 0.995, "{s}");
    }
    build(&config(&site, StillQuality::Target { ssim: 0.97 }));
    let map = site.asset_map();
    for s in check_variants(&site, &map, "figures/plate.png", (300, 200)) {
        assert!((0.97..0.995).contains(&s), "{s}: no more than it needs");
    }
    assert!(bytes(&map) < high_bytes);
}

#[test]
fn without_stills_in_the_config_no_variant_is_made() {
    let site = site();
    let mut config = site.config();
    config.video.formats.clear();
    build(&config);
    let webps: Vec<_> = common::tree(&site.out())
        .into_keys()
        .filter(|p| p.ends_with(".webp"))
        .collect();
    assert!(webps.is_empty(), "{webps:?}");
    assert!(
        (site.asset_map()["assets"].as_object().unwrap().values())
            .all(|a| a.get("srcset").is_none())
    );
}

/// Renders a page using the sample's `<picture>` include for
/// `figures/Plate one.png` (a 600x400 RGBA plate) with the real Jekyll,
/// from the data copy of the map `config` builds, and returns the folder
/// to serve (the site, `out/` under /img/) and the rendered HTML. `None`
/// when jekyll is missing outside CI.
fn picture_site(
    site: &Site,
    config: &mut assetmill::Config,
    script: &str,
) -> Option<(std::path::PathBuf, String)> {
    let jekyll = common::tool("jekyll")?;
    site.page(
        "figures.md",
        "---\nimages:\n  - image_id: fig\n    image_name: figures/Plate one.png\n    image_alt: Plate\n---\n",
    );
    site.asset_bytes(
        "figures/Plate one.png",
        &png_rgba_bytes(&alpha_frame(600, 400, 3)),
    );
    // The Jekyll site: its data copy of the map, the include as shipped,
    // `out/` published at /img/, and a page using the include.
    let jekyll_src = site.root().join("jekyll");
    config.asset_map.data_copy = Some(jekyll_src.join("_data/assets.yml"));
    build(config);
    let include = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content/_includes/picture.html"),
    )
    .unwrap();
    common::write(&jekyll_src.join("_includes/picture.html"), &include);
    common::write(&jekyll_src.join("_config.yml"), b"urlimg: /img/\n");
    common::write(
        &jekyll_src.join("index.html"),
        format!(
            "---\n---\n<!doctype html><html><body style=\"margin:0\">\n\
             {{% include picture.html src=\"figures/Plate one.png\" alt=\"Plate\" \
             sizes=\"(max-width: 700px) 240px, 480px\" loading=\"eager\" %}}\n{script}</body></html>\n"
        )
        .as_bytes(),
    );
    let rendered = site.root().join("rendered");
    let out = std::process::Command::new(&jekyll)
        .arg("build")
        .arg("--source")
        .arg(&jekyll_src)
        .arg("--destination")
        .arg(&rendered)
        .output()
        .expect("run jekyll");
    assert!(out.status.success(), "jekyll build: {out:?}");
    let html = std::fs::read_to_string(rendered.join("index.html")).unwrap();
    // Serve the rendered site with out/ under /img/.
    let served = site.root().join("served");
    for (rel, bytes) in common::tree(&rendered) {
        common::write(&served.join(rel), &bytes);
    }
    for (rel, bytes) in common::tree(&site.out()) {
        common::write(&served.join("img").join(rel), &bytes);
    }
    Some((served, html))
}

/// Reports the `<picture>`'s chosen candidate, its decoded size and the
/// page's `<source>` elements; with `pixels`, also the decoded image
/// drawn on a canvas (RGBA values).
fn report_script(pixels: bool) -> String {
    let draw = if pixels {
        "const c = document.createElement('canvas'); c.width = img.naturalWidth; \
         c.height = img.naturalHeight; const g = c.getContext('2d'); g.drawImage(img, 0, 0); \
         report.pixels = Array.from(g.getImageData(0, 0, c.width, c.height).data);"
    } else {
        ""
    };
    format!(
        r#"<script>
const img = document.querySelector('picture img');
function send() {{
  const report = {{
    src: img.currentSrc, natural: img.naturalWidth, complete: img.complete,
    width: img.getAttribute('width'), height: img.getAttribute('height'),
    srcset: img.getAttribute('srcset'),
    sources: [...document.querySelectorAll('picture source')].map(s => [s.type, s.srcset]) }};
  if (img.naturalWidth) {{ {draw} }}
  fetch('/report', {{ method: 'POST', body: JSON.stringify(report) }});
}}
if (img.complete && img.naturalWidth) send(); else {{ img.onload = send; img.onerror = send; }}
</script>"#
    )
}

/// The sample's `<picture>` include, rendered by the real Jekyll from the
/// asset map's data copy and opened in headless Chromium at two viewport
/// widths and two pixel ratios: `currentSrc` is the candidate the
/// browser's own rule picks among the variants, and the image decodes.
#[test]
fn the_picture_include_renders_in_jekyll_and_chromium_picks_each_candidate() {
    let site = Site::new();
    let mut config = config(&site, StillQuality::Fixed(80));
    config.stills.widths = vec![240, 480];
    let Some((served, html)) = picture_site(&site, &mut config, &report_script(false)) else {
        return;
    };
    assert!(
        html.contains(
            r#"<img src="/img/figures/Plate%20one.png" alt="Plate" width="600" height="400""#
        ),
        "{html}"
    );
    // sizes: a 240 px slot below 700 px of viewport, else 480 px. Blink
    // takes the first candidate whose density reaches the pixel ratio,
    // or the one below it when the ratio is under the two's geometric
    // mean (and the widest when none reaches it).
    for ((viewport, ratio), want) in [
        ((600, 1), "240w"),
        ((600, 2), "480w"),
        ((1000, 1), "480w"),
        ((1000, 2), "full"),
    ] {
        let flags = [
            format!("--window-size={viewport},800"),
            format!("--force-device-scale-factor={ratio}"),
        ];
        let Some(body) =
            crate::common::browser::report_with(&served, Default::default(), "index.html", &flags)
        else {
            return;
        };
        let got: Value = serde_json::from_str(&body).unwrap();
        let sources = got["sources"].as_array().unwrap();
        assert_eq!(sources.len(), 1, "{got}");
        assert_eq!(sources[0][0], "image/webp");
        assert_eq!(got["srcset"], Value::Null, "no original variants: {got}");
        let expect = format!("/img/figures/Plate%20one-{want}.webp");
        assert!(
            got["src"].as_str().unwrap().ends_with(&expect),
            "{viewport} px at {ratio}x: {got}"
        );
        // Decoded: its natural width is the slot's (a `w` candidate's
        // density is its width over the slot).
        let slot = if viewport < 700 { 240 } else { 480 };
        assert_eq!(got["natural"], slot, "{got}");
        assert_eq!(got["complete"], true);
    }
}

/// AVIF, WebP and the original format together: the include lists AVIF
/// first, WebP next and the PNG candidates (the optimized original as the
/// widest) on the `<img>`; Chromium picks the AVIF, and the pixels it
/// decodes (its own AV1 decoder, dav1d) measure within 0.005 of the SSIM
/// the asset map records, which assetmill took from rav1e's reconstruction.
#[test]
fn chromium_decodes_the_avif_variant_to_the_pixels_the_asset_map_measured() {
    let site = Site::new();
    let mut config = config(&site, StillQuality::Fixed(60));
    config.stills.widths = vec![240, 480];
    config.stills.formats = vec![StillFormat::Avif, StillFormat::Webp, StillFormat::Original];
    config.stills.avif.speed = 10;
    let Some((served, html)) = picture_site(&site, &mut config, &report_script(true)) else {
        return;
    };
    let map = site.asset_map();
    let asset = &map["assets"]["figures/Plate one.png"];
    let url = "figures/Plate%20one";
    assert_eq!(
        asset["srcset"]["png"],
        format!("{url}-240w.png 240w, {url}-480w.png 480w, {url}.png 600w")
    );
    assert!(!site.out().join("figures/Plate one-full.png").exists());
    let original = source(&site, "figures/Plate one.png");
    for w in [240u32, 480] {
        let path = format!("figures/Plate one-{w}w.png");
        let png = image::open(site.out().join(&path)).unwrap().into_rgba8();
        assert_eq!(png, resize::to_width(&original, w), "{path} is lossless");
    }
    assert!(
        html.contains(r#"srcset="/img/figures/Plate%20one-240w.png 240w"#),
        "{html}"
    );
    let flags = [
        "--window-size=1000,800".to_owned(),
        "--force-device-scale-factor=1".to_owned(),
    ];
    let Some(body) =
        crate::common::browser::report_with(&served, Default::default(), "index.html", &flags)
    else {
        return;
    };
    let got: Value = serde_json::from_str(&body).unwrap();
    let types: Vec<&str> = (got["sources"].as_array().unwrap().iter())
        .map(|s| s[0].as_str().unwrap())
        .collect();
    assert_eq!(types, ["image/avif", "image/webp"], "{got}");
    assert!(
        got["src"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/img/{url}-480w.avif")),
        "{got}"
    );
    assert_eq!(
        (got["natural"].as_u64(), got["complete"].as_bool()),
        (Some(480), Some(true))
    );
    let raw: Vec<u8> = (got["pixels"].as_array().unwrap().iter())
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    let decoded = RgbaImage::from_raw(480, 320, raw).expect("480x320 RGBA from the canvas");
    let record = (asset["outputs"].as_array().unwrap().iter())
        .find(|o| o["path"] == "figures/Plate one-480w.avif")
        .unwrap();
    assert_eq!(record["format"], "avif");
    let recorded = record["ssim"].as_f64().unwrap();
    let resized = resize::to_width(&original, 480);
    let chromium = assetmill::internals::ssim::mean_ssim(&decoded, &resized);
    assert!(
        (chromium - recorded).abs() < 0.005 && recorded < 0.999,
        "Chromium's decode {chromium} vs the map's {recorded}"
    );
    // Alpha survives, lossy only along the disc's edge: under 1 % of the
    // pixels more than 8 levels off, and none by half the range.
    let diffs: Vec<u8> = (decoded.pixels().zip(resized.pixels()))
        .map(|(a, b)| a[3].abs_diff(b[3]))
        .collect();
    let off = diffs.iter().filter(|&&d| d > 8).count();
    assert!(off * 100 < diffs.len(), "{off} alpha values off");
    assert!(diffs.iter().all(|&d| d < 128));
}

#[test]
fn shards_and_merge_write_the_variants_a_single_build_writes() {
    let site = site();
    site.configure("video:\n  formats: []\nstills:\n  roles: [gallery, page]\n  widths: [100]\n");
    let run = |args: &[&str]| {
        let out = site.run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
    };
    for i in 1..=2 {
        run(&[
            "--out",
            &format!("s{i}"),
            "build",
            "--quiet",
            "--shard",
            &format!("{i}/2"),
        ]);
    }
    run(&["--out", "merged", "merge", "s1", "s2"]);
    run(&["--out", "single", "build", "--quiet"]);
    let files = |dir: &str| {
        let mut tree = common::tree(&site.root().join(dir));
        tree.retain(|p, _| !p.starts_with(".assetmill"));
        tree
    };
    let (merged, single) = (files("merged"), files("single"));
    assert_eq!(
        merged.keys().collect::<Vec<_>>(),
        single.keys().collect::<Vec<_>>()
    );
    assert_eq!(merged, single);
    assert_eq!(
        merged.keys().filter(|p| p.ends_with(".webp")).count(),
        4 * 2,
        "two variants of each of the 4 stills"
    );
    assert!(String::from_utf8_lossy(&merged["assets.json"]).contains("\"srcset\""));
}

#[test]
fn a_still_budget_holds_each_variant_at_the_pages_line() {
    let site = site();
    site.configure(
        "video:\n  formats: []\nstills:\n  roles: [page]\n  widths: [100]\nbudgets:\n  still: 500\n",
    );
    let (code, doc) = site.json(&["-q", "build", "--format", "json"]);
    assert_eq!(code, 1, "{doc:#}");
    let over: Vec<_> = common::diagnostics(&doc)
        .into_iter()
        .filter(|d| d.3.contains("budgets.still"))
        .collect();
    // The plate's two variants, at the line that lists it; the full-size
    // one is over 500 bytes (the 100 px one may not be).
    assert!(!over.is_empty(), "{doc:#}");
    for (file, line, severity, message) in &over {
        assert!(file.ends_with("figures.md"), "{file}");
        assert_eq!(*line, 3);
        assert_eq!(severity, "error");
        assert!(message.contains("figures/plate-"), "{message}");
    }
    assert!(over.iter().any(|d| d.3.contains("plate-full.webp")));
}

#[test]
fn paths_narrow_which_selected_images_get_variants() {
    let site = site();
    let mut config = config(&site, StillQuality::Fixed(80));
    config.stills.paths = vec!["figures/**".into()];
    build(&config);
    let webps: Vec<String> = common::tree(&site.out())
        .into_keys()
        .filter(|p| p.ends_with(".webp"))
        .collect();
    assert_eq!(
        webps,
        [
            "figures/plate-100w.webp",
            "figures/plate-250w.webp",
            "figures/plate-full.webp"
        ]
    );
}
