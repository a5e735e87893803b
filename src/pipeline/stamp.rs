//! Which part of a site a shard build made, as a plain value: the
//! `--shard I/N` the user asks for, and the stamp a finished shard leaves
//! in its cache for `merge` (see [`super::shard`] for the split itself).

use serde::{Deserialize, Serialize};

/// Which part of the site a build makes: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{text}` is not a shard: write I/N with 1 <= I <= N, e.g. 2/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a finished shard build records in its cache, so `merge` can tell
/// which part of which build a folder holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub shard: Shard,
    /// Digest of the whole split (every unit's key, weight and shard):
    /// equal only for shards of the same pages.
    pub split: String,
    /// Digest of every option that shapes an output.
    pub options: String,
}
