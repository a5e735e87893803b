//! Shared helpers for the integration tests: a temporary site with pages,
//! images and an output folder, and a way to run the real binary on it;
//! [`browser`] for headless Chromium. The rule for a missing tool
//! ([`tool`], [`unavailable`]) and the `ffprobe`/`ffmpeg` oracles
//! ([`media`]) live in the library's `testsupport`, which the unit tests
//! under `src/` share.

pub mod browser;

pub use assetmill::testsupport::{media, tool, unavailable};

use image::{Rgb, RgbImage, Rgba, RgbaImage};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The configuration text that sets rav1e's fastest preset (see
/// [`Site::fast_videos`]); tests that need more settings append theirs.
pub const FAST_VIDEOS: &str = "video:\n  av1:\n    speed: 10\n";

/// A throwaway site: `content/`, `assets/`, `out/` inside a temp dir.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Self {
        Site {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn content(&self) -> PathBuf {
        self.root().join("content")
    }

    pub fn images(&self) -> PathBuf {
        self.root().join("assets")
    }

    pub fn out(&self) -> PathBuf {
        self.root().join("out")
    }

    /// Writes a page under `content/`.
    pub fn page(&self, rel: &str, text: &str) {
        write(&self.content().join(rel), text.as_bytes());
    }

    /// Writes raw bytes under `assets/`.
    pub fn asset_bytes(&self, rel: &str, bytes: &[u8]) {
        write(&self.images().join(rel), bytes);
    }

    /// Writes an opaque PNG frame under `assets/`.
    pub fn png(&self, rel: &str, width: u32, height: u32, seed: u32) {
        self.asset_bytes(rel, &png_bytes(&frame(width, height, seed)));
    }

    /// Writes the `count` frames a [`muscle_page`] named `name` lists.
    pub fn frames(&self, name: &str, count: usize, width: u32, height: u32) {
        for i in 1..=count {
            self.png(
                &format!("muscles/png/{name}-{i}.png"),
                width,
                height,
                i as u32,
            );
        }
    }

    /// Writes an `assetmill.yml` that sets rav1e's fastest preset. For the
    /// tests of a build's life (killed, stopped, locked, out of disk)
    /// rather than of its encoders: the same code paths, the videos in
    /// about half the CPU (the slowest integration tests are such builds).
    pub fn fast_videos(&self) {
        write(&self.root().join("assetmill.yml"), FAST_VIDEOS.as_bytes());
    }

    /// Writes the site's `assetmill.yml`.
    pub fn configure(&self, yaml: &str) {
        write(&self.root().join("assetmill.yml"), yaml.as_bytes());
    }

    /// The asset map the last build wrote, parsed.
    pub fn asset_map(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.out().join("assets.json")).unwrap()).unwrap()
    }

    /// The library configuration for this site.
    pub fn config(&self) -> assetmill::Config {
        assetmill::Config::for_site(self.root())
    }

    /// Runs the assetmill binary in the site's folder.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_assetmill"))
            .args(args)
            .current_dir(self.root())
            .output()
            .expect("run assetmill")
    }
}

/// Builds with `config` through the library and asserts the build had no
/// errors (listing them if it had).
pub fn build(config: &assetmill::Config) -> assetmill::Outcome {
    use assetmill::BuildOptions;
    let outcome =
        assetmill::build(config, BuildOptions::default(), &assetmill::progress::Quiet).unwrap();
    let errors: Vec<String> = outcome
        .report
        .diagnostics
        .iter()
        .filter(|d| d.severity == assetmill::Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    outcome
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A smooth, frame-dependent RGB image (not flat, so resizers and
/// optimizers see realistic data).
pub fn frame(width: u32, height: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let cx = width as f32 * (0.3 + 0.05 * (seed % 8) as f32);
        let d = ((x as f32 - cx).powi(2) + (y as f32 - height as f32 / 2.0).powi(2)).sqrt();
        let shade = (255.0 - d * 400.0 / width as f32).clamp(0.0, 255.0) as u8;
        Rgb([
            shade,
            (y * 255 / height.max(1)) as u8,
            (seed * 37 % 256) as u8,
        ])
    })
}

/// An RGBA image with transparent corners and an opaque disc.
pub fn alpha_frame(width: u32, height: u32, seed: u32) -> RgbaImage {
    RgbaImage::from_fn(width, height, |x, y| {
        let dx = x as f32 - width as f32 / 2.0;
        let dy = y as f32 - height as f32 / 2.0;
        let r = width.min(height) as f32 * 0.35;
        let d = (dx * dx + dy * dy).sqrt();
        let a = ((r - d + 0.5).clamp(0.0, 1.0) * 255.0) as u8;
        Rgba([200, (x * 255 / width) as u8, (seed * 41 % 256) as u8, a])
    })
}

pub fn png_bytes(image: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub fn png_rgba_bytes(image: &RgbaImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub fn jpeg_bytes(image: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A GIF of `frames` whole-screen frames of `width` x `height`, 100 ms
/// each, drawn with `palette` (RGB triples): `pixel(x, y, frame)` is each
/// pixel's palette index.
pub fn indexed_gif(
    width: u16,
    height: u16,
    frames: u32,
    palette: &[u8],
    pixel: impl Fn(u32, u32, u32) -> u8,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut bytes, width, height, palette).unwrap();
        let w = u32::from(width);
        for i in 0..frames {
            let pixels: Vec<u8> = (0..w * u32::from(height))
                .map(|p| pixel(p % w, p / w, i))
                .collect();
            let mut frame = gif::Frame {
                width,
                height,
                delay: 10,
                ..Default::default()
            };
            frame.buffer = pixels.into();
            encoder.write_frame(&frame).unwrap();
        }
    }
    bytes
}

/// A small valid PNG whose header is rewritten to claim `width`x`height`.
pub fn png_header_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png_bytes(&frame(4, 4, 0));
    // IHDR data starts after the 8-byte signature, 4-byte length and type.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A page in the model atlas's shape: a `.gif` page image built from a
/// gallery of `frames` PNGs named `muscles/png/{name}-{i}.png`.
pub fn muscle_page(name: &str, frames: usize) -> String {
    let id = name.replace(['-', ' '], "");
    let mut s = format!(
        "---\n\nlayout: page\ntitle: 'The {name} muscle'\n\nheader: no\n\ntags: leg\n\n\
         images:\n  - image_id: '{id}'\n    image_name: 'muscles/gif/{name}.gif'\n    \
         image_title: 'The {name} muscle'\n    image_alt: 'The {name} muscle' \n\ngallery:\n"
    );
    for i in 1..=frames {
        s.push_str(&format!(
            "  - image_url: muscles/png/{name}-{i}.png\n    caption: '{name} {i}'\n    title: '{name} {i}'\n"
        ));
    }
    s.push_str(&format!(
        "\n---\n\nText.\n\n{{% include page-image im_id=\"{id}\" %}}\n\n{{% include gallery %}}\n"
    ));
    s
}

/// The 1-based line of the first line of `text` that contains `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in page"))
        + 1
}

/// Every file under `dir` (relative path → bytes), skipping the lock file,
/// which holds the last builder's process id, and the review report, which
/// every run rewrites with its own timings.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if !["lock", "report.html"]
                .contains(&path.file_name().unwrap().to_str().unwrap())
            {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

pub fn changed(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> BTreeSet<String> {
    before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k) && !k.starts_with(".assetmill"))
        .cloned()
        .collect()
}

impl Site {
    /// Runs the binary with `args` (which ask for JSON) and parses what it
    /// printed on stdout: (exit code, document). Panics with both streams
    /// when stdout is not one JSON document.
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        document(&self.run(args), args)
    }
}

/// What a run of the binary with `args` (which ask for JSON) printed on
/// stdout, parsed: (exit code, document). Panics with both streams when
/// stdout is not one JSON document.
pub fn document(out: &Output, args: &[&str]) -> (i32, serde_json::Value) {
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

/// (file, line or 0, severity, message) of every diagnostic of a JSON
/// report, in its order.
pub fn diagnostics(doc: &serde_json::Value) -> Vec<(String, u64, String, String)> {
    doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap_or(0),
                d["severity"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Every file and folder under `dir` (the lock and report included) with
/// its modification time and bytes: two equal snapshots prove that nothing
/// was written.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (std::time::SystemTime, Vec<u8>)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if meta.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else {
                std::fs::read(&path).unwrap()
            };
            files.insert(path, (meta.modified().unwrap(), bytes));
        }
    }
    files
}

/// A child process killed when the test ends, however it ends.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` every 100 ms until it is true or `seconds` pass.
pub fn within(seconds: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// A free TCP port on loopback (free when asked; a server started at once
/// takes it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
