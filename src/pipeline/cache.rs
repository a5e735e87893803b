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

use crate::assetmap::OutputFile;
use crate::decode::ImageInfo;
use crate::error::{Error, Result};
use crate::output;
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
    /// Set by a finished `--shard` build: which shard of which split this
    /// folder holds (for `merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::Stamp>,
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

    /// Writes the cache atomically.
    pub fn save(&self, out: &Path) -> Result<()> {
        let mut json = serde_json::to_string_pretty(self).map_err(|e| Error::Encode {
            path: Self::path(out),
            message: e.to_string(),
        })?;
        json.push('\n');
        output::write_atomic(&Self::path(out), json.as_bytes(), None)
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
pub fn dir(out: &Path) -> Result<PathBuf> {
    let dir = out.join(DIR);
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

/// Hash of anything serializable, for option fingerprints.
pub fn fingerprint<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_vec(value).expect("options serialize");
    crate::assetmap::hash(&json)
}
