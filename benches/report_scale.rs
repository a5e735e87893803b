//! How fast the review report opens for a site the size of the real atlas:
//! a measurement, not a test (`benches/report_scale.sh` runs it, with
//! `SCALE_PAGES` and `SCALE_SIZE`; `SCALE_DIR` keeps the site between runs).
//!
//! A site of 230 animations x 16 frames, each muscle page reused by an
//! overview page (460 pages), is built, and headless Chromium reports how
//! long its review report takes to open and what it fetched up front. Not
//! run by a plain `cargo bench -p assetmill-benches` (`bench = false`): it needs `chromium`, and
//! the site takes minutes to build.

// The integration tests' server and Chromium runner (they use all of it).
#[allow(dead_code)]
#[path = "../tests/common/browser.rs"]
mod browser;

use assetmill::BuildOptions;
use assetmill::progress::Quiet;
use assetmill::synth::{self, SynthOptions};
use assetmill::testsupport::tool;
use std::collections::BTreeMap;

fn main() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    // SCALE_DIR keeps the site between runs (synth keeps existing files and
    // the build is warm), for measuring the report alone.
    let temp = tempfile::tempdir().unwrap();
    let root = std::env::var_os("SCALE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_owned());
    let opts = SynthOptions {
        pages: env("SCALE_PAGES", 230) as usize,
        frames: 16,
        size: env("SCALE_SIZE", 96) as u32,
        alpha: false,
        seed: 1,
        scene: Default::default(),
    };
    synth::synth_site(&root, &opts, &Quiet).unwrap();
    let config = assetmill::Config::for_site(&root);
    std::fs::create_dir_all(config.content.join("overview")).unwrap();
    for entry in std::fs::read_dir(config.content.join("muscles")).unwrap() {
        let path = entry.unwrap().path();
        let overview = config
            .content
            .join("overview")
            .join(path.file_name().unwrap());
        std::fs::copy(&path, overview).unwrap();
    }
    let started = std::time::Instant::now();
    let outcome = assetmill::build(&config, BuildOptions::default(), &Quiet).unwrap();
    eprintln!(
        "build: {} pages, {} outputs built, {} reused, in {:.1} s",
        outcome.report.summary.pages,
        outcome.summary.built,
        outcome.summary.reused,
        started.elapsed().as_secs_f64()
    );
    let report = std::fs::read_to_string(outcome.review.as_ref().unwrap()).unwrap();
    const TIMING: &str = r#"<script>
addEventListener('load', () => setTimeout(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const fetched = performance.getEntriesByType('resource');
  fetch('/report', {method: 'POST', body: JSON.stringify({
    dom_content_loaded_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
    first_paint_ms: fcp ? fcp.startTime : null, fetched_up_front: fetched.length,
    images: document.images.length, videos: document.querySelectorAll('video').length,
    sections: document.querySelectorAll('article.page').length})});
}, 0));
</script>"#;
    let page = report.replacen("</body>", &format!("{TIMING}\n</body>"), 1);
    let mut extra = BTreeMap::new();
    extra.insert(".assetmill/timed.html".to_owned(), page.into_bytes());
    let body = browser::report(&config.out, extra, ".assetmill/timed.html")
        .expect("report_scale needs chromium");
    eprintln!("report: {} bytes of HTML", report.len());
    eprintln!("chromium: {body}");
}
