//! What assetmill promises about files outside `out/`, tried as a careful
//! user and an attacker would: folders in `out/` replaced by links, a
//! tampered cache, an output folder over the sources, a planted lock link,
//! a FIFO named as an image, a full disk, a panic inside a unit, and a
//! build stopped by a signal. Every case runs the real binary on real files.

use crate::common;

use common::{Site, muscle_page};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A site with two animation pages and a still image.
fn site() -> Site {
    let site = Site::new();
    site.page("muscles/arm.md", &muscle_page("Arm-Biceps", 3));
    site.frames("Arm-Biceps", 3, 64, 48);
    site.page("muscles/leg.md", &muscle_page("Leg-Soleus", 3));
    site.frames("Leg-Soleus", 3, 64, 48);
    site
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A JSON array of strings.
fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Every file under `dir` (not following links) with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let t = entry.file_type().unwrap();
            if t.is_dir() {
                stack.push(entry.path());
            } else if t.is_file() {
                files.insert(entry.path(), std::fs::read(entry.path()).unwrap());
            } else {
                files.insert(entry.path(), b"<link or special>".to_vec());
            }
        }
    }
    files
}

/// Waits for a child, killing it (and failing) if it outlives `limit`.
fn finish_within(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("assetmill still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn spawn(site: &Site, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_assetmill"))
        .args(args)
        .current_dir(site.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn stale_removal_and_clean_never_delete_through_a_linked_folder() {
    let site = site();
    assert!(site.run(&["build", "-q"]).status.success());
    // The leg page goes away, so its outputs become stale; meanwhile its
    // thumbnail folder has been replaced by a link to a folder elsewhere
    // that holds files of the same names.
    std::fs::remove_file(site.content().join("muscles/leg.md")).unwrap();
    let elsewhere = site.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let png = site.out().join("muscles/png");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&png).unwrap() {
        let name = entry.unwrap().file_name();
        std::fs::write(elsewhere.join(&name), b"not yours").unwrap();
        names.push(name);
    }
    std::fs::remove_dir_all(&png).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &png).unwrap();
    let before = tree(&elsewhere);
    assert!(before.len() >= 6, "{before:?}");

    // A dry run lists nothing under the link as "would remove".
    let dry = site.run(&["build", "--dry-run", "--format", "json"]);
    let doc = json(&dry);
    let would = strings(&doc["removed"]);
    assert!(
        would.iter().all(|p| !p.starts_with("muscles/png/")),
        "{would:?}"
    );
    assert!(would.contains(&"muscles/gif/Leg-Soleus.gif"), "{would:?}");

    let run = site.run(&["build", "--format", "json"]);
    let doc = json(&run);
    let removed = strings(&doc["removed"]);
    assert!(
        removed.iter().all(|p| !p.starts_with("muscles/png/")),
        "{removed:?}"
    );
    assert_eq!(
        doc["summary"]["removed"].as_u64().unwrap() as usize,
        removed.len()
    );
    let said = doc["diagnostics"].to_string();
    assert!(said.contains("symbolic link"), "{said}");
    assert_eq!(tree(&elsewhere), before, "files outside out/ changed");

    let clean = site.run(&["clean"]);
    assert!(clean.status.success(), "{}", text(&clean));
    assert!(text(&clean).contains("left"), "{}", text(&clean));
    assert_eq!(tree(&elsewhere), before, "clean deleted outside out/");
    assert!(!site.out().join("muscles/gif/Arm-Biceps.gif").exists());
}

#[test]
fn a_tampered_cache_cannot_name_files_outside_out() {
    let site = site();
    assert!(site.run(&["build", "-q"]).status.success());
    let victim = site.root().join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    std::fs::write(site.images().join("victim.png"), b"keep me too").unwrap();
    let cache_path = site.out().join(".assetmill/cache.json");
    let mut cache: Value = serde_json::from_slice(&std::fs::read(&cache_path).unwrap()).unwrap();
    cache["pending"] = serde_json::json!([
        "../victim.txt",
        victim.to_string_lossy(),
        "x/../../victim.txt",
        "../assets/victim.png",
        "./../victim.txt",
    ]);
    std::fs::write(&cache_path, serde_json::to_vec(&cache).unwrap()).unwrap();
    let run = site.run(&["build", "--format", "json"]);
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(json(&run)["removed"], serde_json::json!([]));
    std::fs::write(&cache_path, serde_json::to_vec(&cache).unwrap()).unwrap();
    assert!(site.run(&["clean"]).status.success());
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    assert_eq!(
        std::fs::read(site.images().join("victim.png")).unwrap(),
        b"keep me too"
    );
}

#[test]
fn an_output_folder_over_the_sources_is_refused_before_anything_is_written() {
    let site = site();
    std::fs::create_dir_all(site.images().join("sub")).unwrap();
    let before = tree(site.root());
    for out in ["content", "assets", "assets/sub", ".", "assets/new/deeper"] {
        let run = site.run(&["build", "--out", out]);
        assert_eq!(run.status.code(), Some(2), "--out {out}: {}", text(&run));
        assert!(text(&run).contains("output folder"), "{}", text(&run));
        let run = site.run(&["clean", "--out", out]);
        assert_eq!(
            run.status.code(),
            Some(2),
            "clean --out {out}: {}",
            text(&run)
        );
        assert_eq!(tree(site.root()), before, "--out {out} wrote something");
    }
    // The parent of the image root, given as the image root's parent.
    let run = site.run(&["build", "--images", "assets/sub", "--out", "assets"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert_eq!(tree(site.root()), before);
    // The asset map on an output's path, or in the cache folder.
    for map in ["muscles/png/Arm-Biceps-1.png", ".assetmill/cache.json"] {
        std::fs::write(
            site.root().join("assetmill.yml"),
            format!("asset_map:\n  path: {map}\n"),
        )
        .unwrap();
        let run = site.run(&["build"]);
        assert_eq!(run.status.code(), Some(2), "{map}: {}", text(&run));
    }
}

/// Every writing command passes the same guard before its first write:
/// `merge` into the sources (or a link to them), a `_data` copy over the
/// configuration file, a source or a file of the user's, and `synth` into
/// an image root through a linked folder are refused with nothing written.
#[cfg(unix)]
#[test]
fn every_writing_command_is_refused_before_its_first_write() {
    let site = site();
    for (i, shard) in ["1/2", "2/2"].iter().enumerate() {
        let run = site.run(&["build", "--shard", shard, "--out", &format!("s{}", i + 1)]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    }
    std::os::unix::fs::symlink(site.images(), site.root().join("images-link")).unwrap();
    let before = tree(site.root());
    for out in ["assets", "content", "images-link", "assets/sub", "."] {
        let run = site.run(&["merge", "--out", out, "s1", "s2"]);
        assert_eq!(
            run.status.code(),
            Some(2),
            "merge --out {out}: {}",
            text(&run)
        );
        assert!(text(&run).contains("output folder"), "{}", text(&run));
        assert_eq!(
            tree(site.root()),
            before,
            "merge --out {out} wrote something"
        );
    }
    for out in ["images-link", "images-link/deeper"] {
        for args in [vec!["build"], vec!["build", "--dry-run"], vec!["clean"]] {
            let run = site.run(&[&args[..], &["--out", out]].concat());
            assert_eq!(run.status.code(), Some(2), "{args:?} {out}: {}", text(&run));
        }
        assert_eq!(tree(site.root()), before, "--out {out} wrote something");
    }

    // The `_data` copy: never the configuration file, a source, or a file
    // that assetmill did not write.
    std::fs::create_dir_all(site.root().join("_data")).unwrap();
    std::fs::write(site.root().join("_data/menu.yml"), "menu: [home]\n").unwrap();
    std::fs::write(site.images().join("notes.yml"), "a: 1\n").unwrap();
    for copy in [
        "assetmill.yml",
        "assets/notes.yml",
        "_data/menu.yml",
        "images-link/x.yml",
    ] {
        let config = format!("asset_map:\n  data_copy: {copy}\n");
        std::fs::write(site.root().join("assetmill.yml"), &config).unwrap();
        let before = tree(site.root());
        let run = site.run(&["build"]);
        assert_eq!(
            run.status.code(),
            Some(2),
            "data_copy {copy}: {}",
            text(&run)
        );
        assert!(text(&run).contains("asset_map.data_copy"), "{}", text(&run));
        assert_eq!(
            tree(site.root()),
            before,
            "data_copy {copy} wrote something"
        );
    }
    // Its own earlier copy is replaced.
    std::fs::write(
        site.root().join("assetmill.yml"),
        "asset_map:\n  data_copy: _data/assets.yml\n",
    )
    .unwrap();
    for _ in 0..2 {
        let run = site.run(&["build"]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    }
    let copy = std::fs::read_to_string(site.root().join("_data/assets.yml")).unwrap();
    assert!(copy.starts_with("# Written by assetmill"), "{copy}");

    // `synth --from-pages` never writes through a linked folder of the
    // image root.
    let elsewhere = site.root().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(site.root().join("fresh")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, site.root().join("fresh/muscles")).unwrap();
    let run = site.run(&["synth", "--from-pages", "content", "--images", "fresh"]);
    assert_ne!(run.status.code(), Some(0), "{}", text(&run));
    assert!(text(&run).contains("symbolic link"), "{}", text(&run));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn a_planted_lock_link_or_cache_folder_link_is_not_followed() {
    let site = site();
    let victim = site.root().join("victim.txt");
    std::fs::write(&victim, b"keep me").unwrap();
    std::fs::create_dir_all(site.out().join(".assetmill")).unwrap();
    std::os::unix::fs::symlink(&victim, site.out().join(".assetmill/lock")).unwrap();
    let run = site.run(&["build"]);
    assert_ne!(run.status.code(), Some(0), "{}", text(&run));
    assert!(text(&run).contains("lock"), "{}", text(&run));
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");

    std::fs::remove_dir_all(site.out()).unwrap();
    let elsewhere = site.root().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::create_dir(site.out()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, site.out().join(".assetmill")).unwrap();
    let run = site.run(&["build"]);
    assert_ne!(run.status.code(), Some(0), "{}", text(&run));
    assert!(text(&run).contains("cache folder"), "{}", text(&run));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn a_fifo_named_as_an_image_is_an_error_not_a_hang() {
    let site = site();
    let fifo = site.images().join("muscles/png/Leg-Soleus-2.png");
    std::fs::remove_file(&fifo).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for args in [&["check"][..], &["build", "-q"][..]] {
        let run = finish_within(spawn(&site, args), Duration::from_secs(60));
        assert_eq!(run.status.code(), Some(1), "{args:?}: {}", text(&run));
        let said = text(&run);
        assert!(said.contains("Leg-Soleus-2.png"), "{said}");
        assert!(said.contains("FIFO"), "{said}");
    }
    // The other animation was built.
    assert!(site.out().join("muscles/gif/Arm-Biceps.gif").is_file());
}

#[test]
fn a_panic_inside_one_unit_is_an_error_on_that_asset_and_the_rest_completes() {
    let site = site();
    let run = Command::new(env!("CARGO_BIN_EXE_assetmill"))
        .args(["build", "--format", "json"])
        .env("ASSETMILL_FAULT_PANIC", "Leg-Soleus")
        .current_dir(site.root())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let doc = json(&run);
    let said = doc["diagnostics"].to_string();
    assert!(said.contains("internal error"), "{said}");
    assert!(said.contains("leg.md"), "{said}");
    assert!(site.out().join("muscles/gif/Arm-Biceps.gif").is_file());
    assert!(!site.out().join("muscles/gif/Leg-Soleus.gif").exists());
    // Without the fault, the next build completes the rest.
    let run = site.run(&["build", "--format", "json"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(site.out().join("muscles/gif/Leg-Soleus.gif").is_file());
}

/// Runs `assetmill build --format json` in a private mount namespace with
/// `out/` on a tmpfs of `size`. `None` where mounting is not allowed (not
/// root); under CI that is a failure, not a skip.
#[cfg(target_os = "linux")]
fn build_on_small_disk(site: &Site, size: &str) -> Option<Output> {
    // The build's exit code is kept; what it left on the small disk is
    // copied out for the test to inspect.
    let script = format!(
        "mkdir -p out && mount -t tmpfs -o size={size} tmpfs out || exit 99; \
         \"$0\" build --format json; code=$?; cp -r out snapshot; exit $code",
    );
    let run = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, env!("CARGO_BIN_EXE_assetmill")])
        .current_dir(site.root())
        .output();
    match run {
        Ok(run) if run.status.code() != Some(99) => Some(run),
        other => {
            common::unavailable(
                "a tmpfs mount (root) for the disk-full test",
                format!("{other:?}"),
            );
            None
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_names_each_output_and_still_prints_the_summary() {
    let site = Site::new();
    site.page("muscles/arm.md", &muscle_page("Arm-Biceps", 8));
    site.frames("Arm-Biceps", 8, 400, 300);
    site.fast_videos();
    // Room for the cache and a few outputs, not for all of them.
    let Some(run) = build_on_small_disk(&site, "160k") else {
        return;
    };
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let doc = json(&run);
    let diagnostics = doc["diagnostics"].as_array().unwrap();
    let failed: Vec<String> = diagnostics
        .iter()
        .map(|d| d["message"].as_str().unwrap_or_default().to_owned())
        .filter(|m| m.contains("No space left on device"))
        .collect();
    assert!(!failed.is_empty(), "{doc}");
    for message in &failed {
        assert!(message.contains("cannot write"), "{message}");
        assert!(!message.contains(".tmp"), "names a temp file: {message}");
        assert!(
            message.contains("out/"),
            "does not name the output: {message}"
        );
    }
    assert!(doc["summary"]["built"].is_u64(), "{doc}");
    // Nothing partial at any final path, and no temp file left behind.
    let left = tree(&site.root().join("snapshot"));
    assert!(!left.is_empty());
    for (path, bytes) in &left {
        let name = path.to_string_lossy();
        assert!(!name.ends_with(".tmp"), "{name}");
        if name.ends_with(".png") || name.ends_with(".gif") {
            assert!(image::load_from_memory(bytes).is_ok(), "{name} is partial");
        }
    }
}

#[cfg(unix)]
const NAMES: [&str; 4] = ["A-One", "B-Two", "C-Three", "D-Four"];

#[cfg(unix)]
#[test]
fn sigterm_stops_promptly_keeps_finished_work_and_leaves_no_temp_files() {
    let site = Site::new();
    for name in NAMES {
        site.page(&format!("muscles/{name}.md"), &muscle_page(name, 6));
        site.frames(name, 6, 160, 120);
    }
    site.fast_videos();
    let cold = site.run(&["build", "--dry-run", "--format", "json"]);
    let all = json(&cold)["summary"]["built"].as_u64().unwrap();
    let child = spawn(&site, &["build", "-j", "1", "--format", "json"]);
    // Stop it once the first animation's outputs are in place.
    let started = Instant::now();
    while !site.out().join("muscles/gif/A-One.gif").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "nothing built"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stopped_at = Instant::now();
    let run = finish_within(child, Duration::from_secs(60));
    let took = stopped_at.elapsed();
    assert_eq!(run.status.code(), Some(130), "{}", text(&run));
    assert!(took < Duration::from_secs(20), "took {took:?} to stop");
    let doc = json(&run);
    assert_eq!(doc["cancelled"], true);
    let temps: Vec<_> = tree(&site.out())
        .into_keys()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
    // The lock is released and finished outputs are recorded: the rerun
    // plans less than a cold build, then ends identical to a clean one.
    let dry = site.run(&["build", "--dry-run", "--format", "json"]);
    let left = json(&dry)["summary"]["built"].as_u64().unwrap();
    assert!(left < all, "rerun redoes everything: {left} of {all}");
    let rerun = site.run(&["build", "--format", "json"]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    let resumed = tree(&site.out());
    let clean = Site::new();
    for name in NAMES {
        clean.page(&format!("muscles/{name}.md"), &muscle_page(name, 6));
        clean.frames(name, 6, 160, 120);
    }
    clean.fast_videos();
    assert!(clean.run(&["build", "-q"]).status.success());
    let strip = |t: BTreeMap<PathBuf, Vec<u8>>, root: &Path| -> BTreeMap<PathBuf, Vec<u8>> {
        t.into_iter()
            .filter(|(p, _)| !p.to_string_lossy().contains(".assetmill"))
            .map(|(p, b)| (p.strip_prefix(root).unwrap().to_owned(), b))
            .collect()
    };
    assert_eq!(
        strip(resumed, &site.out()),
        strip(tree(&clean.out()), &clean.out())
    );
}

/// Under `ulimit -f` a write past the limit used to kill the process with
/// SIGXFSZ: no message, no summary, a temp file left in `out/`. Now that
/// write fails (EFBIG) and is reported on the output it was for, and the
/// rest of the build goes on.
#[cfg(unix)]
#[test]
fn a_file_size_limit_is_a_write_error_naming_the_output() {
    let site = Site::new();
    site.page("muscles/arm.md", &muscle_page("Arm-Biceps", 3));
    site.frames("Arm-Biceps", 3, 64, 48);
    site.page(
        "methods.md",
        "---\nimages:\n  - image_id: noise\n    image_name: figures/noise.jpg\n    image_alt: Noise\n---\n",
    );
    // A JPEG is copied as it is: noise makes it about 1.5 MB, far over the
    // limit, while every other output stays far under it.
    let mut state = 12345u32;
    let noise = image::RgbImage::from_fn(1200, 1000, |_, _| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let [a, b, c, _] = state.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let jpeg = common::jpeg_bytes(&noise);
    assert!(jpeg.len() > 1 << 20, "{}", jpeg.len());
    site.asset_bytes("figures/noise.jpg", &jpeg);
    // 400 blocks: 200 KB in sh's 512-byte blocks (400 KB in 1 KiB ones).
    let run = Command::new("sh")
        .args([
            "-c",
            "ulimit -f 400 && exec \"$0\" build --format json",
            env!("CARGO_BIN_EXE_assetmill"),
        ])
        .current_dir(site.root())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{run:?}\n{}", text(&run));
    let doc = json(&run);
    let messages: Vec<String> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    let failed: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("File too large"))
        .collect();
    assert_eq!(failed.len(), 1, "{messages:#?}");
    assert!(
        failed[0].contains("cannot write") && failed[0].contains("out/figures/noise.jpg"),
        "{}",
        failed[0]
    );
    assert!(
        !failed[0].contains(".tmp"),
        "names a temp file: {}",
        failed[0]
    );
    assert!(doc["summary"]["built"].as_u64().unwrap() > 0, "{doc}");
    let left = tree(&site.out());
    assert!(!site.out().join("figures/noise.jpg").exists());
    assert!(left.keys().all(|p| !p.to_string_lossy().ends_with(".tmp")));
    for out in ["muscles/gif/Arm-Biceps.gif", "assets.json"] {
        assert!(site.out().join(out).is_file(), "{out} was not written");
    }
}
