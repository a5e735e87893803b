//! The videos where people meet them: headless Chromium opens a page with
//! the model site's exact `<video>` markup over what `build` wrote, and
//! reports which source it plays, its duration, and its first frame drawn
//! to a canvas, compared with the source frame.

mod common;

use assetmill::pipeline::{self, BuildOptions};
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
    let outcome = pipeline::build(&config, BuildOptions::default(), &Quiet).unwrap();
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
