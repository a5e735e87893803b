//! Validating a plan (what `assetmill check` runs). Each distinct source file is
//! decoded once, in parallel; its problems are reported at every entry that
//! references it, a missing file with the closest existing one as a hint
//! ([`hints`]). Page-level rules (unique ids, includes naming known ids,
//! alt text, frame sets in [`framesets`]) and animation rules (frames agree
//! in size and colour) run on the plan.

mod framesets;
pub mod hints;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::input::liquid::Include;
use crate::input::manifest::{Manifest, Page};
use crate::outputs::diagnostics::{Diagnostic, Report};
use crate::plan::{Plan, Source};
use crate::progress::Progress;
use crate::stages::decode::{self, ImageInfo};
use hints::Folders;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Validates a planned site: every source is loaded (and dropped) once.
/// Returns what was learnt of each source, in plan order, with the report.
pub fn validate(
    manifest: &Manifest,
    plan: &Plan,
    config: &Config,
    progress: &dyn Progress,
) -> (Vec<Result<ImageInfo>>, Report) {
    let root = RootGuard::new(&config.images);
    progress.start("check", plan.sources.len() as u64);
    let infos: Vec<Result<ImageInfo>> = plan
        .sources
        .par_iter()
        .map(|source| {
            let info = root
                .check(source)
                .and_then(|()| decode::load(&source.path, &config.limits))
                .map(|loaded| loaded.info);
            progress.advance("check", 1);
            info
        })
        .collect();
    progress.finish("check");
    let mut diagnostics = config.remarks.clone();
    diagnostics.extend(diagnose(manifest, plan, &infos));
    let images = plan.sources.len() + plan.animations.len();
    let report = Report::new(diagnostics, manifest.pages.len(), images);
    (infos, report)
}

/// Every diagnostic of a validated plan.
pub fn diagnose(manifest: &Manifest, plan: &Plan, infos: &[Result<ImageInfo>]) -> Vec<Diagnostic> {
    diagnose_in(manifest, plan, infos, true, &|_| true, &|_| true)
}

/// The diagnostics of part of a plan (a shard's): problems with the pages
/// themselves when `pages`, and those of the sources and animations the
/// filters accept. An incomplete animation (not built by anyone) counts as
/// part of the pages.
pub fn diagnose_in(
    manifest: &Manifest,
    plan: &Plan,
    infos: &[Result<ImageInfo>],
    pages: bool,
    source: &dyn Fn(usize) -> bool,
    animation: &dyn Fn(usize) -> bool,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut folders = Folders::new(&plan.images);
    // A gallery whose every frame is missing, beside a complete set of
    // similar name, is one problem: one error for the set replaces the
    // per-frame ones (in every shard, so a merged report has it once).
    let mut renamed: HashSet<(&Path, usize)> = HashSet::new();
    let mut renamed_pages: HashSet<&Path> = HashSet::new();
    for page in &manifest.pages {
        if let Some((d, lines)) = framesets::renamed_set(page, &plan.images, &mut folders) {
            renamed.extend(lines.into_iter().map(|l| (page.path.as_path(), l)));
            renamed_pages.insert(&page.path);
            if pages {
                diags.push(d);
            }
        }
    }
    if pages {
        diags.extend(manifest.diagnostics.iter().cloned());
        diags.extend(plan.diagnostics.iter().cloned());
        for page in &manifest.pages {
            check_page(page, &mut diags);
            // A misspelt set would be judged by its wrong names.
            if !renamed_pages.contains(page.path.as_path()) {
                framesets::check_page(page, &mut folders, &mut diags);
            }
        }
        framesets::check_counts(manifest, &mut diags);
    }
    for (s, (usage, info)) in plan.sources.iter().zip(infos).enumerate() {
        if let (true, Err(e)) = (source(s), info) {
            let hint = match e {
                Error::Missing { .. } => folders.suggest(&usage.key),
                _ => None,
            };
            for u in &usage.users {
                if renamed.contains(&(u.page.as_path(), u.line)) {
                    continue;
                }
                let d = u.error(e.detail());
                diags.push(match &hint {
                    Some(h) => d.with_hint(format!("did you mean {h}?")),
                    None => d,
                });
            }
        }
    }
    let checked = |a: usize| {
        if plan.animations[a].incomplete {
            pages
        } else {
            animation(a)
        }
    };
    check_animations(plan, infos, &checked, &mut diags);
    diags
}

/// Refuses files that resolve outside the image root through a symlink.
pub struct RootGuard {
    root: Option<std::path::PathBuf>,
}

impl RootGuard {
    pub fn new(images: &Path) -> Self {
        RootGuard {
            root: std::fs::canonicalize(images).ok(),
        }
    }

    pub fn check(&self, source: &Source) -> Result<()> {
        let Ok(real) = std::fs::canonicalize(&source.path) else {
            return Ok(()); // a missing file is reported when it is read
        };
        match &self.root {
            Some(root) if real.starts_with(root) => Ok(()),
            _ => Err(Error::UnsafePath {
                path: source.path.clone(),
                message: format!(
                    "resolves outside the image root (to {}) through a symlink",
                    crate::outputs::names::path(&real)
                ),
            }),
        }
    }
}

/// Rules that concern one page's own entries.
fn check_page(page: &Page, diags: &mut Vec<Diagnostic>) {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for image in &page.images {
        match &image.image_id {
            Some(id) => {
                if let Some(first) = ids.get(id.as_str()) {
                    diags.push(Diagnostic::error(
                        &page.path,
                        Some(image.line),
                        format!("image_id `{id}` is already used on line {first} of this page"),
                    ));
                } else {
                    ids.insert(id, image.line);
                }
            }
            None => diags.push(Diagnostic::warning(
                &page.path,
                Some(image.line),
                format!(
                    "page image {} has no image_id, so no include can show it",
                    image.image_name
                ),
            )),
        }
        if image
            .image_alt
            .as_deref()
            .is_none_or(|a| a.trim().is_empty())
        {
            diags.push(Diagnostic::warning(
                &page.path,
                Some(image.line),
                format!("page image {} has no image_alt text", image.image_name),
            ));
        }
    }
    for include in &page.includes {
        match include {
            Include::PageImage { line, im_id: None } => diags.push(Diagnostic::error(
                &page.path,
                Some(*line),
                "`include page-image` names no im_id",
            )),
            Include::PageImage {
                line,
                im_id: Some(id),
            } if !ids.contains_key(id.as_str()) => diags.push(Diagnostic::error(
                &page.path,
                Some(*line),
                format!("`include page-image` names im_id `{id}`, but no image of this page has that image_id"),
            )),
            Include::Gallery { line } if page.gallery.is_empty() => {
                diags.push(Diagnostic::warning(
                    &page.path,
                    Some(*line),
                    "`include gallery` on a page without gallery entries",
                ))
            }
            _ => {}
        }
    }
}

/// The frames of one animation must all have the same size, and should
/// be stored alike.
fn check_animations(
    plan: &Plan,
    infos: &[Result<ImageInfo>],
    checked: &dyn Fn(usize) -> bool,
    diags: &mut Vec<Diagnostic>,
) {
    for (a, animation) in plan.animations.iter().enumerate() {
        if !checked(a) {
            continue;
        }
        framesets::check_colours(animation, plan, infos, diags);
        let mut first: Option<(&Source, &ImageInfo)> = None;
        for &i in &animation.frames {
            let (source, Ok(info)) = (&plan.sources[i], &infos[i]) else {
                continue;
            };
            match first {
                None => first = Some((source, info)),
                Some((f, fi)) if (fi.width, fi.height) != (info.width, info.height) => {
                    for usage in source.users.iter().filter(|u| u.page == animation.page) {
                        diags.push(usage.error(format!(
                            "frame is {}x{} but the first frame of {} ({}) is {}x{}",
                            info.width, info.height, animation.key, f.key, fi.width, fi.height
                        )));
                    }
                }
                Some(_) => {}
            }
        }
    }
}
