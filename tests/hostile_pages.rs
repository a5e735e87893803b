//! Hostile and surprising pages on real files, through the real binary:
//! ids that look like numbers, Jekyll's `...` fence, blank lines before the
//! fence, CR-only and stray-CR line ends, null paths, oversized pages, and
//! FIFOs, dangling and looping symlinks lying among the pages (which must
//! never make `check` or `build` hang).

mod common;

use common::Site;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// (file, line, severity, message) of a diagnostic.
type Found = (String, u64, String, String);

/// Exit code, every diagnostic and the summary of `check --format json`.
fn diagnostics(site: &Site) -> (i32, Vec<Found>, Value) {
    let (code, json) = site.json(&["check", "--format", "json"]);
    (code, common::diagnostics(&json), json["summary"].clone())
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
