//! The `budgets:` section: the most bytes an output of each role may
//! have, globally or for the outputs one page uses, each remembered as
//! written so that messages speak in the writer's unit. Checking the
//! outputs against them is the pipeline's (`pipeline/budgets.rs`).

use super::values::ByteSize;
use crate::outputs::assetmap::Role;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// A size budget: a [`ByteSize`] that remembers how it was written, so
/// messages quote the figure from the configuration (`400 KB`) and show
/// sizes in its unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeLimit {
    pub bytes: ByteSize,
    /// As written: `400 KB`, or the integer for a plain byte count.
    pub written: String,
}

impl SizeLimit {
    /// The unit the limit was written in, as (bytes per unit, its name as
    /// written); plain bytes for an integer or `B`.
    fn unit(&self) -> (u64, &str) {
        let unit = self
            .written
            .trim()
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
            .trim();
        match format!("1 {unit}").parse::<ByteSize>() {
            Ok(ByteSize(scale)) if scale > 1 => (scale, unit),
            _ => (1, "bytes"),
        }
    }

    /// The limit as written, with `bytes` after a bare integer.
    pub fn describe(&self) -> String {
        match self.unit() {
            (1, _) => format!("{} bytes", self.bytes.0),
            _ => self.written.trim().to_owned(),
        }
    }

    /// `size` in the limit's own unit, exact bytes beside it, so a size
    /// just over the limit never reads as equal to it.
    pub fn show(&self, size: u64) -> String {
        match self.unit() {
            (1, _) => format!("{size} bytes"),
            (scale, unit) => format!("{:.1} {unit} ({size} bytes)", size as f64 / scale as f64),
        }
    }
}

impl<'de> Deserialize<'de> for SizeLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(SizeLimit {
                bytes: ByteSize(n),
                written: n.to_string(),
            }),
            Raw::Text(t) => Ok(SizeLimit {
                bytes: t.parse().map_err(serde::de::Error::custom)?,
                written: t,
            }),
        }
    }
}

impl Serialize for SizeLimit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.unit() {
            (1, _) => s.serialize_u64(self.bytes.0),
            _ => s.serialize_str(self.written.trim()),
        }
    }
}

/// What an output over its size budget is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetLevel {
    /// An error: the build fails (exit 1). The default.
    #[default]
    Error,
    /// A warning: reported, the build still succeeds.
    #[serde(alias = "warning")]
    Warn,
}

/// Size budgets for one page (`budgets.pages`): they replace the global
/// budget of the same role for the outputs this page uses.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageBudgets {
    /// Each as in [`Budgets`]. Default: none (the global budget applies).
    pub gif: Option<SizeLimit>,
    pub webm: Option<SizeLimit>,
    pub mp4: Option<SizeLimit>,
    pub sprite: Option<SizeLimit>,
    pub thumb: Option<SizeLimit>,
    pub optimized: Option<SizeLimit>,
    pub still: Option<SizeLimit>,
}

/// Size budgets: the most bytes an output of each role may have. An
/// integer is bytes; `"400 KB"`, `"1.5 MB"`, `"1 MiB"` are also read. An
/// output used by several pages is held to the strictest budget among
/// them; a page listed under `pages` has its own budgets in place of the
/// global ones. Budgets never change an output unless `fit` is on, so
/// without it they are no part of any cache key.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Budgets {
    /// Animated GIFs. Default: none.
    pub gif: Option<SizeLimit>,
    /// AV1 WebM videos. Default: none.
    pub webm: Option<SizeLimit>,
    /// H.264 MP4 videos. Default: none.
    pub mp4: Option<SizeLimit>,
    /// Sprite sheets. Default: none.
    pub sprite: Option<SizeLimit>,
    /// Gallery thumbnails. Default: none.
    pub thumb: Option<SizeLimit>,
    /// Optimized copies of the sources. Default: none.
    pub optimized: Option<SizeLimit>,
    /// Each still variant (`stills:`). Default: none.
    pub still: Option<SizeLimit>,
    /// `error` (the build fails) or `warn`. Default: `error`.
    pub level: BudgetLevel,
    /// For GIFs and videos over budget, lower the quality setting
    /// (`gif.quality`, `video.av1.quantizer`, `video.h264.qp`) to the best
    /// that fits, instead of only reporting them. Default: false.
    pub fit: bool,
    /// Budgets of single pages, keyed by the page's path relative to the
    /// content folder (`muscles/biceps.md`). Default: none.
    pub pages: BTreeMap<String, PageBudgets>,
}

/// The output roles a budget can be set for, with their keys, in the
/// order of `limits()` below.
const BUDGET_ROLES: [(Role, &str); 7] = [
    (Role::Gif, "gif"),
    (Role::Webm, "webm"),
    (Role::Mp4, "mp4"),
    (Role::Sprite, "sprite"),
    (Role::Thumb, "thumb"),
    (Role::Optimized, "optimized"),
    (Role::Still, "still"),
];

/// The limit set for `role` among `limits` (in [`BUDGET_ROLES`] order).
fn limit_of(limits: [Option<&SizeLimit>; 7], role: Role) -> Option<&SizeLimit> {
    BUDGET_ROLES
        .iter()
        .zip(limits)
        .find(|((r, _), _)| *r == role)
        .and_then(|(_, limit)| limit)
}

/// The key of a role's budget (`gif`), or `None` for roles without one.
pub fn budget_key(role: Role) -> Option<&'static str> {
    BUDGET_ROLES
        .iter()
        .find_map(|(r, key)| (*r == role).then_some(*key))
}

impl PageBudgets {
    fn limits(&self) -> [Option<&SizeLimit>; 7] {
        [
            self.gif.as_ref(),
            self.webm.as_ref(),
            self.mp4.as_ref(),
            self.sprite.as_ref(),
            self.thumb.as_ref(),
            self.optimized.as_ref(),
            self.still.as_ref(),
        ]
    }

    /// The budget of an output role, if this page sets one.
    pub fn get(&self, role: Role) -> Option<&SizeLimit> {
        limit_of(self.limits(), role)
    }
}

impl Budgets {
    fn limits(&self) -> [Option<&SizeLimit>; 7] {
        [
            self.gif.as_ref(),
            self.webm.as_ref(),
            self.mp4.as_ref(),
            self.sprite.as_ref(),
            self.thumb.as_ref(),
            self.optimized.as_ref(),
            self.still.as_ref(),
        ]
    }

    /// The global budget of an output role, if one is set.
    pub fn get(&self, role: Role) -> Option<&SizeLimit> {
        limit_of(self.limits(), role)
    }

    /// Rejects budgets of 0 bytes and page keys that cannot name a page.
    pub(super) fn validate(&self) -> std::result::Result<(), String> {
        let zero = |prefix: String, limits: [Option<&SizeLimit>; 7]| {
            BUDGET_ROLES
                .iter()
                .zip(limits)
                .find(|(_, limit)| limit.is_some_and(|l| l.bytes.0 == 0))
                .map(|((_, key), _)| format!("{prefix}{key} must be at least 1 byte"))
        };
        if let Some(message) = zero("budgets.".into(), self.limits()) {
            return Err(message);
        }
        for (page, budgets) in &self.pages {
            let plain = !page.is_empty()
                && !page.contains('\\')
                && page.split('/').all(|part| !matches!(part, "" | "." | ".."));
            if !plain {
                return Err(format!(
                    "budgets.pages: `{page}` must be a page's path relative to the content \
                     folder, `/`-separated, like `muscles/biceps.md`"
                ));
            }
            if let Some(message) = zero(format!("budgets.pages.\"{page}\"."), budgets.limits()) {
                return Err(message);
            }
        }
        Ok(())
    }
}
