//! The one error type of assetmill. Every variant names the file it is
//! about, so a message can always be traced to a path; [`Error::detail`]
//! gives the same message without the path, for reports that already name
//! the page and line where the file is referenced. Paths in messages are
//! written by [`names`](crate::names)' rule, and the whole `Display` line
//! in its text form, so an error is one line that nothing can spoof.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, each with the path it concerns.
/// Non-exhaustive: a later release may add kinds of failure, so a caller's
/// `match` needs a `_` arm (or uses [`Error::path`] and `Display`).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    Io { path: PathBuf, source: io::Error },
    /// The configuration file or a command-line value is unusable.
    Config { path: PathBuf, message: String },
    /// A page's front matter is not valid YAML, or not shaped as expected.
    FrontMatter {
        path: PathBuf,
        line: usize,
        column: Option<usize>,
        message: String,
    },
    /// A referenced image does not exist.
    Missing { path: PathBuf },
    /// A referenced image is a zero-byte file.
    Empty { path: PathBuf },
    /// The file's content is not the format its extension names.
    FormatMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// The image header claims dimensions beyond the configured limits.
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        limit: String,
    },
    /// The image cannot be decoded (truncated, corrupt, unsupported).
    Decode { path: PathBuf, message: String },
    /// A path in front matter or on disk that assetmill refuses to follow.
    UnsafePath { path: PathBuf, message: String },
    /// Producing an output failed.
    Encode { path: PathBuf, message: String },
    /// Writing an output failed (a full disk, say); the path is the output.
    Write { path: PathBuf, source: io::Error },
    /// An internal error (a panic) while making the outputs of this file.
    Internal { path: PathBuf, message: String },
    /// A source whose bytes changed between the build hashing it and
    /// decoding it (saved while the build ran).
    Changed { path: PathBuf },
    /// Shard folders that cannot be merged (missing, overlapping, or from
    /// another build); the path is the shard folder.
    Merge { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn decode(path: impl Into<PathBuf>, message: impl fmt::Display) -> Self {
        Error::Decode {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// The file this error is about.
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::Config { path, .. }
            | Error::FrontMatter { path, .. }
            | Error::Missing { path }
            | Error::Changed { path }
            | Error::Empty { path }
            | Error::FormatMismatch { path, .. }
            | Error::TooLarge { path, .. }
            | Error::Decode { path, .. }
            | Error::UnsafePath { path, .. }
            | Error::Encode { path, .. }
            | Error::Write { path, .. }
            | Error::Internal { path, .. }
            | Error::Merge { path, .. } => path,
        }
    }

    /// The message without the path.
    pub fn detail(&self) -> String {
        match self {
            Error::Io { source, .. } => source.to_string(),
            // Shown at the page line that asked for the output, so the
            // message names the output itself.
            Error::Write { path, source } => {
                format!(
                    "cannot write {}: {source}",
                    crate::outputs::names::path(path)
                )
            }
            Error::Internal { message, .. } => {
                format!("internal error (a bug in assetmill, please report it): {message}")
            }
            Error::Config { message, .. }
            | Error::Merge { message, .. }
            | Error::Decode { message, .. }
            | Error::UnsafePath { message, .. }
            | Error::Encode { message, .. } => message.clone(),
            Error::FrontMatter {
                line,
                column,
                message,
                ..
            } => match column {
                Some(c) => format!("line {line}, column {c}: {message}"),
                None => format!("line {line}: {message}"),
            },
            Error::Missing { .. } => "file not found".to_owned(),
            Error::Changed { .. } => "changed while the build ran (it was saved after the build \
                                      hashed it), so nothing was made from it and nothing about \
                                      it was cached; run the build again"
                .to_owned(),
            Error::Empty { .. } => "file is empty (0 bytes)".to_owned(),
            Error::FormatMismatch {
                expected, actual, ..
            } => format!("content is {actual} but the file name says {expected}"),
            Error::TooLarge {
                width,
                height,
                limit,
                ..
            } => format!("header claims {width}x{height} pixels, over the limit of {limit}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::outputs::names;
        match self {
            Error::Write { .. } => f.write_str(&names::text(&self.detail())),
            _ => write!(
                f,
                "{}: {}",
                names::path_text(self.path()),
                names::text(&self.detail())
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}
