//! `assetmill watch` as an author runs it: a child process on a real site,
//! files saved under it, and the lines it prints and the files it rewrites
//! checked. Each round must come, rebuild what the save touched and
//! nothing else, join a burst of saves into one round, survive bad edits
//! (a missing file, a broken config) and end on SIGINT with code 130.

use crate::common::{self, Site, muscle_page, png_bytes};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A running `assetmill watch` and the lines of its stdout.
struct Watch {
    child: Child,
    lines: Receiver<String>,
}

impl Watch {
    fn start(site: &Site) -> Watch {
        Watch::with(site, &[])
    }

    fn with(site: &Site, extra: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_assetmill"))
            .args(["watch", "--quiet", "--debounce", "150"])
            .args(extra)
            .current_dir(site.root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start assetmill watch");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch { child, lines }
    }

    /// The next round's line (skipping the problem lines under a round),
    /// with the problem lines printed under it.
    fn round(&self) -> (String, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let line = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if !line.starts_with("  ") => break line,
                Ok(_) => {}
                Err(e) => panic!("no round within 60 s: {e:?}"),
            }
        };
        // Its problem lines follow at once.
        let mut problems = Vec::new();
        while let Ok(more) = self.lines.recv_timeout(Duration::from_millis(300)) {
            assert!(
                more.starts_with("  "),
                "two rounds at once: {line} / {more}"
            );
            problems.push(more);
        }
        (line, problems)
    }

    /// Asserts no round starts within `quiet`.
    fn quiet(&self, quiet: Duration) {
        match self.lines.recv_timeout(quiet) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("an unexpected round: {other:?}"),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The built-output count of a round line (`built N`).
fn built(line: &str) -> usize {
    let at = line
        .find("built ")
        .unwrap_or_else(|| panic!("no count: {line}"));
    line[at + 6..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {line}"))
}

#[test]
fn a_saved_frame_remakes_its_outputs_a_burst_is_one_round_and_bad_edits_wait_for_a_fix() {
    let site = Site::new();
    site.configure("video:\n  formats: []\n");
    site.page("muscles/biceps.md", &muscle_page("Arm-Biceps", 16));
    site.frames("Arm-Biceps", 16, 48, 32);
    site.page("muscles/soleus.md", &muscle_page("Leg-Soleus", 2));
    site.frames("Leg-Soleus", 2, 48, 32);
    let watch = Watch::start(&site);
    let (first, problems) = watch.round();
    assert!(first.starts_with("first build: built "), "{first}");
    assert!(first.contains("; 0 errors, 0 warnings"), "{first}");
    assert!(problems.is_empty(), "{problems:?}");
    let before = common::tree(&site.out());

    // One frame saved with new pixels: its copy, thumbnail, the GIF, the
    // sprite and its atlas, the asset map; nothing of the other page.
    let frame = site.images().join("muscles/png/Arm-Biceps-3.png");
    let new = common::frame(48, 32, 99);
    common::write(&frame, &png_bytes(&new));
    let (line, _) = watch.round();
    assert!(
        line.starts_with("assets/muscles/png/Arm-Biceps-3.png changed: built "),
        "{line}"
    );
    let after = common::tree(&site.out());
    let changed = common::changed(&before, &after);
    // (The atlas is made again too, to the same bytes: the layout holds.)
    let expect = [
        "assets.json",
        "muscles/gif/Arm-Biceps-sprite.png",
        "muscles/gif/Arm-Biceps.gif",
        "muscles/png/Arm-Biceps-3-thumb.png",
        "muscles/png/Arm-Biceps-3.png",
    ];
    assert_eq!(
        changed.iter().map(String::as_str).collect::<Vec<_>>(),
        expect
    );
    assert_eq!(built(&line), expect.len() + 1, "{line}");
    let copy = image::open(site.out().join("muscles/png/Arm-Biceps-3.png")).unwrap();
    assert_eq!(copy.into_rgb8(), new);

    // An editor that saves by writing a new file and renaming it over the
    // old one: one round, for the frame's own name.
    let five = site.images().join("muscles/png/Arm-Biceps-5.png");
    let scratch = site.images().join("muscles/png/Arm-Biceps-5.png.tmp-save");
    let renamed = common::frame(48, 32, 55);
    common::write(&scratch, &png_bytes(&renamed));
    std::fs::rename(&scratch, &five).unwrap();
    let (line, _) = watch.round();
    assert!(
        line.contains("assets/muscles/png/Arm-Biceps-5.png"),
        "{line}"
    );
    let copy = image::open(site.out().join("muscles/png/Arm-Biceps-5.png")).unwrap();
    assert_eq!(copy.into_rgb8(), renamed);

    // All 16 frames saved in a burst: one round, one new GIF.
    for i in 1..=16 {
        let path = site
            .images()
            .join(format!("muscles/png/Arm-Biceps-{i}.png"));
        common::write(&path, &png_bytes(&common::frame(48, 32, 200 + i)));
    }
    let (line, _) = watch.round();
    assert!(line.contains(" and 13 more changed: built "), "{line}");
    assert_eq!(
        built(&line),
        16 * 2 + 4,
        "16 copies and thumbnails, GIF, sprite, atlas, map"
    );
    watch.quiet(Duration::from_secs(1));

    // A page naming a missing file: the round reports it, and every round
    // after it until the page is fixed.
    let soleus = site.content().join("muscles/soleus.md");
    let good = std::fs::read_to_string(&soleus).unwrap();
    std::fs::write(
        &soleus,
        good.replace("Leg-Soleus-2.png", "Leg-Soleus-9.png"),
    )
    .unwrap();
    let (line, problems) = watch.round();
    assert!(line.contains("; 1 error, 1 warning"), "{line}");
    assert!(
        problems.iter().any(|p| p.contains("muscles/soleus.md:")
            && p.contains("muscles/png/Leg-Soleus-9.png: file not found")),
        "{problems:?}"
    );
    common::write(&frame, &png_bytes(&common::frame(48, 32, 7)));
    let (line, still) = watch.round();
    assert!(line.contains("; 1 error, 1 warning"), "still there: {line}");
    assert_eq!(still, problems);
    std::fs::write(&soleus, &good).unwrap();
    let (line, problems) = watch.round();
    assert!(line.contains("; 0 errors, 0 warnings"), "{line}");
    assert!(problems.is_empty());

    // A config that does not load: reported, nothing built, the watch goes
    // on; fixed, it builds with the new settings.
    site.configure("video:\n  formats: [webm, webm\n");
    let (line, _) = watch.round();
    assert!(
        line.contains("assetmill.yml changed: nothing built: "),
        "{line}"
    );
    site.configure("video:\n  formats: []\nthumbs:\n  width: 20\n");
    let (line, _) = watch.round();
    assert!(line.contains("0 errors"), "{line}");
    let thumb = image::open(site.out().join("muscles/png/Leg-Soleus-1-thumb.png")).unwrap();
    assert_eq!(thumb.width(), 20);

    // SIGINT ends it with 130.
    let mut watch = watch;
    let status = Command::new("kill")
        .args(["-INT", &watch.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = watch.child.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "watch did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(130));
}

/// With `--progress ndjson`, stdout is each round's events, ending with its
/// `finish` event (the lines go to stderr).
#[test]
fn with_ndjson_each_round_ends_with_a_finish_event() {
    let site = Site::new();
    site.configure("video:\n  formats: []\n");
    site.page("muscles/soleus.md", &muscle_page("Leg-Soleus", 3));
    site.frames("Leg-Soleus", 3, 48, 32);
    let watch = Watch::with(&site, &["--progress", "ndjson"]);
    let finish = || -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = watch.lines.recv_timeout(left).expect("a finish event");
            let event: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not an event: {line}: {e}"));
            if event["event"] == "finish" {
                return event;
            }
        }
    };
    let first = finish();
    assert_eq!(first["exit_code"], 0, "{first}");
    assert!(first["summary"]["built"].as_u64().unwrap() > 1, "{first}");
    let frame = site.images().join("muscles/png/Leg-Soleus-2.png");
    common::write(&frame, &png_bytes(&common::frame(48, 32, 77)));
    let second = finish();
    assert_eq!(second["exit_code"], 0, "{second}");
    assert_eq!(
        second["summary"]["built"], 6,
        "copy, thumbnail, GIF, sprite, atlas, map: {second}"
    );
}
