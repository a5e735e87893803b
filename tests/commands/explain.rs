//! `build --explain PATH`, on real files and the real binary: what an output
//! is made from, its settings, its pages, and exactly why a build would
//! remake it; and that it writes nothing.

use crate::common;

use common::{Site, line_of, muscle_page};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Output;

const CONFIG: &str = common::FAST_VIDEOS;

/// Two muscles of 3 frames and a region page assembling its own GIF from
/// the first frame of each.
fn site() -> Site {
    let site = Site::new();
    for p in 0..2 {
        let name = format!("Arm-M{p}");
        site.page(&format!("muscles/{name}.md"), &muscle_page(&name, 3));
        site.frames(&name, 3, 40, 40);
    }
    site.page(
        "regions/arm.md",
        "---\nimages:\n  - image_id: arm\n    image_name: regions/arm.gif\n    image_alt: The arm\n\
         gallery:\n  - image_url: muscles/png/Arm-M0-1.png\n  - image_url: muscles/png/Arm-M1-1.png\n---\n",
    );
    config(&site, CONFIG);
    site
}

fn config(site: &Site, text: &str) {
    common::write(&site.root().join("assetmill.yml"), text.as_bytes());
}

fn build(site: &Site) {
    let o = site.run(&["build", "-q"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `build --explain` (with `extra` arguments) and checks that it wrote
/// nothing anywhere in the site.
fn explain(site: &Site, path: &str, extra: &[&str]) -> Output {
    let before = common::snapshot(site.root());
    let mut args = vec!["build", "--explain", path];
    args.extend_from_slice(extra);
    let o = site.run(&args);
    assert!(
        common::snapshot(site.root()) == before,
        "--explain {path} wrote something"
    );
    o
}

/// `--explain` in JSON, with its exit code.
fn explain_json(site: &Site, path: &str) -> (i32, Value) {
    let o = explain(site, path, &["--format", "json"]);
    let doc = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)));
    (o.status.code().unwrap(), doc)
}

fn hash_of(site: &Site, rel: &str) -> String {
    assetmill::assetmap::hash(&std::fs::read(site.images().join(rel)).unwrap())
}

/// The `why` lines of every output in a JSON explanation.
fn whys(doc: &Value) -> Vec<Value> {
    doc["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| o["why"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn a_fresh_output_is_up_to_date_with_its_frames_settings_and_pages() {
    let site = site();
    build(&site);
    let o = explain(&site, "muscles/gif/Arm-M1.gif", &[]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    // Every frame in order, with its content hash.
    let frames: Vec<String> = (1..=3)
        .map(|i| {
            let key = format!("muscles/png/Arm-M1-{i}.png");
            format!("{i}. {key} {}", hash_of(&site, &key))
        })
        .collect();
    let at: Vec<usize> = frames
        .iter()
        .map(|f| out.find(f).unwrap_or_else(|| panic!("{f} missing:\n{out}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");
    for line in [
        "muscles/gif/Arm-M1.gif (gif)",
        "    gif.width 480\n",
        "    gif.quality 90\n",
        "    timing.loop forever\n",
        "    timing.delays_ms [100,100,100]\n",
        "    timing.pingpong false\n",
        "    animate.encoder_revision ",
        "    assetmill.version ",
        "    measure.revision ",
        "  up to date\n",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
    let page = muscle_page("Arm-M1", 3);
    // An entry's line is its list item's.
    let line = line_of(&page, "- image_id:");
    assert!(
        out.contains(&format!(
            "content/muscles/Arm-M1.md:{line} (page image muscles/gif/Arm-M1.gif)"
        )),
        "{out}"
    );

    // The video's settings: its encoder's and the GIF's size and timing.
    let o = explain(&site, "out/muscles/gif/Arm-M1.webm", &[]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for line in [
        "    video.av1.quantizer 120\n",
        "    video.av1.speed 10\n",
        "    video.encoders.rav1e ",
        "    gif.width 480\n",
        "    timing.delays_ms [100,100,100]\n",
    ] {
        assert!(out.contains(line), "{line:?} missing:\n{out}");
    }
    assert!(!out.contains("gif.quality"), "{out}");
    assert!(
        !out.contains("timing.loop"),
        "a video has no loop count: {out}"
    );

    // The JSON form says the same.
    let (code, doc) = explain_json(&site, "muscles/gif/Arm-M1.gif");
    assert_eq!(code, 0);
    assert_eq!(doc["kind"], "output");
    let gif = &doc["outputs"][0];
    assert_eq!(gif["path"], "muscles/gif/Arm-M1.gif");
    assert_eq!(gif["role"], "gif");
    assert_eq!(gif["reason"], Value::Null);
    assert_eq!(gif["why"], serde_json::json!([]));
    assert_eq!(gif["settings"]["gif.width"], 480);
    assert_eq!(gif["inputs"].as_array().unwrap().len(), 3);
    assert_eq!(gif["inputs"][1]["key"], "muscles/png/Arm-M1-2.png");
    assert_eq!(
        gif["inputs"][1]["hash"],
        hash_of(&site, "muscles/png/Arm-M1-2.png")
    );
    assert_eq!(gif["pages"][0]["page"], "content/muscles/Arm-M1.md");
    assert_eq!(gif["pages"][0]["line"], line);
    // And the cache holds what it explains: the options hash is the key
    // the cache recorded.
    let cache: Value =
        serde_json::from_slice(&std::fs::read(site.out().join(".assetmill/cache.json")).unwrap())
            .unwrap();
    let record = &cache["outputs"]["muscles/gif/Arm-M1.gif"];
    assert_eq!(record["options"], gif["options_hash"]);
    assert_eq!(record["inputs"], gif["inputs_hash"]);
    assert_eq!(
        cache["settings"][gif["options_hash"].as_str().unwrap()],
        gif["settings"]
    );
}

#[test]
fn a_changed_frame_is_named_exactly() {
    let site = site();
    build(&site);
    site.png("muscles/png/Arm-M1-2.png", 40, 40, 77);
    let o = explain(&site, "muscles/gif/Arm-M1.gif", &[]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("  a build would remake it (input changed):\n    frame muscles/png/Arm-M1-2.png changed (frame 2, "),
        "{out}"
    );
    assert_eq!(out.matches("frame muscles/png/").count(), 1, "{out}");
    // Arm-M0's frames have the same bytes as Arm-M1's (the same seeds), so
    // the two animations share an input hash: the frame lists are kept by
    // animation, and Arm-M0's never stands in for Arm-M1's.
    assert!(!out.contains("Arm-M0"), "{out}");

    let (code, doc) = explain_json(&site, "muscles/gif/Arm-M1.gif");
    assert_eq!(code, 1);
    assert_eq!(doc["outputs"][0]["reason"], "input-changed");
    let why = whys(&doc);
    assert_eq!(why.len(), 1, "{doc}");
    assert_eq!(why[0]["what"], "frame-changed");
    assert_eq!(why[0]["key"], "muscles/png/Arm-M1-2.png");
    assert_eq!(why[0]["position"], 2);
    assert_eq!(why[0]["new"], hash_of(&site, "muscles/png/Arm-M1-2.png"));

    // The other muscle is untouched, and so is the region (it uses only
    // the first frames).
    assert_eq!(
        explain(&site, "muscles/gif/Arm-M0.gif", &[]).status.code(),
        Some(0)
    );
    assert_eq!(
        explain(&site, "regions/arm.gif", &[]).status.code(),
        Some(0)
    );
    // The frame's own copy names its source.
    let o = explain(&site, "muscles/png/Arm-M1-2-thumb.png", &[]);
    assert!(
        text(&o.stdout).contains("    source muscles/png/Arm-M1-2.png changed ("),
        "{}",
        text(&o.stdout)
    );

    // After a build, everything is up to date again, and a frame added to
    // the gallery is named as added.
    build(&site);
    assert_eq!(
        explain(&site, "muscles/gif/Arm-M1.gif", &[]).status.code(),
        Some(0)
    );
    site.page("muscles/Arm-M1.md", &muscle_page("Arm-M1", 4));
    site.png("muscles/png/Arm-M1-4.png", 40, 40, 44);
    let out = text(&explain(&site, "muscles/gif/Arm-M1.gif", &[]).stdout);
    assert!(
        out.contains("    frame muscles/png/Arm-M1-4.png added (frame 4)\n"),
        "{out}"
    );
}

#[test]
fn a_changed_setting_shows_its_old_and_new_value() {
    let site = site();
    build(&site);
    config(
        &site,
        &format!("{CONFIG}gif:\n  width: 32\n  dither: 0.1\n"),
    );
    let o = explain(&site, "muscles/gif/Arm-M0.webm", &[]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("  a build would remake it (options changed):\n    gif.width 480 -> 32\n\n"),
        "{out}"
    );
    let out = text(&explain(&site, "muscles/gif/Arm-M0.gif", &[]).stdout);
    assert!(
        out.contains("    gif.dither 0.0 -> 0.1\n    gif.width 480 -> 32\n"),
        "{out}"
    );
    // Thumbnails do not depend on the GIF's width.
    assert_eq!(
        explain(&site, "muscles/png/Arm-M0-1-thumb.png", &[])
            .status
            .code(),
        Some(0)
    );
    let (_, doc) = explain_json(&site, "muscles/gif/Arm-M0.webm");
    assert_eq!(
        whys(&doc),
        [serde_json::json!({"what": "setting", "name": "gif.width", "old": 480, "new": 32})]
    );
}

#[test]
fn a_fit_budget_is_a_setting_of_the_outputs_it_shapes() {
    let site = site();
    config(
        &site,
        &format!("{CONFIG}budgets:\n  fit: true\n  gif: 1 MB\n"),
    );
    build(&site);
    let (code, doc) = explain_json(&site, "muscles/gif/Arm-M0.gif");
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        doc["outputs"][0]["settings"]["budgets.fit.bytes"],
        1_000_000
    );
    config(
        &site,
        &format!("{CONFIG}budgets:\n  fit: true\n  gif: 2 MB\n"),
    );
    let out = text(&explain(&site, "muscles/gif/Arm-M0.gif", &[]).stdout);
    assert!(
        out.contains("    budgets.fit.bytes 1000000 -> 2000000\n"),
        "{out}"
    );
    // The sprite has no budget: its key is unchanged.
    let (code, doc) = explain_json(&site, "muscles/gif/Arm-M0-sprite.png");
    assert_eq!(code, 0, "{doc}");
    assert!(
        doc["outputs"][0]["settings"]
            .get("budgets.fit.bytes")
            .is_none()
    );
}

#[test]
fn a_missing_or_altered_output_is_said_so() {
    let site = site();
    build(&site);
    std::fs::remove_file(site.out().join("muscles/gif/Arm-M0.gif")).unwrap();
    let o = explain(&site, "muscles/gif/Arm-M0.gif", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout)
            .contains("  a build would remake it (output missing):\n    output missing\n"),
        "{}",
        text(&o.stdout)
    );
    common::write(&site.out().join("muscles/gif/Arm-M0.mp4"), b"not a video");
    let out = text(&explain(&site, "muscles/gif/Arm-M0.mp4", &[]).stdout);
    assert!(
        out.contains("(output altered):\n    output altered on disk ("),
        "{out}"
    );
}

#[test]
fn before_any_build_everything_is_new_and_out_is_not_created() {
    let site = site();
    let (code, doc) = explain_json(&site, "muscles/gif/Arm-M0.gif");
    assert_eq!(code, 1);
    assert_eq!(doc["outputs"][0]["reason"], "new");
    assert_eq!(whys(&doc), [serde_json::json!({"what": "new"})]);
    assert!(!site.out().exists());
    let out = text(&explain(&site, "muscles/gif/Arm-M0.gif", &[]).stdout);
    assert!(out.contains("    new (never built)\n"), "{out}");
}

#[test]
fn a_source_path_explains_every_output_made_from_it() {
    let site = site();
    build(&site);
    let (code, doc) = explain_json(&site, "muscles/png/Arm-M0-1.png");
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["kind"], "source");
    assert_eq!(doc["source"]["key"], "muscles/png/Arm-M0-1.png");
    assert_eq!(
        doc["source"]["hash"],
        hash_of(&site, "muscles/png/Arm-M0-1.png")
    );
    let paths: Vec<&str> = doc["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    // Its copy and thumbnail, and every output of both animations that use
    // it, sorted.
    assert_eq!(
        paths,
        [
            "muscles/gif/Arm-M0-sprite.json",
            "muscles/gif/Arm-M0-sprite.png",
            "muscles/gif/Arm-M0.gif",
            "muscles/gif/Arm-M0.mp4",
            "muscles/gif/Arm-M0.webm",
            "muscles/png/Arm-M0-1-thumb.png",
            "muscles/png/Arm-M0-1.png",
            "regions/arm-sprite.json",
            "regions/arm-sprite.png",
            "regions/arm.gif",
            "regions/arm.mp4",
            "regions/arm.webm",
        ]
    );
    // With the output folder in front, the same path is the optimized copy
    // alone.
    let (_, doc) = explain_json(&site, "out/muscles/png/Arm-M0-1.png");
    assert_eq!(doc["kind"], "output");
    assert_eq!(doc["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(doc["outputs"][0]["role"], "optimized");
    // The text form lists them too, and after the frame changes, says so
    // for each.
    site.png("muscles/png/Arm-M0-1.png", 40, 40, 55);
    let o = explain(&site, "muscles/png/Arm-M0-1.png", &[]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out.starts_with("source muscles/png/Arm-M0-1.png ("),
        "{out}"
    );
    assert!(out.contains("12 outputs are made from it"), "{out}");
    assert_eq!(
        out.matches("    frame muscles/png/Arm-M0-1.png changed (frame 1, ")
            .count(),
        10,
        "{out}"
    );
    assert!(
        out.ends_with("explain: a build would remake 12 of 12 outputs\n"),
        "{out}"
    );
}

#[test]
fn an_unknown_path_fails_with_exit_2_and_the_closest_path() {
    let site = site();
    build(&site);
    let o = explain(&site, "muscles/gif/Arm-M7.gif", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = text(&o.stderr);
    assert!(
        err.contains("muscles/gif/Arm-M7.gif: is no output of this site and no source its pages name; did you mean muscles/gif/Arm-M0.gif?"),
        "{err}"
    );
    let o = explain(
        &site,
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
        &["--format", "json"],
    );
    assert_eq!(o.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["query"], "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
    assert!(
        doc["fatal"]
            .as_str()
            .unwrap()
            .contains("is no output of this site")
    );
    assert!(
        !text(&o.stderr).contains("did you mean"),
        "{}",
        text(&o.stderr)
    );
    let o = explain(&site, "assets.json", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is the asset map"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn an_older_cache_is_explained_by_its_hashes_and_the_new_maps_are_pruned() {
    let site = site();
    build(&site);
    let path = site.out().join(".assetmill/cache.json");
    let mut cache: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // One settings map per distinct options hash, one frame list per
    // animation: nothing unreferenced.
    let options: BTreeSet<&str> = cache["outputs"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["options"].as_str().unwrap())
        .collect();
    let settings: BTreeSet<&str> = cache["settings"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(options, settings);
    assert_eq!(cache["frames"].as_object().unwrap().len(), 3);

    // A cache from before the maps existed.
    let object = cache.as_object_mut().unwrap();
    object.remove("settings");
    object.remove("frames");
    common::write(&path, cache.to_string().as_bytes());
    assert_eq!(
        explain(&site, "muscles/gif/Arm-M0.gif", &[]).status.code(),
        Some(0)
    );
    config(&site, &format!("{CONFIG}gif:\n  width: 32\n"));
    site.png("muscles/png/Arm-M0-2.png", 40, 40, 66);
    let out = text(&explain(&site, "muscles/gif/Arm-M0.gif", &[]).stdout);
    assert!(out.contains("    inputs changed ("), "{out}");
    assert!(
        out.contains("no frame lists, so which frame is not known"),
        "{out}"
    );
    assert!(out.contains("    options changed ("), "{out}");
    assert!(
        out.contains("only their hash, so which setting is not known"),
        "{out}"
    );

    // A build writes the maps again, without the old settings.
    build(&site);
    let cache: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let gif = &cache["settings"][cache["outputs"]["muscles/gif/Arm-M0.gif"]["options"]
        .as_str()
        .unwrap()];
    assert_eq!(gif["gif.width"], 32);
    assert!(
        cache["settings"]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s.get("gif.width").is_none_or(|w| w == 32)),
        "{cache}"
    );
    let frames = &cache["frames"]["muscles/gif/Arm-M0.gif"];
    assert_eq!(frames[1]["key"], "muscles/png/Arm-M0-2.png");
    assert_eq!(
        frames[1]["hash"],
        hash_of(&site, "muscles/png/Arm-M0-2.png")
    );
    assert_eq!(cache["frames"].as_object().unwrap().len(), 3);
}
