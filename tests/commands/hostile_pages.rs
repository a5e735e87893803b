//! Hostile and surprising pages on real files, through the real binary:
//! ids that look like numbers, Jekyll's `...` fence, blank lines before the
//! fence, CR-only and stray-CR line ends, null paths, oversized pages, and
//! FIFOs, dangling and looping symlinks lying among the pages (which must
//! never make `check` or `build` hang).

use crate::common;

use common::Site;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// (file, line, severity, message) of a diagnostic.
type Found = (String, u64, String, String);

/// Exit code, every diagnostic and the document of `check --format json`
/// (whose `pages`, `images`, `errors` and `warnings` are the counts).
fn diagnostics(site: &Site) -> (i32, Vec<Found>, Value) {
    let (code, json) = site.json(&["check", "--format", "json"]);
    (code, common::diagnostics(&json), json.clone())
}

/// A page showing two images whose ids differ only as text.
const NUMERIC_IDS: &str = "---\ntitle: 1.10\nimages:\n  - image_id: 0123\n    image_name: a.png\n    \
    image_alt: 1e3\n  - image_id: 123\n    image_name: b.png\n    image_alt: .5\n  - image_id: 0x1F\n    \
    image_name: c.png\n    image_alt: 007\n  - image_id: -0\n    image_name: d.png\n    image_alt: x\n---\n\
    {% include page-image.html im_id=\"0123\" %}\n{% include page-image im_id='123' %}\n\
    {% include page-image im_id=0x1F %}\n{% include page-image im_id=\"-0\" %}\n";

#[test]
fn numeric_looking_ids_keep_their_text() {
    let site = Site::new();
    site.page("ids.md", NUMERIC_IDS);
    for (i, name) in ["a.png", "b.png", "c.png", "d.png"].iter().enumerate() {
        site.png(name, 32, 24, i as u32);
    }
    let (code, diags, summary) = diagnostics(&site);
    assert_eq!(code, 0, "{diags:?}");
    assert!(diags.is_empty(), "0123 and 123 are distinct ids: {diags:?}");
    assert_eq!(summary["images"], 4);
}

#[test]
fn an_include_must_name_the_id_as_written() {
    let site = Site::new();
    site.page(
        "ids.md",
        "---\nimages:\n  - image_id: 0123\n    image_name: a.png\n  - image_id: 0x1F\n    \
         image_name: b.png\n---\n{% include page-image im_id=\"0123\" %}\n\
         {% include page-image im_id=\"123\" %}\n{% include page-image im_id=\"31\" %}\n\
         {% include page-image im_id=\"0x1F\" %}\n",
    );
    site.png("a.png", 16, 16, 1);
    site.png("b.png", 16, 16, 2);
    let (code, diags, _) = diagnostics(&site);
    assert_eq!(code, 1);
    let missing: Vec<_> = diags
        .iter()
        .filter(|d| d.3.contains("no image of this page has that image_id"))
        .map(|d| (d.1, d.3.as_str()))
        .collect();
    assert_eq!(missing.len(), 2, "{diags:?}");
    assert_eq!(missing[0].0, 9);
    assert!(missing[0].1.contains("`123`"), "{missing:?}");
    assert_eq!(missing[1].0, 10);
    assert!(missing[1].1.contains("`31`"), "{missing:?}");
}

#[test]
fn the_same_id_written_twice_is_still_a_duplicate() {
    let site = Site::new();
    site.page(
        "dup.md",
        "---\nimages:\n  - image_id: 0123\n    image_name: a.png\n  - image_id: '0123'\n    \
         image_name: b.png\n---\n{% include page-image im_id=\"0123\" %}\n",
    );
    site.png("a.png", 16, 16, 1);
    site.png("b.png", 16, 16, 2);
    let (code, diags, _) = diagnostics(&site);
    assert_eq!(code, 1);
    assert!(
        diags
            .iter()
            .any(|d| d.1 == 5 && d.3.contains("image_id `0123` is already used on line 3")),
        "{diags:?}"
    );
}

#[test]
fn null_where_a_path_is_required_is_an_error_at_its_line() {
    let site = Site::new();
    site.page(
        "null.md",
        "---\nimages:\n  - image_id: a\n    image_name: ~\ngallery:\n  - image_url: null\n---\n",
    );
    let (code, diags, _) = diagnostics(&site);
    assert_eq!(code, 1);
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.2 == "error")
        .map(|d| (d.1, d.3.as_str()))
        .collect();
    assert!(
        errors
            .iter()
            .any(|(l, m)| *l == 3 && m.contains("`image_name` is `~`")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(l, m)| *l == 6 && m.contains("`image_url` is `null`")),
        "{errors:?}"
    );
}

#[test]
fn front_matter_closed_by_dots_is_read() {
    let site = Site::new();
    site.page(
        "dots.md",
        "---\nimages:\n  - image_id: x\n    image_name: missing.png\n... \n\
         {% include page-image im_id=\"x\" %}\n",
    );
    let (code, diags, summary) = diagnostics(&site);
    assert_eq!(code, 1);
    assert_eq!(summary["pages"], 1);
    assert!(
        !diags.iter().any(|d| d.3.contains("never closed")),
        "{diags:?}"
    );
    // The missing image is reported at its entry: the front matter was read.
    assert!(
        diags
            .iter()
            .any(|d| d.0 == "content/dots.md" && d.1 == 3 && d.2 == "error"),
        "{diags:?}"
    );
}

#[test]
fn a_blank_line_before_the_fence_is_not_a_page_and_says_so() {
    let site = Site::new();
    site.page(
        "blank.md",
        "\n---\nimages:\n  - image_name: missing.png\n---\n",
    );
    let (code, diags, summary) = diagnostics(&site);
    assert_eq!(code, 0, "{diags:?}");
    assert_eq!(summary["pages"], 0);
    assert_eq!(diags.len(), 1, "{diags:?}");
    let (file, line, severity, message) = &diags[0];
    assert_eq!(
        (file.as_str(), *line, severity.as_str()),
        ("content/blank.md", 2, "warning")
    );
    assert!(message.contains("first line"), "{message}");
}

#[test]
fn cr_only_pages_are_not_pages_and_say_so() {
    let site = Site::new();
    site.page(
        "mac.md",
        "---\rimages:\r  - image_name: missing.png\r---\rText\r",
    );
    let (code, diags, summary) = diagnostics(&site);
    assert_eq!(code, 0, "{diags:?}");
    assert_eq!(summary["pages"], 0);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].1, 1);
    assert_eq!(diags[0].2, "warning");
    assert!(diags[0].3.contains("CR"), "{diags:?}");
}

#[test]
fn crlf_and_stray_crs_keep_every_line_number() {
    let site = Site::new();
    // CRLF throughout, plus one lone CR ending line 3: YAML counts it as a
    // line break, so `missing.png` is on line 5 and the include on line 8.
    site.page(
        "crlf.md",
        "\u{feff}---\r\nimages:\r\n  - image_id: a\r    image_title: t\r\n  - image_name: missing.png\r\n\
         ---\r\n\r\n{% include page-image %}\r\n",
    );
    let (code, diags, _) = diagnostics(&site);
    assert_eq!(code, 1);
    let lines: Vec<_> = diags.iter().map(|d| (d.1, d.3.as_str())).collect();
    assert!(
        lines
            .iter()
            .any(|(l, m)| *l == 3 && m.contains("no `image_name`")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|(l, m)| *l == 5 && m.contains("missing.png")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|(l, m)| *l == 8 && m.contains("names no im_id")),
        "{lines:?}"
    );
}

#[test]
fn an_oversized_page_is_an_error_naming_it() {
    let site = Site::new();
    let mut text = String::from("---\ntitle: big\n---\n");
    text.push_str(&"x".repeat((16 << 20) + 1));
    site.page("big.md", &text);
    let (code, diags, _) = diagnostics(&site);
    assert_eq!(code, 1);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].0, "content/big.md");
    assert!(diags[0].3.contains("16 MiB"), "{diags:?}");
}

/// Runs the binary and insists it finishes within 20 s (a FIFO opened
/// blocking would hang it forever); returns its stdout and exit code.
fn run_with_deadline(site: &Site, args: &[&str]) -> (String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_assetmill"))
        .args(args)
        .current_dir(site.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run assetmill");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for assetmill") {
            let mut stdout = String::new();
            std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
            return (stdout, status.code().unwrap_or(-1));
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            child.wait().ok();
            panic!("`assetmill {}` hung for 20 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
fn mkfifo(path: &std::path::Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// A site with one good page, FIFOs named like pages, and symlinks: to a
/// FIFO, to a page outside the content folder, to nowhere, and to a folder
/// named like a page.
#[cfg(target_os = "linux")]
fn site_with_special_files() -> Site {
    let site = Site::new();
    site.page("good.md", &common::muscle_page("Arm", 2));
    site.frames("Arm", 2, 32, 24);
    mkfifo(&site.content().join("pipe.md"));
    mkfifo(&site.content().join("deeper/pipe.html"));
    let link = |target: &str, name: &str| {
        std::os::unix::fs::symlink(target, site.content().join(name)).unwrap();
    };
    link("pipe.md", "to-pipe.md");
    common::write(
        &site.root().join("elsewhere/linked.md"),
        b"---\nimages:\n  - image_id: l\n    image_name: linked.png\n    image_alt: L\n---\n\
          {% include page-image im_id=\"l\" %}\n",
    );
    site.png("linked.png", 16, 16, 9);
    link("../elsewhere/linked.md", "linked.md");
    link("nowhere.md", "dangling.md");
    std::fs::create_dir_all(site.root().join("folder.md")).unwrap();
    link("../folder.md", "folder-link.md");
    site
}

#[cfg(target_os = "linux")]
#[test]
fn fifos_and_odd_symlinks_among_pages_never_block_check() {
    let site = site_with_special_files();
    let (stdout, code) = run_with_deadline(&site, &["check"]);
    assert_eq!(code, 0, "{stdout}");
    for (name, what) in [
        ("content/pipe.md", "FIFO"),
        ("content/deeper/pipe.html", "FIFO"),
        ("content/to-pipe.md", "FIFO"),
        ("content/dangling.md", "does not exist"),
        ("content/folder-link.md", "folder"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name}: note: skipped")))
            .unwrap_or_else(|| panic!("no note for {name}:\n{stdout}"));
        assert!(line.contains(what), "{line}");
    }
    // The symlinked regular page is read like any page.
    assert!(
        stdout.ends_with("2 pages, 4 images, 0 errors, 0 warnings\n"),
        "{stdout}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn fifos_among_pages_never_block_build() {
    let site = site_with_special_files();
    let (stdout, code) = run_with_deadline(&site, &["build", "--quiet"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(site.out().join("assets.json").is_file());
    assert!(site.out().join("muscles/gif/Arm.gif").is_file());
    assert!(site.out().join("linked.png").is_file());
}

// Names that are not UTF-8, and names that would act on a terminal: one
// rule for every output (see `assetmill::names`).

/// Runs the binary with arguments that may not be UTF-8.
#[cfg(unix)]
fn run_os(site: &Site, args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_assetmill"))
        .args(args)
        .current_dir(site.root())
        .output()
        .expect("run assetmill")
}

/// A page named `bad-<FF><FE>.md` (not UTF-8) showing an image that exists
/// and one that does not.
#[cfg(unix)]
fn site_with_a_page_not_named_in_utf8() -> Site {
    use std::os::unix::ffi::OsStrExt;
    let site = Site::new();
    let name = std::ffi::OsStr::from_bytes(b"bad-\xff\xfe.md");
    common::write(
        &site.content().join(name),
        b"---\nimages:\n  - image_id: a\n    image_name: good.png\n    image_alt: A\n  \
          - image_id: b\n    image_name: missing.png\n    image_alt: B\n---\n\
          {% include page-image im_id=\"a\" %}\n{% include page-image im_id=\"b\" %}\n",
    );
    site.png("good.png", 32, 24, 1);
    site
}

/// The documented spelling of that page in JSON and text.
const BAD_PAGE: &str = "content/bad-\\xFF\\xFE.md";

/// Asserts that a JSON diagnostic list reports the missing image at the
/// page with the invalid name, by the names rule: `file` with `\xNN`
/// escapes, `file_bytes` the exact bytes.
#[cfg(unix)]
#[track_caller]
fn assert_reports_the_bad_page(diagnostics: &[Value]) {
    let found = diagnostics
        .iter()
        .find(|d| d["file"] == BAD_PAGE && d["severity"] == "error")
        .unwrap_or_else(|| panic!("no error at {BAD_PAGE}: {diagnostics:#?}"));
    assert!(
        found["message"].as_str().unwrap().contains("missing.png"),
        "{found}"
    );
    assert_eq!(found["line"], 6, "{found}");
    let bytes: Vec<u8> = serde_json::from_value(found["file_bytes"].clone()).unwrap();
    assert_eq!(bytes, b"content/bad-\xff\xfe.md");
}

#[cfg(unix)]
#[test]
fn a_page_name_that_is_not_utf8_is_reported_in_every_format() {
    let site = site_with_a_page_not_named_in_utf8();

    let (code, doc) = site.json(&["check", "--format", "json"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_reports_the_bad_page(doc["diagnostics"].as_array().unwrap());

    let out = site.run(&["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("the text report is UTF-8");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("{BAD_PAGE}:6: error: page image missing.png"))),
        "{text}"
    );

    let (code, doc) = site.json(&["build", "--format", "json"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_reports_the_bad_page(doc["diagnostics"].as_array().unwrap());
    // The asset map names the page the same way, relative to content/.
    let map: Value = site.asset_map();
    assert_eq!(
        map["assets"]["good.png"]["pages"],
        serde_json::json!(["bad-\\xFF\\xFE.md"])
    );
    let review = std::fs::read_to_string(site.out().join(".assetmill/report.html")).unwrap();
    assert!(
        review.contains("bad-\\xFF\\xFE.md"),
        "the review names the page"
    );

    // NDJSON: every line is JSON, and every problem `finish` counts has
    // its own event.
    let out = site.run(&["build", "--progress", "ndjson"]);
    assert_eq!(out.status.code(), Some(1));
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .expect("NDJSON is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let diagnostics: Vec<Value> = events
        .iter()
        .filter(|e| e["event"] == "diagnostic")
        .cloned()
        .collect();
    assert_reports_the_bad_page(&diagnostics);
    let finish = events.last().unwrap();
    assert_eq!(finish["event"], "finish", "{events:#?}");
    let counted = finish["errors"].as_u64().unwrap() + finish["warnings"].as_u64().unwrap();
    let problems = diagnostics
        .iter()
        .filter(|d| d["severity"] != "note")
        .count() as u64;
    assert_eq!(problems, counted, "{events:#?}");

    // Shards and their merge.
    for i in 1..=2 {
        let shard = format!("{i}/2");
        let dir = format!("s{i}");
        let (code, doc) = site.json(&[
            "build", "--shard", &shard, "--out", &dir, "--format", "json",
        ]);
        assert_ne!(code, 101, "{doc:#}");
    }
    let (code, doc) = site.json(&["merge", "s1", "s2", "--out", "merged", "--format", "json"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_reports_the_bad_page(doc["diagnostics"].as_array().unwrap());
    let map: Value =
        serde_json::from_slice(&std::fs::read(site.root().join("merged/assets.json")).unwrap())
            .unwrap();
    assert_eq!(
        map["assets"]["good.png"]["pages"],
        serde_json::json!(["bad-\\xFF\\xFE.md"])
    );
}

#[cfg(unix)]
#[test]
fn an_output_folder_not_named_in_utf8_is_reported_in_json() {
    use std::os::unix::ffi::OsStrExt;
    let site = Site::new();
    site.page("a.md", &common::muscle_page("Arm", 2));
    site.frames("Arm", 2, 32, 24);
    let os = |s: &'static [u8]| std::ffi::OsStr::from_bytes(s);
    let out = run_os(
        &site,
        &[
            os(b"build"),
            os(b"--out"),
            os(b"out-\xff"),
            os(b"--format"),
            os(b"json"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["review"], "out-\\xFF/.assetmill/report.html");
    let out = run_os(
        &site,
        &[
            os(b"build"),
            os(b"--out"),
            os(b"out-\xff"),
            os(b"--progress"),
            os(b"ndjson"),
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let last: Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["event"], "finish", "the finish event is never dropped");
    assert_eq!(last["review"], "out-\\xFF/.assetmill/report.html");
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(
        text.contains("report: out-\\xFF/.assetmill/report.html"),
        "{text}"
    );
}

/// An image name with an OSC (window title) and a CSI (clear screen)
/// sequence and a newline forging a GitHub Actions annotation.
const FORGED: &str = "x\u{1b}]0;title\u{7}\u{1b}[2J\n::error file=x::forged.png";

/// Asserts that `bytes` (a command's stdout or stderr, or a file) carries
/// no ESC or BEL and has no line that is a CI annotation.
#[track_caller]
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !bytes.iter().any(|&b| b == 0x1b || b == 0x07),
        "{what} carries a raw control character:\n{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("::")),
        "{what} has a forged annotation line:\n{text}"
    );
}

/// Names with ESC sequences and newlines, from YAML and from the file
/// system, never reach stdout, stderr, the review or the asset map raw:
/// every human-readable line shows them escaped (`\u{1b}`, `\n`), and JSON
/// escapes them by its own rules.
#[cfg(unix)]
#[test]
fn control_characters_in_names_never_reach_the_terminal() {
    let site = Site::new();
    // The page's own file name forges a line too.
    site.page(
        "evil\u{1b}[2J\n::error file=p::page.md",
        "---\nimages:\n  - image_id: a\n    \
         image_name: \"x\\e]0;title\\a\\e[2J\\n::error file=x::forged.png\"\n    image_alt: A\n  \
         - image_id: b\n    image_name: \"gone\\e[2J\\n::error file=y::missing.png\"\n    \
         image_alt: \"B\\e[2J\\n::warning::alt\"\n---\n\
         {% include page-image im_id=\"a\" %}\n{% include page-image im_id=\"b\" %}\n",
    );
    site.png(FORGED, 32, 24, 1);

    let commands: &[&[&str]] = &[
        &["check"],
        &["check", "--format", "json"],
        &["build", "--dry-run"],
        &["build", "--check"],
        &["build"],
        &["build", "--check"],
        &["build", "--format", "json"],
        &["build", "--progress", "ndjson"],
        &["build", "--explain", FORGED],
        &["build", "--explain", FORGED, "--format", "json"],
        &[
            "build",
            "--explain",
            "gone\u{1b}[2J\n::error file=y::nowhere.png",
        ],
    ];
    for args in commands {
        let out = site.run(args);
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked");
        assert_inert(&format!("{args:?} stdout"), &out.stdout);
        assert_inert(&format!("{args:?} stderr"), &out.stderr);
    }
    // The text report shows the names escaped, on one line each.
    let out = site.run(&["check"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let error = text
        .lines()
        .find(|l| l.contains(": error: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        error,
        "content/evil\\u{1b}[2J\\n::error file=p::page.md:6: error: page image \
         gone\\u{1b}[2J\\n::error file=y::missing.png: file not found"
    );
    // JSON keeps the exact name.
    let (_, doc) = site.json(&["build", "--explain", FORGED, "--format", "json"]);
    assert_eq!(doc["outputs"][0]["path"], FORGED, "{doc:#}");

    assert_inert(
        "the review",
        &std::fs::read(site.out().join(".assetmill/report.html")).unwrap(),
    );
    let map = std::fs::read(site.out().join("assets.json")).unwrap();
    assert_inert("the asset map", &map);
    let map: Value = serde_json::from_slice(&map).unwrap();
    assert!(map["assets"][FORGED].is_object(), "{map:#}");

    let out = site.run(&["clean"]);
    assert_eq!(out.status.code(), Some(0));
    assert_inert("clean", &out.stdout);
}
