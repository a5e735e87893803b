//! Entry points shared by the fuzz targets in `fuzz/` and by
//! `tests/fuzz_regressions.rs`, which replays every input the fuzzers ever
//! found in `tests/fuzz/<target>/`. Each takes arbitrary bytes and must
//! return without panicking, whatever they hold; the checks inside are the
//! properties the fuzzers look for beyond "no panic".

use crate::config::{ByteSize, Config, Limits};
use crate::decode;
use crate::liquid::Include;
use crate::plan::{Resolved, resolve};
use image::ImageFormat;
use std::path::Path;

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (the folder names under `tests/fuzz/`).
pub const TARGETS: [(&str, Target); 4] = [
    ("frontmatter", frontmatter),
    ("config", config),
    ("paths", paths),
    ("decode", decode),
];

/// A page's text: splitting, YAML parsing, manifest entries.
///
/// Beyond "no panic": every line reported (diagnostics, entries, includes)
/// is a line of the page as the page's lines are counted (LF, CRLF and a
/// lone CR each end one); reading is deterministic; and the same page with
/// CRLF line ends reads exactly the same.
pub fn frontmatter(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.md");
    let read = crate::manifest::read_page(path, &text);
    let (page, diagnostics) = &read;
    let lines = crate::frontmatter::normalise(&text).split('\n').count();
    let within = |line: usize| line >= 1 && line <= lines;
    for d in diagnostics {
        assert_eq!(d.file, path, "{d}");
        assert!(!d.message.is_empty());
        if let Some(line) = d.line {
            assert!(within(line), "line {line} of {lines}: {d}");
        }
    }
    if let Some(page) = page {
        for image in &page.images {
            assert!(within(image.line), "image line {} of {lines}", image.line);
        }
        for entry in &page.gallery {
            assert!(within(entry.line), "gallery line {} of {lines}", entry.line);
        }
        for include in &page.includes {
            let line = match include {
                Include::PageImage { line, .. } | Include::Gallery { line } => *line,
            };
            assert!(within(line), "include line {line} of {lines}");
        }
    }
    assert_eq!(
        crate::manifest::read_page(path, &text),
        read,
        "not deterministic"
    );
    if !text.contains('\r') {
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(
            crate::manifest::read_page(path, &crlf),
            read,
            "CRLF line ends change the reading"
        );
    }
}

/// A configuration file's text. Errors name the file; a configuration
/// that is accepted satisfies the limits `validate` promises; and CRLF
/// line ends change nothing.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let file = Path::new("assetmill.yml");
    let parsed = Config::from_yaml(&text, file, Path::new(""));
    match &parsed {
        Err(e) => {
            assert_eq!(e.path(), file, "{e}");
            assert!(!e.detail().is_empty());
        }
        Ok(c) => {
            assert!(c.thumbs.width >= 1);
            assert!(!c.thumbs.suffix.is_empty() && !c.thumbs.suffix.contains('/'));
            assert!(!c.sprite.suffix.is_empty() && !c.sprite.suffix.contains('/'));
            assert!((1..=65535).contains(&c.gif.width));
            assert!((0.0..=1.0).contains(&c.gif.dither));
            assert!((1..=100).contains(&c.gif.quality));
            assert!(c.optimize.level <= 6);
            assert!(c.limits.max_megapixels > 0.0 && c.limits.max_side >= 1);
            assert!(c.limits.max_frames >= 1 && c.limits.max_animation_pixels >= 1);
            assert!(c.limits.max_memory.0 >= 16 << 20);
        }
    }
    if !text.contains('\r') {
        let crlf = Config::from_yaml(&text.replace('\n', "\r\n"), file, Path::new(""));
        match (&parsed, &crlf) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "CRLF line ends change the configuration"),
            (Err(_), Err(_)) => {}
            _ => panic!("CRLF line ends change acceptance: {parsed:?} vs {crlf:?}"),
        }
    }
}

/// A path as written in front matter: it resolves inside the image root or
/// is refused. A resolved key is a plain relative path that resolves to
/// itself, which is what the output folder demands of the paths it writes
/// (a key accepted here but refused there fails only mid-build).
pub fn paths(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(Resolved::Local(key)) = resolve(&text) {
        assert!(!key.is_empty());
        assert!(!key.starts_with('/'), "{key:?}");
        assert!(!key.contains('\0'), "{key:?}");
        for part in key.split('/') {
            assert!(!part.is_empty() && part != "." && part != "..", "{key:?}");
        }
        assert_eq!(
            resolve(&key),
            Ok(Resolved::Local(key.clone())),
            "{text:?} resolves to {key:?}, which does not resolve to itself"
        );
        let thumb = crate::plan::outputs::with_suffix(&key, "-thumb", None);
        match crate::output::inside(Path::new("out"), &thumb) {
            Ok(path) => assert!(path.starts_with("out"), "{path:?}"),
            Err(e) => panic!(
                "{text:?}: key {key:?} accepted, but its thumbnail {thumb:?} is refused: {e}"
            ),
        }
    }
}

/// An image file's bytes, decoded under small limits as each format.
pub fn decode(data: &[u8]) {
    let limits = Limits {
        max_megapixels: 4.0,
        max_side: 4096,
        max_frames: 64,
        max_animation_pixels: 16_000_000,
        max_video_pixels: 16_000_000,
        max_memory: ByteSize(256 << 20),
    };
    let format = image::guess_format(data).unwrap_or(ImageFormat::Png);
    let name = match format {
        ImageFormat::Gif => "fuzz.gif",
        ImageFormat::Jpeg => "fuzz.jpg",
        ImageFormat::WebP => "fuzz.webp",
        ImageFormat::Bmp => "fuzz.bmp",
        _ => "fuzz.png",
    };
    if let Ok(loaded) = decode::from_bytes(Path::new(name), format, data.to_vec(), &limits) {
        let info = loaded.info;
        assert!(info.width >= 1 && info.height >= 1);
        assert!(info.width <= limits.max_side && info.height <= limits.max_side);
        assert!(info.frames >= 1 && info.frames <= limits.max_frames);
        assert_eq!(info.bytes, data.len() as u64);
        let pixels = (loaded.pixels.width(), loaded.pixels.height());
        assert_eq!(pixels, (info.width, info.height));
        let canvas = u64::from(info.width) * u64::from(info.height);
        assert!(u64::from(info.frames) * canvas <= limits.max_animation_pixels);
    }
}
