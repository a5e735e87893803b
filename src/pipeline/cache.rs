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

use crate::assetmap::OutputFile;
use crate::decode::ImageInfo;
use crate::error::{Error, Result};
use crate::output::OutDir;
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
    pub shard: Option<super::shard::Stamp>,
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

    /// Loads the cache; a missing or unreadable one is empty (everything is
    /// rebuilt, nothing is trusted). Only a regular file is read. Paths in
    /// it are not trusted either: every one is checked to be a plain path
    /// inside `out/` before anything is done with it.
    pub fn load(out: &Path) -> Cache {
        crate::fsread::read_regular(&Self::path(out), MAX_BYTES)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
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

/// A cache larger than this is not read (a site of 10,000 outputs writes
/// about 4 MB).
const MAX_BYTES: u64 = 1 << 30;

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
    crate::assetmap::hash(hashes.join(",").as_bytes())
}

/// Hash of anything serializable, for option fingerprints.
pub fn fingerprint<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).expect("options serialize");
    crate::assetmap::hash(&json)
}
