//! Timing from front matter: `image_delay_ms`, `image_loop` and
//! `image_pingpong` on the page image, `delay_ms` on a gallery frame. They
//! shape the GIF (decoded here frame by frame), the videos (read by
//! ffprobe), both sprite atlases and the asset map; bad values are errors
//! at their line; changing one remakes exactly what it shapes.

use crate::common;

use common::{Site, line_of};
use serde_json::Value;
use std::path::Path;

const NAME: &str = "Leg-Soleus";
const FRAMES: usize = 4;

/// A muscle page whose page image carries `image_keys` (YAML lines, each
/// indented as an entry field) and whose frame `hold` (1-based) carries
/// `delay_ms: HOLD_MS` when given.
fn page(name: &str, image_keys: &[&str], hold: Option<(usize, &str)>) -> String {
    let mut s = format!(
        "---\nlayout: page\nheader: no\nimages:\n  - image_id: 'Leg'\n    \
         image_name: 'muscles/gif/{name}.gif'\n    image_alt: 'The leg'\n"
    );
    for key in image_keys {
        s.push_str(&format!("    {key}\n"));
    }
    s.push_str("gallery:\n");
    for i in 1..=FRAMES {
        s.push_str(&format!(
            "  - image_url: muscles/png/{name}-{i}.png\n    title: '{name} {i}'\n"
        ));
        if let Some((frame, value)) = hold
            && frame == i
        {
            s.push_str(&format!("    delay_ms: {value}\n"));
        }
    }
    s.push_str("---\n{% include page-image im_id=\"Leg\" %}\n");
    s
}

fn site(page_text: &str, yaml: &str) -> Site {
    let site = Site::new();
    site.page("leg.md", page_text);
    site.frames(NAME, FRAMES, 64, 48);
    common::write(&site.root().join("assetmill.yml"), yaml.as_bytes());
    site
}

/// `assetmill <command> --format json`: (exit code, document).
fn run(site: &Site, command: &str) -> (i32, Value) {
    site.json(&["-q", command, "--format", "json"])
}

/// (severity, line, message) of every diagnostic about `leg.md`.
fn about_page(doc: &Value) -> Vec<(String, u64, String)> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"].as_str().unwrap().ends_with("leg.md"))
        .map(|d| {
            (
                d["severity"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap_or(0),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Each frame's stored delay (centiseconds) and the loop setting.
fn gif_timing(path: &Path) -> (Vec<u16>, gif::Repeat, Vec<image::RgbaImage>) {
    let file = std::fs::File::open(path).unwrap();
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut reader = options.read_info(file).unwrap();
    let mut delays = Vec::new();
    while let Some(frame) = reader.read_next_frame().unwrap() {
        delays.push(frame.delay);
    }
    let repeat = reader.repeat();
    let shown = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        std::fs::File::open(path).unwrap(),
    ))
    .unwrap();
    use image::AnimationDecoder;
    let frames = shown
        .into_frames()
        .map(|f| f.unwrap().into_buffer())
        .collect();
    (delays, repeat, frames)
}

/// Mean absolute difference of two frames' channels.
fn mean_difference(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = (a.as_raw().iter())
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

const KEYS: &[&str] = &[
    "image_delay_ms: 80",
    "image_loop: 3",
    "image_pingpong: true",
];

#[test]
fn front_matter_timing_shapes_the_gif_videos_atlases_and_map() {
    let text = page(NAME, KEYS, Some((2, "600")));
    let site = site(&text, "sprite:\n  atlas: [assetmill, texturepacker]\n");
    let (code, doc) = run(&site, "build");
    assert_eq!(code, 0, "{doc:#}");
    assert!(about_page(&doc).is_empty(), "{doc:#}");
    let out = site.out();

    // GIF: 1 2 3 4 3 2, frame 2 held for 600 ms both ways, 3 plays in all.
    let gif = out.join(format!("muscles/gif/{NAME}.gif"));
    let (delays, repeat, shown) = gif_timing(&gif);
    assert_eq!(delays, [8, 60, 8, 8, 8, 60]);
    assert_eq!(repeat, gif::Repeat::Finite(2));
    assert_eq!(shown.len(), 6);
    // The way back shows frames 3 and 2 again (as closely as the palette
    // allows: pixels kept from the frame before may differ by a shade).
    assert!(mean_difference(&shown[4], &shown[2]) < 1.0, "frame 3 again");
    assert!(mean_difference(&shown[5], &shown[1]) < 1.0, "frame 2 again");
    assert!(
        mean_difference(&shown[3], &shown[2]) > 4.0,
        "frame 4 is another picture"
    );

    // Asset map: how it plays.
    let map = json(&out.join("assets.json"));
    let asset = &map["assets"][format!("muscles/gif/{NAME}.gif")];
    let playback = &asset["playback"];
    assert_eq!(playback["frame_ms"], serde_json::json!([80, 600, 80, 80]));
    assert_eq!(playback["order"], serde_json::json!([0, 1, 2, 3, 2, 1]));
    assert_eq!(playback["loop"], 3);
    assert_eq!(playback["pingpong"], true);
    assert_eq!(playback["duration_ms"], 80 * 4 + 600 * 2);
    let gif_out = asset["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["role"] == "gif")
        .unwrap();
    assert_eq!(gif_out["frames"], 6);
    assert_eq!(gif_out["duration_ms"], 1520);
    let roles: Vec<&str> = asset["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["role"].as_str().unwrap())
        .collect();
    assert!(roles.contains(&"texturepacker"), "{roles:?}");

    // assetmill's atlas.
    let atlas = json(&out.join(format!("muscles/gif/{NAME}-sprite.json")));
    assert_eq!(atlas["playback"], *playback);

    // TexturePacker's: frames keyed by file name, durations, play order.
    let tp = json(&out.join(format!("muscles/gif/{NAME}-sprite.texturepacker.json")));
    assert_eq!(tp["frames"][format!("{NAME}-2.png")]["duration"], 600);
    assert_eq!(tp["frames"][format!("{NAME}-1.png")]["duration"], 80);
    let names: Vec<String> = [1, 2, 3, 4, 3, 2]
        .iter()
        .map(|i| format!("{NAME}-{i}.png"))
        .collect();
    assert_eq!(tp["animations"][NAME], serde_json::json!(names));

    // Videos: the same six frames, each as long as the GIF shows it.
    let Some(ffprobe) = common::tool("ffprobe") else {
        return;
    };
    for ext in ["webm", "mp4"] {
        let video = out.join(format!("muscles/gif/{NAME}.{ext}"));
        let probe = common::media::probe(&ffprobe, &video);
        let durations: Vec<u64> = probe.frames.iter().map(|f| f.1).collect();
        assert_eq!(durations, [80, 600, 80, 80, 80, 600], "{ext}");
        assert_eq!(probe.duration_ms, 1520, "{ext}");
    }
}

#[test]
fn delays_round_up_to_whole_hundredths_and_tiny_ones_are_flagged() {
    let text = page(NAME, &["image_delay_ms: 85"], Some((3, "5")));
    let site = site(&text, "video:\n  formats: []\n");
    let (code, doc) = run(&site, "build");
    assert_eq!(code, 0, "{doc:#}");
    let diags = about_page(&doc);
    let rounded = line_of(&text, "image_delay_ms: 85") as u64;
    let tiny = line_of(&text, "delay_ms: 5") as u64;
    assert!(
        diags
            .iter()
            .any(|(s, l, m)| s == "note" && *l == rounded && m.contains("stored as 90 ms")),
        "{diags:#?}"
    );
    assert!(
        diags
            .iter()
            .any(|(s, l, m)| s == "warning" && *l == tiny && m.contains("less than 20 ms")),
        "{diags:#?}"
    );
    let (delays, repeat, _) = gif_timing(&site.out().join(format!("muscles/gif/{NAME}.gif")));
    // 85 ms → 9 hundredths; 5 ms → 1 hundredth (which browsers show for
    // 100 ms, as the asset map says).
    assert_eq!(delays, [9, 9, 1, 9]);
    let map = json(&site.out().join("assets.json"));
    let playback = &map["assets"][format!("muscles/gif/{NAME}.gif")]["playback"];
    assert_eq!(playback["frame_ms"], serde_json::json!([90, 90, 100, 90]));
    assert_eq!(repeat, gif::Repeat::Infinite);
}

#[test]
fn bad_timing_values_are_errors_at_their_line() {
    for (key, needle) in [
        ("image_delay_ms: 80ms", "whole number of milliseconds"),
        ("image_delay_ms: 0", "from 1 to 655350"),
        ("image_delay_ms: -5", "found `-5`"),
        ("image_loop: 0", "`forever` or how many times"),
        ("image_loop: always", "found `always`"),
        ("image_pingpong: yes", "`true` or `false`; found `yes`"),
        ("image_delay_ms: [80]", "must be text"),
    ] {
        let text = page(NAME, &[key], None);
        let site = site(&text, "");
        let (code, doc) = run(&site, "check");
        assert_eq!(code, 1, "{key}: {doc:#}");
        let line = line_of(&text, key) as u64;
        let diags = about_page(&doc);
        assert!(
            diags
                .iter()
                .any(|(s, l, m)| s == "error" && *l == line && m.contains(needle)),
            "{key}: {diags:#?}"
        );
    }
    // A bad frame hold too.
    let text = page(NAME, &[], Some((2, "soon")));
    let site = site(&text, "");
    let (code, doc) = run(&site, "check");
    assert_eq!(code, 1);
    let line = line_of(&text, "delay_ms: soon") as u64;
    assert!(
        about_page(&doc)
            .iter()
            .any(|(s, l, m)| s == "error" && *l == line && m.contains("`delay_ms`")),
        "{doc:#}"
    );
}

/// Every diagnostic about the configuration file: (severity, message).
fn about_config(doc: &Value) -> Vec<(String, String)> {
    doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"].as_str().unwrap().ends_with("assetmill.yml"))
        .map(|d| {
            (
                d["severity"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_config_delay_follows_the_front_matter_rule() {
    // `gif.delay_ms: 0` used to be accepted silently (and shown for 100
    // ms) while `image_delay_ms: 0` was an error: one rule, one message.
    for value in ["0", "-5", "80.0", "655351", "fast"] {
        let text = page(NAME, &[&format!("image_delay_ms: {value}")], None);
        let (code, doc) = run(&site(&text, ""), "check");
        assert_eq!(code, 1, "{value}: {doc:#}");
        let line = line_of(&text, "image_delay_ms") as u64;
        let diags = about_page(&doc);
        let (_, _, page_message) = diags
            .iter()
            .find(|(s, l, _)| s == "error" && *l == line)
            .unwrap_or_else(|| panic!("{value}: {diags:#?}"));
        let site = site(
            &page(NAME, &[], None),
            &format!("gif:\n  delay_ms: {value}\n"),
        );
        let out = site.run(&["check"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.starts_with("error: assetmill.yml: line 2: ")
                && stderr.contains(&page_message.replace("image_delay_ms", "gif.delay_ms")),
            "{value}: {stderr}\nwanted: {page_message}"
        );
    }
    // What a delay that is taken does: the same note or warning, on the
    // configuration file.
    for (value, severity) in [("85", "note"), ("5", "warning")] {
        let text = page(NAME, &[&format!("image_delay_ms: {value}")], None);
        let (code, doc) = run(&site(&text, ""), "check");
        assert_eq!(code, 0, "{doc:#}");
        let from_page: Vec<String> = about_page(&doc)
            .into_iter()
            .filter(|(s, _, _)| s == severity)
            .map(|(_, _, m)| m.replace("image_delay_ms", "gif.delay_ms"))
            .collect();
        assert_eq!(from_page.len(), 1, "{doc:#}");
        let site = site(
            &page(NAME, &[], None),
            &format!("gif:\n  delay_ms: {value}\n"),
        );
        for command in ["check", "build"] {
            let (code, doc) = run(&site, command);
            assert_eq!(code, 0, "{command}: {doc:#}");
            assert_eq!(
                about_config(&doc),
                [(severity.to_owned(), from_page[0].clone())],
                "{command}"
            );
        }
    }
}

#[test]
fn two_pages_giving_one_gif_different_timings_is_an_error() {
    let site = site(&page(NAME, &["image_delay_ms: 80"], None), "");
    // An overview page showing the same GIF, without a gallery.
    let overview = format!(
        "---\nimages:\n  - image_id: 'Leg'\n    image_name: 'muscles/gif/{NAME}.gif'\n    \
         image_alt: 'The leg'\n    image_delay_ms: 120\n---\n"
    );
    site.page("overview.md", &overview);
    let (code, doc) = run(&site, "check");
    assert_eq!(code, 1, "{doc:#}");
    let clash = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .unwrap();
    assert!(clash["file"].as_str().unwrap().ends_with("overview.md"));
    assert_eq!(clash["line"], 3);
    let message = clash["message"].as_str().unwrap();
    assert!(message.contains("image_delay_ms 120 differs"), "{message}");
    assert!(message.contains("leg.md:"), "{message}");

    // The same value on both pages is fine.
    site.page("overview.md", &overview.replace("120", "80"));
    let (code, doc) = run(&site, "check");
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn timing_where_nothing_is_assembled_is_ignored_with_a_warning() {
    let site = Site::new();
    site.png("pics/still.png", 32, 32, 1);
    site.png("pics/a-1.png", 32, 32, 2);
    let text = "---\nimages:\n  - image_id: 'S'\n    image_name: 'pics/still.png'\n    \
                image_alt: 'Still'\n    image_loop: 2\ngallery:\n  - image_url: pics/a-1.png\n    \
                delay_ms: 300\n---\n";
    site.page("still.md", text);
    let (code, doc) = run(&site, "check");
    assert_eq!(code, 0, "{doc:#}");
    let warnings: Vec<(u64, String)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "warning")
        .map(|d| (d["line"].as_u64().unwrap(), d["message"].to_string()))
        .collect();
    assert!(
        warnings
            .iter()
            .any(|(l, m)| *l == 3 && m.contains("image_loop") && m.contains("ignored")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|(l, m)| *l == 8 && m.contains("names no .gif image")),
        "{warnings:#?}"
    );
}

#[test]
fn changing_the_timing_remakes_what_it_shapes_and_nothing_else() {
    let text = page(NAME, &["image_delay_ms: 80"], None);
    let site = site(&text, "sprite:\n  atlas: [assetmill, texturepacker]\n");
    let (code, doc) = run(&site, "build");
    assert_eq!(code, 0, "{doc:#}");
    let before = common::tree(&site.out());

    site.page(
        "leg.md",
        &text.replace("image_delay_ms: 80", "image_delay_ms: 200"),
    );
    // `--explain` names the change before anything is built.
    let explained = site.run(&["build", "--explain", &format!("muscles/gif/{NAME}.webm")]);
    let said = String::from_utf8_lossy(&explained.stdout);
    assert_eq!(explained.status.code(), Some(1), "{said}");
    assert!(
        said.contains("timing.delays_ms [80,80,80,80] -> [200,200,200,200]"),
        "{said}"
    );
    let (code, doc) = run(&site, "build");
    assert_eq!(code, 0, "{doc:#}");
    let after = common::tree(&site.out());
    let changed = common::changed(&before, &after);
    let gif = format!("muscles/gif/{NAME}");
    let expected: std::collections::BTreeSet<String> = [
        format!("{gif}.gif"),
        format!("{gif}.webm"),
        format!("{gif}.mp4"),
        format!("{gif}-sprite.json"),
        format!("{gif}-sprite.texturepacker.json"),
        "assets.json".to_owned(),
    ]
    .into_iter()
    .collect();
    assert_eq!(changed, expected);
    let (delays, _, _) = gif_timing(&site.out().join(format!("{gif}.gif")));
    assert_eq!(delays, [20; FRAMES]);

    // The same timing written in config instead gives the same bytes.
    site.page("leg.md", &text.replace("    image_delay_ms: 80\n", ""));
    common::write(
        &site.root().join("assetmill.yml"),
        b"gif:\n  delay_ms: 200\nsprite:\n  atlas: [assetmill, texturepacker]\n",
    );
    let (code, _) = run(&site, "build");
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read(site.out().join(format!("{gif}.gif"))).unwrap(),
        after[&format!("{gif}.gif")]
    );
}
