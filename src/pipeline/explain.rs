//! `assetmill build --explain PATH`: what one output is made from, the
//! settings that shape it, the pages that use it, and whether a build now
//! would remake it and exactly why. Given a source path instead, the same
//! for every output made from that source (its optimized copy, its
//! thumbnail, and the outputs of every animation that uses it as a frame).
//!
//! It works out freshness exactly as `build` does (the same plan, the same
//! keys, [`keys::staleness`]), and then says what differs: which frames or
//! which source changed (from the frame lists the cache keeps), which
//! settings changed and from what to what (from the settings it keeps by
//! options hash), or what happened to the file. It reads the pages, the
//! sources it needs, the cache and the outputs it explains, and writes
//! nothing: no `out/`, no cache, no lock, no report.

use super::cache::{Cache, Frame};
use super::keys::{self, Owner, Planned, Reason, Settings};
use super::prepare::Prepared;
use super::remote::fetch;
use super::remote::session::Remote;
use super::units;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::nearest::edit_distance;
use crate::outputs::assetmap::Role;
use crate::plan::{self, Plan, Resolved};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What `--explain` found for its PATH.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Explanation {
    /// PATH as given.
    pub query: String,
    /// How PATH was read: `output` (a path in the output folder) or
    /// `source` (a path as written in front matter).
    pub kind: &'static str,
    /// For a source: its path under the image root and its content hash
    /// (`None` when it cannot be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Input>,
    /// Every output explained, sorted by path.
    pub outputs: Vec<Explained>,
}

impl Explanation {
    /// True when a build now would remake none of the outputs.
    pub fn up_to_date(&self) -> bool {
        self.outputs.iter().all(|o| o.reason.is_none())
    }
}

/// A file an output is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Input {
    /// Path under the image root.
    pub key: String,
    /// BLAKE3 of its bytes now; `None` when it cannot be read.
    pub hash: Option<String>,
}

/// A page line that uses an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PageUse {
    /// The page, as diagnostics name it.
    pub page: String,
    pub line: usize,
    pub role: plan::Placement,
    /// The path as written on that line.
    pub written: String,
}

/// One output, explained.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Explained {
    /// Relative to the output folder.
    pub path: String,
    pub role: Role,
    /// The animation (its GIF's key) whose frames make it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animation: Option<String>,
    /// What it is made from: its source, or every frame in order.
    pub inputs: Vec<Input>,
    /// The hash of the inputs, as the cache records it.
    pub inputs_hash: String,
    /// Every setting that shapes it, by dotted name.
    pub settings: Settings,
    /// Their fingerprint, as the cache records it.
    pub options_hash: String,
    /// Every page line that asks for it, sorted.
    pub pages: Vec<PageUse>,
    /// Why a build now would remake it (what `build --check` says), or
    /// `None` when it is up to date.
    pub reason: Option<Reason>,
    /// Everything that differs from what the cache recorded, in order:
    /// inputs, settings, the file. Empty when up to date.
    pub why: Vec<Why>,
    /// When it would be remade and a remote cache is set: whether the
    /// store has it (a build fetches it) or not (a build makes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<bool>,
}

/// One difference between an output as recorded and as it would be built
/// now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(tag = "what", rename_all = "kebab-case")]
pub enum Why {
    /// No build recorded making it.
    New,
    /// A source (or frame) cannot be read now.
    Unreadable { key: String },
    /// The source's bytes changed.
    SourceChanged {
        key: String,
        old: String,
        new: String,
    },
    /// The frame at `position` (1-based) has other bytes.
    FrameChanged {
        position: usize,
        key: String,
        old: String,
        new: String,
    },
    /// Another file is the frame at `position` now.
    FrameReplaced {
        position: usize,
        old_key: String,
        key: String,
    },
    /// A frame was added at `position`.
    FrameAdded { position: usize, key: String },
    /// The frame that was at `position` (as recorded) is gone.
    FrameRemoved { position: usize, key: String },
    /// The inputs changed, but the cache predates frame lists: only the
    /// hashes are known.
    InputsUnknown { old: String, new: String },
    /// A setting changed (`None`: not set on that side).
    Setting {
        name: String,
        old: Option<Value>,
        new: Option<Value>,
    },
    /// The settings changed, but the cache predates recorded settings:
    /// only the hashes are known.
    SettingsUnknown { old: String, new: String },
    /// The file is gone from the output folder.
    OutputMissing,
    /// The file is there with other bytes than the build wrote.
    OutputAltered { recorded: String, actual: String },
}

/// A setting's value as `name value` lines show it: strings bare, anything
/// else as JSON.
pub fn show_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |h: &str| h.chars().take(12).collect::<String>();
        match self {
            Why::New => write!(f, "new (never built)"),
            Why::Unreadable { key } => write!(f, "source {key} cannot be read"),
            Why::SourceChanged { key, old, new } => {
                write!(f, "source {key} changed ({} -> {})", short(old), short(new))
            }
            Why::FrameChanged {
                position,
                key,
                old,
                new,
            } => write!(
                f,
                "frame {key} changed (frame {position}, {} -> {})",
                short(old),
                short(new)
            ),
            Why::FrameReplaced {
                position,
                old_key,
                key,
            } => write!(f, "frame {position} is now {key} (was {old_key})"),
            Why::FrameAdded { position, key } => {
                write!(f, "frame {key} added (frame {position})")
            }
            Why::FrameRemoved { position, key } => {
                write!(f, "frame {key} removed (was frame {position})")
            }
            Why::InputsUnknown { old, new } => write!(
                f,
                "inputs changed ({} -> {}); the cache was written by an assetmill that kept \
                 no frame lists, so which frame is not known",
                short(old),
                short(new)
            ),
            Why::Setting { name, old, new } => {
                let side = |v: &Option<Value>| v.as_ref().map_or("(unset)".into(), show_value);
                write!(f, "{name} {} -> {}", side(old), side(new))
            }
            Why::SettingsUnknown { old, new } => write!(
                f,
                "options changed ({} -> {}); the cache was written by an assetmill that kept \
                 only their hash, so which setting is not known (every output is remade once \
                 after such an upgrade)",
                short(old),
                short(new)
            ),
            Why::OutputMissing => write!(f, "output missing"),
            Why::OutputAltered { recorded, actual } => write!(
                f,
                "output altered on disk ({} recorded, {} there)",
                short(recorded),
                short(actual)
            ),
        }
    }
}

/// Explains `query`: an output path (relative to the output folder, or
/// with the output folder in front) or a source path as written in front
/// matter. A bare path that names a source explains every output made
/// from it; with the output folder in front, it is always the output.
/// An unknown path is an [`Error::Config`] naming it, with the closest
/// known path as a suggestion.
pub fn explain(config: &Config, query: &str) -> Result<Explanation> {
    let prepared = Prepared::new(config);
    // The same refusal a build gives; nothing is written.
    crate::outputs::guard::Protected::site(config).existing(&config.out)?;
    let plan = &prepared.plan;
    let unknown = |message: String| Error::Config {
        path: PathBuf::from(query),
        message,
    };

    // Every output's path, planned without reading anything.
    let layout = prepared.layout();

    let (rel, forced) = relative_to_out(config, query);
    let key = match plan::resolve(&rel) {
        Ok(Resolved::Local(key)) => key,
        Ok(Resolved::External) => {
            return Err(unknown(
                "is an external URL; assetmill makes nothing from it".into(),
            ));
        }
        Err(why) => {
            return Err(unknown(format!(
                "is not a path assetmill can explain: {why}"
            )));
        }
    };
    let source = (!forced)
        .then(|| {
            plan.sources
                .iter()
                .position(|s| s.key == key || s.users.iter().any(|u| u.written == query))
        })
        .flatten();
    // (unit, output) pairs to explain.
    let wanted = |p: &Planned| match source {
        Some(s) => {
            p.owner == Owner::Source(s)
                || matches!(p.owner, Owner::Animation(a) if plan.animations[a].frames.contains(&s))
        }
        None => p.path == key,
    };
    let chosen: Vec<usize> = (0..prepared.units.len())
        .filter(|&u| layout[u].iter().any(wanted))
        .collect();
    if chosen.is_empty() {
        if key == prepared.map_path() {
            return Err(unknown(
                "is the asset map, made from every output; explain one of the outputs it lists"
                    .into(),
            ));
        }
        if let Some(s) = source {
            return Err(unknown(format!(
                "is a source ({}), but no output is planned from it (is its page's \
                 gallery incomplete? `assetmill check` says why)",
                plan.sources[s].key
            )));
        }
        let known = layout
            .iter()
            .flatten()
            .map(|p| p.path.as_str())
            .chain(plan.sources.iter().map(|s| s.key.as_str()));
        let message = match closest(&key, known) {
            Some(near) => format!(
                "is no output of this site and no source its pages name; did you mean {near}?"
            ),
            None => "is no output of this site and no source its pages name".into(),
        };
        return Err(unknown(message));
    }

    // Hash only what the chosen units read, as `build` does.
    let mut reads = units::reads(plan, chosen.iter().map(|&u| &prepared.units[u]));
    if let Some(s) = source {
        reads[s] = true;
    }
    let hashes = prepared.hash(&reads);

    let old = Cache::load(&config.out);
    let planned: Vec<Planned> = chosen
        .iter()
        .flat_map(|&u| prepared.outputs(&prepared.units[u], &hashes))
        .filter(|p| wanted(p))
        .collect();
    let mut outputs: Vec<Explained> = planned
        .iter()
        .map(|p| explain_one(config, plan, &hashes, &old, p.clone()))
        .collect();
    ask_remote(config, &planned, &mut outputs);
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Explanation {
        query: query.to_owned(),
        kind: if source.is_some() { "source" } else { "output" },
        source: source.map(|s| Input {
            key: plan.sources[s].key.clone(),
            hash: hashes[s].clone(),
        }),
        outputs,
    })
}

/// With a remote cache: whether it has each of the `explained` outputs a
/// build would remake (`planned`, in the same order), asked without
/// fetching them (a store that fails has none).
fn ask_remote(config: &Config, planned: &[Planned], explained: &mut [Explained]) {
    let Some(remote) = Remote::open(config, &mut Vec::new()) else {
        return;
    };
    let stale: Vec<&Planned> = planned
        .iter()
        .zip(explained.iter())
        .filter(|(_, e)| e.reason.is_some())
        .map(|(p, _)| p)
        .collect();
    let limit = fetch::download_limit(config.limits.max_memory.0);
    let there = fetch::available(&remote, &stale, limit, &config.out);
    for e in explained {
        e.remote = there.get(&e.path).copied();
    }
}

/// `query` relative to the output folder, and whether it named the output
/// folder (then it is an output, never a source).
fn relative_to_out(config: &Config, query: &str) -> (String, bool) {
    let path = Path::new(query);
    let strip = |base: &Path| -> Option<String> {
        let rest = path.strip_prefix(base).ok()?;
        Some(crate::outputs::names::forward_slashes(rest))
    };
    if let Some(rest) = strip(&config.out) {
        return (rest, true);
    }
    if let Ok(cwd) = std::env::current_dir() {
        let absolute = |p: &Path| {
            if p.is_absolute() {
                p.to_owned()
            } else {
                cwd.join(p)
            }
        };
        let out = absolute(&config.out);
        if let Ok(rest) = absolute(path).strip_prefix(&out) {
            return (crate::outputs::names::forward_slashes(rest), true);
        }
        // The output folder through another spelling of it (a symlink).
        if let (Ok(real_out), Some(parent), Some(name)) = (
            std::fs::canonicalize(&out),
            absolute(path).parent().map(Path::to_owned),
            path.file_name(),
        ) && let Ok(real_parent) = std::fs::canonicalize(parent)
            && let Ok(rest) = real_parent.join(name).strip_prefix(&real_out)
        {
            return (crate::outputs::names::forward_slashes(rest), true);
        }
    }
    (query.to_owned(), false)
}

/// The known path nearest to `key` (edit distance), if any is near enough
/// to be a plausible typo ([`path_typo_bound`]); the first of equals in
/// sorted order.
fn closest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut known: Vec<&str> = known.collect();
    known.sort_unstable();
    known.dedup();
    let (distance, best) = known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .min_by_key(|&(d, _)| d)?;
    (distance <= path_typo_bound(key, best)).then(|| best.to_owned())
}

/// The most edits between a queried path and the known path nearest it
/// that still read as a typo: half the longer of the two, at least 2.
fn path_typo_bound(key: &str, known: &str) -> usize {
    (key.chars().count().max(known.chars().count()) / 2).max(2)
}

fn explain_one(
    config: &Config,
    plan: &Plan,
    hashes: &[Option<String>],
    old: &Cache,
    p: Planned,
) -> Explained {
    let (inputs, animation): (Vec<Input>, Option<String>) = match p.owner {
        Owner::Source(s) => (
            vec![Input {
                key: plan.sources[s].key.clone(),
                hash: hashes[s].clone(),
            }],
            None,
        ),
        Owner::Animation(a) => (
            plan.animations[a]
                .frames
                .iter()
                .map(|&s| Input {
                    key: plan.sources[s].key.clone(),
                    hash: hashes[s].clone(),
                })
                .collect(),
            Some(plan.animations[a].key.clone()),
        ),
    };
    let mut pages: Vec<PageUse> = super::budgets::users(plan, p.owner)
        .iter()
        .map(|u| PageUse {
            page: crate::outputs::names::path(&u.page).into_owned(),
            line: u.line,
            role: u.role,
            written: u.written.clone(),
        })
        .collect();
    pages.sort_by(|a, b| (&a.page, a.line).cmp(&(&b.page, b.line)));
    pages.dedup();
    let reason = keys::staleness(&p, old, &config.out);
    let why = differences(config, plan, old, &p, &inputs);
    Explained {
        path: p.path,
        role: p.role,
        animation,
        inputs,
        inputs_hash: p.inputs,
        settings: p.settings,
        options_hash: p.options,
        pages,
        reason,
        why,
        remote: None,
    }
}

/// Everything that differs between the cache's record of `p` and `p` as
/// planned now, and the file on disk.
fn differences(
    config: &Config,
    plan: &Plan,
    old: &Cache,
    p: &Planned,
    inputs: &[Input],
) -> Vec<Why> {
    let Some(record) = old.outputs.get(&p.path) else {
        return vec![Why::New];
    };
    let mut why = Vec::new();
    let unreadable: Vec<Why> = inputs
        .iter()
        .filter(|i| i.hash.is_none())
        .map(|i| Why::Unreadable { key: i.key.clone() })
        .collect();
    if !unreadable.is_empty() {
        why.extend(unreadable);
    } else if record.inputs != p.inputs {
        let recorded = match p.owner {
            Owner::Animation(a) => old.frames_for(&plan.animations[a].key, &record.inputs),
            Owner::Source(_) => None,
        };
        match (p.owner, recorded) {
            (Owner::Source(_), _) => why.push(Why::SourceChanged {
                key: inputs[0].key.clone(),
                old: record.inputs.clone(),
                new: p.inputs.clone(),
            }),
            (Owner::Animation(_), Some(recorded)) => why.extend(frame_changes(recorded, inputs)),
            (Owner::Animation(_), None) => why.push(Why::InputsUnknown {
                old: record.inputs.clone(),
                new: p.inputs.clone(),
            }),
        }
        // Frame lists whose hashes differ only in ways the input hash
        // cannot see (it cannot happen, but never say nothing).
        if why.is_empty() {
            why.push(Why::InputsUnknown {
                old: record.inputs.clone(),
                new: p.inputs.clone(),
            });
        }
    }
    if record.options != p.options {
        match old.settings.get(&record.options) {
            Some(recorded) => why.extend(setting_changes(recorded, &p.settings)),
            None => why.push(Why::SettingsUnknown {
                old: record.options.clone(),
                new: p.options.clone(),
            }),
        }
    }
    // Streamed (memory stays bounded whatever the file), not through a
    // link: as a build compares it.
    let actual = crate::fsread::open_inside(&config.out, &p.path)
        .ok()
        .and_then(|mut f| crate::fsread::stream(&mut f, u64::MAX, &mut |_| Ok(())).ok());
    match actual {
        None => why.push(Why::OutputMissing),
        Some((_, actual)) => {
            if actual != record.file.hash {
                why.push(Why::OutputAltered {
                    recorded: record.file.hash.clone(),
                    actual,
                });
            }
        }
    }
    why
}

/// Which settings differ, sorted by name.
fn setting_changes(old: &Settings, new: &Settings) -> Vec<Why> {
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter(|n| old.get(*n) != new.get(*n))
        .map(|n| Why::Setting {
            name: n.clone(),
            old: old.get(n).cloned(),
            new: new.get(n).cloned(),
        })
        .collect()
}

/// Which frames differ between the recorded list and the frames now. The
/// same count: position by position; otherwise the frames added and
/// removed (a longest common subsequence of their hashes).
fn frame_changes(old: &[Frame], new: &[Input]) -> Vec<Why> {
    let hash = |i: &Input| i.hash.clone().unwrap_or_default();
    if old.len() == new.len() {
        return old
            .iter()
            .zip(new)
            .enumerate()
            .filter(|(_, (o, n))| o.hash != hash(n))
            .map(|(i, (o, n))| {
                if o.key == n.key {
                    Why::FrameChanged {
                        position: i + 1,
                        key: n.key.clone(),
                        old: o.hash.clone(),
                        new: hash(n),
                    }
                } else {
                    Why::FrameReplaced {
                        position: i + 1,
                        old_key: o.key.clone(),
                        key: n.key.clone(),
                    }
                }
            })
            .collect();
    }
    // Galleries are short; a very long one is not worth a quadratic table.
    if old.len().saturating_mul(new.len()) > 4_000_000 {
        return Vec::new();
    }
    let (m, n) = (old.len(), new.len());
    let mut lcs = vec![vec![0u32; n + 1]; m + 1];
    for i in (0..m).rev() {
        for j in (0..n).rev() {
            lcs[i][j] = if old[i].hash == hash(&new[j]) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut why) = (0, 0, Vec::new());
    while i < m || j < n {
        if i < m && j < n && old[i].hash == hash(&new[j]) {
            i += 1;
            j += 1;
        } else if j < n && (i == m || lcs[i][j + 1] >= lcs[i + 1][j]) {
            why.push(Why::FrameAdded {
                position: j + 1,
                key: new[j].key.clone(),
            });
            j += 1;
        } else {
            why.push(Why::FrameRemoved {
                position: i + 1,
                key: old[i].key.clone(),
            });
            i += 1;
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(key: &str, hash: &str) -> Frame {
        Frame {
            key: key.into(),
            hash: hash.into(),
        }
    }

    fn input(key: &str, hash: &str) -> Input {
        Input {
            key: key.into(),
            hash: Some(hash.into()),
        }
    }

    #[test]
    fn names_the_changed_added_and_removed_frames() {
        let old = [frame("a", "1"), frame("b", "2"), frame("c", "3")];
        let changed = [input("a", "1"), input("b", "9"), input("c", "3")];
        let lines: Vec<String> = frame_changes(&old, &changed)
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(lines, ["frame b changed (frame 2, 2 -> 9)"]);
        let added = [
            input("a", "1"),
            input("b", "2"),
            input("x", "7"),
            input("c", "3"),
        ];
        assert_eq!(
            frame_changes(&old, &added),
            [Why::FrameAdded {
                position: 3,
                key: "x".into()
            }]
        );
        let removed = [input("a", "1"), input("c", "3")];
        assert_eq!(
            frame_changes(&old, &removed),
            [Why::FrameRemoved {
                position: 2,
                key: "b".into()
            }]
        );
    }

    #[test]
    fn shows_setting_changes_by_name() {
        let old: Settings = [("gif.width".into(), Value::from(480))].into();
        let new: Settings = [
            ("gif.width".into(), Value::from(400)),
            ("budgets.fit.bytes".into(), Value::from(1000)),
        ]
        .into();
        let lines: Vec<String> = setting_changes(&old, &new)
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert_eq!(
            lines,
            ["budgets.fit.bytes (unset) -> 1000", "gif.width 480 -> 400"]
        );
    }

    #[test]
    fn suggests_the_nearest_path() {
        let known = ["muscles/gif/Arm.gif", "muscles/gif/Leg.gif", "x.png"];
        assert_eq!(
            closest("muscles/gif/Arn.gif", known.into_iter()).as_deref(),
            Some("muscles/gif/Arm.gif")
        );
        assert_eq!(
            closest("zzzzzzzzzzzzzzzzzzzzzzzzzz", known.into_iter()),
            None
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
