//! Before a build makes anything: every output it would make that the
//! remote cache has is fetched, checked and written into `out/`, and from
//! then on is an output this build made (recorded, in the asset map), so
//! only the rest is decoded and encoded. Facts about sources the local
//! cache lacks are fetched too, so a source whose outputs all came from
//! the store is not decoded to be validated.
//!
//! [`available`] asks the same questions without fetching the outputs,
//! for a dry run, `--check` and `--explain`.

use super::objects::{self, RECORD_LIMIT, SOURCE_LIMIT};
use super::requests::{Fault, Got};
use super::session::Remote;
use crate::outputs::assetmap::OutputFile;
use crate::outputs::output::OutDir;
use crate::pipeline::cache::{Cache, Record};
use crate::pipeline::keys::Planned;
use crate::plan::Plan;
use crate::stages::decode::ImageInfo;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A source whose facts are not in the local cache.
pub struct Unknown {
    pub source: usize,
    /// Its content hash, and the fingerprint of the limits it is checked
    /// under.
    pub hash: String,
    pub limits: String,
    /// Its size on disk, which its facts must say.
    pub bytes: u64,
}

/// The sources among `covered` whose facts are not known here (`known`),
/// to ask the store for.
pub fn unknown(
    plan: &Plan,
    covered: &[bool],
    hashes: &[Option<String>],
    known: &[Option<ImageInfo>],
    limits: &str,
) -> Vec<Unknown> {
    (0..plan.sources.len())
        .filter(|&s| covered[s] && known[s].is_none())
        .filter_map(|s| {
            let hash = hashes[s].clone()?;
            let bytes = std::fs::metadata(&plan.sources[s].path).ok()?.len();
            Some(Unknown {
                source: s,
                hash,
                limits: limits.to_owned(),
                bytes,
            })
        })
        .collect()
}

/// The most one fetched output may be: what a download holds in memory,
/// a sixteenth of `limits.max_memory` (as many run at once), from 1 MiB
/// to 256 MiB. A larger output is made here.
pub fn download_limit(max_memory: u64) -> u64 {
    (max_memory / 16).clamp(1 << 20, 256 << 20)
}

/// Fetches every stale output of `planned` the store has into `out`: each
/// one fetched is marked [`Planned::fetched`] (no longer stale) and
/// recorded in `cache`, so the build treats it as made. Returns the facts
/// fetched for `unknown` sources, by source.
pub fn fetch(
    remote: &Remote,
    out: &OutDir,
    planned: &mut [Vec<Planned>],
    cache: &mut Cache,
    unknown: &[Unknown],
    limit: u64,
) -> Vec<(usize, ImageInfo)> {
    let wanted: Vec<&Planned> = planned
        .iter()
        .flatten()
        .filter(|p| p.stale.is_some() && !p.inputs.is_empty())
        .collect();
    let root = out.root();
    let rejected = remote.rejected();
    let records = records(remote, &wanted, limit, root);
    // The outputs whose record was found, fetched and checked.
    let found: Vec<(usize, OutputFile)> = records
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| r.map(|f| (i, f)))
        .collect();
    let requests: Vec<(String, u64)> = found
        .iter()
        .map(|(_, f)| (objects::blob_name(&f.hash), f.bytes))
        .collect();
    // Checked and written, by path.
    let written: Mutex<BTreeMap<String, OutputFile>> = Mutex::new(BTreeMap::new());
    remote
        .store
        .get_each(&requests, &|| remote.up(), &|k, got| {
            let (i, file) = &found[k];
            let path = &wanted[*i].path;
            let refuse = |why: &str| reject(remote, root, path, why);
            let bytes = match answer(remote, got, "fetching outputs") {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return,
                Err(n) => {
                    return refuse(&format!(
                        "it is {n} bytes or more, not the {} its record says",
                        file.bytes
                    ));
                }
            };
            if let Err(why) = objects::check_blob(&bytes, file) {
                return refuse(&why);
            }
            match out.write(path, &bytes) {
                Ok(_) => {
                    let mut written = written.lock().unwrap_or_else(|e| e.into_inner());
                    written.insert(path.clone(), file.clone());
                }
                Err(e) => remote.warn(
                    Some(root.join(path)),
                    format!(
                        "remote cache: its copy cannot be written ({}); it is made here",
                        e.detail()
                    ),
                ),
            }
        });
    let fetched = written.into_inner().unwrap_or_else(|e| e.into_inner());
    // Each output is refused at most once (its record, or its bytes).
    let misses = wanted.len() - fetched.len() - (remote.rejected() - rejected);
    remote.count(|f| {
        f.hits += fetched.len();
        f.misses += misses;
    });
    for p in planned.iter_mut().flatten() {
        if let Some(file) = fetched.get(&p.path) {
            p.fetched = p.stale.take();
            cache.outputs.insert(
                p.path.clone(),
                Record {
                    inputs: p.inputs.clone(),
                    options: p.options.clone(),
                    file: file.clone(),
                },
            );
        }
    }
    sources(remote, unknown)
}

/// Whether the store has each of `wanted` (its record, checked, and a
/// blob of the recorded size), by path, fetching no output.
pub fn available(
    remote: &Remote,
    wanted: &[&Planned],
    limit: u64,
    root: &Path,
) -> BTreeMap<String, bool> {
    let rejected = remote.rejected();
    let records = records(remote, wanted, limit, root);
    let names: Vec<String> = records
        .iter()
        .flatten()
        .map(|f| objects::blob_name(&f.hash))
        .collect();
    let sizes: Mutex<Vec<Option<u64>>> = Mutex::new(vec![None; names.len()]);
    remote
        .store
        .size_each(&names, &|| remote.up(), &|k, size| match size {
            Ok(size) => sizes.lock().unwrap_or_else(|e| e.into_inner())[k] = size,
            Err(fault) => remote.failed("looking up outputs", &fault),
        });
    let sizes = sizes.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut sizes = sizes.into_iter();
    let there: BTreeMap<String, bool> = wanted
        .iter()
        .zip(&records)
        .map(|(p, r)| {
            let there = r
                .as_ref()
                .is_some_and(|f| sizes.next().flatten() == Some(f.bytes));
            (p.path.clone(), there)
        })
        .collect();
    let hits = there.values().filter(|t| **t).count();
    remote.count(|f| {
        f.hits += hits;
        f.misses += wanted.len() - hits - (f.rejected - rejected);
    });
    there
}

/// Each output's record, fetched and checked (`None`: not there, refused,
/// or the store failed).
fn records(
    remote: &Remote,
    wanted: &[&Planned],
    limit: u64,
    root: &Path,
) -> Vec<Option<OutputFile>> {
    let requests: Vec<(String, u64)> = wanted
        .iter()
        .map(|p| (objects::record_name(p), RECORD_LIMIT))
        .collect();
    let found: Mutex<Vec<Option<OutputFile>>> = Mutex::new(vec![None; wanted.len()]);
    remote
        .store
        .get_each(&requests, &|| remote.up(), &|i, got| {
            let path = &wanted[i].path;
            let refuse = |why: &str| reject(remote, root, path, why);
            let bytes = match answer(remote, got, "looking up outputs") {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return,
                Err(n) => return refuse(&format!("its record is {n} bytes or more")),
            };
            match objects::check_record(&bytes, wanted[i], limit) {
                Ok(file) => found.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(file),
                Err(why) => refuse(&why),
            }
        });
    found.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// The facts of `unknown` sources the store has, checked.
fn sources(remote: &Remote, unknown: &[Unknown]) -> Vec<(usize, ImageInfo)> {
    let requests: Vec<(String, u64)> = unknown
        .iter()
        .map(|u| (objects::source_name(&u.hash, &u.limits), SOURCE_LIMIT))
        .collect();
    let found = Mutex::new(Vec::new());
    remote
        .store
        .get_each(&requests, &|| remote.up(), &|i, got| {
            let u = &unknown[i];
            let checked = match answer(remote, got, "looking up sources") {
                Ok(Some(bytes)) => objects::check_source(&bytes, u.bytes),
                Ok(None) => return,
                Err(n) => Err(format!("its record is {n} bytes or more")),
            };
            match checked {
                Ok(info) => found
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((u.source, info)),
                Err(why) => {
                    remote.count(|f| f.rejected += 1);
                    let message =
                        format!("remote cache: source {}: {why}; it is decoded here", u.hash);
                    remote.warn(None, message);
                }
            }
        });
    let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    found.sort_by_key(|(s, _)| *s);
    found
}

/// What one download gave, its bytes counted and a failed request
/// reported (see [`Remote::failed`]): `Ok(Some(bytes))`, `Ok(None)` when
/// it is not there or the request failed, `Err(size)` when it is over the
/// limit asked.
fn answer(remote: &Remote, got: Result<Got, Fault>, doing: &str) -> Result<Option<Vec<u8>>, u64> {
    match got {
        Ok(Got::Found(bytes)) => {
            remote.count(|f| f.downloaded_bytes += bytes.len() as u64);
            Ok(Some(bytes))
        }
        Ok(Got::Missing) => Ok(None),
        Ok(Got::TooBig(n)) => Err(n),
        Err(fault) => {
            remote.failed(doing, &fault);
            Ok(None)
        }
    }
}

/// Refuses an object for the output at `path` in `root`, which is then
/// made here.
fn reject(remote: &Remote, root: &Path, path: &str, why: &str) {
    remote.count(|f| f.rejected += 1);
    remote.warn(
        Some(root.join(path)),
        format!("remote cache: its stored copy is refused ({why}); it is made here"),
    );
}

#[cfg(all(test, feature = "remote"))]
mod tests {
    use super::*;
    use crate::config::{Config, RemoteMode};
    use crate::outputs::assetmap::Role;
    use crate::pipeline::keys::Owner;

    fn config(url: Option<String>, mode: RemoteMode) -> Config {
        let mut config = Config::default();
        config.remote_cache.url = url;
        config.remote_cache.mode = mode;
        config
    }

    /// A store nothing answers for: a loopback port just freed.
    fn refusing() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/cache")
    }

    #[test]
    fn a_store_that_refuses_connections_is_dropped_after_three_failures_with_one_warning() {
        let remote = Remote::open(
            &config(Some(refusing()), RemoteMode::ReadWrite),
            &mut Vec::new(),
        )
        .expect("opening makes no request");
        // Plain HTTP is only read, whatever the mode.
        assert!(!remote.writes);
        let planned = gifs(100);
        let wanted: Vec<&Planned> = planned.iter().collect();
        let there = available(&remote, &wanted, 1 << 20, Path::new("out"));
        assert_eq!(there.len(), 100);
        assert!(there.values().all(|t| !t));
        assert!(!remote.up());
        let (figures, warnings) = remote.report();
        // The requests in flight when it was dropped fail too; none after.
        assert!((3..=20).contains(&figures.errors), "{figures:?}");
        assert_eq!((figures.hits, figures.misses), (0, 100));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let message = &warnings[0].message;
        assert!(
            message.contains("not used for the rest of this build"),
            "{message}"
        );
    }

    fn gifs(n: usize) -> Vec<Planned> {
        (0..n)
            .map(|i| {
                let mut p = Planned::new(
                    format!("g/{i}.gif"),
                    Role::Gif,
                    Owner::Animation(i),
                    format!("inputs {i}"),
                    &Config::default(),
                );
                p.finish();
                p
            })
            .collect()
    }

    #[test]
    fn a_stopped_build_asks_the_store_nothing() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let remote = Remote::open(
            &config(Some(refusing()), RemoteMode::ReadOnly),
            &mut Vec::new(),
        )
        .unwrap()
        .stopping_on(Some(stop));
        assert!(!remote.up());
        let planned = gifs(10);
        let wanted: Vec<&Planned> = planned.iter().collect();
        let there = available(&remote, &wanted, 1 << 20, Path::new("out"));
        assert_eq!(there.len(), 10);
        assert!(there.values().all(|t| !t));
        let (figures, warnings) = remote.report();
        assert_eq!((figures.errors, warnings.len()), (0, 0), "{warnings:?}");
    }

    #[test]
    fn no_url_or_mode_off_is_no_store() {
        let mut notes = Vec::new();
        assert!(Remote::open(&config(None, RemoteMode::ReadWrite), &mut notes).is_none());
        let off = config(Some("s3://b/p".into()), RemoteMode::Off);
        assert!(Remote::open(&off, &mut notes).is_none());
        assert!(notes.is_empty());
        let s3 = config(Some("s3://b/p".into()), RemoteMode::ReadOnly);
        assert!(!Remote::open(&s3, &mut notes).unwrap().writes);
    }
}
