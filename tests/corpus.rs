//! The model site's own page tree (`../shared/corpus/site`, when present):
//! materialise every image it references with `synth --from-pages`, then
//! `check` it with zero errors.

mod common;

use std::path::PathBuf;

fn corpus_pages() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/site/pages");
    dir.is_dir().then_some(dir)
}

#[test]
fn model_site_materialises_and_checks_clean() {
    let Some(pages) = corpus_pages() else {
        eprintln!("skipped: ../shared/corpus/site is not beside this checkout");
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
