//! Settings and images that would need more memory than the budget
//! (`limits.max_memory`) give a clear error naming the output, the bytes it
//! needs and the setting that raises it; the process never aborts on a huge
//! allocation, and everything else is still built.

use crate::common;

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

/// A page showing the existing GIF `figures/{name}.gif`.
fn gif_page(site: &Site, name: &str, gif: &[u8]) {
    site.page(
        &format!("{name}.md"),
        &format!(
            "---\nimages:\n  - image_id: a\n    image_name: figures/{name}.gif\n    \
             image_alt: A\n---\n"
        ),
    );
    site.asset_bytes(&format!("figures/{name}.gif"), gif);
}

/// A GIF of `frames` whole-screen frames of `width` x `height`.
fn screen_gif(width: u16, height: u16, frames: u16) -> Vec<u8> {
    let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
    common::indexed_gif(width, height, u32::from(frames), &palette, |x, _, i| {
        (x / 8 + i * 40) as u8
    })
}

#[test]
fn an_existing_gif_is_budgeted_for_its_own_frame_count() {
    // Two frames of 1920x1080 peak at 182 MB with both videos; the budget
    // used to assume 40 frames ("needs about 1.2 GiB") and refuse it.
    let site = Site::new();
    gif_page(&site, "wide", &screen_gif(1920, 1080, 2));
    // The MP4 alone: the estimate assumed 40 frames whatever the formats.
    common::write(
        &site.root().join("assetmill.yml"),
        b"video:\n  formats: [mp4]\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let map = site.asset_map();
    let outputs = map["assets"]["figures/wide.gif"]["outputs"]
        .as_array()
        .unwrap();
    let mp4 = outputs.iter().find(|o| o["role"] == "mp4").expect("no mp4");
    assert_eq!(mp4["frames"], 2, "{map:#}");
    assert_eq!(
        (&mp4["width"], &mp4["height"]),
        (&1920.into(), &1080.into())
    );
    assert!(site.out().join("figures/wide.mp4").is_file());
}

#[test]
fn videos_over_the_budget_are_refused_and_their_gif_is_still_copied() {
    // Decoding the GIF fits 64 MiB; its videos at 1920x1080 do not. Only
    // they are refused, naming the output; the GIF used to be refused as
    // a whole ("header claims 1920x1080 pixels").
    let site = site_with_bystanders();
    gif_page(&site, "wide", &screen_gif(1920, 1080, 2));
    common::write(
        &site.root().join("assetmill.yml"),
        b"limits:\n  max_memory: 64 MiB\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert_clean_failure(&out);
    let text = stdout(&out);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    let line = errors[0];
    assert!(
        line.starts_with("content/wide.md:3: error: page image figures/wide.gif: out/figures/wide.webm: not made: needs about"),
        "{line}"
    );
    assert!(line.contains("2 frames of 1920x1080"), "{line}");
    assert!(line.contains("limits.max_memory (64.0 MiB)"), "{line}");
    assert!(
        line.contains("out/figures/wide.mp4 is not made either"),
        "{line}"
    );
    assert!(site.out().join("figures/wide.gif").is_file());
    assert!(!site.out().join("figures/wide.webm").exists());
    assert!(!site.out().join("figures/wide.mp4").exists());
    assert_bystanders_built(&site, true);
}

/// A 25 KB GIF: `frames` frames of one pixel each, scattered over a
/// `side` x `side` screen.
fn sparse_gif(side: u16, frames: u16) -> Vec<u8> {
    let palette = [255, 0, 0, 0, 0, 255];
    let mut bytes = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut bytes, side, side, &palette).unwrap();
        for i in 0..frames {
            let frame = gif::Frame {
                left: i % side,
                top: (i * 7) % side,
                width: 1,
                height: 1,
                delay: 10,
                buffer: vec![(i % 2) as u8].into(),
                ..Default::default()
            };
            encoder.write_frame(&frame).unwrap();
        }
    }
    bytes
}

#[test]
fn a_tiny_gif_of_many_frames_on_a_large_screen_is_refused_its_videos() {
    // 999 one-pixel frames on a 1000x1000 screen: decoding costs a pixel a
    // frame, but each video would convert, encode and measure 999 million
    // pixels (12 minutes and 750 MB, within every limit there was).
    let site = site_with_bystanders();
    let gif = sparse_gif(1000, 999);
    assert!(gif.len() < 30_000, "{}", gif.len());
    gif_page(&site, "sparse", &gif);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_assetmill"))
        .args(["build", "--quiet"])
        .current_dir(site.root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("still encoding after {:?}", started.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_clean_failure(&out);
    let text = stdout(&out);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(
        errors,
        [
            "content/sparse.md:3: error: page image figures/sparse.gif: out/figures/sparse.webm: \
         not made: 999 frames of 1000x1000 are 999000000 pixels to encode, over \
         limits.max_video_pixels (100000000); raise limits.max_video_pixels, or set \
         `video.formats: []` to make no videos; out/figures/sparse.mp4 is not made either"
        ],
        "{text}"
    );
    // The GIF itself is valid and cheap: it is copied as it is.
    assert_eq!(
        std::fs::read(site.out().join("figures/sparse.gif")).unwrap(),
        gif
    );
    assert!(!site.out().join("figures/sparse.webm").exists());
    assert!(!site.out().join("figures/sparse.mp4").exists());
    assert_bystanders_built(&site, true);
}

#[test]
fn the_video_work_bound_applies_to_assembled_animations_too() {
    // 4 frames of 64x48 shown forward and back (6 frames): 18432 pixels
    // per video, over a bound of 15000; the GIF and sheet are still made.
    let site = site_with_bystanders();
    common::write(
        &site.root().join("assetmill.yml"),
        b"gif:\n  pingpong: true\nlimits:\n  max_video_pixels: 15000\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert_clean_failure(&out);
    let text = stdout(&out);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(
        errors[0].contains(
            "page image muscles/gif/Arm-Biceps.gif: out/muscles/gif/Arm-Biceps.webm: not made: \
             6 frames of 64x48 are 18432 pixels to encode, over limits.max_video_pixels (15000)"
        ),
        "{}",
        errors[0]
    );
    assert!(!site.out().join("muscles/gif/Arm-Biceps.webm").exists());
    assert!(!site.out().join("muscles/gif/Arm-Biceps.mp4").exists());
    assert_bystanders_built(&site, true);

    // Within the bound (forward only: 12288 pixels), they are made.
    common::write(
        &site.root().join("assetmill.yml"),
        b"limits:\n  max_video_pixels: 15000\n",
    );
    let out = site.run(&["build", "--quiet"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(site.out().join("muscles/gif/Arm-Biceps.webm").is_file());
    assert!(site.out().join("muscles/gif/Arm-Biceps.mp4").is_file());
}
