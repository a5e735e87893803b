//! The model site's own page tree (`../shared/corpus/site`, when present;
//! under CI it must be): materialise every image it references with
//! `synth --from-pages`, then `check` it with zero errors.

use crate::common;

use std::path::PathBuf;

/// The corpus's pages; `None` when it is not beside this checkout, which
/// skips the test (and fails it under CI: see [`common::unavailable`]).
fn corpus_pages() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/site/pages");
    if !dir.is_dir() {
        common::unavailable("../shared/corpus/site", "not beside this checkout");
        return None;
    }
    Some(dir)
}

#[test]
fn model_site_materialises_and_checks_clean() {
    let Some(pages) = corpus_pages() else {
        return;
    };
    let site = common::Site::new();
    let images = site.images();
    let (pages_arg, images_arg) = (pages.to_str().unwrap(), images.to_str().unwrap());
    let out = site.run(&[
        "synth",
        "--from-pages",
        pages_arg,
        "--images",
        images_arg,
        "--size",
        "48",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 26 pages with 16 frames each, plus the methods page's two GIFs.
    assert!(
        images
            .join("muscles/png/Leg-LateralHeadOfGastrocnemius-16.png")
            .is_file()
    );
    assert!(images.join("flowchart_seg.gif").is_file());
    assert!(
        !images
            .join("muscles/gif/Leg-LateralHeadOfGastrocnemius.gif")
            .exists()
    );

    let out = site.run(&["check", "--content", pages_arg, "--images", images_arg]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let summary = stdout.lines().last().unwrap();
    assert!(summary.ends_with(" 0 errors, 0 warnings"), "{summary}");
    let pages_count: usize = summary.split(' ').next().unwrap().parse().unwrap();
    assert_eq!(pages_count, count_pages(&pages));

    // A second run keeps every existing file.
    let again = site.run(&["synth", "--from-pages", pages_arg, "--images", images_arg]);
    assert!(String::from_utf8_lossy(&again.stdout).contains(" 0 images written"));
}

/// Markdown files below `dir` (every one of the corpus has front matter).
fn count_pages(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| match p.is_dir() {
            true => count_pages(&p),
            false => usize::from(p.extension().is_some_and(|e| e == "md")),
        })
        .sum()
}

/// The real page, verbatim but for timing keys added the way an author
/// would: its GIF, videos and atlases play as they say.
#[test]
fn real_page_with_timing_keys_builds_its_gif_and_atlases() {
    let Some(pages) = corpus_pages() else {
        return;
    };
    let real = "muscles/muscle_leg-lateralheadofgastrocnemius.md";
    let text = std::fs::read_to_string(pages.join(real)).unwrap();
    let stem = "Leg-LateralHeadOfGastrocnemius";
    let alt = "    image_alt: 'The Lateral Gastrocnemius muscle of the Leg' \n";
    let first = "    title: 'The Lateral Gastrocnemius muscle of the Leg 1'\n";
    assert!(text.contains(alt) && text.contains(first));
    let timed = text
        .replacen(
            alt,
            &format!("{alt}    image_delay_ms: 70\n    image_pingpong: true\n"),
            1,
        )
        .replacen(first, &format!("{first}    delay_ms: 500\n"), 1);
    let site = common::Site::new();
    site.page(real, &timed);
    common::write(
        &site.root().join("assetmill.yml"),
        b"video:\n  formats: []\nsprite:\n  atlas: [assetmill, texturepacker]\n",
    );
    let images = site.images();
    let out = site.run(&[
        "synth",
        "--from-pages",
        site.content().to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--size",
        "48",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = site.run(&["build"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(" 0 errors, 0 warnings"), "{stdout}");

    // 16 frames there and 14 back; frame 1 held for 500 ms.
    let gif = site.out().join(format!("muscles/gif/{stem}.gif"));
    let mut reader = gif::DecodeOptions::new()
        .read_info(std::fs::File::open(gif).unwrap())
        .unwrap();
    let mut delays = Vec::new();
    while let Some(frame) = reader.read_next_frame().unwrap() {
        delays.push(frame.delay);
    }
    let mut want = vec![50];
    want.extend([7; 29]);
    assert_eq!(delays, want);

    let tp: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            site.out()
                .join(format!("muscles/gif/{stem}-sprite.texturepacker.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(tp["frames"].as_object().unwrap().len(), 16);
    assert_eq!(tp["frames"][format!("{stem}-1.png")]["duration"], 500);
    assert_eq!(tp["animations"][stem].as_array().unwrap().len(), 30);
    assert_eq!(tp["meta"]["image"], format!("{stem}-sprite.png"));
}
