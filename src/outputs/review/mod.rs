//! The review report: one self-contained HTML page that shows, after a
//! build, every page's images, animations and numbers, every problem with
//! its `page:line`, and what the run changed.
//!
//! [`Review`] is the model: plain data gathered from the manifest and a
//! [`Finished`] build, in content order, with nothing left to look up.
//! [`Finished`] is plain data too, so this output layer never reaches back
//! into the pipeline: the pipeline's `Outcome` converts into it.
//! [`html`] renders and writes it (inline CSS and JS, relative links
//! only), so the model can be tested without parsing HTML and the page
//! without a build.

pub mod html;

use crate::config::Config;
use crate::input::manifest::Manifest;
use crate::outputs::assetmap::{Asset, AssetMap, FileInfo, Kind, OutputFile, Role};
use crate::outputs::diagnostics::{Report, Severity};
use crate::outputs::names;
use crate::stages::sprite::Rect;
use crate::stages::video::av1::Av1Simd;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the review shows of a finished build.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished<'a> {
    /// Its diagnostics and their summary.
    pub report: &'a Report,
    pub asset_map: &'a AssetMap,
    /// Outputs it rebuilt, with why (`new`, `input changed`, …), sorted by
    /// path.
    pub changes: Vec<(&'a str, &'static str)>,
    /// Stale outputs it removed, sorted.
    pub removed: &'a [String],
    pub figures: Figures,
}

/// The figures of a finished build the review shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    /// Outputs written.
    pub built: usize,
    /// Outputs found up to date and kept.
    pub reused: usize,
    /// Stale outputs removed.
    pub removed: usize,
    /// Source files decoded.
    pub decoded: usize,
    /// Bytes of every output now in `out/`.
    pub output_bytes: u64,
    /// Bytes written.
    pub written_bytes: u64,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// Whether AV1 ran with SIMD.
    pub av1: Av1Simd,
    /// CPU seconds per stage, by the stage's name, in stage order.
    pub stages: Vec<(&'static str, f64)>,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The content folder, as configured (the report's title).
    pub site: String,
    pub run: Run,
    /// Every diagnostic, in the report's order (by file, then line).
    pub problems: Vec<Problem>,
    /// One per page that names images, in content order.
    pub pages: Vec<PageView>,
    /// Outputs this run wrote, with why, sorted by path.
    pub built: Vec<(String, &'static str)>,
    /// Stale outputs this run removed, sorted.
    pub removed: Vec<String>,
}

/// The run's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub pages: usize,
    pub images: usize,
    pub errors: usize,
    pub warnings: usize,
    pub built: usize,
    pub reused: usize,
    pub removed: usize,
    pub decoded: usize,
    /// Bytes of every referenced source file.
    pub source_bytes: u64,
    /// Bytes of every output now in `out/`.
    pub output_bytes: u64,
    pub written_bytes: u64,
    pub seconds: f64,
    /// Whether AV1 ran with SIMD.
    pub av1: Av1Simd,
    /// CPU seconds per stage (only stages that ran).
    pub stages: Vec<(&'static str, f64)>,
}

/// One diagnostic, located.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub severity: Severity,
    /// `file:line` (or just `file`), the file relative to the working
    /// directory as the text report prints it.
    pub location: String,
    /// The anchor of the page section it belongs to, when it is about a page
    /// that has one.
    pub anchor: Option<String>,
    pub message: String,
}

/// One page that names images.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    /// Relative to the content folder, `/`-separated.
    pub name: String,
    /// Its section's `id`.
    pub anchor: String,
    pub errors: usize,
    pub warnings: usize,
    /// Its `images:` entries, in order.
    pub images: Vec<ImageView>,
    /// Its `gallery:` entries, in order.
    pub gallery: Vec<FrameView>,
    /// When an earlier section shows the same gallery (an overview page
    /// reusing a muscle's frames): that page's name and anchor. The report
    /// then links there instead of showing every frame again.
    pub gallery_shown_on: Option<(String, String)>,
}

/// A page image: an animation assembled from the gallery, or a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageView {
    /// The path as written in front matter.
    pub written: String,
    pub line: usize,
    pub title: Option<String>,
    pub alt: Option<String>,
    /// What the build made of it; `None` when it failed (the problems say
    /// why).
    pub built: Option<Built>,
    /// When an earlier section shows the same image: that page's name and
    /// anchor (the report links there instead of repeating its outputs).
    pub shown_on: Option<(String, String)>,
}

/// A page image the build made something of.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub kind: Kind,
    /// The source file, for images that have one.
    pub source: Option<FileInfo>,
    /// Bytes of what the outputs are made from: the file, or for an
    /// animation the sum of its frames.
    pub input_bytes: u64,
    pub outputs: Vec<OutputView>,
    /// The sprite sheet and its cells, for the 360° viewer.
    pub sprite: Option<SpriteView>,
    /// Other pages that use the same image.
    pub shared_with: Vec<String>,
}

/// A gallery entry.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameView {
    pub written: String,
    pub line: usize,
    pub caption: Option<String>,
    pub source: Option<FileInfo>,
    pub outputs: Vec<OutputView>,
}

/// One file under `out/`, with its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputView {
    pub role: Role,
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub bytes: u64,
    /// Bytes over the bytes it is made from.
    pub ratio: Option<f64>,
    /// Mean SSIM against the source, for lossy outputs.
    pub ssim: Option<f64>,
    pub frames: Option<u32>,
    pub duration_ms: Option<u64>,
    /// For still variants: the format (`webp`).
    pub format: Option<String>,
    /// Why this run wrote it; `None` when it was reused.
    pub change: Option<&'static str>,
}

/// A sprite sheet and where each frame is on it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpriteView {
    pub sheet: String,
    pub width: u32,
    pub height: u32,
    pub cells: Vec<Rect>,
    /// The atlas JSON beside it, when written.
    pub atlas: Option<String>,
}

impl Review {
    /// Gathers the report of a finished build (the pipeline's `Outcome`
    /// converts into a [`Finished`]).
    pub fn new<'a>(config: &Config, manifest: &Manifest, build: impl Into<Finished<'a>>) -> Review {
        let build = build.into();
        let page_name = |page: &Path| names::page_name(&config.content, page);
        let changes: BTreeMap<&str, &'static str> = build.changes.iter().copied().collect();
        let assets = &build.asset_map.assets;
        let output_view = |file: &OutputFile, input_bytes: u64| OutputView {
            role: file.role,
            path: file.path.clone(),
            width: file.width,
            height: file.height,
            bytes: file.bytes,
            // The atlas is text about the pixels, not a rendition of them.
            ratio: (input_bytes > 0 && !file.role.is_atlas())
                .then(|| file.bytes as f64 / input_bytes as f64),
            ssim: file.ssim,
            frames: file.frames,
            duration_ms: file.duration_ms,
            format: file.format.clone(),
            change: changes.get(file.path.as_str()).copied(),
        };

        // Diagnostics per page, and anchors for the pages that get a section.
        let mut anchors: BTreeMap<PathBuf, String> = BTreeMap::new();
        let mut used_anchors = BTreeMap::new();
        for page in manifest
            .pages
            .iter()
            .filter(|p| !p.images.is_empty() || !p.gallery.is_empty())
        {
            anchors.insert(
                page.path.clone(),
                anchor(&page_name(&page.path), &mut used_anchors),
            );
        }
        let mut counts: BTreeMap<&Path, (usize, usize)> = BTreeMap::new();
        let problems = build
            .report
            .diagnostics
            .iter()
            .map(|d| {
                let count = counts.entry(d.file.as_path()).or_default();
                match d.severity {
                    Severity::Error => count.0 += 1,
                    Severity::Warning => count.1 += 1,
                    Severity::Note => {}
                }
                Problem {
                    severity: d.severity,
                    location: match d.line {
                        Some(line) => format!("{}:{line}", names::path(&d.file)),
                        None => names::path(&d.file).into_owned(),
                    },
                    anchor: anchors.get(&d.file).cloned(),
                    message: d.message.clone(),
                }
            })
            .collect();

        // Where each image and each gallery is first shown.
        let mut first_image: BTreeMap<&str, (String, String)> = BTreeMap::new();
        let mut first_gallery: BTreeMap<Vec<&str>, (String, String)> = BTreeMap::new();
        let pages = manifest
            .pages
            .iter()
            .filter(|p| anchors.contains_key(&p.path))
            .map(|page| {
                let name = page_name(&page.path);
                let here = (name.clone(), anchors[&page.path].clone());
                let gallery_key: Vec<&str> =
                    page.gallery.iter().map(|g| g.image_url.as_str()).collect();
                let gallery_shown_on = if gallery_key.is_empty() {
                    None
                } else {
                    first_gallery.get(&gallery_key).cloned().or_else(|| {
                        first_gallery.insert(gallery_key, here.clone());
                        None
                    })
                };
                let (errors, warnings) =
                    counts.get(page.path.as_path()).copied().unwrap_or_default();
                let images = page
                    .images
                    .iter()
                    .map(|image| ImageView {
                        // Keyed by what was built, so two spellings of one
                        // path count as one image.
                        shown_on: assets
                            .get(&image.image_name)
                            .and_then(|a| a.outputs.first())
                            .and_then(|first| {
                                let key = first.path.as_str();
                                first_image.get(key).cloned().or_else(|| {
                                    first_image.insert(key, here.clone());
                                    None
                                })
                            }),
                        written: image.image_name.clone(),
                        line: image.line,
                        title: image.image_title.clone(),
                        alt: image.image_alt.clone(),
                        built: assets
                            .get(&image.image_name)
                            .map(|asset| built(asset, assets, &name, &output_view)),
                    })
                    .collect();
                let gallery = page
                    .gallery
                    .iter()
                    .map(|entry| {
                        let asset = assets.get(&entry.image_url);
                        let source = asset.and_then(|a| a.source.clone());
                        let input = source.as_ref().map_or(0, |s| s.bytes);
                        FrameView {
                            written: entry.image_url.clone(),
                            line: entry.line,
                            caption: entry.caption.clone().or_else(|| entry.title.clone()),
                            outputs: asset
                                .map(|a| a.outputs.iter().map(|f| output_view(f, input)).collect())
                                .unwrap_or_default(),
                            source,
                        }
                    })
                    .collect();
                PageView {
                    anchor: anchors[&page.path].clone(),
                    name,
                    errors,
                    warnings,
                    images,
                    gallery,
                    gallery_shown_on,
                }
            })
            .collect();

        let s = &build.figures;
        let r = &build.report.summary;
        Review {
            site: names::path(&config.content).into_owned(),
            run: Run {
                pages: r.pages,
                images: r.images,
                errors: r.errors,
                warnings: r.warnings,
                built: s.built,
                reused: s.reused,
                removed: s.removed,
                decoded: s.decoded,
                source_bytes: source_bytes(assets),
                output_bytes: s.output_bytes,
                written_bytes: s.written_bytes,
                seconds: s.seconds,
                av1: s.av1.clone(),
                stages: s
                    .stages
                    .iter()
                    .filter(|(_, t)| *t > 0.0005)
                    .copied()
                    .collect(),
            },
            problems,
            pages,
            built: build
                .changes
                .iter()
                .map(|&(path, why)| (path.to_owned(), why))
                .collect(),
            removed: build.removed.to_vec(),
        }
    }
}

/// What the build made of one page image.
fn built(
    asset: &Asset,
    assets: &BTreeMap<String, Asset>,
    page: &str,
    output_view: &dyn Fn(&OutputFile, u64) -> OutputView,
) -> Built {
    let input_bytes = match asset.kind {
        Kind::Animation => asset
            .frames
            .iter()
            .filter_map(|f| assets.get(f)?.source.as_ref().map(|s| s.bytes))
            .sum(),
        _ => asset.source.as_ref().map_or(0, |s| s.bytes),
    };
    let sheet = asset.outputs.iter().find(|f| f.role == Role::Sprite);
    let sprite = sheet.and_then(|sheet| {
        Some(SpriteView {
            sheet: sheet.path.clone(),
            width: sheet.width?,
            height: sheet.height?,
            cells: sheet.cells.clone()?,
            atlas: asset
                .outputs
                .iter()
                .find(|f| f.role.is_atlas())
                .map(|f| f.path.clone()),
        })
    });
    Built {
        kind: asset.kind,
        source: asset.source.clone(),
        input_bytes,
        outputs: asset
            .outputs
            .iter()
            .map(|f| output_view(f, input_bytes))
            .collect(),
        sprite,
        shared_with: asset
            .pages
            .iter()
            .filter(|p| p.as_str() != page)
            .cloned()
            .collect(),
    }
}

/// Bytes of every distinct source file the map lists (frames and images;
/// a file named by several keys counts once).
fn source_bytes(assets: &BTreeMap<String, Asset>) -> u64 {
    let mut seen = BTreeMap::new();
    for asset in assets.values() {
        if let Some(s) = &asset.source {
            seen.insert(s.hash.as_str(), s.bytes);
        }
    }
    seen.values().sum()
}

/// A stable, unique `id` for a page section: its name with anything but
/// letters, digits, `-` and `_` turned into `-`.
fn anchor(name: &str, used: &mut BTreeMap<String, usize>) -> String {
    let base: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let base = format!("page-{base}");
    let mut id = base.clone();
    let mut n = 1;
    while used.contains_key(&id) {
        n += 1;
        id = format!("{base}-{n}");
    }
    used.insert(id.clone(), n);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_are_plain_and_unique() {
        let mut used = BTreeMap::new();
        assert_eq!(
            anchor("muscles/Arm Biceps.md", &mut used),
            "page-muscles-arm-biceps-md"
        );
        assert_eq!(
            anchor("muscles/Arm_Biceps.md", &mut used),
            "page-muscles-arm_biceps-md"
        );
        assert_eq!(
            anchor("muscles/arm biceps.md", &mut used),
            "page-muscles-arm-biceps-md-2"
        );
    }
}
