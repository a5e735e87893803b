//! Writing into and removing from the output folder.
//!
//! Every path is checked to lie inside it (also through symlinked folders),
//! and every file is written to a temp file in its destination folder and
//! renamed into place, so no final path ever holds a partial file.
//!
//! Removal (stale outputs, `clean`, leftover temp files) never follows a
//! symbolic link: the folders between `out/` and the file are opened one at
//! a time with `O_NOFOLLOW` (`openat`), the file is checked to be a regular
//! file on that open folder, and unlinked there, so a folder replaced by a
//! link to elsewhere, even while a build runs, can never make assetmill
//! delete a file outside `out/`. What cannot be removed safely is left in
//! place and reported.

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
    /// Creates the folder if needed. Only [`super::guard`] makes an
    /// `OutDir`, after checking the folder is safe to write into.
    pub(super) fn create(root: &Path) -> Result<OutDir> {
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
    pub(super) fn existing(root: &Path) -> OutDir {
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
        inside(&self.root, rel)
    }

    /// Removes the regular file at `rel` without following any symbolic
    /// link, then the folders it leaves empty (never `out/` itself). With
    /// `dry_run`, only checks that it would be removed.
    pub fn remove(&self, rel: &str, dry_run: bool) -> Result<Removal> {
        self.path(rel)?;
        remove_inside(&self.root, rel, dry_run)
    }

    /// Writes `bytes` at `rel` atomically; returns the final path. The
    /// folders on the way are created one at a time, and one that is a
    /// symbolic link (or not a folder) is refused, so nothing, not even an
    /// empty folder, is made outside the output folder.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<PathBuf> {
        self.write_with(rel, &mut |file| {
            file.write_all(bytes)
                .map_err(|e| write_error(&self.root.join(rel), e))
        })
    }

    /// Writes `rel` atomically from what `fill` writes into the temp file
    /// (for a file streamed from elsewhere); returns the final path. When
    /// `fill` fails, the temp file is removed and nothing is renamed into
    /// place.
    pub fn write_with(
        &self,
        rel: &str,
        fill: &mut dyn FnMut(&mut std::fs::File) -> Result<()>,
    ) -> Result<PathBuf> {
        let path = self.path(rel)?;
        let dir = path.parent().unwrap_or(&self.root).to_owned();
        let known = self.lock_verified().contains(&dir);
        if !known {
            self.make_folders(rel)?;
            // Also a check of what the walk cannot see: `out/` itself
            // moved, or a folder swapped for a link meanwhile.
            let real = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
            if !real.starts_with(&self.canonical) {
                return Err(Error::UnsafePath {
                    path,
                    message: format!(
                        "folder resolves outside the output folder (to {})",
                        crate::outputs::names::path(&real)
                    ),
                });
            }
            self.lock_verified().insert(dir.clone());
        }
        fill_temp_and_rename(&path, &dir, fill)?;
        Ok(path)
    }

    /// Creates the folders of the plain path `rel` below the root, never
    /// through a symbolic link.
    fn make_folders(&self, rel: &str) -> Result<()> {
        let parts: Vec<&str> = rel.split('/').collect();
        let mut folder = self.root.clone();
        for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
            folder.push(part);
            let meta = match std::fs::symlink_metadata(&folder) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    match std::fs::create_dir(&folder) {
                        Ok(()) => continue,
                        // Made by another writer meanwhile: look again.
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            std::fs::symlink_metadata(&folder)
                        }
                        Err(e) => return Err(Error::io(&folder, e)),
                    }
                }
                other => other,
            };
            match meta {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(refuse(
                        &self.root,
                        rel,
                        format!(
                            "not written: `{}` in the output folder is a symbolic link or not \
                             a folder, and assetmill never writes through one",
                            parts[..=i].join("/")
                        ),
                    ));
                }
                Err(e) => return Err(Error::io(&folder, e)),
            }
        }
        Ok(())
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, HashSet<PathBuf>> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `root` joined with `rel`, which must be a plain `/`-separated relative
/// path (no `..`, no root, no empty or `.` parts): one that cannot leave
/// `root` lexically. (Links are the writer's and remover's to refuse.)
pub fn inside(root: &Path, rel: &str) -> Result<PathBuf> {
    match resolve(rel) {
        Ok(Resolved::Local(key)) if key == rel => Ok(root.join(rel)),
        _ => Err(Error::UnsafePath {
            path: root.join(rel),
            message: "output path is not a plain path inside the output folder".into(),
        }),
    }
}

/// What [`OutDir::remove`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Nothing was there.
    Absent,
}

fn refuse(root: &Path, rel: &str, message: String) -> Error {
    Error::UnsafePath {
        path: root.join(rel),
        message,
    }
}

#[cfg(unix)]
fn remove_inside(root: &Path, rel: &str, dry_run: bool) -> Result<Removal> {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags, openat, statat, unlinkat};
    use rustix::io::Errno;
    let io = |e: Errno| Error::io(root.join(rel), std::io::Error::from(e));
    let parts: Vec<&str> = rel.split('/').collect();
    let (name, folders) = parts.split_last().expect("a checked path has a file name");
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    // `out/` itself may be a link (an output folder on another disk); what
    // lies below it may not.
    let mut dirs = vec![match rustix::fs::open(root, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(Removal::Absent),
        Err(e) => return Err(io(e)),
    }];
    for (i, part) in folders.iter().enumerate() {
        let parent = dirs.last().expect("root is open");
        match openat(parent, *part, flags | OFlags::NOFOLLOW, Mode::empty()) {
            Ok(fd) => dirs.push(fd),
            Err(Errno::NOENT) => return Ok(Removal::Absent),
            Err(Errno::LOOP | Errno::NOTDIR) => {
                let folder = parts[..=i].join("/");
                return Err(refuse(
                    root,
                    rel,
                    format!(
                        "not removed: `{folder}` in the output folder is a symbolic link or \
                         not a folder, and assetmill never removes through one"
                    ),
                ));
            }
            Err(e) => return Err(io(e)),
        }
    }
    let dir = dirs.last().expect("root is open");
    let stat = match statat(dir, *name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(Errno::NOENT) => return Ok(Removal::Absent),
        Err(e) => return Err(io(e)),
    };
    let kind = FileType::from_raw_mode(stat.st_mode);
    if kind != FileType::RegularFile {
        let what = match kind {
            FileType::Symlink => "a symbolic link",
            FileType::Directory => "a folder",
            _ => "not a regular file",
        };
        return Err(refuse(
            root,
            rel,
            format!("not removed: it is {what}, not a file assetmill wrote"),
        ));
    }
    if dry_run {
        return Ok(Removal::Removed);
    }
    unlinkat(dir, *name, AtFlags::empty()).map_err(io)?;
    // Prune the folders this left empty, innermost first, each through its
    // already-open parent.
    for i in (0..folders.len()).rev() {
        if unlinkat(&dirs[i], folders[i], AtFlags::REMOVEDIR).is_err() {
            break;
        }
    }
    Ok(Removal::Removed)
}

#[cfg(not(unix))]
fn remove_inside(root: &Path, rel: &str, dry_run: bool) -> Result<Removal> {
    // Without openat, check every component just before the unlink.
    let parts: Vec<&str> = rel.split('/').collect();
    let mut path = root.to_owned();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Absent),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let last = i + 1 == parts.len();
        if meta.file_type().is_symlink() || (last && !meta.is_file()) || (!last && !meta.is_dir()) {
            return Err(refuse(
                root,
                rel,
                format!(
                    "not removed: `{}` is a symbolic link or of the wrong kind",
                    parts[..=i].join("/")
                ),
            ));
        }
    }
    if dry_run {
        return Ok(Removal::Removed);
    }
    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(Removal::Removed)
}

/// Writes a file outside any output folder (the checked `_data` copy)
/// through a temp file in its folder and a rename.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    fill_temp_and_rename(path, dir, &mut |file| {
        file.write_all(bytes).map_err(|e| write_error(path, e))
    })
}

/// A failed write of the output `path`: the error names it, not the temp
/// file (tempfile adds the temp file's name to its errors), with the OS's
/// own error.
pub fn write_error(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        path: path.to_owned(),
        source: match os_error_code(&source) {
            Some(code) => std::io::Error::from_raw_os_error(code),
            None => std::io::Error::new(source.kind(), source.kind().to_string()),
        },
    }
}

/// The write itself: a temp file in `dir` that `fill` writes, then a rename
/// over `path`. Every failure (a full disk, say) names the file it was for,
/// and the temp file is removed.
fn fill_temp_and_rename(
    path: &Path,
    dir: &Path,
    fill: &mut dyn FnMut(&mut std::fs::File) -> Result<()>,
) -> Result<()> {
    let failed = |source: std::io::Error| write_error(path, source);
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    // Outputs are published files: readable by all, like any file a site
    // generator writes (temp files default to owner-only).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut temp = builder.tempfile_in(dir).map_err(failed)?;
    // The file itself, not tempfile's wrapper, so errors stay the OS's own.
    fill(temp.as_file_mut())?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// The OS error code of an error, also when tempfile wrapped it.
fn os_error_code(e: &std::io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        let inner = std::error::Error::source(e.get_ref()?)?;
        inner.downcast_ref::<std::io::Error>()?.raw_os_error()
    })
}

/// Temp files are named `.assetmill-XXXXXX.tmp`; only such names are ever
/// swept.
pub const TEMP_PREFIX: &str = ".assetmill-";
pub const TEMP_SUFFIX: &str = ".tmp";

/// Relative paths of the temp files a killed run left in `out/`, found
/// without following links (a linked folder is not entered).
pub fn leftover_temp_files(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, rel: &str, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            match entry.file_type() {
                Ok(t) if t.is_dir() => walk(&entry.path(), &child, found),
                Ok(t)
                    if t.is_file()
                        && name.starts_with(TEMP_PREFIX)
                        && name.ends_with(TEMP_SUFFIX) =>
                {
                    found.push(child)
                }
                _ => {}
            }
        }
    }
    let mut found = Vec::new();
    walk(root, "", &mut found);
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn removal_never_follows_a_symlinked_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::create(&dir.path().join("out")).unwrap();
        out.write("muscles/a.png", b"made").unwrap();
        out.write("keep/b.png", b"made").unwrap();
        // A folder inside out/ replaced by a link to a folder elsewhere.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("a.png"), b"precious").unwrap();
        std::fs::remove_dir_all(dir.path().join("out/muscles")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("out/muscles")).unwrap();
        for dry_run in [true, false] {
            let err = out
                .remove("muscles/a.png", dry_run)
                .unwrap_err()
                .to_string();
            assert!(err.contains("symbolic link"), "{err}");
        }
        assert_eq!(std::fs::read(elsewhere.join("a.png")).unwrap(), b"precious");
        // A file replaced by a link is not removed either, nor its target.
        std::fs::remove_file(dir.path().join("out/keep/b.png")).unwrap();
        std::os::unix::fs::symlink(elsewhere.join("a.png"), dir.path().join("out/keep/b.png"))
            .unwrap();
        assert!(out.remove("keep/b.png", false).is_err());
        assert_eq!(std::fs::read(elsewhere.join("a.png")).unwrap(), b"precious");
        // Paths from a tampered cache are refused before anything is opened.
        for bad in ["../elsewhere/a.png", "/etc/passwd", "a/../../x", "", "a//b"] {
            assert!(out.remove(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn removal_prunes_empty_folders_but_not_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutDir::create(&dir.path().join("out")).unwrap();
        out.write("a/b/c.png", b"x").unwrap();
        out.write("a/d.png", b"x").unwrap();
        assert_eq!(out.remove("a/b/c.png", true).unwrap(), Removal::Removed);
        assert!(dir.path().join("out/a/b/c.png").exists());
        assert_eq!(out.remove("a/b/c.png", false).unwrap(), Removal::Removed);
        assert!(!dir.path().join("out/a/b").exists());
        assert!(dir.path().join("out/a/d.png").exists());
        assert_eq!(out.remove("a/b/c.png", false).unwrap(), Removal::Absent);
        assert_eq!(out.remove("a/d.png", false).unwrap(), Removal::Removed);
        assert!(!dir.path().join("out/a").exists());
        assert!(dir.path().join("out").is_dir());
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
