//! Frame-set rules: a gallery is a rotation, `STEM-1.png` … `STEM-16.png`
//! in order, and its page's GIF is named after the same stem. These rules
//! read names only (and one folder listing for hints), so they run on the
//! manifest; the colour rule compares what decoding learnt of each frame.
//! Every finding is a warning: the build can go on, but the animation will
//! probably not look as the author meant. The exception is a renamed set
//! ([`renamed_set`]): every frame is missing, so it is one error, with the
//! set the folder holds instead as its hint.

use super::hints::{self, Folders, Numbered};
use crate::error::Result;
use crate::input::manifest::{Manifest, Page};
use crate::nearest::edit_distance;
use crate::outputs::diagnostics::Diagnostic;
use crate::plan::{self, Animation, Plan, Resolved};
use crate::stages::decode::{Colour, ImageInfo};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Fewer galleries than this give no reliable "usual" frame count.
pub const MIN_GALLERIES: usize = 4;

/// A gallery entry whose path resolves under the image root.
pub(super) struct Listed {
    pub line: usize,
    pub key: String,
}

/// The numbered set most of a gallery's frames belong to.
struct Set<'a> {
    folder: &'a str,
    prefix: &'a str,
    ext: &'a str,
    /// Indices into the gallery's entries, with their numbers, in order.
    members: Vec<(usize, u32)>,
}

impl Set<'_> {
    fn name(&self, n: u32) -> String {
        format!("{}{n}.{}", self.prefix, self.ext)
    }
    fn path(&self, n: u32) -> String {
        hints::join(self.folder, &self.name(n))
    }
    fn pattern(&self) -> String {
        format!("{}N.{}", self.prefix, self.ext)
    }
}

pub(super) fn listed(page: &Page) -> Vec<Listed> {
    page.gallery
        .iter()
        .filter_map(|e| match plan::resolve(&e.image_url) {
            Ok(Resolved::Local(key)) => Some(Listed { line: e.line, key }),
            _ => None,
        })
        .collect()
}

/// A gallery whose every frame is missing while its folder holds the same
/// numbers under one similar prefix (a renamed or misspelt set): one error
/// at the first entry, with the lines of every entry it stands for.
pub fn renamed_set(
    page: &Page,
    images: &Path,
    folders: &mut Folders,
) -> Option<(Diagnostic, Vec<usize>)> {
    let entries = listed(page);
    if entries.len() < 2 || entries.len() != page.gallery.len() {
        return None;
    }
    let (folder, first) = hints::split(&entries[0].key);
    let wanted = Numbered::parse(first)?;
    let mut numbers = Vec::with_capacity(entries.len());
    for entry in &entries {
        let (f, name) = hints::split(&entry.key);
        let n = Numbered::parse(name)?;
        if f != folder || !n.same_set(&wanted) || numbers.contains(&n.number) {
            return None;
        }
        numbers.push(n.number);
    }
    // Cheap first: one file that exists ends it (no listing needed).
    if entries.iter().any(|e| images.join(&e.key).exists()) {
        return None;
    }
    let mut sets: BTreeMap<(&str, String), (&str, BTreeSet<u32>)> = BTreeMap::new();
    let files = folders.files(folder);
    for file in &files {
        if let Some(n) = Numbered::parse(file)
            && n.ext.eq_ignore_ascii_case(wanted.ext)
            && n.prefix != wanted.prefix
        {
            let set = sets
                .entry((n.prefix, n.ext.to_ascii_lowercase()))
                .or_insert((n.ext, BTreeSet::new()));
            set.1.insert(n.number);
        }
    }
    // Complete sets only (every wanted number present), close by edit
    // distance or with a stem that contains the wanted one or is
    // contained in it (`Arm-PlantarisPart-` for `Arm-Plantaris-`),
    // however far: nearest first, ties in name order.
    let len = wanted.prefix.chars().count();
    let mut found: Vec<(usize, &str, &str)> = sets
        .into_iter()
        .filter(|(_, (_, have))| numbers.iter().all(|n| have.contains(n)))
        .map(|((prefix, _), (ext, _))| (edit_distance(wanted.prefix, prefix), prefix, ext))
        .filter(|&(d, prefix, _)| d <= hints::max_distance(len) || nested(wanted.prefix, prefix))
        .collect();
    found.sort();
    let &(_, prefix, ext) = found.first()?;
    let set = hints::number_set(&numbers);
    let missing = hints::join(folder, &format!("{}{set}.{}", wanted.prefix, wanted.ext));
    let present = format!("{prefix}{set}.{ext}");
    // Up to two runners-up, as plain names.
    let others: Vec<String> = (found.iter().skip(1).take(2))
        .map(|(_, p, e)| format!("{p}{set}.{e}"))
        .collect();
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(" (or {})", others.join(", "))
    };
    let d = Diagnostic::error(
        &page.path,
        Some(entries[0].line),
        format!(
            "{} gallery frames {missing} are missing; the folder has {present} — rename the \
             gallery entries (or the files) so they match",
            numbers.len()
        ),
    )
    .with_hint(format!(
        "did you mean {}?{also}",
        hints::join(folder, &present)
    ));
    Some((d, entries.iter().map(|e| e.line).collect()))
}

/// Whether one prefix's stem (without its trailing separators) contains
/// the other's, ignoring case: a set renamed by adding to its name or
/// cutting from it.
fn nested(a: &str, b: &str) -> bool {
    let stem = |p: &str| p.trim_end_matches(['-', '_', ' ', '.']).to_lowercase();
    let (a, b) = (stem(a), stem(b));
    !a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a))
}

/// The set more than half of the entries share (same folder, prefix and
/// extension), if any.
fn dominant(entries: &[Listed]) -> Option<Set<'_>> {
    // (folder, prefix, lower-case extension) → (entry index, number)s.
    type Group<'a> = (&'a str, &'a str, String);
    let mut groups: BTreeMap<Group<'_>, Vec<(usize, u32)>> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let (folder, name) = hints::split(&entry.key);
        if let Some(n) = Numbered::parse(name) {
            groups
                .entry((folder, n.prefix, n.ext.to_ascii_lowercase()))
                .or_default()
                .push((i, n.number));
        }
    }
    let ((folder, prefix, _), members) = groups.into_iter().max_by_key(|(_, m)| m.len())?;
    if members.len() < 2 || members.len() * 2 <= entries.len() {
        return None;
    }
    // The extension as the first member writes it.
    let (_, first) = hints::split(&entries[members[0].0].key);
    let ext = Numbered::parse(first)?.ext;
    Some(Set {
        folder,
        prefix,
        ext,
        members,
    })
}

fn warn(page: &Page, line: usize, message: String) -> Diagnostic {
    Diagnostic::warning(&page.path, Some(line), message)
}

/// The rules about one page's gallery and its GIF.
pub fn check_page(page: &Page, folders: &mut Folders, diags: &mut Vec<Diagnostic>) {
    let entries = listed(page);
    let Some(set) = dominant(&entries) else {
        return;
    };
    other_stems(page, &entries, &set, folders, diags);
    numbering(page, &entries, &set, folders, diags);
    gif_stems(page, &set, diags);
}

/// Frames that are not of the gallery's set.
fn other_stems(
    page: &Page,
    entries: &[Listed],
    set: &Set<'_>,
    folders: &mut Folders,
    diags: &mut Vec<Diagnostic>,
) {
    for (i, entry) in entries.iter().enumerate() {
        // A missing file is reported as such, with its own hint.
        if set.members.iter().any(|(m, _)| *m == i) || !folders.exists(&entry.key) {
            continue;
        }
        let mut d = warn(
            page,
            entry.line,
            format!(
                "gallery frame {} is not one of this gallery's {} frames ({} of {} are); \
                 the animation would show it in the rotation — replace it with this \
                 gallery's own frame",
                entry.key,
                set.pattern(),
                set.members.len(),
                entries.len()
            ),
        );
        let (_, name) = hints::split(&entry.key);
        if let Some(n) = Numbered::parse(name).map(|n| n.number)
            && !set.members.iter().any(|(_, m)| *m == n)
            && folders.files(set.folder).contains(&set.name(n).as_str())
        {
            d = d.with_hint(format!("did you mean {}?", set.path(n)));
        }
        diags.push(d);
    }
}

/// Repeated, skipped and out-of-order frame numbers.
fn numbering(
    page: &Page,
    entries: &[Listed],
    set: &Set<'_>,
    folders: &mut Folders,
    diags: &mut Vec<Diagnostic>,
) {
    let mut first_line: HashMap<u32, usize> = HashMap::new();
    let mut repeats = Vec::new();
    let mut disorder = None;
    let mut previous: Option<(u32, usize)> = None;
    for &(i, n) in &set.members {
        let line = entries[i].line;
        if let Some(&first) = first_line.get(&n) {
            repeats.push((line, i, first));
            continue;
        }
        first_line.insert(n, line);
        if let Some((p, p_line)) = previous
            && n < p
            && disorder.is_none()
        {
            disorder = Some((line, i, p, p_line));
        }
        previous = Some((n, line));
    }
    let mut numbers: Vec<u32> = first_line.keys().copied().collect();
    // A frame of another stem holds its number's place (it is warned
    // about on its own), so its number is not also a gap.
    let strays: Vec<u32> = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| !set.members.iter().any(|(m, _)| m == i))
        .filter_map(|(_, e)| Numbered::parse(hints::split(&e.key).1).map(|n| n.number))
        .filter(|n| !first_line.contains_key(n))
        .collect();
    numbers.sort_unstable();
    let mut held = numbers.clone();
    held.extend(strays);
    held.sort_unstable();
    held.dedup();
    // Frames are numbered from 1 (or 0); every number up to the largest
    // should be there. Gaps are kept as ranges, so a hostile number costs
    // nothing.
    let mut gaps: Vec<(u32, u32)> = Vec::new();
    let mut expected = held.first().map_or(1, |&n| n.min(1));
    for &n in &held {
        if n > expected {
            gaps.push((expected, n - 1));
        }
        expected = n.saturating_add(1);
    }
    // A repeat next to a gap is most likely a mistyped number: say both
    // in one warning. The last frames may be the ones left out: those the
    // folder has after the largest number count as gaps for repeats only.
    let gap_count: u64 = gaps.iter().map(|&(a, b)| u64::from(b - a) + 1).sum();
    let mut after = Vec::new();
    if (repeats.len() as u64) > gap_count {
        let files = folders.files(set.folder);
        let mut n = held.last().map_or(1, |&n| n.saturating_add(1));
        while (after.len() as u64) < repeats.len() as u64 - gap_count
            && files.contains(&set.name(n).as_str())
        {
            after.push(n);
            n = n.saturating_add(1);
        }
    }
    let mut unexplained = gaps.iter().flat_map(|&(a, b)| a..=b).chain(after);
    let mut explained = 0usize;
    for (line, i, first) in repeats {
        let message = format!(
            "gallery frame {} is listed again (first on line {first})",
            entries[i].key
        );
        let d = match unexplained.next() {
            Some(g) => {
                explained += 1;
                warn(
                    page,
                    line,
                    format!(
                        "{message} and frame {g} is not listed; the animation would show one \
                         view twice and skip another — list {} here",
                        set.name(g)
                    ),
                )
                .with_hint(format!("did you mean {}?", set.path(g)))
            }
            None => warn(
                page,
                line,
                format!("{message}; the animation would show that view twice — remove this entry"),
            ),
        };
        diags.push(d);
    }
    // Only the first few are named; a hostile number makes a gap of
    // billions, which is counted, never collected.
    let total = gap_count.saturating_sub(explained as u64);
    let skipped: Vec<u32> = gaps
        .iter()
        .flat_map(|&(a, b)| a..=b)
        .skip(explained)
        .take(64)
        .collect();
    if let Some(&first) = skipped.first() {
        // At the entry after which the first skipped frame belongs.
        let before = numbers.iter().rev().find(|&&n| n < first);
        let line = before.map_or(entries[set.members[0].0].line, |n| first_line[n]);
        let listed_names = describe(&skipped, total, |n| set.name(n));
        let mut d = warn(
            page,
            line,
            format!(
                "gallery of {} frames skips {listed_names}; the rotation would jump there — \
                 add the missing {} or renumber the frames",
                set.pattern(),
                if total == 1 { "frame" } else { "frames" }
            ),
        );
        let files = folders.files(set.folder);
        let present: Vec<u32> = skipped
            .iter()
            .copied()
            .filter(|&n| files.contains(&set.name(n).as_str()))
            .take(4)
            .collect();
        if let Some(&n) = present.first() {
            d = d.with_hint(format!(
                "the folder has {}{}",
                set.path(n),
                if present.len() > 1 { " (and more)" } else { "" }
            ));
        }
        diags.push(d);
    }
    if let Some((line, i, p, p_line)) = disorder {
        diags.push(warn(
            page,
            line,
            format!(
                "gallery frame {} is listed after {} (line {p_line}); frames play in the order \
                 listed, so the rotation would jump — list the frames in numeric order",
                entries[i].key,
                set.name(p)
            ),
        ));
    }
}

/// `frame Leg-5.png`, `frames Leg-5.png and Leg-9.png`, or for many,
/// `12 frames (Leg-5.png, Leg-6.png, …)`.
fn describe(numbers: &[u32], total: u64, name: impl Fn(u32) -> String) -> String {
    let names: Vec<String> = numbers.iter().take(3).map(|&n| name(n)).collect();
    match (total, names.len()) {
        (1, 1) => format!("frame {}", names[0]),
        (2, 2) => format!("frames {} and {}", names[0], names[1]),
        (3, 3) => format!("frames {}, {} and {}", names[0], names[1], names[2]),
        (n, _) => format!("{n} frames ({}, …)", names.join(", ")),
    }
}

/// A `.gif` page image named after another stem than its gallery's frames.
fn gif_stems(page: &Page, set: &Set<'_>, diags: &mut Vec<Diagnostic>) {
    let stem = Numbered {
        prefix: set.prefix,
        number: 0,
        ext: set.ext,
    }
    .stem();
    if stem.is_empty() {
        return;
    }
    for image in page.images.iter().filter(|i| plan::is_gif(&i.image_name)) {
        let Ok(Resolved::Local(key)) = plan::resolve(&image.image_name) else {
            continue;
        };
        let (folder, name) = hints::split(&key);
        let Some((gif_stem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if gif_stem == stem {
            continue;
        }
        diags.push(
            warn(
                page,
                image.line,
                format!(
                    "page image {key} is assembled from this page's gallery, whose frames are \
                     {}; one of the two names is probably left from another page — rename the \
                     GIF after its frames, or list this GIF's own frames",
                    set.pattern()
                ),
            )
            .with_hint(format!(
                "did you mean {}?",
                hints::join(folder, &format!("{stem}.{ext}"))
            )),
        );
    }
}

/// Galleries whose frame count differs from the one most of the site has.
pub fn check_counts(manifest: &Manifest, diags: &mut Vec<Diagnostic>) {
    let galleries: Vec<&Page> = manifest
        .pages
        .iter()
        .filter(|p| !p.gallery.is_empty())
        .collect();
    if galleries.len() < MIN_GALLERIES {
        return;
    }
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for page in &galleries {
        *counts.entry(page.gallery.len()).or_default() += 1;
    }
    let Some((&usual, &with)) = counts.iter().max_by_key(|(_, n)| **n) else {
        return;
    };
    // A clear majority: at least three galleries in four.
    if with * 4 < galleries.len() * 3 {
        return;
    }
    for page in galleries.iter().filter(|p| p.gallery.len() != usual) {
        diags.push(warn(
            page,
            page.gallery[0].line,
            format!(
                "gallery has {} frames, but {with} of the site's {} galleries have {usual}; \
                 if frames are missing, add them (ignore this if the animation is meant to be \
                 different)",
                page.gallery.len(),
                galleries.len()
            ),
        ));
    }
}

/// What the build does with frames stored differently, said once here so
/// every colour warning tells the same (true) story: every frame is decoded
/// and converted to 8-bit RGBA before the GIF, sprite sheet, thumbnails and
/// videos are made, and no colour profile is applied or carried into them.
const NORMALIZED: &str = "the animation, sprite sheet and thumbnails are made from 8-bit RGBA \
                          copies of every frame";
const UNMANAGED: &str = "assetmill does not apply colour profiles: the animation, sprite sheet \
                         and thumbnails use every frame's stored values as sRGB and leave \
                         profiles out";

/// Frames of one animation stored with another colour type, bit depth or
/// ICC profile than most of its frames.
pub fn check_colours(
    animation: &Animation,
    plan: &Plan,
    infos: &[Result<ImageInfo>],
    diags: &mut Vec<Diagnostic>,
) {
    let mut frames: Vec<(usize, Colour)> = Vec::new();
    for &i in &animation.frames {
        if frames.iter().any(|(s, _)| *s == i) {
            continue;
        }
        if let Ok(ImageInfo {
            colour: Some(colour),
            ..
        }) = &infos[i]
        {
            frames.push((i, *colour));
        }
    }
    if frames.len() < 2 {
        return;
    }
    let layout = majority(&frames, |c| (c.kind, c.depth));
    let profile = majority(&frames, |c| c.icc);
    for &(s, colour) in &frames {
        let source = &plan.sources[s];
        let mut problems = Vec::new();
        if (colour.kind, colour.depth) != (layout.kind, layout.depth) {
            problems.push(format!(
                "frame is {} but most frames of {} are {}; {NORMALIZED}, so the \
                 difference is smoothed over, but this frame was probably exported with other \
                 settings — re-export it as {} like the rest",
                colour.layout(),
                animation.key,
                layout.layout(),
                layout.layout()
            ));
        }
        if colour.icc != profile.icc {
            let what = match (colour.icc, profile.icc) {
                (Some(_), None) => format!(
                    "frame has an embedded colour profile ({}) but the other frames of {} have none",
                    colour.profile(),
                    animation.key
                ),
                (None, Some(_)) => format!(
                    "frame has no colour profile but the other frames of {} have one ({})",
                    animation.key,
                    profile.profile()
                ),
                _ => format!(
                    "frame's colour profile ({}) differs from the other frames' of {} ({})",
                    colour.profile(),
                    animation.key,
                    profile.profile()
                ),
            };
            problems.push(format!(
                "{what}; {UNMANAGED}, so this frame's colours may not match theirs — re-export \
                 it with the same profile as the rest (sRGB is safest)"
            ));
        }
        for message in problems {
            for usage in source.users.iter().filter(|u| u.page == animation.page) {
                diags.push(Diagnostic::warning(
                    &usage.page,
                    Some(usage.line),
                    format!("{} {}: {message}", usage.role.label(), usage.written),
                ));
            }
        }
    }
}

/// The colour most frames share by `key` (ties go to the earliest frame).
fn majority<K: PartialEq>(frames: &[(usize, Colour)], key: impl Fn(&Colour) -> K) -> Colour {
    let count = |c: &Colour| frames.iter().filter(|(_, o)| key(o) == key(c)).count();
    let mut best = frames[0].1;
    let mut best_count = count(&best);
    for (_, c) in &frames[1..] {
        let n = count(c);
        if n > best_count {
            best = *c;
            best_count = n;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn warnings(gallery: &[&str]) -> Vec<String> {
        let mut text = String::from("---\ngallery:\n");
        for url in gallery {
            text.push_str(&format!("  - image_url: {url}\n"));
        }
        text.push_str("---\n");
        let (page, _) = crate::input::manifest::read_page(Path::new("p.md"), &text);
        let dir = tempfile::tempdir().unwrap();
        let mut folders = Folders::new(dir.path());
        let mut diags = Vec::new();
        check_page(&page.unwrap(), &mut folders, &mut diags);
        diags.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn a_hostile_number_is_counted_not_listed() {
        let found = warnings(&["a/X-1.png", "a/X-999999999.png"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "gallery of X-N.png frames skips 999999997 frames (X-2.png, X-3.png, X-4.png, …)"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn galleries_without_a_numbered_majority_are_not_judged() {
        assert!(warnings(&["a/front.png", "a/back.png", "a/X-1.png"]).is_empty());
        assert!(warnings(&["a/X-1.png", "a/Y-1.png"]).is_empty());
        assert!(warnings(&["a/X-1.png"]).is_empty());
        assert!(warnings(&["a/X-0.png", "a/X-1.png", "a/X-2.png"]).is_empty());
    }

    #[test]
    fn several_skips_are_one_warning() {
        let found = warnings(&["a/X-1.png", "a/X-3.png", "a/X-5.png"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("gallery of X-N.png frames skips frames X-2.png and X-4.png;"),
            "{found:?}"
        );
    }
}
