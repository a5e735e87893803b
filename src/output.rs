//! Writing into the output folder: every path is checked to lie inside it
//! (also through symlinked folders), and every file is written to a temp
//! file in its destination folder and renamed into place, so no final path
//! ever holds a partial file.

use crate::error::{Error, Result};
use crate::plan::{Resolved, resolve};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The output folder.
#[derive(Debug)]
pub struct OutDir {
    root: PathBuf,
    canonical: PathBuf,
    /// Folders already created and checked this run: thousands of outputs
    /// share a few folders, and resolving each one's path costs syscalls.
    verified: Mutex<HashSet<PathBuf>>,
}

impl OutDir {
    /// Creates the folder if needed.
    pub fn create(root: &Path) -> Result<OutDir> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        let canonical = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        Ok(OutDir {
            root: root.to_owned(),
            canonical,
            verified: Mutex::default(),
        })
    }

    /// The folder, which may not exist yet (for dry runs: nothing is
    /// written through it).
    pub fn existing(root: &Path) -> OutDir {
        OutDir {
            root: root.to_owned(),
            canonical: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned()),
            verified: Mutex::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The final path of `rel` (a `/`-separated path inside the folder),
    /// refusing anything that would land outside it.
    pub fn path(&self, rel: &str) -> Result<PathBuf> {
        match resolve(rel) {
            Ok(Resolved::Local(key)) if key == rel => Ok(self.root.join(rel)),
            _ => Err(Error::UnsafePath {
                path: self.root.join(rel),
                message: "output path is not a plain path inside the output folder".into(),
            }),
        }
    }

    /// Writes `bytes` at `rel` atomically; returns the final path.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.path(rel)?;
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        let known = self.lock_verified().contains(&dir);
        if known {
            write_temp_and_rename(&path, &dir, bytes)?;
        } else {
            write_atomic(&path, bytes, Some(&self.canonical))?;
            self.lock_verified().insert(dir);
        }
        Ok(path)
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, HashSet<PathBuf>> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes through a temp file in the destination folder and a rename. With
/// `inside`, the destination folder must resolve to a path inside it.
pub fn write_atomic(path: &Path, bytes: &[u8], inside: Option<&Path>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    if let Some(root) = inside {
        let real = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
        if !real.starts_with(root) {
            return Err(Error::UnsafePath {
                path: path.to_owned(),
                message: format!(
                    "folder resolves outside the output folder (to {})",
                    real.display()
                ),
            });
        }
    }
    write_temp_and_rename(path, dir, bytes)
}

/// The write itself: a temp file in `dir`, then a rename over `path`.
fn write_temp_and_rename(path: &Path, dir: &Path, bytes: &[u8]) -> Result<()> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".assetmill-").suffix(".tmp");
    // Outputs are published files: readable by all, like any file a site
    // generator writes (temp files default to owner-only).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut temp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    temp.write_all(bytes)
        .map_err(|e| Error::io(temp.path(), e))?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// `dir/X.png` → `dir/X{suffix}.png`; `ext` replaces the extension if given.
pub fn with_suffix(key: &str, suffix: &str, ext: Option<&str>) -> String {
    let (dir, name) = key.rsplit_once('/').map_or(("", key), |(d, n)| (d, n));
    let (stem, old_ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let ext = ext.unwrap_or(old_ext);
    let file = if ext.is_empty() {
        format!("{stem}{suffix}")
    } else {
        format!("{stem}{suffix}.{ext}")
    };
    if dir.is_empty() {
        file
    } else {
        format!("{dir}/{file}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_goes_before_the_extension() {
        assert_eq!(
            with_suffix("a/b/X-1.png", "-thumb", None),
            "a/b/X-1-thumb.png"
        );
        assert_eq!(with_suffix("X.gif", "-sprite", Some("png")), "X-sprite.png");
        assert_eq!(with_suffix("a.b/c", "-t", None), "a.b/c-t");
        assert_eq!(
            with_suffix("d/Name with space.PNG", "-thumb", None),
            "d/Name with space-thumb.PNG"
        );
    }

    #[test]
    fn writes_inside_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::create(&dir.path().join("out")).unwrap();
        let path = out.write("a/b.txt", b"hi").unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"hi");
        assert!(out.write("../x.txt", b"no").is_err());
        assert!(out.write("/tmp/x.txt", b"no").is_err());
        assert!(!dir.path().join("x.txt").exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out/a"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinked_folders_leading_out() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::create(&dir.path().join("out")).unwrap();
        std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("out/link"))
            .unwrap();
        assert!(out.write("link/x.png", b"no").is_err());
        assert!(!dir.path().join("elsewhere/x.png").exists());
    }
}
