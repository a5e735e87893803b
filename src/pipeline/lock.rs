//! One build at a time per output folder: an OS file lock on
//! `out/.assetmill/lock`. The kernel releases it when the holder exits, even
//! on `kill -9`, so a dead build never blocks the next one.

use crate::error::{Error, Result};
use crate::outputs::output::OutDir;
use crate::pipeline::cache;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};

/// Held while a build or clean runs; released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock on `out`, waiting for a running build to finish;
    /// `on_wait` is told once who holds it.
    pub fn acquire(out: &OutDir, on_wait: &dyn Fn(&str)) -> Result<Lock> {
        let dir = cache::dir(out)?;
        let path = dir.join("lock");
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        // A `lock` planted as a link to a file elsewhere must not be
        // followed: taking the lock truncates the file.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(
            &mut options,
            rustix::fs::OFlags::NOFOLLOW.bits() as i32 | rustix::fs::OFlags::NONBLOCK.bits() as i32,
        );
        let mut file = options.open(&path).map_err(|e| Error::UnsafePath {
            path: path.clone(),
            message: format!("cannot open the lock file ({e}); it must be a regular file"),
        })?;
        if !file.metadata().map_err(|e| Error::io(&path, e))?.is_file() {
            return Err(Error::UnsafePath {
                path,
                message: "the lock file is not a regular file".into(),
            });
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another process".to_owned()
                } else {
                    format!("process {holder}")
                };
                on_wait(&format!(
                    "waiting: {who} is building into {} (lock {})",
                    out.root().display(),
                    path.display()
                ));
                file.lock().map_err(|e| Error::io(&path, e))?;
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        // Record who holds it, for the message a second build shows.
        file.set_len(0).map_err(|e| Error::io(&path, e))?;
        file.rewind().map_err(|e| Error::io(&path, e))?;
        write!(file, "{}", std::process::id()).map_err(|e| Error::io(&path, e))?;
        Ok(Lock { _file: file })
    }
}
