//! What a plan writes, by path: every output of every source and of every
//! animation, named as the site's templates expect (`X-thumb.png` beside a
//! gallery frame `X.png`, `X.webm` and `X.mp4` beside a GIF page image,
//! `X-sprite.png` and its atlases beside an assembled `X.gif`, still
//! variants `X-480w.webp` and `X-full.webp` beside a still `X.png`), worked out
//! from the pages and the configuration before any file is read.
//!
//! This is the one place output names are made, so the plan can hold the
//! whole table and refuse a *clash* before anything is built: two outputs on
//! one path (a hand-made `X-1-thumb.png` listed as a gallery frame beside
//! `X-1.png`, a source named `X-sprite.png` beside the animation `X.gif`, a
//! JPEG and a PNG frame of one name sharing a thumbnail) would overwrite each
//! other, put the path in the asset map twice with different hashes and
//! keep every build remaking it. Neither output of a clash is made; an
//! error at every entry that asked for one names the other source and the
//! `page:line` that lists it. An atlas names its sheet, so an animation
//! whose sheet is refused writes no atlas either.

use super::{Animation, Output, Placement, Plan, Source, Use, Variant};
use crate::config::{AtlasFormat, Codec, Config, Format, StillFormat, StillRole};
use crate::outputs::assetmap::Role;
use std::collections::BTreeMap;

/// `dir/X.png` → `dir/X{suffix}.png`; `ext` replaces the extension if given.
pub fn with_suffix(key: &str, suffix: &str, ext: Option<&str>) -> String {
    let (dir, name) = key.rsplit_once('/').map_or(("", key), |(d, n)| (d, n));
    let (stem, old_ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let ext = ext.unwrap_or(old_ext);
    let file = if ext.is_empty() {
        format!("{stem}{suffix}")
    } else {
        format!("{stem}{suffix}.{ext}")
    };
    if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    }
}

/// The sprite sheet of the animation `key` (`X.gif` → `X-sprite.png`).
pub fn sprite(config: &Config, key: &str) -> String {
    with_suffix(key, &config.sprite.suffix, Some("png"))
}

/// The videos beside a GIF at `key`, one per configured format.
fn videos<'a>(config: &'a Config, key: &'a str) -> impl Iterator<Item = Output> + 'a {
    config.video.formats.iter().map(move |f| Output {
        role: match f {
            Format::Webm => Role::Webm,
            Format::Mp4 => Role::Mp4,
        },
        path: with_suffix(key, "", Some(f.extension())),
        variant: None,
    })
}

/// The still variants of a source `stills` selects: for each format, one
/// per configured width (`X-480w.webp`) and one at the source's own width
/// (`X-full.webp`). Names hold the configured width, not the made one: a
/// plan is made before any file is read, and a variant wider than its
/// source is made at the source's width (never upscaled). `original` in
/// the source's own format (a PNG's, a JPEG's) makes no `-full` variant:
/// the optimized copy is that candidate.
fn variants(config: &Config, source: &Source) -> Vec<Output> {
    let stills = &config.stills;
    let page_still =
        !super::is_gif(&source.key) && source.users.iter().any(|u| u.role == Placement::PageImage);
    let chosen = stills.enabled()
        && ((source.is_frame() && stills.roles.contains(&StillRole::Gallery))
            || (page_still && stills.roles.contains(&StillRole::Page)))
        && stills.path_selected(&source.key);
    if !chosen {
        return Vec::new();
    }
    let key = &source.key;
    let mut widths: Vec<u32> = stills.widths.clone();
    widths.sort_unstable();
    widths.dedup();
    let sizes = widths.into_iter().map(Some).chain([None]);
    sizes
        .flat_map(|width| {
            stills.formats.iter().filter_map(move |&format| {
                let codec = format.codec(key);
                let own = format == StillFormat::Original
                    && (codec == Codec::Jpeg || has_extension(key, "png"));
                if width.is_none() && own {
                    return None;
                }
                let suffix = match width {
                    Some(w) => format!("-{w}w"),
                    None => "-full".to_owned(),
                };
                Some(Output {
                    path: with_suffix(key, &suffix, Some(&codec.extension(key))),
                    role: Role::Still,
                    variant: Some(Variant { codec, width }),
                })
            })
        })
        .collect()
}

/// Whether `key`'s extension is `extension`, in any case.
fn has_extension(key: &str, extension: &str) -> bool {
    key.rsplit_once('.')
        .is_some_and(|(_, e)| !e.contains('/') && e.eq_ignore_ascii_case(extension))
}

/// A source's own outputs: its optimized copy; a thumbnail when it is a
/// gallery frame; videos when it is an existing GIF shown as a page image;
/// still variants when `stills` selects it.
fn of_source(config: &Config, source: &Source) -> Vec<Output> {
    let key = &source.key;
    let mut outputs = vec![Output {
        path: key.clone(),
        role: Role::Optimized,
        variant: None,
    }];
    if source.is_frame() {
        outputs.push(Output {
            path: with_suffix(key, &config.thumbs.suffix, Some("png")),
            role: Role::Thumb,
            variant: None,
        });
    }
    if super::is_gif(key) && source.users.iter().any(|u| u.role == Placement::PageImage) {
        outputs.extend(videos(config, key));
    }
    outputs.extend(variants(config, source));
    outputs
}

/// An assembled animation's outputs: the GIF, the sprite sheet, its
/// atlases, the videos. An incomplete one makes nothing.
fn of_animation(config: &Config, animation: &Animation) -> Vec<Output> {
    if animation.incomplete {
        return Vec::new();
    }
    let key = &animation.key;
    let suffix = &config.sprite.suffix;
    let atlases = config.sprite.atlas.iter().map(|format| match format {
        AtlasFormat::Assetmill => Output {
            path: with_suffix(key, suffix, Some("json")),
            role: Role::SpriteMap,
            variant: None,
        },
        AtlasFormat::Texturepacker => Output {
            path: with_suffix(key, &format!("{suffix}.texturepacker"), Some("json")),
            role: Role::TexturePacker,
            variant: None,
        },
    });
    [
        Output {
            path: key.clone(),
            role: Role::Gif,
            variant: None,
        },
        Output {
            path: sprite(config, key),
            role: Role::Sprite,
            variant: None,
        },
    ]
    .into_iter()
    .chain(atlases)
    .chain(videos(config, key))
    .collect()
}

/// Who asked for an output, for messages.
#[derive(Clone, Copy)]
enum Owner<'p> {
    Source(&'p Source),
    Animation(&'p Animation),
}

impl<'p> Owner<'p> {
    fn users(self) -> &'p [Use] {
        match self {
            Owner::Source(s) => &s.users,
            Owner::Animation(a) => &a.users,
        }
    }

    /// The entry that names it first: the one a message points to.
    fn first(self) -> Option<&'p Use> {
        match self {
            Owner::Source(s) => s.users.first(),
            Owner::Animation(a) => a
                .users
                .iter()
                .find(|u| u.page == a.page)
                .or(a.users.first()),
        }
    }
}

/// What the suffix options are called, for the hint under a clash.
fn renaming_hint(role: Role) -> Option<&'static str> {
    match role {
        Role::Thumb => Some("thumbs.suffix"),
        Role::Sprite | Role::SpriteMap | Role::TexturePacker => Some("sprite.suffix"),
        _ => None,
    }
}

impl Plan {
    /// Fills in every source's and animation's outputs, leaving out the
    /// ones that clash, and adds an error for each clash to the plan's
    /// diagnostics.
    pub(super) fn assign_outputs(&mut self, config: &Config) {
        let plan = self;
        let sources: Vec<Vec<Output>> = plan.sources.iter().map(|s| of_source(config, s)).collect();
        let animations: Vec<Vec<Output>> = (plan.animations.iter())
            .map(|a| of_animation(config, a))
            .collect();
        let mut by_path: BTreeMap<&str, Vec<(Owner<'_>, Role)>> = BTreeMap::new();
        for (source, outputs) in plan.sources.iter().zip(&sources) {
            for o in outputs {
                let entry = by_path.entry(&o.path).or_default();
                entry.push((Owner::Source(source), o.role));
            }
        }
        for (animation, outputs) in plan.animations.iter().zip(&animations) {
            for o in outputs {
                let entry = by_path.entry(&o.path).or_default();
                entry.push((Owner::Animation(animation), o.role));
            }
        }
        let mut diagnostics = Vec::new();
        let mut refused: Vec<String> = Vec::new();
        for (path, owners) in by_path.iter().filter(|(_, o)| o.len() > 1) {
            refused.push((*path).to_owned());
            for (i, &(owner, role)) in owners.iter().enumerate() {
                let others: Vec<String> = (owners.iter().enumerate())
                    .filter(|&(j, _)| j != i)
                    .map(|(_, &(other, other_role))| match other.first() {
                        Some(u) => format!(
                            "the {} of the {} {} ({}:{})",
                            other_role.label(),
                            u.role.label(),
                            u.written,
                            crate::outputs::names::path(&u.page),
                            u.line
                        ),
                        None => format!("the {} of another image", other_role.label()),
                    })
                    .collect();
                let roles = owners.iter().map(|&(_, r)| r);
                let hint = match roles.filter_map(renaming_hint).next() {
                    Some(key) => format!("rename one of the sources, or change `{key}`"),
                    None => "rename one of the sources".to_owned(),
                };
                for usage in owner.users() {
                    diagnostics.push(
                        usage
                            .error(format!(
                                "its {} `{path}` is also {}; two outputs cannot share one path, \
                                 so neither is made",
                                role.label(),
                                others.join(" and ")
                            ))
                            .with_hint(hint.clone()),
                    );
                }
            }
        }
        // A sheet that is not made takes its atlases with it.
        for (animation, outputs) in plan.animations.iter().zip(&animations) {
            let sheet = sprite(config, &animation.key);
            if refused.contains(&sheet) {
                refused.extend(
                    (outputs.iter())
                        .filter(|o| o.role.is_atlas())
                        .map(|o| o.path.clone()),
                );
            }
        }
        let keep = |outputs: Vec<Output>| -> Vec<Output> {
            (outputs.into_iter())
                .filter(|o| !refused.contains(&o.path))
                .collect()
        };
        for (source, outputs) in plan.sources.iter_mut().zip(sources) {
            source.outputs = keep(outputs);
        }
        for (animation, outputs) in plan.animations.iter_mut().zip(animations) {
            animation.outputs = keep(outputs);
        }
        plan.diagnostics.extend(diagnostics);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::manifest::Manifest;
    use std::path::Path;

    #[test]
    fn suffix_goes_before_the_extension() {
        assert_eq!(
            with_suffix("a/b/X-1.png", "-thumb", None),
            "a/b/X-1-thumb.png"
        );
        assert_eq!(with_suffix("X.gif", "-sprite", Some("png")), "X-sprite.png");
        assert_eq!(with_suffix("a.b/c", "-t", None), "a.b/c-t");
        assert_eq!(
            with_suffix("d/Name with space.PNG", "-thumb", None),
            "d/Name with space-thumb.PNG"
        );
    }

    fn planned(pages: &[(&str, &str)], config: &Config) -> Plan {
        let pages = pages
            .iter()
            .filter_map(|(name, text)| crate::input::manifest::read_page(Path::new(name), text).0)
            .collect();
        let manifest = Manifest {
            pages,
            ..Manifest::default()
        };
        super::super::plan(&manifest, config)
    }

    fn paths(outputs: &[Output]) -> Vec<&str> {
        outputs.iter().map(|o| o.path.as_str()).collect()
    }

    const ANIMATION: &str = "---\nimages:\n  - image_name: m/X.gif\n\
        gallery:\n  - image_url: m/X-1.png\n  - image_url: m/X-2.png\n---\n";

    #[test]
    fn every_output_is_named_once() {
        let plan = planned(&[("a.md", ANIMATION)], &Config::default());
        assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
        assert_eq!(
            paths(&plan.animations[0].outputs),
            [
                "m/X.gif",
                "m/X-sprite.png",
                "m/X-sprite.json",
                "m/X.webm",
                "m/X.mp4"
            ]
        );
        assert_eq!(
            paths(&plan.sources[0].outputs),
            ["m/X-1.png", "m/X-1-thumb.png"]
        );
    }

    #[test]
    fn a_clash_refuses_both_outputs_and_names_both_entries() {
        // A hand-made thumbnail listed as a gallery frame, and a source
        // named like the animation's sheet.
        let other = "---\nimages:\n  - image_name: m/X-sprite.png\n\
            gallery:\n  - image_url: m/X-1-thumb.png\n---\n";
        let plan = planned(&[("a.md", ANIMATION), ("b.md", other)], &Config::default());
        let errors: Vec<String> = plan.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(
            errors.iter().any(
                |e| e.starts_with("b.md:5: error: gallery frame m/X-1-thumb.png")
                    && e.contains("also the thumbnail of the gallery frame m/X-1.png (a.md:5)")
            ),
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("a.md:3: error: page image m/X.gif")
                    && e.contains(
                        "`m/X-sprite.png` is also the optimized copy of the page image \
                     m/X-sprite.png (b.md:3)"
                    )),
            "{errors:#?}"
        );
        let all: Vec<&str> = (plan.sources.iter().flat_map(|s| &s.outputs))
            .chain(plan.animations.iter().flat_map(|a| &a.outputs))
            .map(|o| o.path.as_str())
            .collect();
        for gone in ["m/X-1-thumb.png", "m/X-sprite.png", "m/X-sprite.json"] {
            assert!(!all.contains(&gone), "{gone} still planned: {all:?}");
        }
        assert!(all.contains(&"m/X.gif") && all.contains(&"m/X-1.png"));
    }
}
