//! Splitting a build across the CI system's parallel jobs (`--shard I/N`)
//! and the stamp a shard leaves in its cache for `merge`.
//!
//! The split is a function of the pages alone, so every job derives the same
//! one without talking to the others. Units (an animation with the frames it
//! owns; a lone source file) are sorted by their output key and laid end to
//! end by weight; shard `I` takes the units whose weight midpoint falls in
//! the `I`-th `1/N` of the total. That balances work (not unit count) to
//! within one unit's weight, and it is stable: adding or removing one page
//! shifts each of the `N - 1` cut points by a fraction of that page's
//! weight, so at most a unit or two next to each cut changes shard and every
//! other shard's cache stays warm.
//!
//! Weight is counted in frames, the one measure of work the pages give
//! without reading images: a frame's own outputs (decode, optimized copy,
//! thumbnail) count [`FRAME`], and every frame an animation encodes (GIF,
//! videos, sprite cell) counts [`ENCODED_FRAME`] more.

pub use super::stamp::{Shard, Stamp};
use super::units::Unit;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::pipeline::cache::{Cache, fingerprint};
use crate::plan::Plan;

/// One frame's own outputs: decode, optimized copy, thumbnail.
const FRAME: u64 = 1;
/// One frame of an animation's GIF, videos and sprite sheet. Measured on
/// the synth corpus (600 px frames, 480 px GIFs): about twice a frame's own
/// work with rav1e's assembly, more without it.
const ENCODED_FRAME: u64 = 2;

/// Why `count` shards are too many for a site of `units` units, if they
/// are. Every shard must have a unit: more would only make empty shards,
/// and a count from the command line or from a shard folder's stamp
/// (`4294967295`) must be refused before anything is sized by it.
pub(super) fn too_many(count: u32, units: usize) -> Option<String> {
    let most = units.max(1);
    (count as usize > most).then(|| {
        format!(
            "{count} shards, but these pages have {units} units of work (an animation with \
             the frames it owns, or any other image), so they split into at most {most} \
             shards"
        )
    })
}

/// `--shard I/N` with more shards than units is bad usage.
pub(super) fn refuse_count(shard: Shard, units: usize, content: &std::path::Path) -> Result<()> {
    match too_many(shard.count, units) {
        Some(why) => Err(Error::Config {
            path: content.to_owned(),
            message: format!("--shard {shard}: {why}"),
        }),
        None => Ok(()),
    }
}

/// A shard builds into a folder of its own: refuses a folder holding a full
/// build's outputs (stale removal would delete everything outside the
/// shard).
pub(super) fn refuse_full_cache(out: &std::path::Path, old: &Cache, stamp: &Stamp) -> Result<()> {
    if old.shard.is_none() && !old.outputs.is_empty() {
        return Err(Error::Config {
            path: out.to_owned(),
            message: format!(
                "this folder holds a full build; shard {} needs an output folder of its own \
                 (e.g. --out out-{})",
                stamp.shard, stamp.shard.index
            ),
        });
    }
    Ok(())
}

/// A unit's sort key: the key of its GIF, or of its lone source.
pub(super) fn unit_key<'p>(plan: &'p Plan, unit: &Unit) -> &'p str {
    match *unit {
        Unit::Animation(a) => &plan.animations[a].key,
        Unit::Single(s) => &plan.sources[s].key,
    }
}

/// The work a unit stands for, in frames (see the module docs).
pub(super) fn weight(plan: &Plan, owner: &[Option<usize>], unit: &Unit) -> u64 {
    match *unit {
        Unit::Single(_) => FRAME,
        Unit::Animation(a) => {
            let frames = &plan.animations[a].frames;
            let owned = frames.iter().filter(|&&s| owner[s] == Some(a)).count() as u64;
            owned * FRAME + frames.len() as u64 * ENCODED_FRAME
        }
    }
}

/// The split of `units` into `count` shards: the 1-based shard of each unit,
/// in `units` order.
pub(super) fn split(plan: &Plan, owner: &[Option<usize>], units: &[Unit], count: u32) -> Vec<u32> {
    let mut order: Vec<usize> = (0..units.len()).collect();
    // Unit kinds break ties: an animation and a lone source never share a
    // key in a valid plan, but the order must not depend on that.
    order.sort_by(|&a, &b| {
        let kind = |u: &Unit| matches!(u, Unit::Single(_));
        (unit_key(plan, &units[a]), kind(&units[a]))
            .cmp(&(unit_key(plan, &units[b]), kind(&units[b])))
    });
    let weights: Vec<u64> = units.iter().map(|u| weight(plan, owner, u)).collect();
    let total: u64 = weights.iter().sum::<u64>().max(1);
    let count = u64::from(count.max(1));
    let mut shards = vec![1; units.len()];
    let mut before = 0u64;
    for &u in &order {
        // Twice the midpoint, to stay in integers.
        let mid2 = 2 * before + weights[u];
        let shard = (mid2 * count / (2 * total)).min(count - 1) + 1;
        shards[u] = shard as u32;
        before += weights[u];
    }
    shards
}

/// The stamp of shard `shard` of this split.
pub(super) fn stamp(
    config: &Config,
    plan: &Plan,
    owner: &[Option<usize>],
    units: &[Unit],
    shards: &[u32],
    shard: Shard,
) -> Stamp {
    let count = shard.count;
    let layout: Vec<(&str, u64, u32)> = units
        .iter()
        .zip(shards)
        .map(|(u, &s)| (unit_key(plan, u), weight(plan, owner, u), s))
        .collect();
    Stamp {
        shard,
        split: fingerprint(&(count, layout)),
        options: options_digest(config),
    }
}

/// Digest of every option that shapes an output or a diagnostic (every
/// role's key options, the limits, the size budgets), to refuse merging
/// shards built differently.
pub(super) fn options_digest(config: &Config) -> String {
    use crate::outputs::assetmap::Role;
    let roles = [
        Role::Optimized,
        Role::Thumb,
        Role::Gif,
        Role::Sprite,
        Role::SpriteMap,
        Role::TexturePacker,
        Role::Webm,
        Role::Mp4,
        Role::Still,
        Role::AssetMap,
    ];
    let keys: Vec<String> = roles
        .iter()
        .map(|&r| super::keys::options(config, r))
        .collect();
    fingerprint(&(
        keys,
        &config.limits,
        &config.asset_map.path,
        &config.thumbs,
        &config.sprite.suffix,
        &config.video.formats,
        // With `fit`, budgets shape GIFs and videos; without, they decide
        // which diagnostics a build reports.
        &config.budgets,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::units::{owners, units};
    use std::collections::BTreeMap;

    #[test]
    fn parses_shards() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1", "a/b", "1/0", "/3", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn no_more_shards_than_units() {
        assert_eq!(too_many(7, 7), None);
        assert_eq!(too_many(1, 0), None);
        let why = too_many(u32::MAX, 7).unwrap();
        assert!(
            why.contains("4294967295 shards") && why.contains("at most 7"),
            "{why}"
        );
        assert!(too_many(2, 0).is_some());
        let shard = Shard { index: 1, count: 8 };
        let e = refuse_count(shard, 7, std::path::Path::new("content")).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e}");
        assert!(e.to_string().contains("--shard 1/8"), "{e}");
    }

    /// The plan of a site of `muscles` 16-frame muscle pages (minus
    /// `skip`), a region page per 23 muscles assembling its own GIF from
    /// frames the muscles own, and a lone figure per 10 muscles. Only pages
    /// are written: the split never reads images.
    fn plan(muscles: usize, skip: Option<usize>) -> Plan {
        let dir = tempfile::tempdir().unwrap();
        let page = |rel: String, text: String| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        for m in (0..muscles).filter(|&m| Some(m) != skip) {
            let mut text =
                format!("---\nimages:\n  - image_id: m\n    image_name: gif/m{m}.gif\ngallery:\n");
            for f in 1..=16 {
                text.push_str(&format!("  - image_url: png/m{m}-{f}.png\n"));
            }
            text.push_str("---\n");
            page(format!("muscles/m{m}.md"), text);
            if m % 10 == 0 {
                page(
                    format!("figures/f{m}.md"),
                    format!(
                        "---\nimages:\n  - image_id: f\n    image_name: figures/f{m}.png\n---\n"
                    ),
                );
            }
        }
        for r in 0..muscles / 23 {
            let mut text = format!(
                "---\nimages:\n  - image_id: r\n    image_name: regions/r{r}.gif\ngallery:\n"
            );
            for m in (r * 23..r * 23 + 8).filter(|&m| Some(m) != skip) {
                text.push_str(&format!("  - image_url: png/m{m}-1.png\n"));
            }
            text.push_str("---\n");
            page(format!("regions/r{r}.md"), text);
        }
        let manifest = crate::input::manifest::read_site(dir.path());
        assert!(
            manifest.diagnostics.is_empty(),
            "{:?}",
            manifest.diagnostics
        );
        crate::plan::plan(&manifest, &Config::for_site(dir.path()))
    }

    /// Unit key → (shard, weight).
    fn layout(plan: &Plan, count: u32) -> BTreeMap<String, (u32, u64)> {
        let owner = owners(plan);
        let units = units(plan, &owner);
        let shards = split(plan, &owner, &units, count);
        units
            .iter()
            .zip(shards)
            .map(|(u, s)| (unit_key(plan, u).to_owned(), (s, weight(plan, &owner, u))))
            .collect()
    }

    #[test]
    fn balances_work_within_a_fifth() {
        let plan = plan(230, None);
        for count in [2, 3, 4, 8] {
            let mut load = vec![0u64; count as usize];
            for (shard, weight) in layout(&plan, count).into_values() {
                load[shard as usize - 1] += weight;
            }
            let mean = load.iter().sum::<u64>() as f64 / f64::from(count);
            for &l in &load {
                assert!(
                    (l as f64 - mean).abs() <= 0.2 * mean,
                    "{count} shards: {load:?}"
                );
            }
        }
    }

    #[test]
    fn adding_or_removing_a_page_moves_few_units() {
        let all = plan(230, None);
        let without = plan(230, Some(117));
        for count in [2, 4, 8] {
            let a = layout(&all, count);
            let b = layout(&without, count);
            let moved = a
                .iter()
                .filter(|(key, (shard, _))| b.get(*key).is_some_and(|(s, _)| s != shard))
                .count();
            assert!(
                moved < count as usize,
                "{count} shards: {moved} of {} units moved",
                a.len()
            );
        }
    }
}
