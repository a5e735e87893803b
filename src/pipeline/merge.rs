//! `assetmill merge`: joins the output folders of `build --shard I/N` jobs
//! into one output folder, as if one `build` had made it.
//!
//! Everything is checked before anything is written: every folder holds a
//! finished shard build by this version, with the same options, of the
//! split these pages give (so of the same pages); every shard 1..N is there
//! exactly once; no output is in two shards; and every file a shard
//! recorded is intact. Then the files are copied, their cache records are
//! joined, and a normal build finishes the folder: with every output in
//! place it decodes and encodes nothing, and writes the asset map, its
//! `_data` copy and the review report exactly as a single build does. So
//! the merged folder is byte-identical to a single build's, and a `build`
//! on it afterwards is fully warm.
//!
//! A shard folder is a CI artifact that anyone who can open a pull request
//! can shape, so nothing in it is trusted: its cache is read within one
//! cache's [`Budget`] (for all shards together); `N` may not exceed the
//! units of work; a record is accepted only for an output that the split
//! of these pages assigns to that shard, with that output's role (never a
//! file of the user's, the lock, or anything under `.assetmill/`); and each
//! file is opened without following a link anywhere in the shard folder,
//! its size compared with the record before it is read, and its hash
//! streamed, once to verify and once more while it is copied (a file that
//! changed in between is not renamed into place). Memory stays bounded by
//! the cache budget and a 64 KiB buffer per thread, whatever the folder
//! holds.

use super::build::{BuildOptions, build};
use super::cache::{self, Budget, Cache};
use super::outcome::Outcome;
use super::prepare::Prepared;
use super::shard::{self, Shard};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::fsread::{self, ReadError, StreamError, Verdict};
use crate::input::manifest::Manifest;
use crate::outputs::assetmap::Role;
use crate::outputs::guard::Protected;
use crate::pipeline::lock::Lock;
use crate::progress::Progress;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a merge did.
#[derive(Debug)]
pub struct Merged {
    /// Shards joined.
    pub shards: usize,
    /// Files copied out of them, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// The build that finished the merged folder (it should build nothing
    /// but the asset map).
    pub outcome: Outcome,
}

/// One shard folder and what its cache says.
struct Part {
    dir: PathBuf,
    cache: Cache,
    shard: Shard,
}

/// Merges the shard folders `dirs` into `config.out`. `Err` when they
/// cannot be merged; nothing is written then.
pub fn merge(
    config: &Config,
    dirs: &[PathBuf],
    options: BuildOptions,
    progress: &dyn Progress,
) -> Result<Merged> {
    // The folder merged into is checked first, like every writer's.
    let protected = Protected::site(config);
    protected.existing(&config.out)?;
    let mut parts = load(config, dirs)?;
    let layout = Layout {
        prepared: Prepared::new(config),
    };
    check_split(&layout, &mut parts)?;
    let owners = outputs(&parts)?;
    // Every file, before anything is written.
    owners.par_iter().try_for_each(|(rel, &p)| {
        stream_recorded(&parts[p], rel, None, &mut |_| Ok(())).map(drop)
    })?;

    let out = protected.create(&config.out)?;
    let lock = Lock::acquire(&out, &|m| progress.note(m))?;
    let old = Cache::load_noting(&config.out, &|m| progress.note(m));
    // Whatever an earlier build recorded here stays known, so the build
    // below removes what the pages no longer want; what is about to be
    // copied is recorded first, so a killed merge leaves nothing unknown.
    let earlier: Vec<String> = old
        .known_paths()
        .into_iter()
        .filter(|p| !owners.contains_key(p))
        .collect();
    let mut pending = old;
    pending.shard = None;
    pending.pending = pending.known_paths();
    pending.pending.extend(owners.keys().cloned());
    pending.save(&out)?;
    drop(pending);

    progress.start("merge", owners.len() as u64);
    let copied: Vec<Result<u64>> = owners
        .par_iter()
        .map(|(rel, &p)| {
            let dest = out.path(rel)?;
            let mut bytes = 0;
            // Streamed into the temp file through the hash again: a file
            // changed since it was verified is not renamed into place.
            out.write_with(rel, &mut |temp| {
                bytes = stream_recorded(&parts[p], rel, Some(&dest), &mut |piece| {
                    temp.write_all(piece)
                })?;
                Ok(())
            })?;
            progress.advance("merge", 1);
            Ok(bytes)
        })
        .collect();
    progress.finish("merge");
    let bytes = copied.into_iter().sum::<Result<u64>>()?;
    let shards = parts.len();
    let mut cache = Cache {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Cache::default()
    };
    // Moved, not copied: the caches are as large as the budget lets them be.
    for part in parts {
        cache.sources.extend(part.cache.sources);
        cache.outputs.extend(part.cache.outputs);
        // What `--explain` reads; the build below records them afresh.
        cache.settings.extend(part.cache.settings);
        cache.frames.extend(part.cache.frames);
    }
    cache.pending = earlier.into_iter().collect();
    cache.save(&out)?;
    drop(cache);
    drop(lock);

    let outcome = build(
        config,
        BuildOptions {
            shard: None,
            ..options
        },
        progress,
    )?;
    Ok(Merged {
        shards,
        files: owners.len(),
        bytes,
        outcome,
    })
}

fn refuse(dir: &Path, message: impl Into<String>) -> Error {
    Error::Merge {
        path: dir.to_owned(),
        message: message.into(),
    }
}

/// Reads every shard folder's cache and stamp. The caches share one
/// budget: the merged cache holds all their records, and must itself be
/// within one cache's budget for the build after the merge to use it.
fn load(config: &Config, dirs: &[PathBuf]) -> Result<Vec<Part>> {
    let out = std::fs::canonicalize(&config.out).ok();
    let mut budget = Budget::CACHE;
    let mut parts = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(refuse(dir, "no such folder"));
        }
        if out.is_some() && std::fs::canonicalize(dir).ok() == out {
            return Err(refuse(
                dir,
                "is the folder being merged into; merge into a folder of its own",
            ));
        }
        let cache = match Cache::read(dir, &mut budget) {
            Ok(cache) => cache.unwrap_or_default(),
            Err(e) => {
                return Err(refuse(
                    dir,
                    format!(
                        "cannot be merged: its {}/cache.json is not used: {e} (the shards' \
                         caches together may hold what one cache may: {} bytes, {} JSON values)",
                        cache::DIR,
                        Budget::CACHE.bytes,
                        Budget::CACHE.values
                    ),
                ));
            }
        };
        parts.push(Part {
            dir: dir.clone(),
            shard: stamp_of(dir, &cache)?,
            cache,
        });
    }
    Ok(parts)
}

/// The shard a folder's cache says it holds: a finished shard build by
/// this version, stamped as a shard that exists.
fn stamp_of(dir: &Path, cache: &Cache) -> Result<Shard> {
    let version = env!("CARGO_PKG_VERSION");
    let Some(stamp) = &cache.shard else {
        return Err(refuse(
            dir,
            "holds no finished shard build (its .assetmill/cache.json has no shard stamp): \
             run `assetmill build --shard I/N --out` on it and let it finish",
        ));
    };
    if cache.version != version {
        return Err(refuse(
            dir,
            format!(
                "was built by assetmill {}, this is {version}: build every shard with the \
                 same version",
                cache.version
            ),
        ));
    }
    let shard = stamp.shard;
    if shard.index == 0 || shard.index > shard.count {
        return Err(refuse(
            dir,
            format!(
                "is stamped shard {shard}, which is no shard of a split into {}",
                shard.count
            ),
        ));
    }
    Ok(shard)
}

/// Every part must be a different shard of the split these pages give,
/// built with these options, and together they must be all of it.
fn check_split(layout: &Layout<'_>, parts: &mut [Part]) -> Result<()> {
    let count = parts[0].shard.count;
    if let Some(odd) = parts.iter().find(|p| p.shard.count != count) {
        return Err(refuse(
            &odd.dir,
            format!(
                "is shard {} but {} is shard {}: every shard must come from the same \
                 split into N",
                odd.shard,
                parts[0].dir.display(),
                parts[0].shard
            ),
        ));
    }
    // Before anything is sized by `count`.
    let split = layout.split(count).map_err(|why| {
        refuse(
            &parts[0].dir,
            format!("is stamped shard {}: {why}", parts[0].shard),
        )
    })?;
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for part in parts.iter_mut() {
        split.check(&part.dir, &mut part.cache)?;
        if let Some(other) = seen.insert(part.shard.index, &part.dir) {
            return Err(refuse(
                &part.dir,
                format!("is shard {}, and so is {}", part.shard, other.display()),
            ));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(refuse(
            &layout.prepared.config.out,
            format!(
                "shard {} missing: name every shard's folder (got {})",
                if missing.len() == 1 {
                    format!("{} is", missing[0])
                } else {
                    format!("{} are", missing.join(", "))
                },
                parts
                    .iter()
                    .map(|p| format!("{} = {}", p.dir.display(), p.shard))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(())
}

/// What these pages and this configuration plan: the units of work, for
/// checking shard folders against.
pub(crate) struct Layout<'c> {
    prepared: Prepared<'c>,
}

impl<'c> Layout<'c> {
    pub(crate) fn new(config: &'c Config, manifest: Manifest) -> Self {
        Layout {
            prepared: Prepared::from_manifest(config, manifest),
        }
    }

    /// The split into `count` shards and what it assigns to each; `Err`
    /// says why when there are more shards than units.
    pub(crate) fn split(&self, count: u32) -> std::result::Result<Split, String> {
        let p = &self.prepared;
        if let Some(why) = shard::too_many(count, p.units.len()) {
            return Err(why);
        }
        let shards = shard::split(&p.plan, &p.owner, &p.units, count);
        let stamp = shard::stamp(
            p.config,
            &p.plan,
            &p.owner,
            &p.units,
            &shards,
            Shard { index: 1, count },
        );
        let mut assigned = BTreeMap::new();
        for (outputs, &s) in p.layout().into_iter().zip(&shards) {
            for planned in outputs {
                assigned.entry(planned.path).or_insert((s, planned.role));
            }
        }
        Ok(Split {
            count,
            split: stamp.split,
            options: stamp.options,
            assigned,
            map_path: p.map_path(),
            content: p.config.content.clone(),
        })
    }
}

/// One split of the pages into shards: what each shard folder of it must
/// hold.
pub(crate) struct Split {
    count: u32,
    /// The digests every shard's stamp must carry.
    split: String,
    options: String,
    /// Every planned output: the shard the split assigns it to, and its
    /// role.
    assigned: BTreeMap<String, (u32, Role)>,
    /// Each shard's asset map is partial; the merge writes the whole one.
    map_path: String,
    content: PathBuf,
}

impl Split {
    /// The split and options digests every shard's stamp must carry.
    pub(crate) fn digests(&self) -> (String, String) {
        (self.split.clone(), self.options.clone())
    }

    /// The shard `path` is assigned to, and its role; `None` when the
    /// pages plan no such output.
    pub(crate) fn assigned(&self, path: &str) -> Option<(u32, Role)> {
        self.assigned.get(path).copied()
    }

    pub(crate) fn map_path(&self) -> &str {
        &self.map_path
    }

    /// Checks a shard folder's cache against the split, and drops its
    /// asset map's record. Every other record must be for an output that
    /// the split assigns to this shard, with that output's role and path.
    pub(crate) fn check(&self, dir: &Path, cache: &mut Cache) -> Result<Shard> {
        let shard = stamp_of(dir, cache)?;
        let stamp = cache.shard.as_ref().expect("stamp_of found it");
        if shard.count != self.count {
            return Err(refuse(
                dir,
                format!(
                    "is shard {shard}: every shard must come from the same split into N ({})",
                    self.count
                ),
            ));
        }
        if stamp.options != self.options {
            return Err(refuse(
                dir,
                "was built with other options than this merge's configuration: build every \
                 shard and merge with the same assetmill.yml",
            ));
        }
        if stamp.split != self.split {
            return Err(refuse(
                dir,
                format!(
                    "was split from other pages than those in {} (the shard split differs): \
                     build every shard and merge from the same commit",
                    self.content.display()
                ),
            ));
        }
        cache.outputs.remove(&self.map_path);
        for (path, record) in &cache.outputs {
            let again = "build that shard again with this assetmill";
            crate::outputs::output::inside(dir, path)?;
            if path == cache::DIR || path.starts_with(&format!("{}/", cache::DIR)) {
                return Err(refuse(
                    dir,
                    format!("records {path}, inside the cache folder, as an output: {again}"),
                ));
            }
            match self.assigned.get(path) {
                Some(&(s, role)) if s == shard.index => {
                    if record.file.role != role || record.file.path != *path {
                        return Err(refuse(
                            dir,
                            format!(
                                "records {path} as another file than these pages make there \
                                 (its role or path differs): {again}"
                            ),
                        ));
                    }
                }
                Some(&(s, _)) => {
                    return Err(refuse(
                        dir,
                        format!(
                            "records {path}, which the split assigns to shard {s}/{}, not to \
                             shard {shard}: {again}",
                            self.count
                        ),
                    ));
                }
                None => {
                    return Err(refuse(
                        dir,
                        format!(
                            "records {path}, which is no output that these pages assign to \
                             shard {shard}: {again}"
                        ),
                    ));
                }
            }
        }
        Ok(shard)
    }
}

/// Which part holds each output; an output in two parts is refused.
fn outputs(parts: &[Part]) -> Result<BTreeMap<String, usize>> {
    let mut owners: BTreeMap<String, usize> = BTreeMap::new();
    for (p, part) in parts.iter().enumerate() {
        for path in part.cache.outputs.keys() {
            if let Some(&q) = owners.get(path) {
                return Err(refuse(
                    &part.dir,
                    format!(
                        "holds {path}, which {} (shard {}) holds too: the shards overlap",
                        parts[q].dir.display(),
                        parts[q].shard
                    ),
                ));
            }
            owners.insert(path.clone(), p);
        }
    }
    Ok(owners)
}

/// Streams the recorded output `rel` of a shard folder into `sink`, and
/// refuses it unless it is exactly what the shard recorded: a regular file
/// reached without following a link, of the recorded size (compared before
/// a byte is read) and hash. Returns its bytes. A failing `sink` is a
/// failed write of `dest`.
fn stream_recorded(
    part: &Part,
    rel: &str,
    dest: Option<&Path>,
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<u64> {
    let path = part.dir.join(rel);
    let record = &part.cache.outputs[rel].file;
    let mut file = fsread::open_inside(&part.dir, rel).map_err(|e| match e {
        ReadError::Missing => refuse(
            &path,
            "is recorded in the shard's cache but missing: build that shard again",
        ),
        ReadError::Link { at } => refuse(
            &path,
            format!(
                "is reached through a symbolic link (`{at}`), and merge follows no link in a \
                 shard folder: build that shard again"
            ),
        ),
        other => refuse(&path, format!("cannot be read: {other}")),
    })?;
    let differs = |what: String| {
        refuse(
            &path,
            format!(
                "differs from what shard {} recorded making{what} (changed after its build?): \
                 build that shard again",
                part.shard
            ),
        )
    };
    match fsread::compare(&mut file, record.bytes, &record.hash, sink) {
        Ok(Verdict::Same) => Ok(record.bytes),
        Ok(Verdict::Size(len)) => Err(differs(format!(
            ": it is {len} bytes, not the {} recorded",
            record.bytes
        ))),
        Ok(Verdict::Content) => Err(differs(String::new())),
        Err(StreamError::Read(e)) => Err(refuse(&path, format!("cannot be read: {e}"))),
        Err(StreamError::Copy(e)) => Err(crate::outputs::output::write_error(
            dest.unwrap_or(&path),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shard caches kept as fuzz seeds, checked against the split of
    /// the site they were built from ([`crate::fuzzing::MERGE_SITE`]).
    fn check_seed(name: &str) -> Result<Shard> {
        let config = crate::fuzzing::merge_site_config(Path::new("site"));
        let pages = crate::fuzzing::MERGE_SITE
            .iter()
            .filter_map(|(path, text)| crate::input::manifest::read_page(Path::new(path), text).0)
            .collect();
        let manifest = Manifest {
            pages,
            ..Default::default()
        };
        let layout = Layout::new(&config, manifest);
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz/merge")
            .join(name);
        let mut cache =
            Cache::parse(&std::fs::read(path).unwrap(), &mut { Budget::CACHE }).unwrap();
        let split = layout
            .split(cache.shard.as_ref().unwrap().shard.count)
            .map_err(|why| refuse(Path::new(name), why))?;
        // Seeds of another version still reach the records.
        cache.version = env!("CARGO_PKG_VERSION").to_owned();
        let stamp = cache.shard.as_mut().unwrap();
        (stamp.split, stamp.options) = split.digests();
        let shard = split.check(Path::new(name), &mut cache)?;
        assert!(!cache.outputs.contains_key("assets.json"));
        Ok(shard)
    }

    #[test]
    fn a_shard_keeps_only_records_the_split_assigns_to_it() {
        for i in 1..=3 {
            let shard = check_seed(&format!("seed-shard-{i}-of-3.json")).unwrap();
            assert_eq!(shard, Shard { index: i, count: 3 });
        }
        // The shard's own asset map is dropped, whatever role it claims.
        check_seed("asset-map-recorded-as-a-gif.json").unwrap();
        for (seed, expect) in [
            (
                "record-for-a-users-file.json",
                "records notes.txt, which is no output",
            ),
            (
                "record-for-the-lock.json",
                "records .assetmill/lock, inside the cache folder",
            ),
            (
                "record-of-another-shard.json",
                "muscles/png/a-1.png, which the split assigns to shard 1/3, not to shard 2/3",
            ),
            ("record-with-another-role.json", "its role or path differs"),
            ("record-with-another-path.json", "its role or path differs"),
            ("stamp-of-4294967295-shards.json", "at most 5 shards"),
            (
                "stamp-of-shard-0.json",
                "is stamped shard 0/3, which is no shard",
            ),
            ("stamp-of-shard-4-of-3.json", "is stamped shard 4/3"),
        ] {
            let e = check_seed(seed).unwrap_err().to_string();
            assert!(e.contains(expect), "{seed}: {e}");
        }
    }
}
