//! `assetmill synth`: deterministic test and benchmark sites.
//!
//! [`synth_site`] writes pages in the model atlas's shape (a `.gif` page
//! image plus a gallery of rotation frames) with rendered frames;
//! [`materialize`] renders an image for every path an existing page tree
//! references, so any real page tree becomes a benchmark corpus.
//! Rendering itself lives in [`render`].

pub mod render;
mod write;

use crate::error::Result;
use crate::input::manifest;
use crate::outputs::diagnostics::Diagnostic;
use crate::outputs::guard::Protected;
use crate::outputs::output::OutDir;
use crate::plan::{self, Placement};
use crate::progress::Progress;
use rayon::prelude::*;
use render::{RenderParams, SceneKind};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Shape of a synthetic site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthOptions {
    /// Number of muscle pages.
    pub pages: usize,
    /// Rotation frames per page.
    pub frames: u32,
    /// Frame width and height in pixels.
    pub size: u32,
    /// Transparent background instead of an opaque gradient.
    pub alpha: bool,
    pub seed: u64,
    /// What the frames show.
    pub scene: SceneKind,
}

/// What a synth run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthSummary {
    pub pages: usize,
    pub images: usize,
    /// Files that already existed and were left untouched.
    pub skipped: usize,
    pub bytes: u64,
    /// Notes about paths that could not be materialised.
    pub diagnostics: Vec<Diagnostic>,
}

const REGIONS: &[&str] = &[
    "Arm", "Leg", "Forearm", "Thigh", "Abdomen", "Back", "Neck", "Shoulder",
];
const MUSCLES: &[&str] = &[
    "Biceps",
    "Triceps",
    "Deltoid",
    "Soleus",
    "Gracilis",
    "Sartorius",
    "Iliacus",
    "Psoas",
    "Pectineus",
    "Brachialis",
    "Anconeus",
    "Supinator",
    "Plantaris",
    "Popliteus",
    "Scalenus",
    "Trapezius",
];

/// One synthetic muscle page: its names and where its files go.
struct PageSpec {
    region: &'static str,
    muscle: String,
}

impl PageSpec {
    fn base(&self) -> String {
        format!("{}-{}", self.region, self.muscle)
    }
    fn id(&self) -> String {
        format!("{}{}", self.region, self.muscle)
    }
    fn title(&self) -> String {
        format!(
            "The {} muscle of the {}",
            self.muscle.to_lowercase(),
            self.region.to_lowercase()
        )
    }
    fn frame(&self, i: u32) -> String {
        format!("muscles/png/{}-{}.png", self.base(), i + 1)
    }
    fn gif(&self) -> String {
        format!("muscles/gif/{}.gif", self.base())
    }
    fn page_file(&self) -> String {
        format!(
            "muscles/muscle_{}-{}.md",
            self.region.to_lowercase(),
            self.muscle.to_lowercase()
        )
    }

    fn front_matter(&self, frames: u32, seed: u64) -> String {
        let title = self.title();
        let mut s = String::new();
        let _ = write!(
            s,
            "---\n\nlayout: page\npermalink: /muscle/{}/{}/\n\ntitle: '{title}'\n\
             subheadline: 'Synthetic rotation, seed {seed}'\n\nheader: no\n\ntags: {}\n\n\
             images:\n  - image_id: '{}'\n    image_name: '{}'\n    image_title: '{title}'\n    \
             image_alt: '{title}' \n\ngallery:\n",
            self.region.to_lowercase(),
            self.muscle.to_lowercase(),
            self.region.to_lowercase(),
            self.id(),
            self.gif(),
        );
        for i in 0..frames {
            let _ = write!(
                s,
                "  - image_url: {}\n    caption: '{title} {n}'\n    title: '{title} {n}'\n",
                self.frame(i),
                n = i + 1
            );
        }
        let _ = write!(
            s,
            "\n---\n\nA rendered stand-in for this muscle, turning once around its long axis.\n\n\
             {{% include page-image im_id=\"{}\" %}}\n\n{{% include gallery %}}\n",
            self.id()
        );
        s
    }
}

fn page_specs(count: usize, seed: u64) -> Vec<PageSpec> {
    let combos = REGIONS.len() * MUSCLES.len();
    let start = (seed as usize) % combos;
    (0..count)
        .map(|i| {
            let k = (start + i * 7) % combos; // 7 is coprime with 128: every combo once
            let round = i / combos;
            let mut muscle = MUSCLES[k % MUSCLES.len()].to_owned();
            if round > 0 {
                muscle.push_str(&(round + 1).to_string());
            }
            PageSpec {
                region: REGIONS[k / MUSCLES.len()],
                muscle,
            }
        })
        .collect()
}

/// Writes a synthetic site into `dir`: `content/` pages and `assets/` frames.
pub fn synth_site(
    dir: &Path,
    opts: &SynthOptions,
    progress: &dyn Progress,
) -> Result<SynthSummary> {
    // A new site: nothing to protect, but every file lands inside `dir`.
    let site = Protected::nothing().create(dir)?;
    let specs = page_specs(opts.pages, opts.seed);
    for spec in &specs {
        let text = spec.front_matter(opts.frames, opts.seed);
        site.write(&format!("content/{}", spec.page_file()), text.as_bytes())?;
    }
    let jobs: Vec<(String, RenderParams, u32)> = specs
        .iter()
        .enumerate()
        .flat_map(|(p, spec)| {
            let params = RenderParams {
                width: opts.size,
                height: opts.size,
                alpha: opts.alpha,
                seed: mix(opts.seed, p as u64),
                scene: opts.scene,
            };
            (0..opts.frames).map(move |i| (format!("assets/{}", spec.frame(i)), params, i))
        })
        .collect();
    progress.start("synth", jobs.len() as u64);
    let written: Vec<Result<u64>> = jobs
        .par_iter()
        .map(|(rel, params, i)| {
            let image = render::render_frame(params, *i, opts.frames);
            let bytes = write::write_image(&site, rel, &image, opts.alpha, None);
            progress.advance("synth", 1);
            bytes
        })
        .collect();
    progress.finish("synth");
    let mut summary = SynthSummary {
        pages: specs.len(),
        ..SynthSummary::default()
    };
    for bytes in written {
        summary.bytes += bytes?;
        summary.images += 1;
    }
    Ok(summary)
}

/// A deterministic per-item seed.
fn mix(seed: u64, item: u64) -> u64 {
    let mut z = seed ^ item.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn text_seed(seed: u64, text: &str) -> u64 {
    text.bytes().fold(seed, |acc, b| mix(acc, u64::from(b)))
}

/// What to render at one path.
enum Job {
    /// Frame `index` of a `count`-frame rotation.
    Frame { seed: u64, index: u32, count: u32 },
    /// A single image (a small animation for `.gif`).
    Still { seed: u64 },
}

/// Renders an image for every local path the pages under `pages` reference
/// (relative to `images`): gallery frames as rotations, a small animation
/// for a `.gif` page image that has no gallery, a still otherwise. GIFs to
/// be assembled from a gallery are not rendered. Existing files are kept.
pub fn materialize(
    pages: &Path,
    images: &Path,
    opts: &SynthOptions,
    progress: &dyn Progress,
) -> Result<SynthSummary> {
    let manifest = manifest::read_site(pages);
    // Output names do not matter here, only which sources the pages name.
    let config = crate::config::Config {
        images: images.to_owned(),
        ..crate::config::Config::default()
    };
    let plan = plan::plan(&manifest, &config);
    let mut jobs: BTreeMap<String, Job> = BTreeMap::new();
    for page in &manifest.pages {
        // Seeded by the page's path inside the tree, so the same pages give
        // the same images wherever the tree lives.
        let rel = page.path.strip_prefix(pages).unwrap_or(&page.path);
        let seed = text_seed(opts.seed, &rel.to_string_lossy());
        let count = page.gallery.len() as u32;
        for (index, entry) in page.gallery.iter().enumerate() {
            if let Ok(plan::Resolved::Local(key)) = plan::resolve(&entry.image_url) {
                let index = index as u32;
                jobs.entry(key).or_insert(Job::Frame { seed, index, count });
            }
        }
    }
    for source in &plan.sources {
        if source.users.iter().all(|u| u.role == Placement::PageImage) {
            let seed = text_seed(opts.seed, &source.key);
            jobs.entry(source.key.clone())
                .or_insert(Job::Still { seed });
        }
    }
    let mut summary = SynthSummary {
        pages: manifest.pages.len(),
        diagnostics: plan.diagnostics.clone(),
        ..SynthSummary::default()
    };
    summary
        .diagnostics
        .extend(manifest.diagnostics.iter().cloned());
    let jobs: Vec<(String, Job)> = jobs.into_iter().collect();
    // Images land inside the image root only: never through a folder there
    // that links elsewhere.
    let out = Protected::nothing().create(images)?;
    progress.start("synth", jobs.len() as u64);
    let results: Vec<Result<Option<u64>>> = jobs
        .par_iter()
        .map(|(key, job)| {
            let result = render_job(&out, key, job, opts);
            progress.advance("synth", 1);
            result
        })
        .collect();
    progress.finish("synth");
    for result in results {
        match result? {
            Some(bytes) => {
                summary.images += 1;
                summary.bytes += bytes;
            }
            None => summary.skipped += 1,
        }
    }
    Ok(summary)
}

/// Renders one job unless its file exists. `None` when it was skipped.
fn render_job(out: &OutDir, key: &str, job: &Job, opts: &SynthOptions) -> Result<Option<u64>> {
    // Whatever is there, even a dangling link, is kept.
    if std::fs::symlink_metadata(out.path(key)?).is_ok() {
        return Ok(None);
    }
    let size = |seed| RenderParams {
        width: opts.size,
        height: opts.size,
        alpha: opts.alpha,
        seed,
        scene: opts.scene,
    };
    let bytes = match *job {
        Job::Frame { seed, index, count } => {
            let image = render::render_frame(&size(seed), index, count.max(1));
            write::write_image(out, key, &image, opts.alpha, None)?
        }
        Job::Still { seed } => {
            let small = RenderParams {
                width: (opts.size / 2).max(16),
                height: (opts.size / 2).max(16),
                ..size(seed)
            };
            let frames: Vec<_> = (0..8).map(|i| render::render_frame(&small, i, 8)).collect();
            let still = render::render_still(&size(seed));
            write::write_image(out, key, &still, opts.alpha, Some(&frames))?
        }
    };
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_are_unique_and_deterministic() {
        let a = page_specs(200, 5);
        let names: std::collections::BTreeSet<String> = a.iter().map(PageSpec::base).collect();
        assert_eq!(names.len(), 200);
        let b = page_specs(200, 5);
        assert!(a.iter().zip(&b).all(|(x, y)| x.base() == y.base()));
    }

    #[test]
    fn pages_read_back_as_written() {
        let spec = &page_specs(1, 0)[0];
        let text = spec.front_matter(16, 0);
        let (page, diags) = manifest::read_page(Path::new("p.md"), &text);
        let page = page.unwrap();
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(page.gallery.len(), 16);
        assert_eq!(page.images[0].image_name, spec.gif());
        assert_eq!(page.gallery[15].image_url, spec.frame(15));
    }
}
