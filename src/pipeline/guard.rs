//! Checks made before a build or `clean` writes or removes anything: the
//! output folder must not be, contain or lie inside the content folder or
//! the image root (optimized copies keep their sources' names, so such an
//! `out` would overwrite sources, and stale removal would delete them), and
//! the asset map and its `_data` copy must not land on an output, a source,
//! a page or the cache folder. Paths are compared as the file system
//! resolves them (through symlinks), also when `out` does not exist yet.

use crate::cache;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::plan::{Resolved, resolve};
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// Refuses an output folder that overlaps the sources, and a `_data` copy
/// that would overwrite a source or a page or land in the cache folder.
pub fn refuse_overlaps(config: &Config, manifest: &Manifest) -> Result<()> {
    let out = real_path(&config.out);
    for (name, dir) in [
        ("content folder", &config.content),
        ("image root", &config.images),
    ] {
        let dir = real_path(dir);
        let relation = if out == dir {
            "is"
        } else if out.starts_with(&dir) {
            "is inside"
        } else if dir.starts_with(&out) {
            "contains"
        } else {
            continue;
        };
        return Err(Error::Config {
            path: config.out.clone(),
            message: format!(
                "the output folder {relation} the {name} ({}); outputs and removals there \
                 would overwrite or delete sources. Choose an output folder outside both \
                 (--out or `out:`)",
                dir.display()
            ),
        });
    }
    if let Some(copy) = &config.asset_map.data_copy {
        let real = real_path(copy);
        let refuse = |why: String| {
            Err(Error::Config {
                path: copy.clone(),
                message: format!("asset_map.data_copy {why}; choose another path"),
            })
        };
        if real.starts_with(real_path(&config.images)) {
            return refuse("lies inside the image root, among the sources".into());
        }
        if real.starts_with(out.join(cache::DIR)) {
            return refuse("lies inside the cache folder".into());
        }
        if let Some(page) = manifest.pages.iter().find(|p| real_path(&p.path) == real) {
            return refuse(format!("is the page {}", page.path.display()));
        }
        if real.is_dir() {
            return refuse("is a folder".into());
        }
    }
    Ok(())
}

/// Refuses an asset map path that is not a plain path in `out/`, lies in
/// the cache folder, or is also an output; and a `_data` copy that is an
/// output.
pub fn refuse_map_collisions(
    config: &Config,
    map_path: &str,
    outputs: &BTreeSet<String>,
) -> Result<()> {
    let refuse = |path: PathBuf, message: String| Err(Error::Config { path, message });
    let map = config.out.join(map_path);
    match resolve(map_path) {
        Ok(Resolved::Local(key)) if key == map_path => {}
        _ => {
            return refuse(
                map,
                "asset_map.path must be a plain relative path inside the output folder".into(),
            );
        }
    }
    if map_path == cache::DIR || map_path.starts_with(&format!("{}/", cache::DIR)) {
        return refuse(
            map,
            "asset_map.path lies inside the cache folder `.assetmill`".into(),
        );
    }
    if outputs.contains(map_path) {
        return refuse(
            map,
            format!("asset_map.path `{map_path}` is also the path of an output"),
        );
    }
    if let Some(copy) = &config.asset_map.data_copy {
        let real = real_path(copy);
        let out = real_path(&config.out);
        if let Ok(rel) = real.strip_prefix(&out) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            if outputs.contains(&rel) || rel == map_path {
                return refuse(
                    copy.clone(),
                    format!("asset_map.data_copy would overwrite the output `{rel}`"),
                );
            }
        }
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

    #[test]
    fn out_overlapping_sources_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("content")).unwrap();
        std::fs::create_dir_all(root.join("assets/sub")).unwrap();
        let manifest = Manifest::default();
        for bad in [
            "content",
            "assets",
            "assets/sub",
            "assets/new/deeper",
            ".",
            "content/../assets",
        ] {
            let err = refuse_overlaps(&config(root, bad), &manifest);
            assert!(err.is_err(), "{bad} accepted");
        }
        for good in ["out", "public/images", "assets-out"] {
            assert!(
                refuse_overlaps(&config(root, good), &manifest).is_ok(),
                "{good}"
            );
        }
        // Through a symlink: `link` points at the image root.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("assets"), root.join("link")).unwrap();
            assert!(refuse_overlaps(&config(root, "link/out"), &manifest).is_err());
        }
        // The parent of the image root.
        let mut c = config(root, "site");
        c.images = root.join("site/assets");
        assert!(refuse_overlaps(&c, &manifest).is_err());
    }

    #[test]
    fn map_and_data_copy_must_not_land_on_outputs_or_sources() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("assets")).unwrap();
        let outputs: BTreeSet<String> = ["m/a.png".to_owned()].into();
        let c = config(root, "out");
        assert!(refuse_map_collisions(&c, "assets.json", &outputs).is_ok());
        for bad in [
            "m/a.png",
            ".assetmill/cache.json",
            "../x.json",
            "/abs.json",
            "a//b",
        ] {
            assert!(refuse_map_collisions(&c, bad, &outputs).is_err(), "{bad}");
        }
        let mut c = config(root, "out");
        c.asset_map.data_copy = Some(root.join("out/m/a.png"));
        assert!(refuse_map_collisions(&c, "assets.json", &outputs).is_err());
        c.asset_map.data_copy = Some(root.join("assets/data.yml"));
        assert!(refuse_overlaps(&c, &Manifest::default()).is_err());
        c.asset_map.data_copy = Some(root.join("out/.assetmill/x.yml"));
        assert!(refuse_overlaps(&c, &Manifest::default()).is_err());
        c.asset_map.data_copy = Some(root.join("_data/assets.yml"));
        assert!(refuse_overlaps(&c, &Manifest::default()).is_ok());
    }
}
