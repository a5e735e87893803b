//! "Did you mean": the closest existing file for a front-matter path that
//! names none. Suggestions come from directory listings, each folder listed
//! at most once per run ([`Folders`]), and from three rules, tried in order:
//! the same name in another case; the same numbered frame (`STEM-N.ext`)
//! under a similar stem; a name a few edits away. Distances are bounded by
//! the length of the name, so a short name never gets an unrelated
//! suggestion, and ties are broken by name, so output is deterministic.

use crate::nearest::edit_distance;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    dir: bool,
}

/// Directory listings under the image root, read once each and kept for
/// the run. A folder that cannot be read lists as nothing.
pub struct Folders {
    root: PathBuf,
    listings: HashMap<String, Vec<Entry>>,
}

impl Folders {
    pub fn new(root: &Path) -> Self {
        Folders {
            root: root.to_owned(),
            listings: HashMap::new(),
        }
    }

    /// The sorted entries of `folder` (a `/`-separated key, `""` for the
    /// root). Names that are not UTF-8 cannot be written in front matter
    /// and are left out.
    fn list(&mut self, folder: &str) -> &[Entry] {
        let root = &self.root;
        self.listings.entry(folder.to_owned()).or_insert_with(|| {
            let dir = if folder.is_empty() {
                root.clone()
            } else {
                root.join(folder)
            };
            let mut entries: Vec<Entry> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    Some(Entry {
                        dir: e.path().is_dir(),
                        name,
                    })
                })
                .collect();
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            entries
        })
    }

    /// Whether a file exists at `key` (a plain check, not a listing, so a
    /// case-insensitive file system gets its own answer).
    pub fn exists(&self, key: &str) -> bool {
        self.root.join(key).exists()
    }

    /// The names of the files in `folder`, sorted.
    pub fn files(&mut self, folder: &str) -> Vec<&str> {
        self.list(folder)
            .iter()
            .filter(|e| !e.dir)
            .map(|e| e.name.as_str())
            .collect()
    }

    /// The existing path closest to `key` (relative to the image root), or
    /// `None` when nothing is close enough. Misspelt folders are corrected
    /// too, one level at a time. Never returns `key` itself.
    pub fn suggest(&mut self, key: &str) -> Option<String> {
        let parts: Vec<&str> = key.split('/').collect();
        let (name, folders) = parts.split_last()?;
        let mut folder = String::new();
        for part in folders {
            let dirs: Vec<&str> = self
                .list(&folder)
                .iter()
                .filter(|e| e.dir)
                .map(|e| e.name.as_str())
                .collect();
            let found = if dirs.contains(part) {
                (*part).to_owned()
            } else {
                closest_name(part, &dirs)?.to_owned()
            };
            folder = join(&folder, &found);
        }
        let files = self.files(&folder);
        let found = if files.contains(name) {
            (*name).to_owned()
        } else {
            closest_file(name, &files)?.to_owned()
        };
        let suggestion = join(&folder, &found);
        (suggestion != key).then_some(suggestion)
    }
}

/// `folder/name`, or `name` at the root.
pub fn join(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_owned()
    } else {
        format!("{folder}/{name}")
    }
}

/// Splits a key into its folder (`""` at the root) and file name.
pub fn split(key: &str) -> (&str, &str) {
    key.rsplit_once('/').unwrap_or(("", key))
}

/// A file name of a numbered frame: `Leg-Soleus-12.png` is prefix
/// `Leg-Soleus-`, number 12, extension `png`. The prefix keeps its
/// separator, so `Leg_3.png` and `Leg-3.png` differ only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbered<'a> {
    pub prefix: &'a str,
    pub number: u32,
    pub ext: &'a str,
}

impl<'a> Numbered<'a> {
    pub fn parse(name: &'a str) -> Option<Self> {
        let (base, ext) = name.rsplit_once('.')?;
        let digits = base.len() - base.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        // Nine digits always fit a u32; longer runs are not frame numbers.
        if digits == 0 || digits > 9 || ext.is_empty() {
            return None;
        }
        let (prefix, number) = base.split_at(base.len() - digits);
        Some(Numbered {
            prefix,
            number: number.parse().ok()?,
            ext,
        })
    }

    /// The prefix without its trailing separator: the name of the set.
    pub fn stem(&self) -> &'a str {
        self.prefix.trim_end_matches(['-', '_', ' ', '.'])
    }

    /// Same set: same prefix and extension (the extension in any case).
    pub fn same_set(&self, other: &Numbered<'_>) -> bool {
        self.prefix == other.prefix && self.ext.eq_ignore_ascii_case(other.ext)
    }
}

/// The most edits allowed between a name of `len` characters and a
/// suggestion: one for short names, a quarter of the name for long ones.
pub fn max_distance(len: usize) -> usize {
    (len / 4).max(1)
}

/// The closest file name to `name` among `files` (sorted), by the rules in
/// the module header. Never `name` itself.
pub fn closest_file<'a>(name: &str, files: &[&'a str]) -> Option<&'a str> {
    let others = || files.iter().copied().filter(|f| *f != name);
    if let Some(same) = others().find(|f| f.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    if let Some(wanted) = Numbered::parse(name) {
        // A numbered frame is only ever matched with the same number: a
        // suggestion of another frame would be wrong however close.
        return best(
            others().filter_map(|f| {
                let n = Numbered::parse(f)?;
                let same = n.number == wanted.number && n.ext.eq_ignore_ascii_case(wanted.ext);
                same.then(|| (f, edit_distance(wanted.prefix, n.prefix)))
            }),
            wanted.prefix.chars().count(),
        );
    }
    let readable = |f: &&str| crate::stages::decode::format_for_extension(Path::new(f)).is_some();
    best(
        others()
            .filter(readable)
            .filter(|f| Numbered::parse(f).is_none())
            .map(|f| (f, edit_distance(name, f))),
        name.chars().count(),
    )
}

/// The closest name to `name` among `names` (folders), within the bound.
fn closest_name<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    best(
        names
            .iter()
            .copied()
            .filter(|n| *n != name)
            .map(|n| (n, edit_distance(name, n))),
        name.chars().count(),
    )
}

/// The candidate with the smallest distance within the bound for a name of
/// `len` characters; ties go to the first name in sorted order.
fn best<'a>(candidates: impl Iterator<Item = (&'a str, usize)>, len: usize) -> Option<&'a str> {
    candidates
        .filter(|(_, d)| *d <= max_distance(len))
        .min_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)))
        .map(|(name, _)| name)
}

/// Frame numbers as a compact set: `{1..16}` when consecutive and in
/// order, else `{1,3,4}`.
pub fn number_set(numbers: &[u32]) -> String {
    let consecutive = numbers.windows(2).all(|w| w[1] == w[0] + 1);
    match numbers {
        [first, .., last] if consecutive => format!("{{{first}..{last}}}"),
        _ => {
            let list: Vec<String> = numbers.iter().map(u32::to_string).collect();
            format!("{{{}}}", list.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_split_at_the_trailing_number() {
        let n = Numbered::parse("Leg-LateralHeadOfGastrocnemius-16.png").unwrap();
        assert_eq!(n.prefix, "Leg-LateralHeadOfGastrocnemius-");
        assert_eq!((n.number, n.ext), (16, "png"));
        assert_eq!(n.stem(), "Leg-LateralHeadOfGastrocnemius");
        assert_eq!(Numbered::parse("Leg 03.PNG").unwrap().number, 3);
        assert_eq!(Numbered::parse("Leg.gif"), None);
        assert_eq!(Numbered::parse("Leg-3"), None);
        assert_eq!(Numbered::parse("Leg-12345678901.png"), None);
        assert_eq!(Numbered::parse(".png"), None);
    }

    #[test]
    fn suggestions_follow_the_rules_in_order() {
        let files = [
            "Arm-1.png",
            "Arm-Biceps-3.png",
            "Leg-1.png",
            "Leg-13.png",
            "Leg-2.png",
            "Leg-3.png",
            "Soleus.png",
            "leg-4.png",
            "notes.txt",
        ];
        // Case.
        assert_eq!(closest_file("Leg-4.png", &files), Some("leg-4.png"));
        assert_eq!(closest_file("LEG-3.PNG", &files), Some("Leg-3.png"));
        // A typo in the stem of a numbered frame: same number only.
        assert_eq!(closest_file("Lge-3.png", &files), Some("Leg-3.png"));
        assert_eq!(closest_file("Leg_2.png", &files), Some("Leg-2.png"));
        assert_eq!(closest_file("Leg-03.png", &files), Some("Leg-3.png"));
        // Never another frame of the set, however close the name.
        assert_eq!(closest_file("Leg-5.png", &files), None);
        assert_eq!(closest_file("Leg-23.png", &files), None);
        // A plain name a few edits away, images only.
        assert_eq!(closest_file("Soelus.png", &files), Some("Soleus.png"));
        assert_eq!(closest_file("notes.png", &files), None);
        // Nothing absurd for a short name.
        assert_eq!(closest_file("Arm-2.png", &files), None);
        assert_eq!(closest_file("Ab.png", &["Cd.png"]), None);
        // Never the name itself.
        assert_eq!(closest_file("Leg-3.png", &["Leg-3.png"]), None);
    }

    #[test]
    fn ties_are_broken_by_name() {
        let files = ["Leg-b-1.png", "Leg-a-1.png"];
        let mut sorted = files;
        sorted.sort();
        assert_eq!(closest_file("Leg-c-1.png", &sorted), Some("Leg-a-1.png"));
        assert_eq!(closest_file("Leg-c-1.png", &files), Some("Leg-a-1.png"));
    }

    #[test]
    fn number_sets_are_compact() {
        assert_eq!(number_set(&[1, 2, 3]), "{1..3}");
        assert_eq!(number_set(&[1, 3, 4]), "{1,3,4}");
        assert_eq!(number_set(&[2, 1]), "{2,1}");
        assert_eq!(number_set(&[7]), "{7}");
    }

    #[test]
    fn folders_are_listed_once_and_misspelt_folders_corrected() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("muscles/png");
        std::fs::create_dir_all(&png).unwrap();
        std::fs::write(png.join("Leg 3.png"), b"x").unwrap();
        let mut folders = Folders::new(dir.path());
        assert_eq!(
            folders.suggest("muscles/png/leg 3.png").as_deref(),
            Some("muscles/png/Leg 3.png")
        );
        assert_eq!(
            folders.suggest("muscle/png/Leg 3.png").as_deref(),
            Some("muscles/png/Leg 3.png")
        );
        assert_eq!(folders.suggest("muscles/png/Leg 3.png"), None);
        assert_eq!(folders.suggest("other/x.png"), None);
        // The listing is cached: a file added now is not seen.
        std::fs::write(png.join("Arm 3.png"), b"x").unwrap();
        assert_eq!(folders.suggest("muscles/png/Arm3.png"), None);
    }
}
