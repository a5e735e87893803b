//! What CI jobs rely on, on real files and the real binary: `build --check`,
//! `--shard I/N` with `merge`, NDJSON progress events, and the GitHub
//! Actions example.

use crate::common;

use common::{Site, muscle_page, tree};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Five muscles of 3 frames, an overview page reusing the first one's
/// frames and GIF, a region page assembling its own GIF from frames the
/// muscles own, a lone figure, and a `_data` copy of the asset map.
fn site() -> Site {
    let site = Site::new();
    for p in 0..5 {
        let name = format!("Arm-M{p}");
        site.page(&format!("muscles/{name}.md"), &muscle_page(&name, 3));
        site.frames(&name, 3, 40, 40);
    }
    site.page("overview/arm.md", &muscle_page("Arm-M0", 3));
    let mut region = String::from(
        "---\ntitle: Arm region\nimages:\n  - image_id: arm\n    image_name: regions/arm.gif\n    \
         image_alt: The arm\ngallery:\n",
    );
    for p in 0..3 {
        region.push_str(&format!(
            "  - image_url: muscles/png/Arm-M{p}-1.png\n    caption: M{p}\n"
        ));
    }
    region.push_str("---\n");
    site.page("regions/arm region.md", &region);
    site.page(
        "figures.md",
        "---\nimages:\n  - image_id: fig\n    image_name: figures/one figure.png\n    \
         image_alt: A figure\n---\n",
    );
    site.png("figures/one figure.png", 50, 30, 7);
    common::write(
        &site.root().join("assetmill.yml"),
        format!(
            "asset_map:\n  data_copy: _data/assets.yml\n{}",
            common::FAST_VIDEOS
        )
        .as_bytes(),
    );
    site
}

fn run(site: &Site, args: &[&str]) -> Output {
    site.run(args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// `build --check`: its exit code and lines, and that it writes nothing.
fn check(site: &Site) -> (i32, String) {
    let before = common::snapshot(site.root());
    let o = run(site, &["build", "--check"]);
    assert_eq!(
        common::snapshot(site.root()),
        before,
        "--check wrote something"
    );
    (o.status.code().unwrap(), stdout(&o))
}

#[test]
fn check_fails_exactly_when_something_is_stale_and_writes_nothing() {
    let site = site();
    // Nothing built yet: everything is new, and `out/` is not created.
    let (code, text) = check(&site);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("would build muscles/gif/Arm-M0.gif (new)"),
        "{text}"
    );
    assert!(!site.out().exists());

    ok(&run(&site, &["build", "-q"]));
    let (code, text) = check(&site);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("check: all"), "{text}");

    // A changed frame: its outputs and every animation made from it.
    site.png("muscles/png/Arm-M1-2.png", 40, 40, 99);
    let (code, text) = check(&site);
    assert_eq!(code, 1);
    for line in [
        "would build muscles/png/Arm-M1-2.png (input changed)",
        "would build muscles/png/Arm-M1-2-thumb.png (input changed)",
        "would build muscles/gif/Arm-M1.gif (input changed)",
        "would build muscles/gif/Arm-M1.webm (input changed)",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    assert!(!text.contains("Arm-M2"), "{text}");
    ok(&run(&site, &["build", "-q"]));
    assert_eq!(check(&site).0, 0);

    // A deleted output.
    std::fs::remove_file(site.out().join("muscles/png/Arm-M3-1-thumb.png")).unwrap();
    let (code, text) = check(&site);
    assert_eq!(code, 1);
    assert!(
        text.contains("would build muscles/png/Arm-M3-1-thumb.png (output missing)"),
        "{text}"
    );
    ok(&run(&site, &["build", "-q"]));
    assert_eq!(check(&site).0, 0);

    // An asset map edited by hand.
    let map = site.out().join("assets.json");
    let original = std::fs::read(&map).unwrap();
    common::write(&map, b"{}\n");
    let (code, text) = check(&site);
    assert_eq!(code, 1);
    assert!(text.contains("would build assets.json"), "{text}");
    common::write(&map, &original);
    assert_eq!(check(&site).0, 0);

    // A removed page: its outputs would go, and so would its map entries.
    std::fs::remove_file(site.content().join("muscles/Arm-M4.md")).unwrap();
    let (code, text) = check(&site);
    assert_eq!(code, 1);
    assert!(
        text.contains("would remove muscles/gif/Arm-M4.gif (no longer referenced)"),
        "{text}"
    );
    ok(&run(&site, &["build", "-q"]));
    let (code, text) = check(&site);
    assert_eq!(code, 0, "{text}");

    // The JSON form says the same.
    let o = run(&site, &["build", "--check", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["check"], true);
    assert_eq!(doc["up_to_date"], true);
}

fn shard_dirs(site: &Site, n: u32) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let dir = format!("shard-{i}");
            ok(&run(
                site,
                &["build", "-q", "--shard", &format!("{i}/{n}"), "--out", &dir],
            ));
            dir
        })
        .collect()
}

fn merge(site: &Site, out: &str, dirs: &[&str]) -> Output {
    let mut args = vec!["merge", "--out", out];
    args.extend(dirs);
    run(site, &args)
}

#[test]
fn three_shards_merge_into_the_single_build_byte_for_byte() {
    let site = site();
    ok(&run(&site, &["build", "-q"]));
    let single = tree(&site.out());
    let data = site.root().join("_data/assets.yml");
    let single_data = std::fs::read(&data).unwrap();
    std::fs::remove_file(&data).unwrap();

    let dirs = shard_dirs(&site, 3);
    // Every shard built part of the site and none the `_data` copy.
    assert!(!data.exists(), "a shard wrote the _data copy");
    let mut shard_assets = serde_json::Map::new();
    for dir in &dirs {
        let files = tree(&site.root().join(dir));
        assert!(
            files
                .keys()
                .any(|k| k.ends_with(".png") && !k.contains("sprite")),
            "{dir} is empty"
        );
        assert!(files.len() < single.len());
        let map: Value = serde_json::from_slice(
            &std::fs::read(site.root().join(dir).join("assets.json")).unwrap(),
        )
        .unwrap();
        for (k, v) in map["assets"].as_object().unwrap() {
            assert!(
                shard_assets.insert(k.clone(), v.clone()).is_none(),
                "{k} twice"
            );
        }
    }

    let refs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    let o = merge(&site, "merged", &refs);
    ok(&o);
    assert!(stdout(&o).contains("merged 3 shards"), "{}", stdout(&o));
    let merged = tree(&site.root().join("merged"));
    assert_eq!(
        merged.keys().collect::<Vec<_>>(),
        single.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &single {
        assert!(merged[path] == *bytes, "{path} differs");
    }
    assert_eq!(std::fs::read(&data).unwrap(), single_data);
    // The shards' partial maps are the whole map, split.
    let map: Value = serde_json::from_slice(&merged["assets.json"]).unwrap();
    assert_eq!(map["assets"], Value::Object(shard_assets));

    // A build of the merged folder builds nothing.
    let o = run(&site, &["build", "--out", "merged", "--format", "json"]);
    ok(&o);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["summary"]["built"], 0, "{doc}");
    assert_eq!(doc["summary"]["decoded"], 0, "{doc}");
    ok(&run(&site, &["build", "--check", "--out", "merged"]));

    // A shard rebuilt after one frame changed rebuilds only its part, and
    // the merge still matches a single build.
    site.png("muscles/png/Arm-M3-1.png", 40, 40, 42);
    let mut rebuilt = 0;
    for (i, dir) in dirs.iter().enumerate() {
        let o = run(
            &site,
            &[
                "build",
                "--format",
                "json",
                "--shard",
                &format!("{}/3", i + 1),
                "--out",
                dir,
            ],
        );
        ok(&o);
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        rebuilt += doc["summary"]["decoded"].as_u64().unwrap();
    }
    // The frame, and the animations that use it (Arm-M3's and the region's
    // with the frames it needs).
    assert!(rebuilt <= 1 + 3 + 3, "decoded {rebuilt}");
    ok(&merge(&site, "merged-2", &refs));
    ok(&run(&site, &["build", "-q"]));
    let single = tree(&site.out());
    let merged = tree(&site.root().join("merged-2"));
    assert!(
        merged == single,
        "merge after a change differs from a single build"
    );
}

#[test]
fn merge_refuses_missing_overlapping_and_mismatched_shards() {
    let site = site();
    shard_dirs(&site, 3);
    ok(&run(&site, &["build", "-q"]));
    let refused = |dirs: &[&str], expect: &str| {
        let o = merge(&site, "merged", dirs);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(expect),
            "{expect:?} not in {}",
            stderr(&o)
        );
        assert!(!site.root().join("merged").exists(), "half-merged");
    };
    refused(&["shard-1", "shard-2"], "shard 3/3 is missing");
    refused(
        &["shard-1", "shard-2", "shard-3", "shard-1"],
        "is shard 1/3, and so is",
    );
    refused(
        &["shard-1", "shard-2", "out"],
        "holds no finished shard build",
    );
    refused(&["shard-1", "shard-2", "nowhere"], "no such folder");

    // A shard of another split into N.
    ok(&run(
        &site,
        &["build", "-q", "--shard", "2/2", "--out", "half"],
    ));
    refused(&["shard-1", "half", "shard-3"], "same split into N");

    // A shard built with other options.
    let other = site.root().join("other.yml");
    common::write(&other, b"gif:\n  width: 24\n");
    ok(&run(
        &site,
        &[
            "--config",
            "other.yml",
            "build",
            "-q",
            "--shard",
            "3/3",
            "--out",
            "odd",
        ],
    ));
    refused(&["shard-1", "shard-2", "odd"], "other options");

    // A shard built from other pages.
    site.page("muscles/Arm-M9.md", &muscle_page("Arm-M9", 3));
    site.frames("Arm-M9", 3, 40, 40);
    ok(&run(
        &site,
        &["build", "-q", "--shard", "3/3", "--out", "newer"],
    ));
    refused(&["shard-1", "shard-2", "newer"], "other pages");
    std::fs::remove_file(site.content().join("muscles/Arm-M9.md")).unwrap();

    // Two shards that both claim an output: the split assigns it to one.
    let cache_of = |dir: &str| site.root().join(dir).join(".assetmill/cache.json");
    let one: Value = serde_json::from_slice(&std::fs::read(cache_of("shard-1")).unwrap()).unwrap();
    let mut two: Value =
        serde_json::from_slice(&std::fs::read(cache_of("shard-2")).unwrap()).unwrap();
    let (path, record) = one["outputs"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(p, _)| p.ends_with(".png"))
        .unwrap();
    two["outputs"][path] = record.clone();
    common::write(&cache_of("shard-2"), two.to_string().as_bytes());
    refused(
        &["shard-1", "shard-2", "shard-3"],
        "which the split assigns to shard 1/3, not to shard 2/3",
    );

    // A shard file changed after its build.
    let dirs = shard_dirs(&site, 3);
    let three: Value =
        serde_json::from_slice(&std::fs::read(cache_of("shard-3")).unwrap()).unwrap();
    let victim = three["outputs"]
        .as_object()
        .unwrap()
        .keys()
        .find(|p| p.ends_with(".gif"))
        .unwrap()
        .clone();
    common::write(&site.root().join("shard-3").join(&victim), b"GIF89a");
    refused(
        &["shard-1", "shard-2", "shard-3"],
        "differs from what shard 3/3 recorded",
    );
    assert_eq!(dirs.len(), 3);

    // A shard pointed at a full build's folder refuses to touch it.
    let o = run(&site, &["build", "--shard", "1/3"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds a full build"), "{}", stderr(&o));
}

/// Copies every file of the shard folders `dirs` into fresh folders named
/// `{name}-1`, `{name}-2`, … and returns those names.
fn copy_shards(site: &Site, dirs: &[String], name: &str) -> Vec<String> {
    dirs.iter()
        .enumerate()
        .map(|(i, dir)| {
            let copy = format!("{name}-{}", i + 1);
            for (rel, bytes) in tree(&site.root().join(dir)) {
                common::write(&site.root().join(&copy).join(rel), &bytes);
            }
            copy
        })
        .collect()
}

/// A shard folder's cache, as JSON.
fn shard_cache(site: &Site, dir: &str) -> Value {
    let path = site.root().join(dir).join(".assetmill/cache.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn set_shard_cache(site: &Site, dir: &str, cache: &Value) {
    let path = site.root().join(dir).join(".assetmill/cache.json");
    common::write(
        &path,
        serde_json::to_string_pretty(cache).unwrap().as_bytes(),
    );
}

/// The path of a recorded output of shard folder `dir` that ends in `ext`.
fn recorded(site: &Site, dir: &str, ext: &str) -> String {
    shard_cache(site, dir)["outputs"]
        .as_object()
        .unwrap()
        .keys()
        .find(|p| p.ends_with(ext) && !p.starts_with("assets"))
        .unwrap_or_else(|| panic!("{dir} records no {ext}"))
        .clone()
}

/// Adds a record for `rel` to shard folder `dir`'s cache, describing
/// `bytes`, and puts those bytes there.
fn plant_record(site: &Site, dir: &str, rel: &str, bytes: &[u8]) {
    let mut cache = shard_cache(site, dir);
    let (_, template) = cache["outputs"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(p, _)| p.ends_with(".png"))
        .unwrap();
    let mut record = template.clone();
    record["file"]["path"] = rel.into();
    record["file"]["bytes"] = bytes.len().into();
    record["file"]["hash"] = assetmill::assetmap::hash(bytes).into();
    cache["outputs"][rel] = record;
    set_shard_cache(site, dir, &cache);
    common::write(&site.root().join(dir).join(rel), bytes);
}

/// A shard folder is a CI artifact that anyone who can open a pull request
/// can shape. Each shaping below is refused, exit 1, naming what is wrong,
/// and the merge's output folder (which holds an earlier merge and a file
/// of the user's) is left exactly as it was: not a byte, not a timestamp.
#[test]
fn merge_refuses_shard_folders_shaped_against_the_output_folder() {
    let site = site();
    let clean = shard_dirs(&site, 3);
    let refs: Vec<&str> = clean.iter().map(String::as_str).collect();
    ok(&merge(&site, "merged", &refs));
    let out = site.root().join("merged");
    common::write(&out.join("notes.txt"), b"the user's own notes");
    let secret = site.root().join("secret.txt");
    common::write(&secret, b"a file outside every shard folder");
    let mut attacks = 0;
    let mut refused = |name: &str, tamper: &dyn Fn(&[String]), expect: &[&str]| {
        attacks += 1;
        let dirs = copy_shards(&site, &clean, name);
        tamper(&dirs);
        let before = common::snapshot(&out);
        let refs: Vec<&str> = dirs.iter().map(String::as_str).collect();
        let started = std::time::Instant::now();
        let o = merge(&site, "merged", &refs);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        for e in expect {
            assert!(
                stderr(&o).contains(e),
                "{name}: {e:?} not in {}",
                stderr(&o)
            );
        }
        assert!(
            common::snapshot(&out) == before,
            "{name}: the refused merge changed the output folder"
        );
        assert!(
            started.elapsed().as_secs() < 20,
            "{name}: took {:?}",
            started.elapsed()
        );
    };

    // A recorded file replaced by a sparse 64 GiB one: refused by its size,
    // before a byte of it is read.
    refused(
        "sparse",
        &|dirs| {
            let rel = recorded(&site, &dirs[0], ".gif");
            let file = std::fs::File::create(site.root().join(&dirs[0]).join(rel)).unwrap();
            file.set_len(64 << 30).unwrap();
        },
        &["68719476736 bytes", "shard 1/3 recorded"],
    );
    // A recorded file replaced by a link to a file outside the shard
    // folder, its record rewritten to match: the link is not followed.
    refused(
        "file-link",
        &|dirs| {
            let rel = recorded(&site, &dirs[0], ".png");
            let secret_bytes = std::fs::read(&secret).unwrap();
            plant_record(&site, &dirs[0], &rel, &secret_bytes);
            let path = site.root().join(&dirs[0]).join(&rel);
            std::fs::remove_file(&path).unwrap();
            std::os::unix::fs::symlink(&secret, &path).unwrap();
        },
        &["symbolic link"],
    );
    // A folder of the shard replaced by a link to a copy elsewhere: every
    // file intact, but reached through a link.
    refused(
        "folder-link",
        &|dirs| {
            let rel = recorded(&site, &dirs[0], ".png");
            let top = rel.split('/').next().unwrap();
            let folder = site.root().join(&dirs[0]).join(top);
            let elsewhere = site.root().join("elsewhere");
            std::fs::rename(&folder, &elsewhere).unwrap();
            std::os::unix::fs::symlink(&elsewhere, &folder).unwrap();
        },
        &["symbolic link"],
    );
    // A record for a file of the user's in the output folder, and for the
    // lock: no output the split assigns to that shard.
    refused(
        "notes",
        &|dirs| plant_record(&site, &dirs[1], "notes.txt", b"overwritten"),
        &["notes.txt", "shard 2/3"],
    );
    refused(
        "lock",
        &|dirs| plant_record(&site, &dirs[1], ".assetmill/lock", b"999999"),
        &[".assetmill/lock"],
    );
    // Every shard stamped as one of 4294967295: more shards than units.
    refused(
        "many-shards",
        &|dirs| {
            for dir in dirs {
                let mut cache = shard_cache(&site, dir);
                cache["shard"]["shard"]["count"] = 4294967295u32.into();
                set_shard_cache(&site, dir, &cache);
            }
        },
        &["4294967295", "units"],
    );
    // A cache file padded past the size a cache may have.
    refused(
        "big-cache",
        &|dirs| {
            let path = site.root().join(&dirs[1]).join(".assetmill/cache.json");
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.resize(bytes.len() + (40 << 20), b' ');
            common::write(&path, &bytes);
        },
        &["cache.json", "over the limit"],
    );
    // A cache file within that size whose parse would cost many times it:
    // four million values in an unused settings entry.
    refused(
        "dense-cache",
        &|dirs| {
            let mut cache = shard_cache(&site, &dirs[2]);
            cache["settings"]["padding"] = serde_json::json!({ "x": [] });
            let text = serde_json::to_string(&cache).unwrap();
            let text = text.replacen("\"x\":[]", &format!("\"x\":[{}0]", "0,".repeat(4 << 20)), 1);
            common::write(
                &site.root().join(&dirs[2]).join(".assetmill/cache.json"),
                text.as_bytes(),
            );
        },
        &["cache.json", "values"],
    );
    assert_eq!(attacks, 8);
    // The clean shards still merge, and the user's file is left alone.
    ok(&merge(&site, "merged", &refs));
    assert_eq!(
        std::fs::read(out.join("notes.txt")).unwrap(),
        b"the user's own notes"
    );
}

/// `--shard I/N` with more shards than the site has units of work is bad
/// usage (exit 2), refused before anything is written or allocated per shard.
#[test]
fn build_refuses_more_shards_than_units() {
    let site = site();
    // Five muscles, the region and the figure: seven units.
    ok(&run(
        &site,
        &["build", "-q", "--shard", "7/7", "--out", "s7"],
    ));
    for shard in ["1/8", "1/4294967295"] {
        let o = run(&site, &["build", "-q", "--shard", shard, "--out", "many"]);
        assert_eq!(o.status.code(), Some(2), "{shard}: {}", stderr(&o));
        assert!(stderr(&o).contains("7 units"), "{shard}: {}", stderr(&o));
        assert!(
            !site.root().join("many").exists(),
            "{shard}: wrote something"
        );
    }
}

/// The build's own cache is restored from a CI cache, which a pull request
/// can shape too: one over the limits is not trusted (everything is
/// rebuilt, with a note saying why), and the build goes on.
#[test]
fn build_distrusts_a_cache_over_the_limits() {
    let site = site();
    ok(&run(&site, &["build", "-q"]));
    let path = site.out().join(".assetmill/cache.json");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.resize(bytes.len() + (40 << 20), b' ');
    common::write(&path, &bytes);
    let o = run(&site, &["build", "--format", "json"]);
    ok(&o);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["summary"]["decoded"].as_u64().unwrap() > 0, "{doc}");
    assert!(
        stderr(&o).contains("cache.json") && stderr(&o).contains("over the limit"),
        "{}",
        stderr(&o)
    );
    // The cache written now is a normal one, and trusted.
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let o = run(&site, &["build", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["summary"]["decoded"], 0, "{doc}");

    // An output in that restored folder swapped for a sparse 64 GiB file
    // is told apart by its size, without reading it, and made again.
    let gif = site.out().join("muscles/gif/Arm-M1.gif");
    let recorded = std::fs::metadata(&gif).unwrap().len();
    std::fs::File::create(&gif)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let o = run(&site, &["build", "--format", "json"]);
    ok(&o);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let change = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "muscles/gif/Arm-M1.gif")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(change["reason"], "output-altered");
    assert_eq!(std::fs::metadata(&gif).unwrap().len(), recorded);
}

#[test]
fn ndjson_events_are_one_json_object_per_line_ending_with_the_summary() {
    let site = site();
    site.page(
        "broken.md",
        "---\nimages:\n  - image_id: gone\n    image_name: figures/missing.png\n    \
         image_alt: Gone\n---\n",
    );
    let o = run(&site, &["build", "--progress", "ndjson"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let events: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(kinds.last(), Some(&"finish"));
    let start = &events[0];
    let units = start["units"].as_u64().unwrap();
    assert_eq!(kinds.iter().filter(|k| **k == "unit").count() as u64, units);
    let outputs: u64 = events
        .iter()
        .filter(|e| e["event"] == "unit")
        .map(|e| e["outputs"].as_array().unwrap().len() as u64)
        .sum();
    // Every planned output but the missing figure's optimized copy.
    assert_eq!(outputs, start["outputs"].as_u64().unwrap() - 1);
    let gif = events
        .iter()
        .find(|e| e["event"] == "unit" && e["unit"] == "muscles/gif/Arm-M0.gif")
        .expect("the animation's unit event");
    assert_eq!(gif["kind"], "animation");
    assert!(gif["seconds"].as_f64().unwrap() > 0.0);
    assert!(
        gif["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["role"] == "webm" && o["bytes"].as_u64().unwrap() > 0 && o["built"] == true)
    );
    let missing = events
        .iter()
        .find(|e| e["event"] == "diagnostic")
        .expect("a diagnostic event");
    assert_eq!(missing["severity"], "error");
    assert!(missing["file"].as_str().unwrap().ends_with("broken.md"));
    assert_eq!(missing["line"], 3);
    let finish = events.last().unwrap();
    assert_eq!(finish["exit_code"], 1);
    assert_eq!(finish["errors"], 1);
    assert_eq!(
        finish["summary"]["built"].as_u64().unwrap(),
        outputs + 1,
        "every output and the asset map"
    );
    // The human report goes to stderr.
    assert!(stderr(&o).contains("built "), "{}", stderr(&o));

    // Events and a JSON document both want stdout.
    let o = run(
        &site,
        &["build", "--progress", "ndjson", "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// Runs the example workflow's assetmill steps on a real site: each shard
/// job, the artifact moves GitHub makes, then the merge job.
#[test]
fn github_actions_example_runs_as_written() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions.yml"),
    )
    .unwrap();
    let flow: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(flow["env"]["ASSETMILL_VERSION"], env!("CARGO_PKG_VERSION"));
    let shard_job = &flow["jobs"]["shard"];
    let merge_job = &flow["jobs"]["merge"];
    assert_eq!(merge_job["needs"], "shard");
    let shards: Vec<u64> = shard_job["strategy"]["matrix"]["shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let steps = |job: &Value| job["steps"].as_array().unwrap().clone();
    let uses = |job: &Value, action: &str| -> Vec<Value> {
        steps(job)
            .into_iter()
            .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .collect()
    };
    // Hidden files must travel: the shard's cache says what it holds.
    for upload in uses(shard_job, "actions/upload-artifact")
        .iter()
        .chain(&uses(merge_job, "actions/upload-artifact")[..1])
    {
        assert_eq!(upload["with"]["include-hidden-files"], true);
    }
    let cache = &uses(shard_job, "actions/cache")[0]["with"];
    let key = cache["key"].as_str().unwrap();
    assert!(
        key.contains("${{ matrix.shard }}") && key.contains("hashFiles("),
        "{key}"
    );

    let site = site();
    let bin = Path::new(env!("CARGO_BIN_EXE_assetmill")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run_steps = |job: &Value, subst: &dyn Fn(&str) -> String| {
        let mut ran = 0;
        for step in steps(job) {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            if !script.trim_start().starts_with("assetmill ") {
                continue; // installing it
            }
            let script = subst(script);
            assert!(!script.contains("${{"), "unknown expression in {script}");
            let o = Command::new("bash")
                .args(["-euo", "pipefail", "-c", &script])
                .env("PATH", &path)
                .current_dir(site.root())
                .output()
                .unwrap();
            ok(&o);
            ran += 1;
        }
        ran
    };
    let upload = &uses(shard_job, "actions/upload-artifact")[0]["with"];
    let download = &uses(merge_job, "actions/download-artifact")[0]["with"];
    let into = site.root().join(download["path"].as_str().unwrap());
    for &i in &shards {
        let subst = |s: &str| {
            s.replace("${{ matrix.shard }}", &i.to_string())
                .replace("${{ strategy.job-total }}", &shards.len().to_string())
        };
        assert_eq!(run_steps(shard_job, &subst), 1);
        // download-artifact with a pattern puts each artifact in a folder
        // named after it.
        let from = site.root().join(subst(upload["path"].as_str().unwrap()));
        let name = subst(upload["name"].as_str().unwrap());
        std::fs::create_dir_all(&into).unwrap();
        std::fs::rename(from, into.join(name)).unwrap();
    }
    assert_eq!(run_steps(merge_job, &|s: &str| s.to_owned()), 2);
    let merged = tree(&site.out());
    ok(&run(&site, &["build", "-q", "--out", "single"]));
    assert!(merged == tree(&site.root().join("single")));
    assert!(site.out().join(".assetmill/report.html").is_file());
}

/// The JSON Schemas committed in `schema/`, checked by an independent
/// validator: Python's `jsonschema` (Debian's `python3-jsonschema`, which
/// .ci/run installs), the reference implementation of the specification.
/// One validator process answers every question of a test (starting
/// Python and importing jsonschema once per document cost seconds).
struct Schemas {
    dir: std::path::PathBuf,
    validator: std::cell::RefCell<Validator>,
}

struct Validator {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: std::io::BufReader<std::process::ChildStdout>,
}

impl Drop for Validator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads requests, one JSON line each: a schema file and a document. Writes
/// one JSON line per request: the document's violations, each as
/// "/path: message".
const VALIDATE: &str = r#"
import json, sys
import jsonschema
validators = {}
for line in sys.stdin:
    request = json.loads(line)
    path = request["schema"]
    if path not in validators:
        schema = json.load(open(path))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validators[path] = cls(schema)
    errors = [
        "/" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message
        for e in validators[path].iter_errors(request["doc"])
    ]
    print(json.dumps(errors), flush=True)
"#;

impl Schemas {
    /// `None` (a failure under CI) when Python or its `jsonschema` is
    /// missing.
    fn load() -> Option<Self> {
        let python = assetmill::testsupport::tool("python3")?;
        let probe = Command::new(&python)
            .args(["-c", "import jsonschema"])
            .output()
            .unwrap();
        if !probe.status.success() {
            let why = String::from_utf8_lossy(&probe.stderr).into_owned();
            assetmill::testsupport::unavailable("python3-jsonschema", why.trim());
            return None;
        }
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(VALIDATE)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = std::io::BufReader::new(child.stdout.take().unwrap());
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        let validator = Validator {
            child,
            input,
            output,
        };
        Some(Schemas {
            dir,
            validator: validator.into(),
        })
    }

    /// Why `doc` is not a valid `name` document, if it is not.
    fn errors(&self, name: &str, doc: &Value) -> Option<String> {
        use std::io::{BufRead, Write};
        if doc["schema"] != format!("assetmill.{name}/1") {
            return Some(format!("schema is {}", doc["schema"]));
        }
        let schema = self.dir.join(format!("{name}.schema.json"));
        let request = serde_json::json!({ "schema": schema, "doc": doc });
        let mut validator = self.validator.borrow_mut();
        writeln!(validator.input, "{request}").unwrap();
        let mut answer = String::new();
        validator.output.read_line(&mut answer).unwrap();
        let errors: Vec<String> = serde_json::from_str(&answer).unwrap_or_else(|e| {
            panic!(
                "{}: the validator failed ({e}; its error is above)",
                schema.display()
            )
        });
        (!errors.is_empty()).then(|| errors.join("\n"))
    }

    #[track_caller]
    fn check(&self, name: &str, doc: &Value) {
        if let Some(e) = self.errors(name, doc) {
            panic!("not a valid {name} document: {e}\n{doc:#}");
        }
    }
}

/// Every kind of document the binary prints (check, build, dry run,
/// `--check`, shard, merge, explain, fatal errors, and every NDJSON event
/// including a fatal `finish`) validates against its committed schema.
#[test]
fn every_document_the_binary_prints_validates_against_its_schema() {
    let site = site();
    site.page(
        "broken.md",
        "---\nimages:\n  - image_id: gone\n    image_name: figures/one figur.png\n    \
         image_alt: Gone\n---\n",
    );
    let Some(schemas) = Schemas::load() else {
        return;
    };

    let (code, doc) = site.json(&["check", "--format", "json"]);
    assert_eq!(code, 1, "{doc:#}");
    schemas.check("check", &doc);
    assert_eq!(doc["errors"], 1, "{doc:#}");
    assert!(doc["diagnostics"][0]["hint"].is_string(), "{doc:#}");

    let o = run(&site, &["build", "--progress", "ndjson"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let mut kinds = std::collections::BTreeSet::new();
    for line in stdout(&o).lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        schemas.check("event", &event);
        kinds.insert(event["event"].as_str().unwrap().to_owned());
    }
    let all = ["diagnostic", "finish", "start", "unit"].map(String::from);
    assert_eq!(kinds, std::collections::BTreeSet::from(all));

    let modes: [&[&str]; 3] = [&[], &["--dry-run"], &["--check"]];
    for mode in modes {
        let args = [&["build", "--format", "json"][..], mode].concat();
        let (_, doc) = site.json(&args);
        schemas.check("build", &doc);
        assert_eq!(doc["check"], mode == ["--check"], "{doc:#}");
    }

    // An explanation with a reason and a `why`.
    site.png("muscles/png/Arm-M1-2.png", 40, 40, 99);
    for path in ["muscles/gif/Arm-M1.gif", "muscles/png/Arm-M1-2.png"] {
        let (code, doc) = site.json(&["build", "--explain", path, "--format", "json"]);
        assert_eq!(code, 1, "{doc:#}");
        schemas.check("explain", &doc);
        assert!(!doc["outputs"][0]["why"].as_array().unwrap().is_empty());
    }
    let (code, doc) = site.json(&["build", "--explain", "nothing.gif", "--format", "json"]);
    assert_eq!(code, 2);
    schemas.check("fatal", &doc);
    assert_eq!(doc["query"], "nothing.gif");

    for i in 1..=2 {
        let (shard, out) = (format!("{i}/2"), format!("s{i}"));
        let args = [
            "build", "--shard", &shard, "--out", &out, "--format", "json",
        ];
        schemas.check("build", &site.json(&args).1);
    }
    let (_, doc) = site.json(&["merge", "s1", "s2", "--out", "m", "--format", "json"]);
    schemas.check("build", &doc);
    assert_eq!(doc["merged"]["shards"], 2, "{doc:#}");

    // Shard 2 of 2 is missing: the merge cannot go on.
    let (code, doc) = site.json(&["merge", "s1", "--out", "m2", "--format", "json"]);
    assert_eq!(code, 1, "{doc:#}");
    schemas.check("fatal", &doc);
    let o = run(
        &site,
        &["merge", "s1", "--out", "m2", "--progress", "ndjson"],
    );
    let finish: Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    schemas.check("event", &finish);
    assert!(finish["fatal"].is_string(), "{finish:#}");

    // The schemas are not rubber stamps.
    let (_, mut doc) = site.json(&["build", "--format", "json"]);
    schemas.check("build", &doc);
    doc["summary"]["built"] = "many".into();
    assert!(schemas.errors("build", &doc).is_some());
    doc["summary"]["built"] = 0.into();
    doc.as_object_mut().unwrap().remove("diagnostics");
    assert!(schemas.errors("build", &doc).is_some());
    assert!(schemas.errors("check", &doc).is_some());
}

/// Whether AV1 runs with SIMD, and the fix when it does not, where a user
/// or a CI job looks: `--version`, the JSON summary, the review report.
/// This checkout's default build on x86-64 has no rav1e assembly; with
/// `--features asm`, or on aarch64, it has.
#[test]
fn every_report_says_whether_av1_runs_with_simd() {
    let with_simd = cfg!(any(
        all(target_arch = "x86_64", feature = "asm"),
        target_arch = "aarch64"
    ));
    let version = run(&Site::new(), &["--version"]);
    ok(&version);
    let version = stdout(&version);
    assert!(
        version.starts_with(&format!("assetmill {}\n", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let fix = "install nasm (2.14.02 or newer) and build with `--features asm`";
    if with_simd {
        assert!(version.contains("AV1: rav1e with SIMD ("), "{version}");
    } else {
        assert!(version.contains("AV1: rav1e without SIMD"), "{version}");
        assert!(version.contains(fix), "{version}");
    }

    let site = site();
    let o = run(&site, &["build", "--format", "json"]);
    ok(&o);
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let av1 = &doc["summary"]["av1"];
    assert_eq!(av1["simd"].is_string(), with_simd, "{av1}");
    assert_eq!(av1["fix"].is_string(), !with_simd, "{av1}");
    if !with_simd {
        assert!(av1["fix"].as_str().unwrap().contains(fix), "{av1}");
    }
    let review =
        std::fs::read_to_string(site.root().join(doc["review"].as_str().unwrap())).unwrap();
    let row = review
        .lines()
        .find(|l| l.contains("<dt>AV1 SIMD</dt>"))
        .unwrap_or_else(|| panic!("no AV1 SIMD row in the run section"));
    if with_simd {
        assert!(row.contains(av1["simd"].as_str().unwrap()), "{row}");
    } else {
        assert!(row.contains("none: AV1 runs 4-5x slower"), "{row}");
        assert!(row.contains("nasm"), "{row}");
    }
}
