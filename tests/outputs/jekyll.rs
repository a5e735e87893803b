//! The example Jekyll site (`examples/jekyll`) as its README section has a
//! user build it: the real Jekyll with the example's plugin, which runs
//! this assetmill before the site is read; then headless Chromium opens
//! every page over the published `_site/`: every image loads, every video
//! plays with the GIF's duration, every gallery shows its thumbnails. A
//! page naming a missing frame fails `jekyll build` with assetmill's
//! `page:line` error.

use crate::common::{self, Running, within};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A copy of the example site in a temporary folder.
fn example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jekyll");
    for (rel, bytes) in common::tree(&shipped) {
        // Never a build left in the working tree.
        if !rel.starts_with("_site/") && !rel.starts_with("img/") && !rel.starts_with("_data/") {
            common::write(&site.join(rel), &bytes);
        }
    }
    (dir, site)
}

fn jekyll_build(jekyll: &Path, site: &Path) -> Output {
    Command::new(jekyll)
        .arg("build")
        .arg("--source")
        .arg(site)
        .arg("--destination")
        .arg(site.join("_site"))
        .env("ASSETMILL", env!("CARGO_BIN_EXE_assetmill"))
        .output()
        .expect("run jekyll")
}

/// Loads `page` of the served site in an iframe and reports its images,
/// videos and gallery thumbnails once all have loaded (or failed).
const PROBE: &str = r#"<!doctype html><html><body>
<iframe id="f" style="width:1000px;height:4000px"></iframe>
<script>
const send = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
setTimeout(() => send({error: 'timeout'}), 30000);
const f = document.getElementById('f');
f.addEventListener('load', async () => {
  const d = f.contentDocument;
  // The <img> inside a <video> is only a fallback: a browser that plays
  // the video never loads it.
  const imgs = [...d.querySelectorAll('img')].filter(i => i.parentElement.tagName !== 'VIDEO');
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const vids = [...d.querySelectorAll('video')];
  await Promise.all(vids.map(v => v.readyState >= 2 ? null :
    new Promise(r => { v.addEventListener('loadeddata', r, {once: true}); v.addEventListener('error', r, {once: true}); })));
  send({
    images: imgs.map(i => ({src: i.currentSrc, complete: i.complete, width: i.naturalWidth})),
    videos: vids.map(v => ({src: v.currentSrc, ready: v.readyState, duration: v.duration})),
    thumbs: d.querySelectorAll('.gallery img').length,
  });
});
f.src = location.hash.slice(1);
</script></body></html>"#;

#[test]
fn the_example_site_builds_with_its_plugin_and_every_image_and_video_loads_in_chromium() {
    let Some(jekyll) = common::tool("jekyll") else {
        return;
    };
    let (_dir, site) = example();
    let out = jekyll_build(&jekyll, &site);
    let log =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "jekyll build: {log}");
    assert!(
        log.contains("assetmill: 4 pages"),
        "the plugin ran assetmill: {log}"
    );
    let published = site.join("_site");
    let map: Value =
        serde_json::from_slice(&std::fs::read(published.join("img/assets.json")).unwrap()).unwrap();
    // The sources stay unpublished; the outputs are at /img/.
    assert!(!published.join("_images").exists());
    assert!(
        !published.join("img/.assetmill").exists(),
        "the cache is not published"
    );

    let pages = [
        ("pages/arm-biceps.html", 16, 1),
        ("pages/arm.html", 16, 1),
        ("pages/leg-soleus.html", 16, 1),
        ("index.html", 0, 0),
    ];
    for (page, thumbs, videos) in pages {
        let extra = BTreeMap::from([("probe.html".to_owned(), PROBE.as_bytes().to_vec())]);
        let Some(body) = common::browser::report_with(
            &published,
            extra,
            &format!("probe.html#/{page}"),
            &["--window-size=1000,800".to_owned()],
        ) else {
            return;
        };
        let seen: Value = serde_json::from_str(&body).unwrap();
        assert!(seen["error"].is_null(), "{page}: {seen}");
        assert_eq!(seen["thumbs"], thumbs, "{page}: {seen}");
        let images = seen["images"].as_array().unwrap();
        assert!(!images.is_empty(), "{page}");
        for image in images {
            assert!(
                image["complete"] == true && image["width"].as_u64().unwrap() > 0,
                "{page}: an image did not load: {image}"
            );
        }
        let seen_videos = seen["videos"].as_array().unwrap();
        assert_eq!(seen_videos.len(), videos, "{page}: {seen}");
        for video in seen_videos {
            assert!(video["ready"].as_u64().unwrap() >= 2, "{page}: {video}");
            let src = video["src"].as_str().unwrap();
            assert!(src.ends_with(".webm"), "AV1 first: {src}");
            // The GIF's duration, from the asset map.
            let key = if page.contains("soleus") {
                "muscles/gif/Leg-Soleus.gif"
            } else {
                "muscles/gif/Arm-Biceps Brachii.gif"
            };
            let webm = (map["assets"][key]["outputs"].as_array().unwrap().iter())
                .find(|o| o["role"] == "webm")
                .unwrap();
            let want = webm["duration_ms"].as_f64().unwrap() / 1000.0;
            let got = video["duration"].as_f64().unwrap();
            assert!((got - want).abs() < 0.05, "{page}: {got} s, not {want} s");
        }
    }

    // A page naming a missing frame: `jekyll build` fails with assetmill's
    // error at the page's line.
    let soleus = site.join("pages/leg-soleus.md");
    let text = std::fs::read_to_string(&soleus).unwrap();
    let broken = text.replace("Leg-Soleus-5.png", "Leg-Soleus-55.png");
    std::fs::write(&soleus, &broken).unwrap();
    let line = common::line_of(&broken, "Leg-Soleus-55.png");
    let out = jekyll_build(&jekyll, &site);
    let log =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{log}");
    let message = format!(
        "pages/leg-soleus.md:{line}: error: gallery frame muscles/png/Leg-Soleus-55.png: file not found"
    );
    assert!(log.contains(&message), "{message} not in: {log}");

    // Fixed: only the soleus animation (which a missing frame unmade) is
    // built again; everything else comes from the cache.
    std::fs::write(&soleus, &text).unwrap();
    let out = jekyll_build(&jekyll, &site);
    let log =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}");
    let built: usize = log
        .split("assetmill: built ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no build line: {log}"));
    assert!((1..=12).contains(&built), "{built} built: {log}");
}

/// `examples/ci/github-pages.yml` run as written on the example site: each
/// shard job's assetmill step, the artifact moves GitHub makes, then the
/// site job's merge and `jekyll build` (its plugin in check mode), whose
/// `_site/` is what the deploy job publishes.
#[test]
fn the_github_pages_workflow_builds_the_example_site_as_written() {
    let Some(jekyll) = common::tool("jekyll") else {
        return;
    };
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-pages.yml"),
    )
    .unwrap();
    let flow: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(flow["env"]["ASSETMILL_VERSION"], env!("CARGO_PKG_VERSION"));
    let (shard_job, site_job) = (&flow["jobs"]["shard"], &flow["jobs"]["site"]);
    assert_eq!(site_job["needs"], "shard");
    assert_eq!(flow["jobs"]["deploy"]["needs"], "site");
    let steps = |job: &Value| job["steps"].as_array().unwrap().clone();
    let uses = |job: &Value, action: &str| -> Value {
        (steps(job).into_iter())
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .unwrap_or_else(|| panic!("no {action}"))
    };
    assert_eq!(
        uses(shard_job, "actions/upload-artifact")["with"]["include-hidden-files"],
        true
    );
    assert_eq!(
        uses(site_job, "actions/upload-pages-artifact")["with"]["path"],
        "_site"
    );

    let (_dir, site) = example();
    let mut dirs: Vec<PathBuf> = vec![
        Path::new(env!("CARGO_BIN_EXE_assetmill"))
            .parent()
            .unwrap()
            .to_owned(),
    ];
    dirs.extend(jekyll.parent().map(Path::to_owned));
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(dirs).unwrap();
    let run_steps = |job: &Value, subst: &dyn Fn(&str) -> String| {
        let mut ran = Vec::new();
        for step in steps(job) {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            let script = subst(script);
            let tool = script.split_whitespace().next().unwrap_or("");
            if !["assetmill", "jekyll"].contains(&tool) {
                continue; // installing them
            }
            assert!(!script.contains("${{"), "unknown expression in {script}");
            let mut command = Command::new("bash");
            command
                .args(["-euo", "pipefail", "-c", &script])
                .env("PATH", &path)
                .current_dir(&site);
            if let Some(env) = step["env"].as_object() {
                for (k, v) in env {
                    command.env(k, v.as_str().unwrap());
                }
            }
            let o = command.output().unwrap();
            assert!(o.status.success(), "{script}: {o:?}");
            ran.push((
                tool.to_owned(),
                String::from_utf8_lossy(&o.stdout).to_string(),
            ));
        }
        ran
    };
    let shards: Vec<u64> = (shard_job["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .iter())
    .map(|v| v.as_u64().unwrap())
    .collect();
    let upload = &uses(shard_job, "actions/upload-artifact")["with"];
    let into = site.join(
        uses(site_job, "actions/download-artifact")["with"]["path"]
            .as_str()
            .unwrap(),
    );
    for &i in &shards {
        let subst = |s: &str| {
            s.replace("${{ matrix.shard }}", &i.to_string())
                .replace("${{ strategy.job-total }}", &shards.len().to_string())
        };
        assert_eq!(run_steps(shard_job, &subst).len(), 1);
        let from = site.join(subst(upload["path"].as_str().unwrap()));
        std::fs::create_dir_all(&into).unwrap();
        std::fs::rename(from, into.join(subst(upload["name"].as_str().unwrap()))).unwrap();
    }
    let ran = run_steps(site_job, &|s: &str| s.to_owned());
    let tools: Vec<&str> = ran.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tools, ["assetmill", "jekyll"]);
    // The plugin checked instead of building, and found img/ complete.
    assert!(
        ran[1].1.contains("assetmill: ") && ran[1].1.contains("build --quiet --check"),
        "{}",
        ran[1].1
    );
    let published = site.join("_site");
    for page in [
        "index.html",
        "pages/arm-biceps.html",
        "img/assets.json",
        "img/muscles/gif/Leg-Soleus.webm",
    ] {
        assert!(published.join(page).is_file(), "{page} not published");
    }
}

/// The body of `GET path` on loopback `port`, if it answers 200.
fn get(port: u16, path: &str) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    response
        .starts_with(b"HTTP/1.1 200")
        .then(|| response[split + 4..].to_vec())
}

/// The README's preview loop on the example: `jekyll serve` (its plugin
/// builds the images first) and `assetmill watch` side by side; a saved
/// gallery frame's new thumbnail and GIF are what the preview server
/// hands out moments later.
#[test]
fn jekyll_serve_beside_assetmill_watch_serves_a_saved_frame_s_new_outputs() {
    let Some(jekyll) = common::tool("jekyll") else {
        return;
    };
    let (_dir, site) = example();
    let port = common::free_port();
    let _serve = Running(
        Command::new(&jekyll)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .current_dir(&site)
            .env("ASSETMILL", env!("CARGO_BIN_EXE_assetmill"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start jekyll serve"),
    );
    assert!(
        within(120, || get(port, "/").is_some()),
        "jekyll serve did not come up"
    );
    let thumb = "img/muscles/png/Arm-Biceps Brachii-3-thumb.png";
    let url = "/img/muscles/png/Arm-Biceps%20Brachii-3-thumb.png";
    let before = get(port, url).expect("the plugin built the thumbnails");
    assert_eq!(before, std::fs::read(site.join(thumb)).unwrap());
    let _watch = Running(
        Command::new(env!("CARGO_BIN_EXE_assetmill"))
            .args(["watch", "--quiet"])
            .current_dir(&site)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start assetmill watch"),
    );
    // Its first round finds everything built (its cache's lock is free
    // again once it has run); then a frame is saved with other pixels.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let frames = site.join("_images/muscles/png");
    let gif_url = "/img/muscles/gif/Arm-Biceps%20Brachii.gif";
    let gif_before = get(port, gif_url).unwrap();
    std::fs::copy(
        frames.join("Arm-Biceps Brachii-9.png"),
        frames.join("Arm-Biceps Brachii-3.png"),
    )
    .unwrap();
    assert!(
        within(30, || get(port, url).is_some_and(|now| now != before)),
        "the preview never served the new thumbnail"
    );
    // The thumbnail served is the new frame's: the same as frame 9's.
    let nine = get(port, "/img/muscles/png/Arm-Biceps%20Brachii-9-thumb.png").unwrap();
    assert!(within(10, || get(port, url).is_some_and(|now| now == nine)));
    assert!(
        within(30, || get(port, gif_url)
            .is_some_and(|now| now != gif_before)),
        "the preview never served the new GIF"
    );
}
