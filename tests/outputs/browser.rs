//! The videos where people meet them: headless Chromium opens a page with
//! the model site's exact `<video>` markup over what `build` wrote, and
//! reports which source it plays, its duration, and its first frame drawn
//! to a canvas, compared with the source frame.

use crate::common;

use assetmill::BuildOptions;
use assetmill::progress::Quiet;
use common::{Site, muscle_page};
use image::{Rgb, RgbImage};
use std::collections::BTreeMap;

/// Saturated colour bands, where a wrong matrix or range shows at once.
fn bands(width: u32, height: u32, seed: u32) -> RgbImage {
    const COLOURS: [[u8; 3]; 6] = [
        [220, 40, 40],
        [40, 180, 60],
        [40, 70, 220],
        [240, 200, 40],
        [150, 60, 170],
        [90, 90, 90],
    ];
    RgbImage::from_fn(width, height, |x, y| {
        let band = ((x + seed * 7) * 6 / width) as usize % 6;
        let shade = (y * 40 / height) as u8;
        Rgb(COLOURS[band].map(|c| c.saturating_add(shade)))
    })
}

/// The template's page-image include for a `.gif`, verbatim in shape: the
/// WebM first, then the MP4, the GIF only as the inner fallback.
fn video_markup(base: &str, alt: &str, sources: &[&str]) -> String {
    let mut s = String::from("<video autoplay loop muted playsinline>\n");
    for ext in sources {
        s.push_str(&format!(
            "  <source src=\"/{base}.{ext}\" type=\"video/{ext}\">\n"
        ));
    }
    s.push_str(&format!(
        "  <img src=\"/{base}.gif\" alt=\"{alt}\">\n</video>\n"
    ));
    s
}

const SCRIPT: &str = r#"
<canvas id="c"></canvas><canvas id="r"></canvas>
<script>
const v = document.querySelector('video');
const send = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
setTimeout(() => send({error: 'timeout', readyState: v.readyState,
  networkState: v.networkState, src: v.currentSrc}), 30000);
const once = (el, ev) => new Promise(r => el.addEventListener(ev, r, {once: true}));
(async () => {
  if (v.readyState < 2) await once(v, 'loadeddata');
  v.pause();
  v.currentTime = 0;
  await once(v, 'seeked');
  const w = v.videoWidth, h = v.videoHeight;
  const draw = (id, src) => {
    const c = document.getElementById(id); c.width = w; c.height = h;
    const g = c.getContext('2d'); g.drawImage(src, 0, 0, w, h);
    return g.getImageData(0, 0, w, h).data;
  };
  const ref = new Image(); ref.src = '/reference.png'; await ref.decode();
  const a = draw('c', v), b = draw('r', ref);
  let abs = 0, bias = [0, 0, 0], n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) { abs += Math.abs(a[i + c] - b[i + c]); bias[c] += a[i + c] - b[i + c]; }
    n++;
  }
  send({src: v.currentSrc, duration: v.duration, width: w, height: h,
        mean_abs: abs / (3 * n), bias: bias.map(x => x / n)});
})().catch(e => send({error: String(e)}));
</script>
"#;

#[derive(serde::Deserialize, Debug)]
struct Seen {
    error: Option<String>,
    src: Option<String>,
    duration: Option<f64>,
    width: Option<u32>,
    height: Option<u32>,
    mean_abs: Option<f64>,
    bias: Option<[f64; 3]>,
}

fn open(site: &Site, base: &str, sources: &[&str], reference: &RgbImage) -> Option<Seen> {
    let page = format!(
        "<!doctype html><html><body>\n{}{SCRIPT}</body></html>",
        video_markup(base, "The Arm-Biceps Brachii muscle", sources)
    );
    let mut extra = BTreeMap::new();
    extra.insert("page.html".to_owned(), page.into_bytes());
    extra.insert("reference.png".to_owned(), common::png_bytes(reference));
    let body = common::browser::report(&site.out(), extra, "page.html")?;
    let seen: Seen = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert!(seen.error.is_none(), "Chromium: {body}");
    Some(seen)
}

#[test]
fn chromium_plays_the_webm_through_the_templates_markup_with_the_right_duration_and_colours() {
    let site = Site::new();
    let name = "Arm-Biceps Brachii";
    site.page("muscles/biceps.md", &muscle_page(name, 6));
    for i in 1..=6 {
        let png = common::png_bytes(&bands(160, 120, i));
        site.asset_bytes(&format!("muscles/png/{name}-{i}.png"), &png);
    }
    let mut config = site.config();
    config.gif.delay_ms = 70;
    let outcome = assetmill::build(&config, BuildOptions::default(), &Quiet).unwrap();
    assert!(
        !outcome.report.has_errors(),
        "{:?}",
        outcome.report.diagnostics
    );

    let base = format!("muscles/gif/{name}");
    let reference = bands(160, 120, 1);
    let Some(seen) = open(&site, &base, &["webm", "mp4"], &reference) else {
        return;
    };
    // Chromium plays the first source it can: the AV1 WebM.
    let src = seen.src.clone().unwrap();
    assert!(src.ends_with("Arm-Biceps%20Brachii.webm"), "{seen:?}");
    assert_eq!((seen.width, seen.height), (Some(160), Some(120)));
    // Six frames of 70 ms, the last one's included.
    let duration = seen.duration.unwrap();
    assert!((duration - 0.42).abs() < 0.002, "{seen:?}");
    // The colours are the source's: no matrix, range or gamma shift (each
    // would move saturated colours by 10 levels or more); what is left is
    // compression and 4:2:0 chroma at the bands' hard edges.
    let (mean_abs, bias) = (seen.mean_abs.unwrap(), seen.bias.unwrap());
    assert!(mean_abs < 6.0, "{seen:?}");
    assert!(bias.iter().all(|b| b.abs() < 1.5), "{seen:?}");

    // The MP4, which browsers without AV1 fall through to, plays too.
    let seen = open(&site, &base, &["mp4"], &reference).unwrap();
    assert!(seen.src.clone().unwrap().ends_with(".mp4"), "{seen:?}");
    assert!((seen.duration.unwrap() - 0.42).abs() < 0.002, "{seen:?}");
    assert!(seen.mean_abs.unwrap() < 6.0, "{seen:?}");
    assert!(seen.bias.unwrap().iter().all(|b| b.abs() < 1.5), "{seen:?}");
}

/// Installed first in `<head>`: records every script error and rejected
/// promise from the report's own code onwards.
const WATCH: &str = r#"<script>
window.__errors = [];
addEventListener('error', (e) => __errors.push(String(e.message || e.type)), true);
addEventListener('unhandledrejection', (e) => __errors.push(String(e.reason)));
</script>"#;

/// Appended after the report's script: loads every image, video and link
/// the report shows (lazy ones included), presses the arrow key in the
/// first 360° viewer, tries the filter, and POSTs what it found.
const CHECK: &str = r#"<script>
const send = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
setTimeout(() => send({timeout: true, errors: __errors}), 60000);
const loads = (src) => new Promise((done) => {
  const i = new Image();
  i.onload = () => done(i.naturalWidth > 0);
  i.onerror = () => done(false);
  i.src = src;
});
const plays = (src) => new Promise((done) => {
  const v = document.createElement('video');
  v.muted = true; v.preload = 'metadata';
  v.onloadedmetadata = () => done(v.videoWidth > 0 && v.duration > 0);
  v.onerror = () => done(false);
  v.src = src;
});
(async () => {
  const broken = [];
  const imgs = [...document.querySelectorAll('img')];
  for (const img of imgs) if (!(await loads(img.src))) broken.push(img.src);
  const sources = [...document.querySelectorAll('video source')];
  for (const s of sources) if (!(await plays(s.src))) broken.push(s.src);
  const links = [...document.querySelectorAll('a[href]')];
  for (const a of links) {
    const href = a.getAttribute('href');
    if (href.startsWith('#')) {
      if (!document.getElementById(href.slice(1))) broken.push(href);
    } else if (!(await fetch(a.href)).ok) broken.push(a.href);
  }
  const problems = [...document.querySelectorAll('li.problem')].map((li) => li.textContent);
  const spin = document.querySelector('.spin');
  spin.focus();
  const sheet = spin.querySelector('img');
  const before = [sheet.style.transform, spin.getAttribute('aria-valuenow')];
  spin.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true, cancelable: true}));
  const after = [sheet.style.transform, spin.getAttribute('aria-valuenow')];
  // Where the sheet sits now, against the second cell's rectangle.
  const cell = spin.dataset.cells.split(';')[1].split(',').map(Number);
  const shown = spin.getBoundingClientRect(), img = sheet.getBoundingClientRect();
  const scale = img.width / Number(spin.dataset.width);
  const offset = [(shown.left - img.left) / scale, (shown.top - img.top) / scale];
  const filter = document.getElementById('filter');
  filter.value = 'methods';
  filter.dispatchEvent(new Event('input'));
  const visible = () => [...document.querySelectorAll('article.page')].filter((a) => !a.hidden).length;
  const filtered = visible();
  filter.value = '';
  filter.dispatchEvent(new Event('input'));
  document.getElementById('only-problems').click();
  const onlyProblems = visible();
  send({errors: __errors, images: imgs.length, videos: sources.length, links: links.length,
        broken, problems, before, after, cell, offset, filtered, onlyProblems,
        pages: document.querySelectorAll('article.page').length});
})().catch((e) => send({errors: [...__errors, String(e)]}));
</script>"#;

#[derive(serde::Deserialize, Debug)]
struct ReportSeen {
    errors: Vec<String>,
    timeout: Option<bool>,
    images: Option<usize>,
    videos: Option<usize>,
    links: Option<usize>,
    broken: Option<Vec<String>>,
    problems: Option<Vec<String>>,
    before: Option<[String; 2]>,
    after: Option<[String; 2]>,
    cell: Option<[f64; 4]>,
    offset: Option<[f64; 2]>,
    filtered: Option<usize>,
    #[serde(rename = "onlyProblems")]
    only_problems: Option<usize>,
    pages: Option<usize>,
}

#[test]
fn the_review_report_opens_in_chromium_with_no_broken_link_and_its_viewer_turns() {
    let site = Site::new();
    let name = "Arm-Biceps Brachii";
    site.page("muscles/biceps.md", &muscle_page(name, 6));
    for i in 1..=6 {
        let png = common::png_bytes(&bands(96, 64, i));
        site.asset_bytes(&format!("muscles/png/{name}-{i}.png"), &png);
    }
    let methods = "---\nimages:\n  - image_id: 'a'\n    image_name: 'figures/missing.png'\n    \
                   image_alt: 'Not there'\n---\n";
    site.page("methods.md", methods);
    let out = site.run(&["build"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the missing file fails the build"
    );
    let report = std::fs::read_to_string(site.out().join(".assetmill/report.html")).unwrap();

    // A screenshot of the report opened from disk, kept as a test artifact.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("review-report.png");
    if let Some(chromium) = common::tool("chromium") {
        let profile = tempfile::tempdir().unwrap();
        let status = std::process::Command::new(chromium)
            .args(common::browser::CHROMIUM_FLAGS)
            .args([
                "--hide-scrollbars",
                "--window-size=1200,1600",
                "--virtual-time-budget=5000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!(
                "file://{}",
                site.out().join(".assetmill/report.html").display()
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let image = image::open(&shot).unwrap().to_rgb8();
        let colours: std::collections::BTreeSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
        assert!(
            colours.len() > 50,
            "the screenshot is blank: {}",
            shot.display()
        );
        eprintln!("screenshot: {}", shot.display());
    }

    let page = report
        .replacen("<head>", &format!("<head>\n{WATCH}"), 1)
        .replacen("</body>", &format!("{CHECK}\n</body>"), 1);
    let mut extra = BTreeMap::new();
    extra.insert(
        ".assetmill/report-under-test.html".to_owned(),
        page.into_bytes(),
    );
    let Some(body) =
        common::browser::report(&site.out(), extra, ".assetmill/report-under-test.html")
    else {
        return;
    };
    let seen: ReportSeen = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert!(seen.errors.is_empty() && seen.timeout.is_none(), "{seen:?}");
    // GIF, sprite sheet and 6 thumbnails; WebM and MP4; every link.
    assert_eq!(seen.images, Some(8), "{seen:?}");
    assert_eq!(seen.videos, Some(2), "{seen:?}");
    assert!(seen.links.unwrap() > 10, "{seen:?}");
    assert_eq!(seen.broken.as_deref(), Some(&[][..]), "{seen:?}");
    let problems = seen.problems.clone().unwrap();
    let line = common::line_of(methods, "image_id: 'a'");
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("content/methods.md:{line}"))
                && p.contains("figures/missing.png")
                && p.contains("error")),
        "{problems:?}"
    );
    // The arrow key moves the viewer to the second frame, and the sheet
    // now shows exactly that frame's cell.
    let (before, after) = (seen.before.clone().unwrap(), seen.after.clone().unwrap());
    assert_eq!(before[1], "1");
    assert_eq!(after[1], "2");
    assert_ne!(before[0], after[0]);
    let (cell, offset) = (seen.cell.unwrap(), seen.offset.unwrap());
    assert!(
        (offset[0] - cell[0]).abs() < 1.0 && (offset[1] - cell[1]).abs() < 1.0,
        "{seen:?}"
    );
    // The filter and the problems toggle.
    assert_eq!(seen.pages, Some(2));
    assert_eq!(seen.filtered, Some(1));
    assert_eq!(seen.only_problems, Some(1));
}
