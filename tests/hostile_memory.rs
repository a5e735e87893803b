//! Settings and images that would need more memory than the budget
//! (`limits.max_memory`) give a clear error naming the output, the bytes it
//! needs and the setting that raises it; the process never aborts on a huge
//! allocation, and everything else is still built.

mod common;

use common::{Site, muscle_page};
use image::{Rgb, RgbImage};
use std::process::Output;

/// A page whose gallery lists `frames` entries, all `muscles/png/{file}`:
/// the sprite sheet gets one cell per entry while the file decodes once.
fn repeated_frame_page(name: &str, file: &str, frames: usize) -> String {
    let mut s = format!(
        "---\nimages:\n  - image_id: 'a'\n    image_name: 'muscles/gif/{name}.gif'\n    \
         image_alt: 'The {name} muscle'\ngallery:\n"
    );
    for i in 1..=frames {
        s.push_str(&format!(
            "  - image_url: muscles/png/{file}\n    title: '{name} {i}'\n"
        ));
    }
    s.push_str("---\n{% include page-image im_id=\"a\" %}\n{% include gallery %}\n");
    s
}

/// A flat PNG (tiny on disk, quick to optimize, large once decoded).
fn flat_png(width: u32, height: u32, shade: u8) -> Vec<u8> {
    common::png_bytes(&RgbImage::from_pixel(width, height, Rgb([shade, 90, 40])))
}

/// An animated page with small frames and a page with a JPEG, both
/// expected to build whatever happens to the large outputs.
fn site_with_bystanders() -> Site {
    let site = Site::new();
    site.page("muscles/arm.md", &muscle_page("Arm-Biceps", 4));
    site.frames("Arm-Biceps", 4, 64, 48);
    site.page(
        "methods.md",
        "---\nimages:\n  - image_id: photo\n    image_name: figures/photo.jpg\n    image_alt: A photo\n---\n{% include page-image im_id=\"photo\" %}\n",
    );
    site.asset_bytes(
        "figures/photo.jpg",
        &common::jpeg_bytes(&common::frame(80, 60, 3)),
    );
    site
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit 1 (errors reported), not a signal or a panic's exit code.
fn assert_clean_failure(out: &Output) {
    let text = format!("{}{}", stdout(out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(!text.contains("memory allocation"), "{text}");
}

/// The bystanders' outputs (their sprite sheet only when `sprite`: a
/// padding setting applies to every sheet).
fn assert_bystanders_built(site: &Site, sprite: bool) {
    let sheets = [
        "muscles/gif/Arm-Biceps-sprite.png",
        "muscles/gif/Arm-Biceps-sprite.json",
    ];
    for path in sheets.iter().filter(|_| sprite).chain(&[
        "muscles/gif/Arm-Biceps.gif",
        "muscles/png/Arm-Biceps-1.png",
        "muscles/png/Arm-Biceps-4-thumb.png",
        "figures/photo.jpg",
        "assets.json",
    ]) {
        assert!(site.out().join(path).is_file(), "{path} was not built");
    }
}

#[test]
fn a_huge_sprite_padding_is_refused_and_the_rest_is_built() {
    // 16 cells 100000 px apart: a 300000+ px square sheet, ~360 GB of RGBA,
    // which used to abort the process in the allocator.
    let site = site_with_bystanders();
    site.page(
        "muscles/leg.md",
        &repeated_frame_page("Leg-Soleus", "Leg-Soleus.png", 16),
    );
    site.asset_bytes("muscles/png/Leg-Soleus.png", &flat_png(64, 64, 10));
    common::write(
        &site.root().join("assetmill.yml"),
        b"sprite:\n  padding: 100000\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert_clean_failure(&out);
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("Leg-Soleus-sprite.png"))
        .unwrap_or_else(|| panic!("no sprite error:\n{text}"));
    assert!(line.contains("content/muscles/leg.md:"), "{line}");
    assert!(
        line.contains("out/muscles/gif/Leg-Soleus-sprite.png"),
        "{line}"
    );
    assert!(line.contains("sprite sheet"), "{line}");
    assert!(line.contains("limits.max_memory (1.0 GiB)"), "{line}");
    assert!(line.contains("sprite.padding"), "{line}");
    assert!(line.contains("GiB of memory"), "{line}");
    // The sheet and its atlas are refused; the GIF and frames are built.
    // (Arm-Biceps's 2x2 sheet, 100000 px apart too, is refused as well.)
    let out_dir = site.out().join("muscles");
    assert!(!out_dir.join("gif/Leg-Soleus-sprite.png").exists());
    assert!(!out_dir.join("gif/Leg-Soleus-sprite.json").exists());
    assert!(out_dir.join("gif/Leg-Soleus.gif").is_file());
    assert!(out_dir.join("png/Leg-Soleus-thumb.png").is_file());
    assert!(
        text.contains("out/muscles/gif/Arm-Biceps-sprite.png"),
        "{text}"
    );
    assert_bystanders_built(&site, false);
}

#[test]
fn a_sprite_sheet_past_u32_is_an_error_not_an_overflow() {
    let site = site_with_bystanders();
    site.page(
        "muscles/leg.md",
        &repeated_frame_page("Leg-Soleus", "Leg-Soleus.png", 16),
    );
    site.asset_bytes("muscles/png/Leg-Soleus.png", &flat_png(64, 64, 10));
    common::write(
        &site.root().join("assetmill.yml"),
        b"sprite:\n  padding: 4000000000\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert_clean_failure(&out);
    let text = stdout(&out);
    assert!(
        text.contains("out/muscles/gif/Leg-Soleus-sprite.png: the sprite sheet would be")
            && text.contains("lower sprite.padding"),
        "{text}"
    );
    assert!(site.out().join("muscles/gif/Leg-Soleus.gif").is_file());
    assert!(site.out().join("figures/photo.jpg").is_file());
}

#[test]
fn thumbs_width_5000_refuses_the_sheet_it_would_need() {
    // 16 cells of a 2400 px frame (thumbnails are never upscaled): a
    // 9600 px square sheet, 369 MB of RGBA plus its encoder, over 1 GiB.
    let site = site_with_bystanders();
    site.page(
        "muscles/leg.md",
        &repeated_frame_page("Leg-Soleus", "Leg-Soleus.png", 16),
    );
    site.asset_bytes("muscles/png/Leg-Soleus.png", &flat_png(2400, 2400, 10));
    common::write(
        &site.root().join("assetmill.yml"),
        b"thumbs:\n  width: 5000\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert_clean_failure(&out);
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("out/muscles/gif/Leg-Soleus-sprite.png"))
        .unwrap_or_else(|| panic!("no sprite error:\n{text}"));
    assert!(line.contains("a 9600x9600 sprite sheet"), "{line}");
    assert!(line.contains("thumbs.width"), "{line}");
    assert!(line.contains("over limits.max_memory (1.0 GiB)"), "{line}");
    assert!(
        !site
            .out()
            .join("muscles/gif/Leg-Soleus-sprite.png")
            .exists()
    );
    // The thumbnail itself is one frame's size, and is built.
    let thumb = image::open(site.out().join("muscles/png/Leg-Soleus-thumb.png")).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (2400, 2400));
    assert!(site.out().join("muscles/gif/Leg-Soleus.gif").is_file());
    assert_bystanders_built(&site, true);
}

#[test]
fn a_small_budget_refuses_large_frames_and_builds_small_ones() {
    let site = site_with_bystanders();
    site.page("muscles/leg.md", &muscle_page("Leg-Soleus", 2));
    for i in 1..=2 {
        site.asset_bytes(
            &format!("muscles/png/Leg-Soleus-{i}.png"),
            &flat_png(1200, 1200, i * 50),
        );
    }
    common::write(
        &site.root().join("assetmill.yml"),
        b"limits:\n  max_memory: 16 MiB\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert_clean_failure(&out);
    let text = stdout(&out);
    let page = std::fs::read_to_string(site.content().join("muscles/leg.md")).unwrap();
    // Each gallery entry names the frame and the budget...
    for i in 1..=2 {
        let line = common::line_of(&page, &format!("Leg-Soleus-{i}.png"));
        let expected = format!("content/muscles/leg.md:{line}: error: gallery frame");
        let found = text
            .lines()
            .find(|l| l.contains(&expected))
            .unwrap_or_else(|| panic!("no error at {expected}:\n{text}"));
        assert!(found.contains("1200x1200"), "{found}");
        assert!(found.contains("limits.max_memory (16.0 MiB)"), "{found}");
    }
    // ...and the page image names the animation it cannot build.
    assert!(
        text.lines().any(|l| l.starts_with("content/muscles/leg.md:")
            && l.contains("error: page image muscles/gif/Leg-Soleus.gif: out/muscles/gif/Leg-Soleus.gif: not built")
            && l.contains("limits.max_memory (16.0 MiB)")),
        "{text}"
    );
    assert!(!site.out().join("muscles/gif/Leg-Soleus.gif").exists());
    assert!(!site.out().join("muscles/png/Leg-Soleus-1.png").exists());
    assert_bystanders_built(&site, true);

    // Raising the budget builds it.
    common::write(
        &site.root().join("assetmill.yml"),
        b"limits:\n  max_memory: 256 MiB\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(site.out().join("muscles/gif/Leg-Soleus.gif").is_file());
    assert!(
        site.out()
            .join("muscles/png/Leg-Soleus-2-thumb.png")
            .is_file()
    );
}
