//! `assetmill check` on real files: every validation rule with a real bad
//! file, reported at the right page and line, exit codes, JSON output.

use crate::common;

use assetmill::progress::Quiet;
use common::{Site, line_of, muscle_page};
use serde_json::Value;

fn clean_site() -> Site {
    let site = Site::new();
    for name in ["Arm-Biceps", "Leg-Soleus"] {
        site.page(&format!("muscles/{name}.md"), &muscle_page(name, 4));
        site.frames(name, 4, 64, 48);
    }
    site
}

fn json_report(site: &Site) -> (i32, Value) {
    site.json(&["check", "--format", "json"])
}

/// (page, line, severity, message) of every diagnostic.
fn problems(json: &Value) -> Vec<(String, u64, String, String)> {
    common::diagnostics(json)
}

#[test]
fn clean_site_passes_with_exit_0() {
    let site = clean_site();
    site.page("about.md", "# No front matter here\n\nJust text.\n");
    let out = site.run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout, "2 pages, 10 images, 0 errors, 0 warnings\n");
}

#[test]
fn every_planted_defect_is_reported_at_its_line() {
    let site = clean_site();
    let mut expected: Vec<(String, usize, &str)> = Vec::new();
    let mut plant = |file: &str, text: &str, line: usize, message: &'static str| {
        site.page(file, text);
        expected.push((format!("content/{file}"), line, message));
    };

    // Truncated frame.
    let text = muscle_page("Trunc", 3);
    site.frames("Trunc", 3, 64, 48);
    let good = std::fs::read(site.images().join("muscles/png/Trunc-2.png")).unwrap();
    site.asset_bytes("muscles/png/Trunc-2.png", &good[..good.len() / 2]);
    plant(
        "trunc.md",
        &text,
        line_of(&text, "Trunc-2.png"),
        "truncated PNG",
    );

    // JPEG bytes behind a .png name.
    let text = muscle_page("Jpeg", 2);
    site.frames("Jpeg", 2, 64, 48);
    site.asset_bytes(
        "muscles/png/Jpeg-1.png",
        &common::jpeg_bytes(&common::frame(64, 48, 1)),
    );
    plant(
        "jpeg.md",
        &text,
        line_of(&text, "Jpeg-1.png"),
        "content is JPEG but the file name says PNG",
    );

    // Zero-byte frame.
    let text = muscle_page("Empty", 3);
    site.frames("Empty", 3, 64, 48);
    site.asset_bytes("muscles/png/Empty-3.png", b"");
    plant(
        "empty.md",
        &text,
        line_of(&text, "Empty-3.png"),
        "file is empty",
    );

    // A header claiming 60000x60000.
    let text = "---\nimages:\n  - image_id: bomb\n    image_name: bomb.png\n    image_alt: A bomb\n---\n{% include page-image im_id=\"bomb\" %}\n";
    site.asset_bytes("bomb.png", &common::png_header_bomb(60000, 60000));
    plant(
        "bomb.md",
        text,
        line_of(text, "image_id: bomb"),
        "header claims 60000x60000 pixels",
    );

    // One frame of a different size.
    let text = muscle_page("Odd", 3);
    site.frames("Odd", 3, 64, 48);
    site.png("muscles/png/Odd-2.png", 80, 48, 2);
    plant(
        "odd.md",
        &text,
        line_of(&text, "Odd-2.png"),
        "frame is 80x48 but the first frame",
    );

    // A missing frame.
    let text = muscle_page("Gone", 3);
    site.frames("Gone", 2, 64, 48);
    plant(
        "gone.md",
        &text,
        line_of(&text, "Gone-3.png"),
        "file not found",
    );

    // A path escaping the image root (the file exists, outside it).
    common::write(
        &site.root().join("secret.png"),
        &common::png_bytes(&common::frame(8, 8, 0)),
    );
    let text = "---\nimages:\n  - image_id: x\n    image_name: '../secret.png'\n    image_alt: X\n---\n{% include page-image im_id=\"x\" %}\n";
    plant(
        "escape.md",
        text,
        line_of(text, "image_id: x"),
        "path escapes the image root",
    );

    // The same image_id twice on one page.
    site.png("a.png", 8, 8, 0);
    let text = "---\nimages:\n  - image_id: same\n    image_name: a.png\n    image_alt: A\n  - image_id: same\n    image_name: a.png\n    image_alt: B\n---\n{% include page-image im_id=\"same\" %}\n";
    plant(
        "dup.md",
        text,
        6,
        "image_id `same` is already used on line 3",
    );

    // An include naming an id the page does not have.
    let text = "---\nimages:\n  - image_id: real\n    image_name: a.png\n    image_alt: A\n---\n\n{% include page-image im_id=\"typo\" %}\n";
    plant(
        "include.md",
        text,
        line_of(text, "typo"),
        "names im_id `typo`",
    );

    // Invalid YAML.
    let text = "---\ntitle: 'ok'\nimages: [oops\n---\nbody\n";
    site.page("yaml.md", text);

    let (code, json) = json_report(&site);
    assert_eq!(code, 1);
    let found = problems(&json);
    for (file, line, message) in &expected {
        assert!(
            found.iter().any(|(f, l, s, m)| f == file
                && *l == *line as u64
                && s == "error"
                && m.contains(message)),
            "missing {file}:{line}: {message}\nfound: {found:#?}"
        );
    }
    let yaml: Vec<_> = found
        .iter()
        .filter(|(f, ..)| f == "content/yaml.md")
        .collect();
    assert_eq!(yaml.len(), 1, "{yaml:?}");
    assert!(
        yaml[0].1 >= 3 && yaml[0].3.starts_with("invalid YAML"),
        "{yaml:?}"
    );
    // Clean pages are not blamed, and every error is one we planted.
    assert!(
        !found
            .iter()
            .any(|(f, ..)| f.contains("Arm-Biceps") || f.contains("Leg-Soleus"))
    );
    let errors = found.iter().filter(|(_, _, s, _)| s == "error").count();
    assert_eq!(errors, expected.len() + 1, "{found:#?}");
    assert_eq!(json["errors"], errors);
}

#[test]
fn text_report_is_compiler_style_and_sorted() {
    let site = clean_site();
    site.asset_bytes("muscles/png/Leg-Soleus-3.png", b"");
    site.asset_bytes("muscles/png/Arm-Biceps-2.png", b"not a png");
    let out = site.run(&["check"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let text = muscle_page("Arm-Biceps", 4);
    assert_eq!(
        lines[0],
        format!(
            "content/muscles/Arm-Biceps.md:{}: error: gallery frame muscles/png/Arm-Biceps-2.png: \
             content is not a recognised image format but the file name says PNG",
            line_of(&text, "Arm-Biceps-2.png")
        )
    );
    assert!(lines[1].starts_with("content/muscles/Leg-Soleus.md:"));
    assert_eq!(lines[2], "2 pages, 10 images, 2 errors, 0 warnings");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn front_matter_shapes_from_the_model_site() {
    let site = Site::new();
    // CRLF, a BOM, trailing spaces after the fences and quotes, names with
    // spaces, a page image without gallery, an empty alt.
    let page = "\u{feff}---  \r\nlayout: page\r\nheader: no\r\nimages:\r\n  - image_id: 'Fig 1'\r\n    image_name: \"figures/flow chart.png\"\r\n    image_title: 'Flow'\r\n    image_alt: '' \r\n--- \r\n\r\n{%- include page-image.html im_id='Fig 1' -%}\r\n";
    site.page("methods/seg ment.md", page);
    site.png("figures/flow chart.png", 30, 20, 0);
    let (code, json) = json_report(&site);
    let found = problems(&json);
    assert_eq!(code, 0, "{found:#?}");
    assert_eq!(
        found,
        vec![(
            "content/methods/seg ment.md".to_owned(),
            5,
            "warning".to_owned(),
            "page image figures/flow chart.png has no image_alt text".to_owned()
        )]
    );
}

#[test]
fn overview_pages_share_files_which_are_checked_once() {
    let site = clean_site();
    // An overview page listing the same frames and GIF as Arm-Biceps.
    site.page("muscles/arm.md", &muscle_page("Arm-Biceps", 4));
    // A page showing the GIF without a gallery of its own.
    site.page(
        "index.md",
        "---\nimages:\n  - image_id: Arm\n    image_name: muscles/gif/Arm-Biceps.gif\n    image_alt: Arm\n---\n{% include page-image im_id=\"Arm\" %}\n",
    );
    let manifest = assetmill::internals::manifest::read_site(&site.content());
    let plan = assetmill::internals::plan::plan(&manifest, &site.config());
    assert_eq!(plan.sources.len(), 8);
    assert_eq!(plan.animations.len(), 2);
    let arm = plan
        .animations
        .iter()
        .find(|a| a.key == "muscles/gif/Arm-Biceps.gif")
        .unwrap();
    assert_eq!(arm.users.len(), 3);
    assert_eq!(plan.sources[0].users.len(), 2);
    let report = assetmill::check(&site.config(), &Quiet);
    assert_eq!(report.summary.errors, 0, "{}", report.to_text());
    assert_eq!(report.summary.pages, 4);
}

#[test]
fn gif_without_gallery_must_exist_and_decode_fully() {
    let site = Site::new();
    let page = "---\nimages:\n  - image_id: a\n    image_name: anim.gif\n    image_alt: A\n  - image_id: b\n    image_name: gone.gif\n    image_alt: B\n---\n{% include page-image im_id=\"a\" %}{% include page-image im_id=\"b\" %}\n";
    site.page("methods.md", page);
    let mut gif = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
        for i in 0..3 {
            let frame = image::DynamicImage::ImageRgb8(common::frame(20, 20, i)).to_rgba8();
            enc.encode_frame(image::Frame::new(frame)).unwrap();
        }
    }
    site.asset_bytes("anim.gif", &gif[..gif.len() - 20]);
    let report = assetmill::check(&site.config(), &Quiet);
    let text = report.to_text();
    assert!(
        text.contains("content/methods.md:3: error: page image anim.gif: truncated GIF"),
        "{text}"
    );
    assert!(
        text.contains("content/methods.md:6: error: page image gone.gif: file not found"),
        "{text}"
    );
    site.asset_bytes("anim.gif", &gif);
    site.asset_bytes("gone.gif", &gif);
    let report = assetmill::check(&site.config(), &Quiet);
    assert_eq!(report.summary.errors, 0, "{}", report.to_text());
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_image_root_are_refused() {
    let site = Site::new();
    common::write(
        &site.root().join("private/key.png"),
        &common::png_bytes(&common::frame(8, 8, 0)),
    );
    std::fs::create_dir_all(site.images()).unwrap();
    std::os::unix::fs::symlink(
        site.root().join("private/key.png"),
        site.images().join("key.png"),
    )
    .unwrap();
    site.page(
        "p.md",
        "---\ngallery:\n  - image_url: key.png\n    caption: k\n---\n",
    );
    let report = assetmill::check(&site.config(), &Quiet);
    let text = report.to_text();
    assert!(
        text.contains(
            "content/p.md:3: error: gallery frame key.png: resolves outside the image root"
        ),
        "{text}"
    );
}

#[test]
fn absolute_and_external_paths() {
    let site = Site::new();
    site.page(
        "p.md",
        "---\nimages:\n  - image_id: a\n    image_name: /etc/passwd.png\n    image_alt: A\n  - image_id: b\n    image_name: https://example.org/b.png\n    image_alt: B\n---\n",
    );
    let report = assetmill::check(&site.config(), &Quiet);
    let text = report.to_text();
    assert!(
        text.contains("content/p.md:3: error: page image /etc/passwd.png: absolute path"),
        "{text}"
    );
    assert!(
        text.contains(
            "content/p.md:6: note: page image https://example.org/b.png: external URL, skipped"
        ),
        "{text}"
    );
    assert_eq!(report.summary.errors, 1);
}

#[test]
fn exit_codes_for_bad_config_and_usage() {
    let site = clean_site();
    common::write(
        &site.root().join("assetmill.yml"),
        b"thumbs:\n  widht: 10\n",
    );
    let out = site.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("assetmill.yml") && stderr.contains("widht"),
        "{stderr}"
    );
    let out = site.run(&["check", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let out = site.run(&["--config", "missing.yml", "check"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_file_and_flags_choose_the_folders() {
    let site = Site::new();
    site.page("muscles/A.md", &muscle_page("A", 2));
    std::fs::rename(site.content(), site.root().join("pages")).unwrap();
    site.frames("A", 2, 16, 16);
    std::fs::rename(site.images(), site.root().join("img")).unwrap();
    common::write(
        &site.root().join("assetmill.yml"),
        b"content: pages\nimages: img\n",
    );
    let out = site.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = site.run(&["check", "--images", "nowhere"]);
    assert_eq!(out.status.code(), Some(1));
}
