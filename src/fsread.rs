//! Reading input files safely: only regular files are read. A FIFO, socket
//! or device named as an image or lying among the pages would block `open`
//! or `read` forever (or read without end), so the file is opened
//! non-blocking, checked with `fstat` on the open handle (no race between a
//! check and the open), and read only if it is a regular file, up to a
//! size limit.
//!
//! Files inside a folder someone else shaped (a shard folder, a cache
//! restored by CI) are opened with [`open_inside`]: no symbolic link below
//! that folder is followed, neither the file nor any folder on the way, so
//! a planted link cannot make assetmill read (and publish) a file elsewhere.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The path does not exist.
    Missing,
    /// It exists but is not a regular file (folder, FIFO, socket, device).
    NotRegular(&'static str),
    /// It is larger than the caller allows.
    TooBig { bytes: u64, limit: u64 },
    /// `at` (the file or a folder on the way to it, relative to the
    /// folder it was opened inside) is a symbolic link, or a folder on the
    /// way is not a folder ([`open_inside`]).
    Link { at: String },
    /// Any other failure.
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing => f.write_str("file not found"),
            ReadError::NotRegular(kind) => {
                write!(
                    f,
                    "is {kind}, not a regular file; only regular files are read"
                )
            }
            ReadError::TooBig { bytes, limit } => {
                write!(f, "file is {bytes} bytes, over the limit of {limit} bytes")
            }
            ReadError::Link { at } => write!(
                f,
                "`{at}` is a symbolic link (or not a folder), and links there are not followed"
            ),
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

/// What kind of non-regular file a file type is, for messages.
pub fn kind_name(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading without ever blocking on a FIFO or device,
/// and returns it only if the open handle is a regular file.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // O_NONBLOCK: opening a FIFO with no writer returns at once.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        rustix::fs::OFlags::NONBLOCK.bits() as i32,
    );
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::Missing),
        Err(e) => return Err(ReadError::Io(e)),
    };
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_name(&meta.file_type())));
    }
    Ok(file)
}

/// Reads a regular file whole, refusing anything else and anything larger
/// than `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_open(open_regular(path)?, limit)
}

/// [`read_regular`] of `rel` inside `root`, through [`open_inside`].
pub fn read_inside(root: &Path, rel: &str, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_open(open_inside(root, rel)?, limit)
}

/// Opens `rel` (a `/`-separated relative path) inside the folder `root`
/// without following a symbolic link anywhere below `root` (`root` itself
/// may be one), and returns it only if it is a regular file. Each folder on
/// the way is opened with `O_NOFOLLOW | O_DIRECTORY` relative to the one
/// before (`openat`), and the file with `O_NOFOLLOW | O_NONBLOCK`, so a
/// folder swapped for a link while assetmill reads cannot redirect it.
#[cfg(unix)]
pub fn open_inside(root: &Path, rel: &str) -> Result<File, ReadError> {
    use rustix::fs::{Mode, OFlags, openat};
    use rustix::io::Errno;
    let parts = plain_parts(rel)?;
    let (name, folders) = parts.split_last().expect("split yields one part");
    let refused = |e: Errno, upto: usize| match e {
        Errno::NOENT => ReadError::Missing,
        Errno::LOOP | Errno::NOTDIR => ReadError::Link {
            at: parts[..=upto].join("/"),
        },
        e => ReadError::Io(e.into()),
    };
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut dir = rustix::fs::open(root, dir_flags, Mode::empty()).map_err(|e| match e {
        Errno::NOENT => ReadError::Missing,
        e => ReadError::Io(e.into()),
    })?;
    for (i, part) in folders.iter().enumerate() {
        dir = openat(&dir, *part, dir_flags | OFlags::NOFOLLOW, Mode::empty())
            .map_err(|e| refused(e, i))?;
    }
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = File::from(
        openat(&dir, *name, flags, Mode::empty()).map_err(|e| refused(e, folders.len()))?,
    );
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_name(&meta.file_type())));
    }
    Ok(file)
}

/// Without `openat`: every component is checked not to be a link just
/// before the open (a race remains that the Unix version does not have).
#[cfg(not(unix))]
pub fn open_inside(root: &Path, rel: &str) -> Result<File, ReadError> {
    let parts = plain_parts(rel)?;
    let mut path = root.to_owned();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(ReadError::Link {
                    at: parts[..=i].join("/"),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::Missing),
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    open_regular(&path)
}

/// The parts of a plain relative path; `..`, `.`, empty parts and NUL are
/// refused (`openat` would leave the folder through `..`).
fn plain_parts(rel: &str) -> Result<Vec<&str>, ReadError> {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
    {
        return Err(ReadError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{rel}` is not a plain relative path"),
        )));
    }
    Ok(parts)
}

fn read_open(file: File, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = file.metadata().map_err(ReadError::Io)?;
    if meta.len() > limit {
        return Err(ReadError::TooBig {
            bytes: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // `take` bounds the read even if the file grows while it is read.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooBig {
            bytes: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// How a file compares with what was recorded of it ([`compare`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The recorded size and hash.
    Same,
    /// Another size (from `fstat`; or it grew while it was read).
    Size(u64),
    /// The recorded size, another hash.
    Content,
}

/// Why [`compare`] could not finish.
#[derive(Debug)]
pub enum StreamError {
    /// Reading the file failed.
    Read(io::Error),
    /// `copy` failed.
    Copy(io::Error),
}

/// Compares an open file with a record of it: `bytes` long, with
/// [`crate::outputs::assetmap::hash`] `hash`. The size on the open handle is
/// compared first, so a file of another size (a sparse 64 GiB one, say) is
/// told apart without reading a byte; then it is [`stream`]ed through the
/// hash, each piece also handed to `copy`, and never more than `bytes` are
/// read. So memory stays bounded and time follows the record, whatever the
/// file. With [`Verdict::Same`], `copy` was given exactly the recorded
/// bytes.
pub fn compare(
    file: &mut File,
    bytes: u64,
    hash: &str,
    copy: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<Verdict, StreamError> {
    let len = file.metadata().map_err(StreamError::Read)?.len();
    if len != bytes {
        return Ok(Verdict::Size(len));
    }
    let (seen, actual) = stream(file, bytes, copy)?;
    Ok(if seen != bytes {
        Verdict::Size(seen)
    } else if actual != hash {
        Verdict::Content
    } else {
        Verdict::Same
    })
}

/// Reads `file` to its end in 64 KiB pieces, hashing them
/// ([`crate::outputs::assetmap::hash`]) and handing each to `each`; stops after
/// `limit` bytes and one more piece. Returns the bytes read and their hash.
pub fn stream(
    file: &mut File,
    limit: u64,
    each: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> Result<(u64, String), StreamError> {
    let mut hasher = crate::outputs::assetmap::Hasher::default();
    let mut buf = vec![0u8; 64 << 10];
    let mut seen = 0u64;
    while seen <= limit {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StreamError::Read(e)),
        };
        seen += n as u64;
        if seen > limit {
            break;
        }
        hasher.update(&buf[..n]);
        each(&buf[..n]).map_err(StreamError::Copy)?;
    }
    Ok((seen, hasher.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_regular_files_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.png");
        std::fs::write(&file, b"12345").unwrap();
        assert_eq!(read_regular(&file, 10).unwrap(), b"12345");
        assert!(matches!(
            read_regular(&file, 4),
            Err(ReadError::TooBig { bytes: 5, limit: 4 })
        ));
        assert!(matches!(
            read_regular(&dir.path().join("none"), 10),
            Err(ReadError::Missing)
        ));
        assert!(matches!(
            read_regular(dir.path(), 10),
            Err(ReadError::NotRegular("a folder"))
        ));
    }

    #[test]
    fn compares_size_before_reading_then_streams_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.gif");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let hash = crate::outputs::assetmap::hash(&bytes);
        let mut copied = Vec::new();
        let verdict = compare(
            &mut File::open(&path).unwrap(),
            bytes.len() as u64,
            &hash,
            &mut |piece| {
                copied.extend_from_slice(piece);
                Ok(())
            },
        );
        assert_eq!(verdict.unwrap(), Verdict::Same);
        assert_eq!(copied, bytes);
        let mut none = |_: &[u8]| -> io::Result<()> { panic!("nothing may be read") };
        let len = bytes.len() as u64;
        assert_eq!(
            compare(&mut File::open(&path).unwrap(), len - 1, &hash, &mut none).unwrap(),
            Verdict::Size(len)
        );
        let other = crate::outputs::assetmap::hash(b"other");
        let mut ignore = |_: &[u8]| Ok(());
        assert_eq!(
            compare(&mut File::open(&path).unwrap(), len, &other, &mut ignore).unwrap(),
            Verdict::Content
        );
        // A huge sparse file is told apart by its size alone, at once.
        let sparse = dir.path().join("sparse.gif");
        File::create(&sparse).unwrap().set_len(64 << 30).unwrap();
        assert_eq!(
            compare(&mut File::open(&sparse).unwrap(), 10, &hash, &mut none).unwrap(),
            Verdict::Size(64 << 30)
        );
        // A failing copy stops it.
        let mut failing = |_: &[u8]| Err(io::Error::other("disk full"));
        assert!(matches!(
            compare(&mut File::open(&path).unwrap(), len, &hash, &mut failing),
            Err(StreamError::Copy(_))
        ));
    }

    #[cfg(unix)]
    #[test]
    fn inside_a_folder_no_link_is_followed() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("shard");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/c.png"), b"made").unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(elsewhere.join("b")).unwrap();
        std::fs::write(elsewhere.join("b/c.png"), b"secret").unwrap();
        assert_eq!(read_inside(&root, "a/b/c.png", 10).unwrap(), b"made");
        // The root itself may be a link.
        symlink(&root, dir.path().join("root-link")).unwrap();
        assert_eq!(
            read_inside(&dir.path().join("root-link"), "a/b/c.png", 10).unwrap(),
            b"made"
        );
        // A file that is a link, and a folder on the way that is one.
        symlink(elsewhere.join("b/c.png"), root.join("a/b/d.png")).unwrap();
        symlink(&elsewhere, root.join("x")).unwrap();
        std::fs::write(root.join("a/plain"), b"").unwrap();
        for (rel, at) in [
            ("a/b/d.png", "a/b/d.png"),
            ("x/b/c.png", "x"),
            ("a/plain/c.png", "a/plain"),
        ] {
            match read_inside(&root, rel, 10) {
                Err(ReadError::Link { at: got }) => assert_eq!(got, at, "{rel}"),
                other => panic!("{rel}: {other:?}"),
            }
        }
        for bad in [
            "../elsewhere/b/c.png",
            "a/../a/b/c.png",
            "/a/b/c.png",
            "a//b/c.png",
            "",
        ] {
            assert!(
                matches!(read_inside(&root, bad, 10), Err(ReadError::Io(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            read_inside(&root, "a/none.png", 10),
            Err(ReadError::Missing)
        ));
        assert!(matches!(
            read_inside(&root, "a/b", 10),
            Err(ReadError::NotRegular("a folder"))
        ));
        assert!(matches!(
            read_inside(&root, "a/b/c.png", 3),
            Err(ReadError::TooBig { bytes: 4, limit: 3 })
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("frame.png");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let err = read_regular(&fifo, 1 << 20).unwrap_err();
        assert!(
            matches!(err, ReadError::NotRegular(k) if k.contains("FIFO")),
            "{err}"
        );
    }
}
