//! The build cache: what assetmill made in `out/`, and from what.
//!
//! It lives in `out/.assetmill/` (so deleting `out/` resets everything) and
//! records, for every output path, the hash of the inputs it derives from,
//! the hash of every option that shapes it (with the assetmill version), and
//! the hash of the file written; and, for every valid source by content
//! hash, what validation learnt of it. A rebuild trusts a record only when
//! both input and option hashes match and the file on disk still has the
//! recorded hash. Paths a build is about to write are recorded as pending
//! first, so a build killed half-way leaves nothing the next run does not
//! know about.
//!
//! For `build --explain`, it also keeps what the hashes stand for: the
//! settings behind every options hash in use (each map once, however many
//! outputs share it), and every animation's frame list (key and content
//! hash, in order) as last built, by the animation's path. (Not by input
//! hash: two animations of byte-identical frames under other names share
//! that.) Entries no record refers to are dropped when the cache is saved.
//! A cache from before these maps loads with them empty; only the hashes
//! are known then.
//!
//! The file is not trusted: CI restores it from a cache, and a shard
//! folder's comes from an artifact, both of which a pull request can shape.
//! So reading it has a [`Budget`]: its size is checked before it is read,
//! and its JSON values are counted (without allocating) before it is
//! parsed, so parsing cannot cost many times the file; a cache over budget,
//! malformed, or reached through a link is not used at all.

use crate::error::{Error, Result};
use crate::fsread::ReadError;
use crate::outputs::assetmap::OutputFile;
use crate::outputs::output::OutDir;
use crate::stages::decode::ImageInfo;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Folder inside `out/` holding the cache and the lock.
pub const DIR: &str = ".assetmill";
const FILE: &str = "cache.json";

/// The whole cache file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cache {
    /// The assetmill version that wrote it.
    pub version: String,
    /// Valid sources by `content hash:limits hash`.
    pub sources: BTreeMap<String, ImageInfo>,
    /// Every output path assetmill made, relative to `out/`.
    pub outputs: BTreeMap<String, Record>,
    /// Paths a build may have written without recording them (it was
    /// stopped before it finished).
    pub pending: BTreeSet<String>,
    /// The settings behind each options hash in use (see
    /// [`super::keys::settings`]).
    #[serde(default)]
    pub settings: BTreeMap<String, Settings>,
    /// Each animation's frames as last built, in order, by the
    /// animation's path (its GIF's). Its outputs' input hash is
    /// [`frames_hash`] of these.
    #[serde(default)]
    pub frames: BTreeMap<String, Vec<Frame>>,
    /// Set by a finished `--shard` build: which shard of which split this
    /// folder holds (for `merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::stamp::Stamp>,
}

/// Every setting that shapes an output, by dotted name (`gif.width`,
/// `video.av1.quantizer`, `assetmill.version`), as JSON values.
pub type Settings = BTreeMap<String, serde_json::Value>;

/// One frame of an animation: its path under the image root and its
/// content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub key: String,
    pub hash: String,
}

/// How an output was made. (Not `Eq`: [`OutputFile`] holds a float.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Hash of the input bytes it derives from.
    pub inputs: String,
    /// Hash of the options that shape it and the assetmill version.
    pub options: String,
    /// The file as written (role, size, bytes, content hash, …).
    pub file: OutputFile,
}

impl Cache {
    pub fn path(out: &Path) -> PathBuf {
        out.join(DIR).join(FILE)
    }

    /// Loads the cache; a missing or unusable one is empty (everything is
    /// rebuilt, nothing is trusted). Paths in it are not trusted either:
    /// every one is checked to be a plain path inside `out/` before
    /// anything is done with it.
    pub fn load(out: &Path) -> Cache {
        Self::load_noting(out, &|_| {})
    }

    /// [`Cache::load`], telling `note` why a cache that is there is not
    /// used.
    pub fn load_noting(out: &Path, note: &dyn Fn(&str)) -> Cache {
        let mut budget = Budget::CACHE;
        match Self::read(out, &mut budget) {
            Ok(cache) => cache.unwrap_or_default(),
            Err(e) => {
                note(&format!(
                    "{}: not used ({e}); building as if there were no cache, so every \
                     output is made again",
                    Self::path(out).display()
                ));
                Cache::default()
            }
        }
    }

    /// Reads the cache of `out` within `budget`, taking what it uses from
    /// it. `Ok(None)` when there is none. Only a regular file is read, and
    /// not through a link below `out`.
    pub fn read(out: &Path, budget: &mut Budget) -> std::result::Result<Option<Cache>, LoadError> {
        let rel = format!("{DIR}/{FILE}");
        match crate::fsread::read_inside(out, &rel, budget.bytes) {
            Ok(bytes) => Self::parse(&bytes, budget).map(Some),
            Err(ReadError::Missing) => Ok(None),
            Err(ReadError::TooBig { bytes, .. }) => Err(LoadError::TooBig {
                bytes,
                limit: budget.bytes,
            }),
            Err(e) => Err(LoadError::Unreadable(e)),
        }
    }

    /// Parses a cache file's bytes within `budget`, taking what they use
    /// from it: the bytes, and every JSON value, counted before anything is
    /// parsed.
    pub fn parse(bytes: &[u8], budget: &mut Budget) -> std::result::Result<Cache, LoadError> {
        let len = bytes.len() as u64;
        if len > budget.bytes {
            return Err(LoadError::TooBig {
                bytes: len,
                limit: budget.bytes,
            });
        }
        let values = count_values(bytes, budget.values)?;
        let cache =
            serde_json::from_slice(bytes).map_err(|e| LoadError::Malformed(e.to_string()))?;
        budget.bytes -= len;
        budget.values -= values;
        Ok(cache)
    }

    /// Writes the cache atomically, without settings or frame lists that
    /// no record refers to any more.
    pub fn save(&self, out: &OutDir) -> Result<()> {
        let pruned;
        let this = if self.has_unreferenced() {
            pruned = {
                let mut c = self.clone();
                c.prune();
                c
            };
            &pruned
        } else {
            self
        };
        let mut json = serde_json::to_string_pretty(this).map_err(|e| Error::Encode {
            path: Self::path(out.root()),
            message: e.to_string(),
        })?;
        json.push('\n');
        dir(out)?;
        out.write(&format!("{DIR}/{FILE}"), json.as_bytes())
            .map(|_| ())
    }

    /// Records that an output was made with `settings` (the map behind
    /// `record.options`).
    pub fn remember_settings(&mut self, options: &str, settings: &Settings) {
        if !self.settings.contains_key(options) {
            self.settings.insert(options.to_owned(), settings.clone());
        }
    }

    /// Records the frames an animation was built from.
    pub fn remember_frames(&mut self, animation: &str, frames: Vec<Frame>) {
        self.frames.insert(animation.to_owned(), frames);
    }

    /// The frames recorded for `animation`, if they are the ones behind
    /// the input hash `inputs` (a record may be older than the list).
    pub fn frames_for(&self, animation: &str, inputs: &str) -> Option<&[Frame]> {
        let frames = self.frames.get(animation)?;
        let hashes: Vec<&str> = frames.iter().map(|f| f.hash.as_str()).collect();
        (frames_hash(&hashes) == inputs).then_some(frames.as_slice())
    }

    fn has_unreferenced(&self) -> bool {
        let options = self.options_in_use();
        self.settings.keys().any(|k| !options.contains(k.as_str()))
            || self.frames.keys().any(|k| !self.outputs.contains_key(k))
    }

    /// The options hashes the records use.
    fn options_in_use(&self) -> BTreeSet<&str> {
        self.outputs.values().map(|r| r.options.as_str()).collect()
    }

    /// Drops settings no record refers to, and the frames of animations
    /// whose GIF is not recorded.
    pub fn prune(&mut self) {
        let options: BTreeSet<String> = self
            .options_in_use()
            .into_iter()
            .map(str::to_owned)
            .collect();
        self.settings.retain(|k, _| options.contains(k));
        let outputs = &self.outputs;
        self.frames.retain(|k, _| outputs.contains_key(k));
    }

    /// Every path this cache says assetmill made or may have made.
    pub fn known_paths(&self) -> BTreeSet<String> {
        self.outputs.keys().chain(&self.pending).cloned().collect()
    }
}

/// What reading cache files may cost.
///
/// Parsing allocates per JSON value (a string, number, array, object or
/// object key): a `0,` in a settings list becomes a 32-byte value, a short
/// key a map entry. So a budget of bytes alone would let a crafted file cost
/// many times its size; with values counted first, parsing costs at most
/// the bytes plus a bounded amount per value (see [`Budget::CACHE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of JSON.
    pub bytes: u64,
    /// JSON values, object keys included.
    pub values: u64,
}

impl Budget {
    /// What one cache may use: 32 MiB and 2 Mi values. A real cache takes
    /// 550 to 750 bytes and about 36 values per output (its record, its
    /// source's facts, its share of the frame lists and settings): the
    /// site-scale bench's 8,550 outputs write 4.7 MB. So this holds about
    /// 45,000 outputs, five times that site, and an honest cache meets the
    /// byte limit before the value limit. Parsing costs at most 48 bytes
    /// per value (measured on crafted files: a list of `0`s in a settings
    /// map, where each 2-byte `0,` becomes a 32-byte JSON value in a
    /// doubling list), so about 100 MB, beside the 32 MiB file. A bigger
    /// cache is not used: `build` works as if it were not there (and says
    /// so), and `merge` refuses the shard.
    pub const CACHE: Budget = Budget {
        bytes: 32 << 20,
        values: 2 << 20,
    };
}

/// Why a cache file was not used.
#[derive(Debug)]
pub enum LoadError {
    /// Larger than the budget's bytes.
    TooBig { bytes: u64, limit: u64 },
    /// More JSON values than the budget's.
    TooManyValues { limit: u64 },
    /// Not a regular file, reached through a link, or unreadable.
    Unreadable(ReadError),
    /// Not JSON, or not a cache.
    Malformed(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::TooBig { bytes, limit } => {
                write!(f, "it is {bytes} bytes, over the limit of {limit} bytes")
            }
            LoadError::TooManyValues { limit } => {
                write!(f, "it holds more than {limit} JSON values, over the limit")
            }
            LoadError::Unreadable(e) => write!(f, "it cannot be read: {e}"),
            LoadError::Malformed(e) => write!(f, "it is not a cache assetmill wrote: {e}"),
        }
    }
}

/// Counts the JSON values in `bytes`, allocating nothing, up to `limit`.
/// Errors when there are more (or the JSON is malformed).
fn count_values(bytes: &[u8], limit: u64) -> std::result::Result<u64, LoadError> {
    use serde::de::DeserializeSeed;
    let left = std::cell::Cell::new(limit);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let counted = Count(&left).deserialize(&mut de).and_then(|()| de.end());
    match counted {
        Ok(()) => Ok(limit - left.get()),
        Err(_) if left.get() == 0 => Err(LoadError::TooManyValues { limit }),
        Err(e) => Err(LoadError::Malformed(e.to_string())),
    }
}

/// Walks any JSON value, taking one from the count for each value in it.
/// Strings are borrowed or go through serde_json's scratch buffer, so
/// nothing is allocated per value. (serde_json's nesting limit of 128
/// bounds the recursion.)
struct Count<'a>(&'a std::cell::Cell<u64>);

impl Count<'_> {
    fn take<E: serde::de::Error>(&self) -> std::result::Result<(), E> {
        match self.0.get() {
            0 => Err(E::custom("too many values")),
            n => {
                self.0.set(n - 1);
                Ok(())
            }
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Count<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! count_scalar {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E: serde::de::Error>(self, _: $t) -> std::result::Result<(), E> {
            self.take()
        })*
    };
}

impl<'de> serde::de::Visitor<'de> for Count<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    count_scalar!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        self.take()
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<(), A::Error> {
        self.take()?;
        while seq.next_element_seed(Count(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<(), A::Error> {
        self.take()?;
        while map.next_key_seed(Count(self.0))?.is_some() {
            map.next_value_seed(Count(self.0))?;
        }
        Ok(())
    }
}

/// The cache folder `out/.assetmill`, created if needed. It must be a real
/// folder: a link there would send the cache, the lock and every temp file
/// elsewhere.
pub fn dir(out: &OutDir) -> Result<PathBuf> {
    let dir = out.root().join(DIR);
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => Ok(dir),
        Ok(_) => Err(Error::UnsafePath {
            path: dir,
            message: "the cache folder is a symbolic link or a file, not a folder; \
                      remove it and build again"
                .into(),
        }),
        Err(_) => {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            Ok(dir)
        }
    }
}

/// The input hash of an animation's outputs: of its frames' content
/// hashes, in order.
pub fn frames_hash(hashes: &[&str]) -> String {
    crate::outputs::assetmap::hash(hashes.join(",").as_bytes())
}

/// Hash of anything serializable, for option fingerprints.
pub fn fingerprint<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).expect("options serialize");
    crate::outputs::assetmap::hash(&json)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"version":"1","sources":{},"outputs":{},"pending":["a.png"],
        "settings":{"h":{"gif.width":480,"timing.delays_ms":[90,90]}}}"#;

    #[test]
    fn counts_every_value_and_takes_it_from_the_budget() {
        let mut budget = Budget {
            bytes: 1000,
            values: 100,
        };
        let cache = Cache::parse(SMALL.as_bytes(), &mut budget).unwrap();
        assert_eq!(cache.pending.len(), 1);
        // The object, 6 keys, version, 2 empty maps, the list and its
        // path, the settings map, its key, the inner map, 2 keys, 480, the
        // list and its 2 numbers.
        assert_eq!(budget.values, 100 - 20);
        assert_eq!(budget.bytes, 1000 - SMALL.len() as u64);
        // Exactly enough values, and one too few.
        let mut exact = Budget {
            bytes: 1000,
            values: 20,
        };
        assert!(Cache::parse(SMALL.as_bytes(), &mut exact).is_ok());
        let mut short = Budget {
            bytes: 1000,
            values: 19,
        };
        let e = Cache::parse(SMALL.as_bytes(), &mut short).unwrap_err();
        assert!(matches!(e, LoadError::TooManyValues { limit: 19 }), "{e}");
        // Refused budgets are not spent.
        assert_eq!(short.values, 19);
        let mut tight = Budget {
            bytes: 10,
            values: 100,
        };
        assert!(matches!(
            Cache::parse(SMALL.as_bytes(), &mut tight),
            Err(LoadError::TooBig { limit: 10, .. })
        ));
    }

    #[test]
    fn a_dense_list_is_refused_before_it_is_parsed() {
        // Two bytes a value: parsed, each would be a 32-byte JSON value.
        let zeros = format!(
            r#"{{"version":"1","sources":{{}},"outputs":{{}},"pending":[],"settings":{{"h":{{"x":[{}0]}}}}}}"#,
            "0,".repeat(Budget::CACHE.values as usize)
        );
        assert!((zeros.len() as u64) < Budget::CACHE.bytes);
        let e = Cache::parse(zeros.as_bytes(), &mut { Budget::CACHE }).unwrap_err();
        assert!(matches!(e, LoadError::TooManyValues { .. }), "{e}");
        assert!(e.to_string().contains("JSON values"), "{e}");
    }

    #[test]
    fn floats_read_back_as_written() {
        // Beyond u64, so a float; serde_json's default parser read it one
        // ULP off on the way back (found by the `cache` fuzz target).
        let text = r#"{"version":"0","sources":{},"outputs":{},"pending":[],
            "settings":{"h":{"x":333333333333333333333333333333333333333333333333333333333333333333,
            "y":0.30000000000000004}}}"#;
        let cache = Cache::parse(text.as_bytes(), &mut { Budget::CACHE }).unwrap();
        let json = serde_json::to_string_pretty(&cache).unwrap();
        let back = Cache::parse(json.as_bytes(), &mut { Budget::CACHE }).unwrap();
        assert_eq!(back, cache);
        assert_eq!(cache.settings["h"]["y"], 0.1 + 0.2);
    }

    #[test]
    fn malformed_and_foreign_files_are_not_caches() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"version":"1"}"#,
            r#"{"version":"1","sources":{},"outputs":{},"pending":[]} trailing"#,
            &format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ] {
            let mut budget = Budget::CACHE;
            let e = Cache::parse(bad.as_bytes(), &mut budget).unwrap_err();
            assert!(matches!(e, LoadError::Malformed(_)), "{bad:.20}: {e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_cache_over_budget_or_through_a_link_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join(DIR)).unwrap();
        assert!(Cache::read(&out, &mut { Budget::CACHE }).unwrap().is_none());
        std::fs::write(Cache::path(&out), SMALL).unwrap();
        assert_eq!(Cache::load(&out).pending.len(), 1);
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(Cache::path(&out))
            .unwrap();
        file.set_len(Budget::CACHE.bytes + 1).unwrap();
        let notes = std::cell::RefCell::new(Vec::new());
        let cache = Cache::load_noting(&out, &|m| notes.borrow_mut().push(m.to_owned()));
        assert_eq!(cache, Cache::default());
        let notes = notes.into_inner();
        assert!(
            notes.len() == 1 && notes[0].contains("over the limit"),
            "{notes:?}"
        );
        // A cache folder that is a link to a real cache elsewhere.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join(FILE), SMALL).unwrap();
        std::fs::remove_dir_all(out.join(DIR)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join(DIR)).unwrap();
        assert!(matches!(
            Cache::read(&out, &mut { Budget::CACHE }),
            Err(LoadError::Unreadable(ReadError::Link { .. }))
        ));
    }
}
