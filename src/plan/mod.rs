//! Stage 2, [`Manifest`] → [`Plan`]: resolves every path written in front
//! matter against the image root and turns entries into work: distinct
//! source files (each decoded once, however many pages use it) and
//! animations to assemble from galleries.
//!
//! Planning reads no image; it only works out what exists as a job and who
//! uses it, so the parallel stages that follow never duplicate work.

pub mod outputs;
pub mod timing;

use crate::input::manifest::{ImageTiming, Manifest, Page};
use crate::outputs::diagnostics::Diagnostic;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a front-matter entry places an image on its page: as the page
/// image (`images:`) or as a frame of the gallery (`gallery:`). Not to be
/// confused with an output's [`Role`](crate::outputs::assetmap::Role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    PageImage,
    GalleryFrame,
}

impl Placement {
    pub fn label(self) -> &'static str {
        match self {
            Placement::PageImage => "page image",
            Placement::GalleryFrame => "gallery frame",
        }
    }
}

/// One planned output file (named by [`outputs`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    /// Relative to the output folder, `/`-separated.
    pub path: String,
    pub role: crate::outputs::assetmap::Role,
    /// For a still variant (role `still`): its format and width.
    pub variant: Option<Variant>,
}

/// What a still variant is: a codec, at a configured width (never
/// upscaled) or, `None`, at the source's own width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Variant {
    pub codec: crate::config::Codec,
    pub width: Option<u32>,
}

/// One front-matter entry that references an image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Use {
    pub page: PathBuf,
    pub line: usize,
    pub role: Placement,
    /// The path exactly as written in front matter.
    pub written: String,
}

impl Use {
    /// A diagnostic about this use: `page:line: severity: role path: message`.
    pub fn error(&self, message: impl std::fmt::Display) -> Diagnostic {
        Diagnostic::error(
            &self.page,
            Some(self.line),
            format!("{} {}: {message}", self.role.label(), self.written),
        )
    }
}

/// A distinct image file under the image root.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Normalised path relative to the image root (`/`-separated).
    pub key: String,
    /// The file on disk (image root joined with `key`).
    pub path: PathBuf,
    /// Every entry that references it, sorted.
    pub users: Vec<Use>,
    /// Its own outputs (see [`outputs`]).
    pub outputs: Vec<Output>,
}

impl Source {
    /// True when some page lists it in a gallery.
    pub fn is_frame(&self) -> bool {
        self.users.iter().any(|u| u.role == Placement::GalleryFrame)
    }
}

/// A `.gif` page image to assemble from its page's gallery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Animation {
    pub key: String,
    /// Indices into [`Plan::sources`], in gallery order.
    pub frames: Vec<usize>,
    /// True when a gallery entry could not be resolved, so the animation
    /// cannot be built as listed.
    pub incomplete: bool,
    /// The page whose gallery defines the frames.
    pub page: PathBuf,
    pub users: Vec<Use>,
    /// The timing the pages wrote for it (the config fills in the rest).
    pub timing: timing::Written,
    /// What is made of it (see [`outputs`]); none when incomplete.
    pub outputs: Vec<Output>,
}

impl Animation {
    /// The timing it is made with, under `gif`'s defaults.
    pub fn timing(&self, gif: &crate::config::GifOptions) -> timing::Timing {
        timing::Timing::resolve(&self.timing, self.frames.len(), gif)
    }
}

/// Everything to validate and build.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub images: PathBuf,
    pub sources: Vec<Source>,
    pub animations: Vec<Animation>,
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
}

impl Plan {
    /// Every output path the plan names (see [`outputs`]).
    pub fn output_paths(&self) -> std::collections::BTreeSet<String> {
        let sources = self.sources.iter().flat_map(|s| &s.outputs);
        let animations = self.animations.iter().flat_map(|a| &a.outputs);
        sources.chain(animations).map(|o| o.path.clone()).collect()
    }
}

/// A path from front matter, resolved lexically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Relative to the image root, normalised.
    Local(String),
    /// An `http(s)://` URL: not ours to process.
    External,
}

/// Resolves a written path against the image root without touching disk.
/// Symlinks are checked later, when the file is opened.
pub fn resolve(written: &str) -> Result<Resolved, String> {
    let lower = written.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Resolved::External);
    }
    if written.trim().is_empty() {
        return Err("empty path".into());
    }
    if written.contains('\0') {
        return Err("path contains a NUL byte".into());
    }
    if written.contains("://") {
        return Err("unsupported URL; only http(s) URLs are skipped as external".into());
    }
    if looks_absolute(written) {
        return Err("absolute path; image paths are relative to the image root".into());
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in written.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("path escapes the image root".into());
                }
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err("path names the image root itself, not a file".into());
    }
    let key = parts.join("/");
    // `\t//.:/..//` is blank only once resolved (fuzzing).
    if key.trim().is_empty() {
        return Err("empty path once `.` and `..` are resolved".into());
    }
    // `x/../C:/a.png` or `./\\a.png` look absolute only once `.` and `..`
    // are gone (found by fuzzing); the output folder refuses such a key, so
    // accepting it here would fail only mid-build.
    if looks_absolute(&key) {
        return Err(format!(
            "absolute path once `.` and `..` are resolved (`{key}`); \
             image paths are relative to the image root"
        ));
    }
    Ok(Resolved::Local(key))
}

/// A rooted path, a Windows drive (`C:`) or a backslash root.
fn looks_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    path.starts_with('/') || path.starts_with('\\') || drive
}

/// True when a written path names a GIF by its extension.
pub fn is_gif(key: &str) -> bool {
    key.rsplit_once('.')
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("gif"))
}

/// The timing keys an entry writes, for messages.
fn timing_keys(timing: &ImageTiming) -> String {
    let keys: Vec<&str> = [
        (timing.delay_ms.is_some(), "image_delay_ms"),
        (timing.repeat.is_some(), "image_loop"),
        (timing.pingpong.is_some(), "image_pingpong"),
    ]
    .into_iter()
    .filter_map(|(set, key)| set.then_some(key))
    .collect();
    keys.join(", ")
}

/// Builds the plan for a manifest under a configuration: its image root,
/// and the output names (see [`outputs`]).
pub fn plan(manifest: &Manifest, config: &crate::config::Config) -> Plan {
    let mut builder = Builder {
        images: &config.images,
        sources: BTreeMap::new(),
        animations: BTreeMap::new(),
        diagnostics: Vec::new(),
    };
    // Animations first, so a page that shows another page's GIF without a
    // gallery of its own is recorded as a user of that animation.
    for page in &manifest.pages {
        builder.add_animations(page);
    }
    for page in &manifest.pages {
        builder.add_images(page);
    }
    let mut plan = builder.finish();
    plan.assign_outputs(config);
    plan
}

/// An animation while the plan is being built.
struct Draft {
    frames: Vec<String>,
    incomplete: bool,
    /// The entry that defined it (first in page order).
    first: Use,
    users: Vec<Use>,
    timing: timing::Written,
    /// The first entry that wrote any timing.
    timed_by: Option<Use>,
}

impl Draft {
    /// Folds the timing one entry writes (its page image's keys, and its
    /// gallery's holds when it lists the frames) into the animation's. A
    /// key written differently by an earlier entry is an error here: one
    /// GIF has one timing, whichever page shows it.
    fn fold_timing(
        &mut self,
        image: &ImageTiming,
        holds: &[Option<u32>],
        usage: &Use,
    ) -> Option<Diagnostic> {
        let written = &mut self.timing;
        let mut clashes = Vec::new();
        fold(
            &mut written.delay_ms,
            image.delay_ms,
            "image_delay_ms",
            &mut clashes,
        );
        fold(
            &mut written.repeat,
            image.repeat,
            "image_loop",
            &mut clashes,
        );
        fold(
            &mut written.pingpong,
            image.pingpong,
            "image_pingpong",
            &mut clashes,
        );
        if written.holds.len() < holds.len() {
            written.holds.resize(holds.len(), None);
        }
        for (i, &hold) in holds.iter().enumerate() {
            fold(&mut written.holds[i], hold, "delay_ms", &mut clashes);
        }
        let writes = !image.is_empty() || holds.iter().any(Option::is_some);
        if clashes.is_empty() {
            if writes && self.timed_by.is_none() {
                self.timed_by = Some(usage.clone());
            }
            return None;
        }
        clashes.dedup();
        let first = self.timed_by.as_ref().unwrap_or(&self.first);
        Some(usage.error(format!(
            "{} differs from the timing {}:{} gives this GIF; one GIF has one timing, \
             so write the same value on both pages or on one only (the GIF keeps the first)",
            clashes.join(", "),
            crate::outputs::names::path(&first.page),
            first.line
        )))
    }
}

/// Takes a written value where none was yet; a different one is a clash.
fn fold<T: PartialEq + std::fmt::Display + Copy>(
    into: &mut Option<T>,
    value: Option<T>,
    key: &str,
    clashes: &mut Vec<String>,
) {
    match (*into, value) {
        (_, None) => {}
        (None, Some(v)) => *into = Some(v),
        (Some(old), Some(v)) if old != v => clashes.push(format!("{key} {v}")),
        (Some(_), Some(_)) => {}
    }
}

struct Builder<'a> {
    images: &'a Path,
    sources: BTreeMap<String, Vec<Use>>,
    animations: BTreeMap<String, Draft>,
    diagnostics: Vec<Diagnostic>,
}

impl Builder<'_> {
    fn resolve_use(&mut self, usage: &Use) -> Option<String> {
        match resolve(&usage.written) {
            Ok(Resolved::Local(key)) => Some(key),
            Ok(Resolved::External) => {
                self.diagnostics.push(Diagnostic::note(
                    &usage.page,
                    Some(usage.line),
                    format!(
                        "{} {}: external URL, skipped",
                        usage.role.label(),
                        usage.written
                    ),
                ));
                None
            }
            Err(message) => {
                self.diagnostics.push(usage.error(message));
                None
            }
        }
    }

    fn add_animations(&mut self, page: &Page) {
        if page.gallery.is_empty() {
            return;
        }
        let mut frames = Vec::new();
        let mut holds = Vec::new();
        let mut incomplete = false;
        let assembles = page.images.iter().any(|i| is_gif(&i.image_name));
        if !assembles && let Some(held) = page.gallery.iter().find(|e| e.delay_ms.is_some()) {
            self.diagnostics.push(Diagnostic::warning(
                &page.path,
                Some(held.line),
                "gallery `delay_ms` holds a frame of the page's animated GIF, but this page \
                 names no .gif image to assemble, so it is ignored",
            ));
        }
        for entry in &page.gallery {
            let usage = Use {
                page: page.path.clone(),
                line: entry.line,
                role: Placement::GalleryFrame,
                written: entry.image_url.clone(),
            };
            match self.resolve_use(&usage) {
                Some(key) => {
                    self.sources.entry(key.clone()).or_default().push(usage);
                    frames.push(key);
                    holds.push(entry.delay_ms);
                }
                None => incomplete = true,
            }
        }
        for image in page.images.iter().filter(|i| is_gif(&i.image_name)) {
            let Ok(Resolved::Local(key)) = resolve(&image.image_name) else {
                continue; // reported when the page's images are added
            };
            let usage = Use {
                page: page.path.clone(),
                line: image.line,
                role: Placement::PageImage,
                written: image.image_name.clone(),
            };
            match self.animations.get_mut(&key) {
                Some(draft) if draft.frames != frames => {
                    self.diagnostics.push(usage.error(format!(
                        "animation is already assembled from a different gallery by {}:{}",
                        crate::outputs::names::path(&draft.first.page),
                        draft.first.line
                    )));
                }
                Some(draft) => {
                    let clash = draft.fold_timing(&image.timing, &holds, &usage);
                    self.diagnostics.extend(clash);
                }
                None => {
                    let mut draft = Draft {
                        frames: frames.clone(),
                        incomplete,
                        first: usage.clone(),
                        users: Vec::new(),
                        timing: timing::Written::default(),
                        timed_by: None,
                    };
                    let clash = draft.fold_timing(&image.timing, &holds, &usage);
                    self.diagnostics.extend(clash);
                    self.animations.insert(key, draft);
                }
            }
        }
    }

    fn add_images(&mut self, page: &Page) {
        for image in &page.images {
            let usage = Use {
                page: page.path.clone(),
                line: image.line,
                role: Placement::PageImage,
                written: image.image_name.clone(),
            };
            let Some(key) = self.resolve_use(&usage) else {
                continue;
            };
            match self.animations.get_mut(&key) {
                Some(draft) => {
                    // A page with a gallery folded its timing in with the
                    // frames (see `add_animations`).
                    if page.gallery.is_empty() {
                        let clash = draft.fold_timing(&image.timing, &[], &usage);
                        self.diagnostics.extend(clash);
                    }
                    draft.users.push(usage)
                }
                None => {
                    if !image.timing.is_empty() {
                        self.diagnostics.push(Diagnostic::warning(
                            &page.path,
                            Some(image.line),
                            format!(
                                "{}: timing keys shape a GIF that assetmill assembles from a \
                                 gallery; {} is used as it is, so they are ignored",
                                timing_keys(&image.timing),
                                image.image_name
                            ),
                        ));
                    }
                    self.sources.entry(key).or_default().push(usage)
                }
            }
        }
    }

    fn finish(self) -> Plan {
        let mut sources = Vec::with_capacity(self.sources.len());
        let mut index = BTreeMap::new();
        for (i, (key, mut users)) in self.sources.into_iter().enumerate() {
            users.sort();
            index.insert(key.clone(), i);
            sources.push(Source {
                path: self.images.join(&key),
                key,
                users,
                outputs: Vec::new(),
            });
        }
        let animations = self
            .animations
            .into_iter()
            .map(|(key, mut draft)| {
                draft.users.sort();
                Animation {
                    timing: draft.timing,
                    frames: draft.frames.iter().map(|k| index[k]).collect(),
                    incomplete: draft.incomplete,
                    page: draft.first.page,
                    users: draft.users,
                    key,
                    outputs: Vec::new(),
                }
            })
            .collect();
        Plan {
            images: self.images.to_owned(),
            sources,
            animations,
            diagnostics: self.diagnostics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_paths() {
        assert_eq!(resolve("a/b.png"), Ok(Resolved::Local("a/b.png".into())));
        assert_eq!(resolve("./a//b.png"), Ok(Resolved::Local("a/b.png".into())));
        assert_eq!(
            resolve("a/x/../b c.png"),
            Ok(Resolved::Local("a/b c.png".into()))
        );
        assert_eq!(resolve("HTTPS://x.org/a.png"), Ok(Resolved::External));
    }

    #[test]
    fn refuses_unsafe_paths() {
        for bad in [
            "",
            "  ",
            "/etc/passwd",
            "../x.png",
            "a/../../x.png",
            "C:/x.png",
            ".",
            "ftp://x/y.png",
            // Absolute only once `..` and `.` are resolved (fuzzing).
            "x/../C:/x.png",
            "7./..//C:d",
            "./\\x.png",
            "\t//.:/..//",
        ] {
            assert!(resolve(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn gif_by_extension() {
        assert!(is_gif("a/B.GIF"));
        assert!(!is_gif("a/gif.png"));
    }
}
