//! Incremental, deterministic, crash-safe rebuilds, on real files and the
//! real binary.

use crate::common;

use assetmill::progress::Quiet;
use assetmill::{BuildOptions, Outcome, Reason};
use common::{Site, changed, muscle_page, tree};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

fn site(pages: usize, frames: usize, size: u32) -> Site {
    let site = Site::new();
    for p in 0..pages {
        let name = format!("Arm-M{p}");
        site.page(&format!("muscles/{name}.md"), &muscle_page(&name, frames));
        site.frames(&name, frames, size, size);
    }
    site
}

fn run(site: &Site) -> Outcome {
    let outcome = assetmill::build(&site.config(), BuildOptions::default(), &Quiet).unwrap();
    assert_eq!(
        outcome.report.summary.errors,
        0,
        "{}",
        outcome.report.to_text()
    );
    outcome
}

#[test]
fn warm_rebuild_decodes_nothing_and_changes_nothing() {
    let site = site(2, 4, 96);
    let cold = run(&site);
    assert_eq!(cold.summary.decoded, 8);
    let before = tree(&site.out());
    let warm = run(&site);
    assert_eq!(warm.summary.decoded, 0);
    assert_eq!(warm.summary.built, 0);
    assert_eq!(warm.summary.reused, cold.summary.built);
    assert!(warm.changes.is_empty());
    assert_eq!(tree(&site.out()), before);
}

#[test]
fn one_changed_frame_rebuilds_exactly_what_derives_from_it() {
    let site = site(2, 4, 96);
    run(&site);
    let before = tree(&site.out());
    site.png("muscles/png/Arm-M1-3.png", 96, 96, 99);
    let outcome = run(&site);
    let expected: BTreeSet<String> = [
        "muscles/png/Arm-M1-3.png",
        "muscles/png/Arm-M1-3-thumb.png",
        "muscles/gif/Arm-M1.gif",
        "muscles/gif/Arm-M1-sprite.png",
        "muscles/gif/Arm-M1.webm",
        "muscles/gif/Arm-M1.mp4",
        "assets.json",
    ]
    .map(String::from)
    .into();
    assert_eq!(changed(&before, &tree(&site.out())), expected);
    let rebuilt: BTreeSet<&str> = outcome.changes.iter().map(|c| c.path.as_str()).collect();
    assert!(
        outcome
            .changes
            .iter()
            .all(|c| c.reason == Reason::InputChanged)
    );
    assert_eq!(
        rebuilt,
        [
            "muscles/gif/Arm-M1-sprite.json",
            "muscles/gif/Arm-M1-sprite.png",
            "muscles/gif/Arm-M1.gif",
            "muscles/gif/Arm-M1.mp4",
            "muscles/gif/Arm-M1.webm",
            "muscles/png/Arm-M1-3-thumb.png",
            "muscles/png/Arm-M1-3.png"
        ]
        .into()
    );
    // The animation needs every frame's pixels; nothing else is decoded.
    assert_eq!(outcome.summary.decoded, 4);
}

#[test]
fn an_option_change_rebuilds_exactly_what_it_shapes() {
    let site = site(1, 3, 96);
    run(&site);
    let before = tree(&site.out());
    let mut config = site.config();
    config.thumbs.width = 50;
    let outcome = assetmill::build(&config, BuildOptions::default(), &Quiet).unwrap();
    let reasons: BTreeSet<Reason> = outcome.changes.iter().map(|c| c.reason).collect();
    assert_eq!(reasons, [Reason::OptionsChanged].into());
    let rebuilt: BTreeSet<&str> = outcome.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        rebuilt,
        [
            "muscles/gif/Arm-M0-sprite.json",
            "muscles/gif/Arm-M0-sprite.png",
            "muscles/png/Arm-M0-1-thumb.png",
            "muscles/png/Arm-M0-2-thumb.png",
            "muscles/png/Arm-M0-3-thumb.png"
        ]
        .into()
    );
    let after = tree(&site.out());
    assert_eq!(
        before["muscles/gif/Arm-M0.gif"],
        after["muscles/gif/Arm-M0.gif"]
    );
    assert_eq!(
        before["muscles/png/Arm-M0-1.png"],
        after["muscles/png/Arm-M0-1.png"]
    );
}

#[test]
fn stale_outputs_go_and_the_users_own_files_stay() {
    let site = site(2, 3, 64);
    run(&site);
    common::write(&site.out().join("notes.txt"), b"mine");
    common::write(&site.out().join("muscles/png/mine.png"), b"also mine");
    std::fs::remove_file(site.content().join("muscles/Arm-M1.md")).unwrap();
    let outcome = run(&site);
    assert_eq!(outcome.summary.removed, 3 * 2 + 5);
    let files = tree(&site.out());
    assert!(
        !files.keys().any(|k| k.contains("Arm-M1")),
        "{:?}",
        files.keys()
    );
    assert!(files.contains_key("muscles/png/Arm-M0-1.png"));
    assert_eq!(files["notes.txt"], b"mine");
    assert_eq!(files["muscles/png/mine.png"], b"also mine");

    // `clean` removes every recorded output and the cache, nothing else.
    let out = site.run(&["clean"]);
    assert!(out.status.success());
    let left: BTreeSet<String> = tree(&site.out()).into_keys().collect();
    assert_eq!(
        left,
        ["muscles/png/mine.png".to_owned(), "notes.txt".to_owned()].into()
    );
}

#[test]
fn dry_run_explains_and_writes_nothing() {
    let site = site(2, 3, 64);
    run(&site);
    site.png("muscles/png/Arm-M0-2.png", 64, 64, 42);
    std::fs::remove_file(site.out().join("muscles/png/Arm-M1-1-thumb.png")).unwrap();
    common::write(
        &site.out().join("muscles/png/Arm-M1-2-thumb.png"),
        b"scribbled",
    );
    site.page("muscles/Arm-M2.md", &muscle_page("Arm-M2", 1));
    site.frames("Arm-M2", 1, 64, 64);
    let before = tree(&site.out());
    let out = site.run(&["build", "--dry-run", "--format", "json"]);
    assert_eq!(tree(&site.out()), before, "a dry run wrote something");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = |path: &str| {
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["path"] == path)
            .map(|c| c["reason"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        reason("muscles/png/Arm-M0-2.png").as_deref(),
        Some("input-changed")
    );
    assert_eq!(
        reason("muscles/png/Arm-M1-1-thumb.png").as_deref(),
        Some("output-missing")
    );
    assert_eq!(
        reason("muscles/png/Arm-M1-2-thumb.png").as_deref(),
        Some("output-altered")
    );
    assert_eq!(reason("muscles/gif/Arm-M2.gif").as_deref(), Some("new"));
    assert_eq!(reason("muscles/png/Arm-M1-3.png"), None);
    assert_eq!(json["dry_run"], true);

    // The text form names the same reasons.
    let text = String::from_utf8(site.run(&["build", "--dry-run"]).stdout).unwrap();
    assert!(
        text.contains("would build muscles/png/Arm-M1-2-thumb.png (output altered)"),
        "{text}"
    );
}

#[test]
fn json_summary_for_ci() {
    let site = site(1, 2, 64);
    let out = site.run(&["build", "--format", "json", "--quiet"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["built"], 2 * 2 + 5 + 1);
    assert_eq!(json["summary"]["reused"], 0);
    assert_eq!(json["errors"], 0);
    assert!(json["summary"]["seconds"].as_f64().unwrap() > 0.0);
    let again: serde_json::Value =
        serde_json::from_slice(&site.run(&["build", "--format", "json"]).stdout).unwrap();
    assert_eq!(again["summary"]["built"], 0);
    assert_eq!(again["summary"]["reused"], 2 * 2 + 5 + 1);
    assert_eq!(again["summary"]["decoded"], 0);
}

#[test]
fn a_killed_build_then_a_rerun_equals_a_clean_build() {
    let site = site(4, 8, 112);
    site.fast_videos();
    let reference = site.run(&["build", "--quiet", "--out", "reference"]);
    assert!(reference.status.success());
    let expected = tree(&site.root().join("reference"));
    // Kill at several points of a cold build, each time over what the
    // previous killed run left; then finish and compare byte for byte.
    let mut cut_short = 0;
    for delay_ms in [30, 120, 250, 400] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_assetmill"))
            .args(["build", "--quiet"])
            .current_dir(site.root())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The asset map is written last: without it the build was cut short.
        cut_short += usize::from(!site.out().join("assets.json").exists());
        if delay_ms == 250 {
            // A source changes between the crash and the rerun.
            site.png("muscles/png/Arm-M2-1.png", 112, 112, 5);
            site.png("muscles/png/Arm-M2-1.png", 112, 112, 1);
        }
    }
    assert!(cut_short > 0, "no kill landed before the build finished");
    let rerun = site.run(&["build", "--quiet"]);
    assert!(rerun.status.success());
    let got = tree(&site.out());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &expected {
        assert!(bytes == &got[path], "{path} differs from a clean build");
    }
}

#[test]
fn a_second_build_waits_for_the_first() {
    let site = site(1, 2, 64);
    let out = assetmill::internals::guard::Protected::site(&site.config())
        .create(&site.out())
        .unwrap();
    let lock = assetmill::internals::lock::Lock::acquire(&out, &|_| {}).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_assetmill"))
        .args(["build"])
        .current_dir(site.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the second build did not wait"
    );
    assert!(!site.out().join("assets.json").exists());
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("waiting: process"), "{stderr}");
    assert!(site.out().join("assets.json").exists());
}

#[test]
fn concurrent_builds_never_interleave() {
    let site = site(2, 6, 128);
    site.fast_videos();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_assetmill"))
            .args(["build", "--quiet"])
            .current_dir(site.root())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let reference = site.run(&["build", "--quiet", "--out", "reference"]);
    assert!(reference.status.success());
    let (got, expected) = (tree(&site.out()), tree(&site.root().join("reference")));
    assert_eq!(got, expected);
}

/// A frame saved while a build runs (between the build hashing it and
/// decoding it) is an error at its page line, never cached under the hash
/// of what was there before: once it is restored, a rebuild gives exactly
/// the tree a clean build gives, and `--check` agrees.
#[test]
fn a_source_changed_during_a_build_is_never_cached_wrong() {
    let site = site(1, 3, 64);
    let frame = site.images().join("muscles/png/Arm-M0-2.png");
    let original = std::fs::read(&frame).unwrap();
    let pause = site.root().join("paused");
    let child = Command::new(env!("CARGO_BIN_EXE_assetmill"))
        .args(["--jobs", "1", "build"])
        .current_dir(site.root())
        .env("ASSETMILL_FAULT_PAUSE", &pause)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !pause.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "never paused");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Another render of that frame, saved by the author meanwhile.
    common::write(&frame, &common::png_bytes(&common::frame(64, 64, 99)));
    std::fs::remove_file(&pause).unwrap();
    let run = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    let page = std::fs::read_to_string(site.content().join("muscles/Arm-M0.md")).unwrap();
    let line = common::line_of(&page, "Arm-M0-2.png");
    let expected = format!(
        "content/muscles/Arm-M0.md:{line}: error: gallery frame muscles/png/Arm-M0-2.png: \
         changed while the build ran"
    );
    assert!(stdout.contains(&expected), "{expected}\n{stdout}");

    std::fs::write(&frame, &original).unwrap();
    let run = site.run(&["build"]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let run = site.run(&["build", "--check"]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let clean = self::site(1, 3, 64);
    assert_eq!(clean.run(&["build"]).status.code(), Some(0));
    let (rebuilt, fresh) = (tree(&site.out()), tree(&clean.out()));
    assert_eq!(
        rebuilt.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &fresh {
        assert!(rebuilt[path] == *bytes, "{path} differs from a clean build");
    }
}
