//! Size budgets (`budgets:` in the configuration): the most bytes an
//! output of each role may have, globally or for the outputs one page uses.
//!
//! Every output a unit leaves in place, made or reused from the cache, is
//! checked against the budget of each page line that uses it (the page's
//! own, else the global one), so a warm build fails exactly like the cold
//! one did; an output over budget is an error (or, with `budgets.level:
//! warn`, a warning) at each line whose budget it exceeds. Checking
//! changes no bytes, so budgets are no part of any cache key.
//!
//! With `budgets.fit: true`, GIFs and videos over the strictest budget of
//! their uses are made again at lower quality settings ([`Knob`]),
//! binary-searched from the configured
//! setting (the best allowed) to the lowest, for the best that fits
//! ([`search`]). The budget then shapes the bytes, so it is part of the
//! cache key of exactly the outputs it applies to (the setting
//! `budgets.fit.bytes`, see [`super::keys::unit_outputs`]). The search is a
//! pure function of the sizes it sees, and every encoding is deterministic,
//! so the outcome does not depend on threads.

use super::keys::{Owner, Planned};
use crate::config::{BudgetLevel, Config, H264Options, SizeLimit, VideoOptions, budget_key};
use crate::input::manifest::Manifest;
use crate::outputs::assetmap::{OutputFile, Role};
use crate::outputs::diagnostics::{Diagnostic, Severity};
use crate::plan::{Plan, Use};
use std::collections::BTreeSet;
use std::path::Path;

/// Every use of an output's owner: the page lines that asked for it.
pub(super) fn users(plan: &Plan, owner: Owner) -> &[Use] {
    match owner {
        Owner::Source(s) => &plan.sources[s].users,
        Owner::Animation(a) => &plan.animations[a].users,
    }
}

/// The budget one use holds an output to, and the key that set it.
struct Applied<'c> {
    limit: &'c SizeLimit,
    /// `budgets.gif`, or `budgets.pages."muscles/biceps.md".gif`.
    key: String,
}

/// The budget of `role` for a use: its page's own, else the global one.
fn for_use<'c>(config: &'c Config, role: Role, usage: &Use) -> Option<Applied<'c>> {
    let name = budget_key(role)?;
    let budgets = &config.budgets;
    let page = crate::outputs::names::page_name(&config.content, &usage.page);
    match budgets.pages.get(&page).and_then(|p| p.get(role)) {
        Some(limit) => Some(Applied {
            limit,
            key: format!("budgets.pages.\"{page}\".{name}"),
        }),
        None => budgets.get(role).map(|limit| Applied {
            limit,
            key: format!("budgets.{name}"),
        }),
    }
}

/// The strictest budget among an output's uses (the first such use's on a
/// tie), if any use has one.
fn strictest<'c>(config: &'c Config, plan: &Plan, planned: &Planned) -> Option<Applied<'c>> {
    users(plan, planned.owner)
        .iter()
        .filter_map(|u| for_use(config, planned.role, u))
        .min_by_key(|a| a.limit.bytes)
}

/// The budget `budgets.fit` makes an output fit: the strictest of its
/// uses', for GIFs and videos when `fit` is on; `None` otherwise.
pub(super) fn fit_target<'c>(
    config: &'c Config,
    plan: &Plan,
    planned: &Planned,
) -> Option<&'c SizeLimit> {
    if !config.budgets.fit || knob(config, planned.role).is_none() {
        return None;
    }
    strictest(config, plan, planned).map(|a| a.limit)
}

/// A quality setting `budgets.fit` turns, from the configured value (the
/// best it may pick) one step at a time to the lowest quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Knob {
    /// The configuration key, for messages.
    pub key: &'static str,
    pub configured: u8,
    /// The value of lowest quality (smallest output); may be above
    /// `configured` (quantizers) or below it (`gif.quality`).
    pub lowest: u8,
}

impl Knob {
    fn steps(self) -> u32 {
        u32::from(self.configured.abs_diff(self.lowest))
    }

    /// The value `step` steps from the configured one towards the lowest.
    fn at(self, step: u32) -> u8 {
        let step = u8::try_from(step.min(self.steps())).unwrap_or(u8::MAX);
        if self.lowest < self.configured {
            self.configured - step
        } else {
            self.configured + step
        }
    }
}

/// The knob of a role that has one: `gif.quality` (down to 1),
/// `video.av1.quantizer` (up to 255), `video.h264.qp` (up to 51).
pub(super) fn knob(config: &Config, role: Role) -> Option<Knob> {
    let (key, configured, lowest) = match role {
        Role::Gif => ("gif.quality", config.gif.quality, 1),
        Role::Webm => ("video.av1.quantizer", config.video.av1.quantizer, 255),
        Role::Mp4 => ("video.h264.qp", config.video.h264.qp, H264Options::MAX_QP),
        _ => return None,
    };
    Some(Knob {
        key,
        configured,
        lowest,
    })
}

/// The video options with a video role's knob set to `value`.
pub(super) fn video_options(config: &Config, role: Role, value: u8) -> VideoOptions {
    let mut options = config.video.clone();
    match role {
        Role::Webm => options.av1.quantizer = value,
        Role::Mp4 => options.h264.qp = value,
        _ => {}
    }
    options
}

/// What a fit search settled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Choice {
    pub knob: Knob,
    /// The knob's value the kept output was made at.
    pub value: u8,
    /// Whether it fits the budget (else it is the smallest made).
    pub fits: bool,
}

/// Makes an output at the best quality of `knob` whose size fits `budget`.
///
/// The configured value is tried first (`first`, if already made): an
/// output that fits as configured is kept as it is. Otherwise a binary
/// search over the steps towards the lowest quality, assuming size falls
/// as quality does, finds the first step that fits: about log2(steps)
/// encodings, the lowest quality's only when nothing better fits. If none
/// fits, the smallest output made is kept (the first of equal ones).
/// Which values are tried depends only on the sizes seen, so the same
/// encodings give the same choice.
pub(super) fn search<T, E>(
    knob: Knob,
    budget: u64,
    first: Option<T>,
    mut make: impl FnMut(u8) -> Result<T, E>,
    size: impl Fn(&T) -> u64,
) -> Result<(T, Choice), E> {
    let choice = |step: u32, fits| Choice {
        knob,
        value: knob.at(step),
        fits,
    };
    let first = match first {
        Some(made) => made,
        None => make(knob.configured)?,
    };
    if size(&first) <= budget || knob.steps() == 0 {
        let fits = size(&first) <= budget;
        return Ok((first, choice(0, fits)));
    }
    // Step `lo` does not fit; step `hi` fits, or is the last step and not
    // made yet (`best` is `None`).
    let (mut lo, mut hi) = (0, knob.steps());
    let mut best: Option<T> = None;
    let mut smallest = (0, first);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let made = make(knob.at(mid))?;
        if size(&made) <= budget {
            (hi, best) = (mid, Some(made));
        } else {
            lo = mid;
            if size(&made) < size(&smallest.1) {
                smallest = (mid, made);
            }
        }
    }
    let last = match best {
        Some(made) => made,
        None => make(knob.at(hi))?,
    };
    if size(&last) <= budget {
        return Ok((last, choice(hi, true)));
    }
    if size(&last) < size(&smallest.1) {
        smallest = (hi, last);
    }
    let (step, made) = smallest;
    Ok((made, choice(step, false)))
}

/// The note `budgets.fit` leaves when it lowered an output's quality to
/// fit: at each use held to the budget it fitted, naming the setting
/// chosen and the size. Nothing when the configured quality fitted (the
/// output is as without a budget) or nothing did (the check reports that).
pub(super) fn fit_notes(
    config: &Config,
    plan: &Plan,
    out: &Path,
    planned: &Planned,
    choice: Choice,
    bytes: u64,
) -> Vec<Diagnostic> {
    let Some(target) = fit_target(config, plan, planned) else {
        return Vec::new();
    };
    if !choice.fits || choice.value == choice.knob.configured {
        return Vec::new();
    }
    let path = out.join(&planned.path);
    users(plan, planned.owner)
        .iter()
        .filter_map(|u| Some((u, for_use(config, planned.role, u)?)))
        .filter(|(_, a)| a.limit.bytes == target.bytes)
        .map(|(u, a)| {
            Diagnostic::note(
                &u.page,
                Some(u.line),
                format!(
                    "{}: {} lowered from {} to {} to fit the {} budget of {} ({}); \
                     now {}",
                    path.display(),
                    choice.knob.key,
                    choice.knob.configured,
                    choice.value,
                    budget_key(planned.role).unwrap_or("output"),
                    a.limit.describe(),
                    a.key,
                    a.limit.show(bytes),
                ),
            )
        })
        .collect()
}

/// Checks an output now in `out` (made or reused) against the budget of
/// each use: one diagnostic, at `budgets.level`, per use it is over.
pub(super) fn check(
    config: &Config,
    plan: &Plan,
    out: &Path,
    planned: &Planned,
    file: &OutputFile,
) -> Vec<Diagnostic> {
    let severity = match config.budgets.level {
        BudgetLevel::Error => Severity::Error,
        BudgetLevel::Warn => Severity::Warning,
    };
    // With `fit`, a GIF or video over budget is the smallest that
    // lowering its quality gave (the budget is in its cache key, so a
    // reused one was searched for the same budget).
    let fitted = match knob(config, planned.role) {
        Some(knob) if fit_target(config, plan, planned).is_some() => format!(
            ", even at the lowest quality budgets.fit tries ({} {})",
            knob.key, knob.lowest
        ),
        _ => String::new(),
    };
    let path = out.join(&planned.path);
    users(plan, planned.owner)
        .iter()
        .filter_map(|u| Some((u, for_use(config, planned.role, u)?)))
        .filter(|(_, a)| file.bytes > a.limit.bytes.0)
        .map(|(u, a)| {
            Diagnostic::new(
                severity,
                &u.page,
                Some(u.line),
                format!(
                    "{} is {}, over the {} budget of {} ({}){fitted}",
                    path.display(),
                    a.limit.show(file.bytes),
                    budget_key(planned.role).unwrap_or("output"),
                    a.limit.describe(),
                    a.key,
                ),
            )
        })
        .collect()
}

/// A warning for each page `budgets.pages` names that the content folder
/// does not have (a typo, or a page since moved): its budgets apply to
/// nothing. A warning, not a configuration error, so that removing a page
/// does not stop `clean` or `check` from running.
pub(super) fn unknown_pages(config: &Config, manifest: &Manifest) -> Vec<Diagnostic> {
    let pages: BTreeSet<String> = manifest
        .pages
        .iter()
        .map(|p| crate::outputs::names::page_name(&config.content, &p.path))
        .collect();
    config
        .budgets
        .pages
        .keys()
        .filter(|name| !pages.contains(*name))
        .map(|name| {
            Diagnostic::warning(
                config.content.join(name),
                None,
                format!(
                    "budgets.pages.\"{name}\" names no page with front matter in {}, so \
                     its budgets apply to nothing",
                    config.content.display()
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    const GIF: Knob = Knob {
        key: "gif.quality",
        configured: 90,
        lowest: 1,
    };

    /// Runs a search where the output made at `value` is `size(value)`
    /// bytes; returns the choice and the values made, in order.
    fn run(knob: Knob, budget: u64, size: impl Fn(u8) -> u64) -> (u64, Choice, Vec<u8>) {
        let made = RefCell::new(Vec::new());
        let (bytes, choice) = search(
            knob,
            budget,
            None,
            |v| {
                made.borrow_mut().push(v);
                Ok::<u64, ()>(size(v))
            },
            |&b| b,
        )
        .unwrap();
        (bytes, choice, made.into_inner())
    }

    #[test]
    fn knobs_step_towards_the_lowest_quality() {
        assert_eq!(
            (GIF.steps(), GIF.at(0), GIF.at(89), GIF.at(500)),
            (89, 90, 1, 1)
        );
        let av1 = Knob {
            key: "video.av1.quantizer",
            configured: 120,
            lowest: 255,
        };
        assert_eq!((av1.steps(), av1.at(1), av1.at(135)), (135, 121, 255));
        let config = Config::default();
        assert_eq!(knob(&config, Role::Gif), Some(GIF));
        assert_eq!(knob(&config, Role::Mp4).map(|k| k.lowest), Some(51));
        assert_eq!(knob(&config, Role::Sprite), None);
        assert_eq!(video_options(&config, Role::Webm, 200).av1.quantizer, 200);
        assert_eq!(video_options(&config, Role::Mp4, 40).h264.qp, 40);
    }

    #[test]
    fn an_output_that_fits_as_configured_is_made_once() {
        let (bytes, choice, made) = run(GIF, 1000, |q| u64::from(q) * 10);
        assert_eq!((bytes, choice.value, choice.fits), (900, 90, true));
        assert_eq!(made, vec![90]);
    }

    #[test]
    fn finds_the_best_quality_that_fits_in_few_encodings() {
        // 10 bytes per quality step: quality 41 makes 410 bytes.
        let (bytes, choice, made) = run(GIF, 415, |q| u64::from(q) * 10);
        assert_eq!((bytes, choice.value, choice.fits), (410, 41, true));
        assert!(made.len() <= 8, "{made:?}");
        assert!(!made.contains(&1), "the lowest is not needed: {made:?}");
        // A quantizer: higher values are smaller.
        let qp = Knob {
            key: "video.h264.qp",
            configured: 26,
            lowest: 51,
        };
        let (_, choice, made) = run(qp, 300, |v| 1000 - u64::from(v) * 20);
        assert_eq!((choice.value, choice.fits), (35, true));
        assert!(made.len() <= 6, "{made:?}");
    }

    #[test]
    fn when_nothing_fits_the_smallest_is_kept() {
        let (bytes, choice, made) = run(GIF, 5, |q| u64::from(q) * 10);
        assert_eq!((bytes, choice.value, choice.fits), (10, 1, false));
        assert_eq!(made.last(), Some(&1));
        // Not monotonic: the smallest made wins, whatever its quality.
        let (bytes, choice, _) = run(GIF, 5, |q| if q == 1 { 700 } else { 600 });
        assert_eq!((bytes, choice.fits), (600, false));
        assert_ne!(choice.value, 1);
        // Nothing to turn: the configured output, over budget.
        let fixed = Knob {
            configured: 1,
            ..GIF
        };
        let (bytes, choice, made) = run(fixed, 5, |_| 70);
        assert_eq!(
            (bytes, choice.value, choice.fits, made),
            (70, 1, false, vec![1])
        );
    }

    #[test]
    fn the_same_sizes_give_the_same_choice() {
        let size = |q: u8| u64::from(q.wrapping_mul(37) % 97) * 10;
        let a = run(GIF, 400, size);
        let b = run(GIF, 400, size);
        assert_eq!(a, b);
    }

    fn parse(yaml: &str) -> Config {
        let mut config =
            Config::from_yaml(yaml, Path::new("assetmill.yml"), Path::new("")).unwrap();
        config.content = "content".into();
        config
    }

    fn usage(page: &str, line: usize) -> Use {
        Use {
            page: Path::new("content").join(page),
            line,
            role: crate::plan::Placement::PageImage,
            written: "a.gif".into(),
        }
    }

    #[test]
    fn a_page_budget_replaces_the_global_one_and_the_strictest_use_wins() {
        let config = parse(
            "budgets:\n  gif: 400 KB\n  fit: true\n  pages:\n    a.md: { gif: 1 MB }\n    \
             b.md: { gif: 100 KB }\n",
        );
        let key = |page: &str| {
            let a = for_use(&config, Role::Gif, &usage(page, 1)).unwrap();
            (a.limit.bytes.0, a.key)
        };
        assert_eq!(
            key("a.md"),
            (1_000_000, "budgets.pages.\"a.md\".gif".into())
        );
        assert_eq!(key("c.md"), (400_000, "budgets.gif".into()));
        assert!(for_use(&config, Role::Sprite, &usage("a.md", 1)).is_none());
        let plan = Plan {
            animations: vec![crate::plan::Animation {
                key: "a.gif".into(),
                frames: Vec::new(),
                incomplete: false,
                page: "content/a.md".into(),
                users: vec![usage("a.md", 3), usage("b.md", 5), usage("c.md", 7)],
                timing: Default::default(),
                outputs: Vec::new(),
            }],
            ..Plan::default()
        };
        let planned = Planned {
            path: "a.gif".into(),
            role: Role::Gif,
            owner: Owner::Animation(0),
            variant: None,
            inputs: String::new(),
            settings: Default::default(),
            options: String::new(),
            stale: None,
            fetched: None,
        };
        assert_eq!(
            fit_target(&config, &plan, &planned).map(|l| l.bytes.0),
            Some(100_000)
        );
        // 500 KB: over b.md's and the global budget, within a.md's.
        let file = OutputFile {
            role: Role::Gif,
            path: "a.gif".into(),
            width: None,
            height: None,
            bytes: 500_000,
            hash: String::new(),
            frames: None,
            duration_ms: None,
            cells: None,
            format: None,
            ssim: None,
        };
        let found = check(&config, &plan, Path::new("out"), &planned, &file);
        let lines: Vec<_> = found.iter().map(|d| (d.line, d.severity)).collect();
        assert_eq!(
            lines,
            [(Some(5), Severity::Error), (Some(7), Severity::Error)]
        );
        assert!(
            found[1].message.starts_with(
                "out/a.gif is 500.0 KB (500000 bytes), over the gif budget of 400 KB \
                 (budgets.gif), even at the lowest quality budgets.fit tries (gif.quality 1)"
            ),
            "{}",
            found[1].message
        );
        let choice = Choice {
            knob: GIF,
            value: 41,
            fits: true,
        };
        let notes = fit_notes(&config, &plan, Path::new("out"), &planned, choice, 99_000);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].line, Some(5));
        assert!(
            notes[0]
                .message
                .contains("gif.quality lowered from 90 to 41")
        );
    }
}
