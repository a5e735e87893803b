//! The one gate every write passes. assetmill writes into a folder only
//! through an [`OutDir`], and outside it only through a [`DataCopy`]; both
//! are made here, and only after the checks below, so no command (`build`,
//! `merge`, `clean`, `synth`, the `_data` copy, the review report) can write
//! before its target is known to be safe.
//!
//! - An output folder must not be, contain or lie inside a protected folder
//!   (the content folder, the image root): optimized copies keep their
//!   sources' names, so such a folder would overwrite sources, and stale
//!   removal would delete them. Nor may it contain the configuration file.
//! - The asset map's `_data` copy, the one file written outside the output
//!   folder, must not land on a source, a page, the configuration file, an
//!   output or the cache folder, and never replaces a file assetmill did not
//!   write (it starts with [`DATA_COPY_MARK`]).
//!
//! Paths are compared as the file system resolves them (through symbolic
//! links), also when they do not exist yet. Inside the folder, every write
//! is checked again by the [`OutDir`] to land inside it.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::outputs::output::OutDir;
use crate::pipeline::cache;
use crate::plan::{Resolved, resolve};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// What a command must never write into or over.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    /// The content folder, resolved.
    content: Option<PathBuf>,
    /// The image root, resolved.
    images: Option<PathBuf>,
    /// The configuration file, resolved.
    config_file: Option<PathBuf>,
}

impl Protected {
    /// What a site's build must never write over: its content folder, its
    /// image root and its configuration file.
    pub fn site(config: &Config) -> Protected {
        Protected {
            content: Some(real_path(&config.content)),
            images: Some(real_path(&config.images)),
            config_file: config.file.as_deref().map(real_path),
        }
    }

    /// Nothing beyond the folder itself: for writers whose only rule is to
    /// stay inside it (`synth` writing images into an image root).
    pub fn nothing() -> Protected {
        Protected::default()
    }

    /// The output folder `root`, created if needed, once it is known not to
    /// overlap anything protected.
    pub fn create(&self, root: &Path) -> Result<OutDir> {
        self.check_folder(root)?;
        OutDir::create(root)
    }

    /// The output folder `root` as it is (it may not exist), for commands
    /// that only read or remove there (`--dry-run`, `--check`, `clean`).
    pub fn existing(&self, root: &Path) -> Result<OutDir> {
        self.check_folder(root)?;
        Ok(OutDir::existing(root))
    }

    fn check_folder(&self, root: &Path) -> Result<()> {
        let out = real_path(root);
        let folders = [
            ("content folder", &self.content),
            ("image root", &self.images),
        ];
        for (name, dir) in folders.iter().filter_map(|(n, d)| Some((n, d.as_ref()?))) {
            let relation = if out == *dir {
                "is"
            } else if out.starts_with(dir) {
                "is inside"
            } else if dir.starts_with(&out) {
                "contains"
            } else {
                continue;
            };
            return Err(Error::Config {
                path: root.to_owned(),
                message: format!(
                    "the output folder {relation} the {name} ({}); outputs and removals there \
                     would overwrite or delete sources. Choose an output folder outside both \
                     (--out or `out:`)",
                    crate::outputs::names::path(dir)
                ),
            });
        }
        if let Some(file) = self.config_file.as_ref().filter(|f| f.starts_with(&out)) {
            return Err(Error::Config {
                path: root.to_owned(),
                message: format!(
                    "the output folder contains the configuration file ({}); choose an \
                     output folder that holds only what assetmill writes (--out or `out:`)",
                    crate::outputs::names::path(file)
                ),
            });
        }
        Ok(())
    }

    /// The `_data` copy of the asset map at `path`, once it is known to land
    /// on none of: a protected folder's file, a protected file, one of
    /// `pages`, the cache folder, the asset map or an output in `out`
    /// (`outputs`, relative to it), a folder, or a file assetmill did not
    /// write.
    pub fn data_copy<'p>(
        &self,
        path: &Path,
        pages: impl IntoIterator<Item = &'p Path>,
        out: &Path,
        map_path: &str,
        outputs: &BTreeSet<String>,
    ) -> Result<DataCopy> {
        let refuse = |why: String| {
            Err(Error::Config {
                path: path.to_owned(),
                message: format!("asset_map.data_copy {why}; choose another path"),
            })
        };
        let real = real_path(path);
        // The content folder may hold it (Jekyll's `_data/` sits among the
        // pages); the image root may not.
        if self.images.as_ref().is_some_and(|i| real.starts_with(i)) {
            return refuse("lies inside the image root, among the sources".into());
        }
        if self.config_file.as_ref() == Some(&real) {
            return refuse("is the configuration file".into());
        }
        if let Some(page) = pages.into_iter().find(|p| real_path(p) == real) {
            return refuse(format!("is the page {}", crate::outputs::names::path(page)));
        }
        let out_real = real_path(out);
        if real.starts_with(out_real.join(cache::DIR)) {
            return refuse("lies inside the cache folder".into());
        }
        if let Ok(rel) = real.strip_prefix(&out_real) {
            let rel = crate::outputs::names::slashed(rel);
            if outputs.contains(&rel) || rel == map_path {
                return refuse(format!("would overwrite the output `{rel}`"));
            }
        }
        match std::fs::symlink_metadata(&real) {
            Ok(meta) if meta.is_dir() => return refuse("is a folder".into()),
            Ok(_) if !written_by_assetmill(&real) => {
                return refuse(format!(
                    "names an existing file that assetmill did not write (its first line is \
                     not `{DATA_COPY_MARK}`), which would be overwritten; move that file away \
                     or"
                ));
            }
            _ => {}
        }
        Ok(DataCopy {
            path: path.to_owned(),
        })
    }
}

/// The first line of every `_data` copy: what wrote it, so that a later
/// build knows it may replace the file.
pub const DATA_COPY_MARK: &str = "# Written by assetmill (asset_map.data_copy): a copy of the asset map; every build rewrites it.";

/// Whether the file at `path` is a `_data` copy: it starts with the mark, or
/// (written before the mark) it is the asset map's YAML, which starts with
/// its `version` and then its `assets`.
fn written_by_assetmill(path: &Path) -> bool {
    let Ok(file) = crate::fsread::open_regular(path) else {
        return false;
    };
    let mut head = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(file, 4096), &mut head);
    let head = String::from_utf8_lossy(&head);
    if head.starts_with(DATA_COPY_MARK) {
        return true;
    }
    let mut lines = head.lines();
    let version = lines.next().and_then(|l| l.strip_prefix("version: "));
    version.is_some_and(|v| v.parse::<u32>().is_ok())
        && lines.next().is_some_and(|l| l.starts_with("assets:"))
}

/// The checked path of the asset map's YAML copy.
#[derive(Debug)]
pub struct DataCopy {
    path: PathBuf,
}

impl DataCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's text for the asset map's `yaml`: the mark, then the map.
    pub fn contents(yaml: &str) -> String {
        format!("{DATA_COPY_MARK}\n{yaml}")
    }

    /// Writes the copy of the asset map's `yaml` atomically.
    pub fn write(&self, yaml: &str) -> Result<()> {
        let text = Self::contents(yaml);
        crate::outputs::output::write_atomic(&self.path, text.as_bytes())
    }
}

/// Refuses an asset map path that is not a plain path in `out/`, lies in
/// the cache folder, or is also an output.
pub fn refuse_map_collisions(out: &Path, map_path: &str, outputs: &BTreeSet<String>) -> Result<()> {
    let refuse = |message: String| {
        Err(Error::Config {
            path: out.join(map_path),
            message,
        })
    };
    match resolve(map_path) {
        Ok(Resolved::Local(key)) if key == map_path => {}
        _ => {
            return refuse(
                "asset_map.path must be a plain relative path inside the output folder".into(),
            );
        }
    }
    if map_path == cache::DIR || map_path.starts_with(&format!("{}/", cache::DIR)) {
        return refuse("asset_map.path lies inside the cache folder `.assetmill`".into());
    }
    if outputs.contains(map_path) {
        return refuse(format!(
            "asset_map.path `{map_path}` is also the path of an output"
        ));
    }
    Ok(())
}

/// `path` as the file system resolves it: the longest existing ancestor
/// canonicalized (through symlinks), the rest appended with `.` and `..`
/// resolved lexically. Works for paths that do not exist yet.
pub fn real_path(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut result = real;
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        result.pop();
                    }
                    Component::Normal(name) => result.push(name),
                    _ => {}
                }
            }
            return result;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(root: &Path, out: &str) -> Config {
        Config {
            out: root.join(out),
            ..Config::for_site(root)
        }
    }

    fn refused(config: &Config) -> bool {
        Protected::site(config).existing(&config.out).is_err()
    }

    #[test]
    fn out_overlapping_sources_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("content")).unwrap();
        std::fs::create_dir_all(root.join("assets/sub")).unwrap();
        for bad in [
            "content",
            "assets",
            "assets/sub",
            "assets/new/deeper",
            ".",
            "content/../assets",
        ] {
            assert!(refused(&config(root, bad)), "{bad} accepted");
        }
        for good in ["out", "public/images", "assets-out"] {
            assert!(!refused(&config(root, good)), "{good}");
        }
        // Through a symlink: `link` points at the image root.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("assets"), root.join("link")).unwrap();
            assert!(refused(&config(root, "link/out")));
        }
        // The parent of the image root.
        let mut c = config(root, "site");
        c.images = root.join("site/assets");
        assert!(refused(&c));
        // A folder holding the configuration file.
        let mut c = config(root, "public");
        c.file = Some(root.join("public/assetmill.yml"));
        assert!(refused(&c));
        // Nothing is created by a refusal.
        assert!(!root.join("public").exists() && !root.join("site").exists());
    }

    #[test]
    fn map_and_data_copy_must_not_land_on_outputs_or_sources() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("assets")).unwrap();
        std::fs::create_dir_all(root.join("_data")).unwrap();
        let outputs: BTreeSet<String> = ["m/a.png".to_owned()].into();
        let out = root.join("out");
        assert!(refuse_map_collisions(&out, "assets.json", &outputs).is_ok());
        for bad in [
            "m/a.png",
            ".assetmill/cache.json",
            "../x.json",
            "/abs.json",
            "a//b",
        ] {
            assert!(refuse_map_collisions(&out, bad, &outputs).is_err(), "{bad}");
        }
        let mut c = config(root, "out");
        c.file = Some(root.join("assetmill.yml"));
        std::fs::write(root.join("assetmill.yml"), "out: out\n").unwrap();
        std::fs::write(root.join("page.md"), "---\ntitle: x\n---\n").unwrap();
        let protected = Protected::site(&c);
        let copy = |path: &str| {
            protected.data_copy(
                &root.join(path),
                [root.join("page.md").as_path()],
                &c.out,
                "assets.json",
                &outputs,
            )
        };
        for bad in [
            "out/m/a.png",
            "out/assets.json",
            "assets/data.yml",
            "out/.assetmill/x.yml",
            "assetmill.yml",
            "page.md",
            "_data",
        ] {
            assert!(copy(bad).is_err(), "{bad} accepted");
        }
        // A file of the user's is not replaced; one assetmill wrote is,
        // also one written before the mark.
        std::fs::write(root.join("_data/mine.yml"), "menu: [a, b]\n").unwrap();
        assert!(copy("_data/mine.yml").is_err());
        std::fs::write(root.join("_data/old.yml"), "version: 1\nassets:\n  a: {}\n").unwrap();
        assert!(copy("_data/old.yml").is_ok());
        let fresh = copy("_data/assets.yml").unwrap();
        fresh.write("version: 1\nassets: {}\n").unwrap();
        assert!(copy("_data/assets.yml").is_ok());
    }
}
