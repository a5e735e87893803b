//! Entry points shared by the fuzz targets in `fuzz/` and by
//! `tests/commands/fuzz_regressions.rs`, which replays every input the fuzzers ever
//! found in `tests/fuzz/<target>/`. Each takes arbitrary bytes and must
//! return without panicking, whatever they hold; the checks inside are the
//! properties the fuzzers look for beyond "no panic".

use crate::config::{ByteSize, Config, Limits};
use crate::input::liquid::Include;
use crate::pipeline::cache::{Budget, Cache, LoadError};
use crate::plan::{Resolved, resolve};
use crate::stages::decode;
use image::ImageFormat;
use std::path::Path;

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// The fuzz targets, by name (the folder names under `tests/fuzz/`).
pub const TARGETS: [(&str, Target); 6] = [
    ("frontmatter", frontmatter),
    ("config", config),
    ("paths", paths),
    ("decode", decode),
    ("cache", cache),
    ("merge", merge),
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
    let read = crate::input::manifest::read_page(path, &text);
    let (page, diagnostics) = &read;
    let lines = crate::input::frontmatter::normalise(&text)
        .split('\n')
        .count();
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
        crate::input::manifest::read_page(path, &text),
        read,
        "not deterministic"
    );
    if !text.contains('\r') {
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(
            crate::input::manifest::read_page(path, &crlf),
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
        match crate::outputs::output::inside(Path::new("out"), &thumb) {
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

/// A cache file's bytes (`out/.assetmill/cache.json`, restored from a CI
/// cache, or a shard folder's), read under a small budget.
///
/// Beyond "no panic": a cache over the budget is refused and spends none
/// of it; an accepted one spent exactly its bytes and at most the values
/// allowed; a larger budget reads the same cache (the budget decides only
/// whether, never what); and what is accepted survives being written and
/// read back unchanged.
pub fn cache(data: &[u8]) {
    let small = Budget {
        bytes: 4 << 10,
        values: 256,
    };
    let mut budget = small;
    let parsed = Cache::parse(data, &mut budget);
    let again = Cache::parse(data, &mut { Budget::CACHE });
    match &parsed {
        Err(e) => {
            assert_eq!(budget, small, "a refused cache spent the budget: {e}");
            assert!(!e.to_string().is_empty());
            match e {
                LoadError::TooBig { bytes, .. } => assert!(*bytes > small.bytes),
                LoadError::TooManyValues { limit } => assert_eq!(*limit, small.values),
                // The budget decides only whether: a larger one finds the
                // same fault.
                LoadError::Malformed(_) => assert!(again.is_err(), "{e}"),
                LoadError::Unreadable(_) => panic!("parsing read a file: {e}"),
            }
        }
        Ok(cache) => {
            assert_eq!(budget.bytes, small.bytes - data.len() as u64);
            assert!(budget.values < small.values);
            assert_eq!(
                again.as_ref().ok(),
                Some(cache),
                "a larger budget reads otherwise"
            );
            let json = serde_json::to_string_pretty(cache).expect("a cache serializes");
            let back = Cache::parse(json.as_bytes(), &mut { Budget::CACHE })
                .unwrap_or_else(|e| panic!("a written cache is refused: {e}\n{json}"));
            assert_eq!(&back, cache, "a cache changes when written and read back");
        }
    }
}

/// The pages of the site [`merge`] checks shard caches against: two
/// 3-frame muscles, a region assembling its own GIF from their frames, a
/// lone figure and an existing GIF shown as a page image (which gets its
/// videos). Its units: the three animations, the figure and the GIF.
pub const MERGE_SITE: [(&str, &str); 5] = [
    (
        "content/muscles/a.md",
        "---\nimages:\n  - image_id: a\n    image_name: muscles/gif/a.gif\ngallery:\n  \
         - image_url: muscles/png/a-1.png\n  - image_url: muscles/png/a-2.png\n  \
         - image_url: muscles/png/a-3.png\n---\n",
    ),
    (
        "content/muscles/b.md",
        "---\nimages:\n  - image_id: b\n    image_name: muscles/gif/b.gif\ngallery:\n  \
         - image_url: muscles/png/b-1.png\n  - image_url: muscles/png/b-2.png\n  \
         - image_url: muscles/png/b-3.png\n---\n",
    ),
    (
        "content/regions/arm.md",
        "---\nimages:\n  - image_id: arm\n    image_name: regions/arm.gif\ngallery:\n  \
         - image_url: muscles/png/a-1.png\n  - image_url: muscles/png/b-1.png\n---\n",
    ),
    (
        "content/figures.md",
        "---\nimages:\n  - image_id: fig\n    image_name: figures/one.png\n---\n",
    ),
    (
        "content/loop.md",
        "---\nimages:\n  - image_id: loop\n    image_name: figures/loop.gif\n---\n",
    ),
];

/// The configuration of [`MERGE_SITE`], rooted at `root`.
pub fn merge_site_config(root: &Path) -> Config {
    Config::for_site(root)
}

/// A shard folder's cache file, checked by `merge` against the split of
/// [`MERGE_SITE`] that its stamp names: as it is, and with this version's
/// stamp digests put in (so the fuzzer reaches the records from seeds of
/// any version).
///
/// Beyond "no panic": a stamp with more shards than units is refused; an
/// accepted folder is the shard its stamp says, of this version and split;
/// every record it keeps is for an output that the split assigns to that
/// shard, with that output's role and path, a plain path inside the output
/// folder and outside `.assetmill/`, and never the asset map; and checking
/// is deterministic.
pub fn merge(data: &[u8]) {
    use crate::pipeline::merge::Layout;
    use std::sync::OnceLock;
    static CONFIG: OnceLock<Config> = OnceLock::new();
    static MANIFEST: OnceLock<crate::input::manifest::Manifest> = OnceLock::new();
    let config = CONFIG.get_or_init(|| merge_site_config(Path::new("site")));
    let manifest = MANIFEST.get_or_init(|| {
        let pages = MERGE_SITE
            .iter()
            .filter_map(|(path, text)| crate::input::manifest::read_page(Path::new(path), text).0)
            .collect();
        crate::input::manifest::Manifest {
            pages,
            ..Default::default()
        }
    });
    let layout = Layout::new(config, manifest.clone());
    let Ok(cache) = Cache::parse(data, &mut { Budget::CACHE }) else {
        return;
    };
    let Some(stamp) = cache.shard.clone() else {
        let mut copy = cache.clone();
        if let Ok(split) = layout.split(1) {
            assert!(split.check(Path::new("shard"), &mut copy).is_err());
        }
        return;
    };
    let split = match layout.split(stamp.shard.count) {
        Ok(split) => split,
        Err(why) => {
            assert!(stamp.shard.count > 5, "{why}");
            assert!(why.contains(&stamp.shard.count.to_string()), "{why}");
            return;
        }
    };
    let mut ours = cache.clone();
    ours.version = env!("CARGO_PKG_VERSION").to_owned();
    if let Some(s) = ours.shard.as_mut() {
        (s.split, s.options) = split.digests();
    }
    for variant in [cache, ours] {
        let mut checked = variant.clone();
        let result = split.check(Path::new("shard"), &mut checked);
        let mut twice = variant.clone();
        let again = split.check(Path::new("shard"), &mut twice);
        assert_eq!(
            result.as_ref().map_err(|e| e.to_string()),
            again.as_ref().map_err(|e| e.to_string()),
            "not deterministic"
        );
        let Ok(shard) = result else {
            continue;
        };
        assert_eq!(shard, stamp.shard);
        assert_eq!(variant.version, env!("CARGO_PKG_VERSION"));
        let kept = checked
            .shard
            .as_ref()
            .expect("an accepted folder has a stamp");
        assert_eq!((kept.split.clone(), kept.options.clone()), split.digests());
        for (path, record) in &checked.outputs {
            assert_eq!(
                split.assigned(path),
                Some((shard.index, record.file.role)),
                "{path} kept for shard {shard}"
            );
            assert_eq!(&record.file.path, path);
            assert!(!path.starts_with(".assetmill"), "{path}");
            assert_ne!(path, split.map_path(), "the shard's asset map is kept");
            assert!(
                crate::outputs::output::inside(Path::new("out"), path).is_ok(),
                "{path} is not a plain path"
            );
        }
    }
}
