//! Entry points shared by the fuzz targets in `fuzz/` and by
//! `tests/fuzz_regressions.rs`, which replays every input the fuzzers ever
//! found in `tests/fuzz/<target>/`. Each takes arbitrary bytes and must
//! return without panicking, whatever they hold; the checks inside are the
//! properties the fuzzers look for beyond "no panic".

use crate::config::{ByteSize, Config, Limits};
use crate::decode;
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
pub fn frontmatter(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (page, diagnostics) = crate::manifest::read_page(Path::new("fuzz.md"), &text);
    let lines = text.lines().count().max(1) + 1;
    for d in &diagnostics {
        if let Some(line) = d.line {
            assert!(line >= 1 && line <= lines, "line {line} of {lines}: {d}");
        }
    }
    if let Some(page) = page {
        for image in &page.images {
            assert!(image.line >= 1 && image.line <= lines);
        }
        for entry in &page.gallery {
            assert!(entry.line >= 1 && entry.line <= lines);
        }
    }
}

/// A configuration file's text.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Config::from_yaml(&text, Path::new("assetmill.yml"), Path::new(""));
}

/// A path as written in front matter: it resolves inside the image root or
/// is refused.
pub fn paths(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(Resolved::Local(key)) = resolve(&text) {
        assert!(!key.is_empty());
        assert!(!key.starts_with('/'), "{key:?}");
        assert!(!key.contains('\0'), "{key:?}");
        for part in key.split('/') {
            assert!(!part.is_empty() && part != "." && part != "..", "{key:?}");
        }
        let out = crate::output::OutDir::existing(Path::new("out"));
        let thumb = crate::output::with_suffix(&key, "-thumb", None);
        if let Ok(path) = out.path(&thumb) {
            assert!(path.starts_with("out"), "{path:?}");
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
    }
}
