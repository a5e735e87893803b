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

use super::{BuildOptions, Outcome, Shard, owners, shard, units};
use crate::cache::Cache;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::lock::Lock;
use crate::outputs::guard::Protected;
use crate::progress::Progress;
use crate::{manifest, plan};
use rayon::prelude::*;
use std::collections::BTreeMap;
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
    let parts = load(config, dirs)?;
    check_split(config, &parts)?;
    let owners = outputs(&parts)?;
    verify(&parts, &owners)?;

    let out = protected.create(&config.out)?;
    let lock = Lock::acquire(&out, &|m| progress.note(m))?;
    let old = Cache::load(&config.out);
    let mut cache = Cache {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Cache::default()
    };
    for part in &parts {
        cache.sources.extend(part.cache.sources.clone());
        cache.outputs.extend(part.cache.outputs.clone());
        // What `--explain` reads; the build below records them afresh.
        cache.settings.extend(part.cache.settings.clone());
        cache.frames.extend(part.cache.frames.clone());
    }
    // Whatever an earlier build recorded here stays known, so the build
    // below removes what the pages no longer want; what is about to be
    // copied is recorded first, so a killed merge leaves nothing unknown.
    let earlier: Vec<String> = old
        .known_paths()
        .into_iter()
        .filter(|p| !cache.outputs.contains_key(p))
        .collect();
    let mut pending = old.clone();
    pending.shard = None;
    pending.pending = old.known_paths();
    pending.pending.extend(cache.outputs.keys().cloned());
    pending.save(&out)?;

    progress.start("merge", owners.len() as u64);
    let copied: Vec<Result<u64>> = owners
        .par_iter()
        .map(|(rel, &p)| {
            let bytes = read(&parts[p].dir, rel)?;
            out.write(rel, &bytes)?;
            progress.advance("merge", 1);
            Ok(bytes.len() as u64)
        })
        .collect();
    progress.finish("merge");
    let bytes = copied.into_iter().sum::<Result<u64>>()?;
    cache.pending = earlier.into_iter().collect();
    cache.save(&out)?;
    drop(lock);

    let outcome = super::build(
        config,
        BuildOptions {
            shard: None,
            ..options
        },
        progress,
    )?;
    Ok(Merged {
        shards: parts.len(),
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

/// Reads every shard folder's cache and stamp.
fn load(config: &Config, dirs: &[PathBuf]) -> Result<Vec<Part>> {
    let out = std::fs::canonicalize(&config.out).ok();
    let version = env!("CARGO_PKG_VERSION");
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
        let mut cache = Cache::load(dir);
        // A shard's asset map is partial; the merge writes the whole one.
        cache
            .outputs
            .retain(|_, record| record.file.role != crate::assetmap::Role::AssetMap);
        let Some(stamp) = cache.shard.clone() else {
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
        parts.push(Part {
            dir: dir.clone(),
            shard: stamp.shard,
            cache,
        });
    }
    Ok(parts)
}

/// Every part must be a different shard of the split these pages give,
/// built with these options, and together they must be all of it.
fn check_split(config: &Config, parts: &[Part]) -> Result<()> {
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
    let manifest = manifest::read_site(&config.content);
    let plan = plan::plan(&manifest, config);
    let owner = owners(&plan);
    let all = units(&plan, &owner);
    let shards = shard::split(&plan, &owner, &all, count);
    let expected = shard::stamp(
        config,
        &plan,
        &owner,
        &all,
        &shards,
        Shard { index: 1, count },
    );
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for part in parts {
        let stamp = part
            .cache
            .shard
            .as_ref()
            .expect("loaded parts have a stamp");
        if stamp.options != expected.options {
            return Err(refuse(
                &part.dir,
                "was built with other options than this merge's configuration: build every \
                 shard and merge with the same assetmill.yml",
            ));
        }
        if stamp.split != expected.split {
            return Err(refuse(
                &part.dir,
                format!(
                    "was split from other pages than those in {} (the shard split differs): \
                     build every shard and merge from the same commit",
                    config.content.display()
                ),
            ));
        }
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
            &config.out,
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

/// Every file a shard recorded is there and has the recorded hash.
fn verify(parts: &[Part], owners: &BTreeMap<String, usize>) -> Result<()> {
    owners.par_iter().try_for_each(|(rel, &p)| {
        let part = &parts[p];
        let bytes = read(&part.dir, rel)?;
        if crate::assetmap::hash(&bytes) != part.cache.outputs[rel].file.hash {
            return Err(refuse(
                &part.dir.join(rel),
                format!(
                    "differs from what shard {} recorded making (changed after its build?): \
                     build that shard again",
                    part.shard
                ),
            ));
        }
        Ok(())
    })
}

/// A recorded output of a shard folder: a plain path inside it, a regular
/// file.
fn read(dir: &Path, rel: &str) -> Result<Vec<u8>> {
    let path = crate::output::inside(dir, rel)?;
    crate::fsread::read_regular(&path, u64::MAX).map_err(|e| match e {
        crate::fsread::ReadError::Missing => refuse(
            &path,
            "is recorded in the shard's cache but missing: build that shard again",
        ),
        other => refuse(&path, format!("cannot be read: {other}")),
    })
}
