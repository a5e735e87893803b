//! The review report: what goes into it from a real build (the model), and
//! what the written file holds. The browser test is in `browser.rs`.

use crate::common;

use assetmill::BuildOptions;
use assetmill::Severity;
use assetmill::assetmap::{Kind, Role};
use assetmill::internals::manifest;
use assetmill::internals::review::Review;
use assetmill::progress::Quiet;
use common::{Site, line_of, muscle_page};

/// A muscle page (with a space in its name), an overview page that reuses
/// its frames, a page naming a missing figure, and a plain PNG figure.
fn site() -> (Site, String) {
    let site = Site::new();
    let name = "Arm-Biceps Brachii";
    site.page("muscles/arm biceps.md", &muscle_page(name, 4));
    site.frames(name, 4, 64, 48);
    site.page("overview.md", &muscle_page(name, 4));
    let figures = "---\nimages:\n  - image_id: 'a'\n    image_name: 'figures/plan.png'\n    \
                   image_alt: 'The plan'\n  - image_id: 'b'\n    image_name: 'figures/gone.png'\n---\n";
    site.page("methods.md", figures);
    site.png("figures/plan.png", 40, 30, 9);
    (site, figures.to_owned())
}

#[test]
fn the_model_holds_every_page_image_output_and_problem_in_content_order() {
    let (site, figures) = site();
    let config = site.config();
    let outcome = assetmill::build(&config, BuildOptions::default(), &Quiet).unwrap();
    let manifest = manifest::read_site(&config.content);
    let review = Review::new(&config, &manifest, &outcome);

    let names: Vec<&str> = review.pages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["methods.md", "muscles/arm biceps.md", "overview.md"]
    );

    // The missing figure: an error at its page and line, linked to the
    // page's section, and the page counts it.
    let gone_line = line_of(&figures, "image_id: 'b'");
    let problem = review
        .problems
        .iter()
        .find(|p| p.message.contains("figures/gone.png"))
        .expect("the missing file is reported");
    assert_eq!(problem.severity, Severity::Error);
    assert!(
        problem
            .location
            .ends_with(&format!("methods.md:{gone_line}")),
        "{problem:?}"
    );
    let methods = &review.pages[0];
    assert_eq!(problem.anchor.as_deref(), Some(methods.anchor.as_str()));
    // It also lacks alt text: a warning.
    assert_eq!(
        (methods.errors, methods.warnings),
        (1, 1),
        "{:?}",
        review.problems
    );
    assert_eq!(review.run.errors, 1);
    let [plan, gone] = &methods.images[..] else {
        panic!("{:?}", methods.images)
    };
    assert!(gone.built.is_none());
    assert_eq!(gone.line, gone_line);
    let plan_built = plan.built.as_ref().unwrap();
    assert_eq!(plan.alt.as_deref(), Some("The plan"));
    assert_eq!(plan_built.kind, Kind::Image);
    let optimized = &plan_built.outputs[0];
    assert_eq!(optimized.role, Role::Optimized);
    assert_eq!((optimized.width, optimized.height), (Some(40), Some(30)));
    assert_eq!(optimized.change, Some("new"));
    let ratio = optimized.ratio.unwrap();
    let source = plan_built.source.as_ref().unwrap().bytes;
    assert!((ratio - optimized.bytes as f64 / source as f64).abs() < 1e-9);

    // The animation: every output with its figures, the sprite's cells for
    // the viewer, and the overview page that shares it.
    let muscle = &review.pages[1];
    assert_eq!((muscle.errors, muscle.warnings), (0, 0));
    let animation = muscle.images[0].built.as_ref().unwrap();
    assert_eq!(animation.kind, Kind::Animation);
    let roles: Vec<Role> = animation.outputs.iter().map(|o| o.role).collect();
    assert_eq!(
        roles,
        [
            Role::Gif,
            Role::Webm,
            Role::Mp4,
            Role::Sprite,
            Role::SpriteMap
        ]
    );
    for o in &animation.outputs[..3] {
        assert_eq!(o.frames, Some(4), "{o:?}");
        assert!(o.ratio.unwrap() > 0.0, "{o:?}");
        // Lossy: measured against the sources.
        let ssim = o.ssim.unwrap();
        assert!(ssim > 0.8 && ssim <= 1.0, "{o:?}");
    }
    assert!(animation.outputs[3..].iter().all(|o| o.ssim.is_none()));
    let frame_bytes: u64 = muscle
        .gallery
        .iter()
        .map(|f| f.source.as_ref().unwrap().bytes)
        .sum();
    assert_eq!(animation.input_bytes, frame_bytes);
    let sprite = animation.sprite.as_ref().unwrap();
    assert_eq!(sprite.cells.len(), 4);
    assert!(sprite.atlas.as_deref().unwrap().ends_with("-sprite.json"));
    assert_eq!(animation.shared_with, ["overview.md"]);
    // The overview page shows the same animation and frames: the report
    // shows them once and links from the second page to the first.
    assert_eq!(muscle.images[0].shown_on, None);
    assert_eq!(muscle.gallery_shown_on, None);
    let first = Some((muscle.name.clone(), muscle.anchor.clone()));
    let overview = &review.pages[2];
    assert_eq!(overview.images[0].shown_on, first);
    assert_eq!(overview.gallery_shown_on, first);
    assert_eq!(muscle.gallery.len(), 4);
    for (i, frame) in muscle.gallery.iter().enumerate() {
        assert_eq!(
            frame.caption.as_deref(),
            Some(&*format!("Arm-Biceps Brachii {}", i + 1))
        );
        let roles: Vec<Role> = frame.outputs.iter().map(|o| o.role).collect();
        assert_eq!(roles, [Role::Optimized, Role::Thumb]);
        assert!(frame.outputs[1].ssim.is_some(), "{frame:?}");
    }

    // Everything built this run is listed with its reason; a warm run
    // reuses all of it and says so.
    assert_eq!(review.built.len(), outcome.changes.len());
    assert!(review.built.iter().all(|(_, why)| *why == "new"));
    let warm = assetmill::build(&config, BuildOptions::default(), &Quiet).unwrap();
    let review = Review::new(&config, &manifest, &warm);
    assert!(review.built.is_empty());
    assert_eq!(review.run.built, 0);
    let animation = review.pages[1].images[0].built.as_ref().unwrap();
    assert!(animation.outputs.iter().all(|o| o.change.is_none()));
}

#[test]
fn build_writes_a_self_contained_report_and_says_where() {
    let (site, figures) = site();
    let out = site.run(&["build", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = doc["review"].as_str().expect("the JSON names the report");
    assert!(path.ends_with(".assetmill/report.html"), "{path}");
    let html = std::fs::read_to_string(site.root().join(path)).unwrap();

    // Every page section, the error with its page:line, the alt text.
    assert!(html.contains("id=\"page-methods-md\""));
    let located = format!(
        "content/methods.md:{}</code></a>",
        line_of(&figures, "image_id: 'b'")
    );
    assert!(html.contains(&located), "the error with its page:line");
    assert!(html.contains("alt=\"The plan\""));
    assert!(html.contains("class=\"spin\""));
    // Relative links into out/, percent-encoded; nothing fetched from
    // anywhere else.
    assert!(html.contains("src=\"../muscles/gif/Arm-Biceps%20Brachii.gif\""));
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let url = &html[i + attr.len()..];
            let url = &url[..url.find('"').unwrap()];
            assert!(
                url.starts_with("../") || url.starts_with('#'),
                "not a relative link into out/: {url}"
            );
        }
    }
    assert!(!html.contains("<link") && !html.contains("@import") && !html.contains("url(http"));
    // Scales: nothing loads up front.
    for img in html.match_indices("<img ") {
        let tag = &html[img.0..img.0 + html[img.0..].find('>').unwrap()];
        assert!(tag.contains("loading=\"lazy\""), "{tag}");
    }
    for video in html.match_indices("<video") {
        let tag = &html[video.0..video.0 + html[video.0..].find('>').unwrap()];
        assert!(tag.contains("preload=\"none\""), "{tag}");
    }

    // The text summary prints the path; the report can be turned off.
    let out = site.run(&["build"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("report: out/.assetmill/report.html"),
        "{stdout}"
    );
    std::fs::remove_file(site.out().join(".assetmill/report.html")).unwrap();
    std::fs::write(
        site.root().join("assetmill.yml"),
        "report:\n  enabled: false\n",
    )
    .unwrap();
    let out = site.run(&["build", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["review"].is_null(), "{doc}");
    assert!(!site.out().join(".assetmill/report.html").exists());
}

#[test]
fn a_report_path_outside_the_output_folder_is_refused() {
    let (site, _) = site();
    std::fs::write(
        site.root().join("assetmill.yml"),
        "report:\n  path: ../report.html\n",
    )
    .unwrap();
    let out = site.run(&["build"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report.path"), "{stderr}");
    assert!(!site.root().join("report.html").exists());
}

#[test]
fn clean_removes_the_report_wherever_it_was_put() {
    let (site, _) = site();
    std::fs::write(
        site.root().join("assetmill.yml"),
        "report:\n  path: review/index.html\n",
    )
    .unwrap();
    let out = site.run(&["build"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("report: out/review/index.html"), "{stdout}");
    let html = std::fs::read_to_string(site.out().join("review/index.html")).unwrap();
    // One folder down from out/: links climb one level.
    assert!(html.contains("src=\"../muscles/gif/Arm-Biceps%20Brachii.gif\""));
    let out = site.run(&["clean"]);
    assert!(out.status.success(), "{out:?}");
    assert!(!site.out().join("review/index.html").exists());
}
