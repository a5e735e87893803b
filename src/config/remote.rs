//! The `remote_cache:` section: where a shared cache of outputs lives, and
//! whether this build may add to it. Credentials are never here: they come
//! from the standard `AWS_*` variables (see the pipeline's remote cache).

use serde::{Deserialize, Serialize};

/// A shared cache behind `out/.assetmill`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteCacheOptions {
    /// `s3://bucket/prefix` (any S3-compatible store; the endpoint, region
    /// and keys come from `AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), or `https://host/path`
    /// (a cache published as static files: read-only). Default: none.
    pub url: Option<String>,
    /// `read-write`, `read-only` or `off`. Default: `read-write` (an
    /// `https://` cache is only ever read).
    pub mode: RemoteMode,
}

/// What a build does with the remote cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemoteMode {
    /// Fetch what it has, and store what this build makes.
    #[default]
    ReadWrite,
    /// Fetch what it has; never write (untrusted builds: pull requests).
    ReadOnly,
    /// Do not use it.
    Off,
}

impl RemoteMode {
    pub const ALL: [RemoteMode; 3] = [RemoteMode::ReadWrite, RemoteMode::ReadOnly, RemoteMode::Off];

    pub fn name(self) -> &'static str {
        match self {
            RemoteMode::ReadWrite => "read-write",
            RemoteMode::ReadOnly => "read-only",
            RemoteMode::Off => "off",
        }
    }

    /// Parses `read-write`, `read-only` or `off` (the variable's values).
    pub fn parse(text: &str) -> Option<RemoteMode> {
        Self::ALL.into_iter().find(|m| m.name() == text.trim())
    }
}

/// Where a remote cache is, as its URL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An S3 bucket, and the key prefix inside it (no leading or trailing
    /// `/`; may be empty).
    S3 { bucket: String, prefix: String },
    /// A plain HTTP(S) server; `base` ends without `/`.
    Http { base: String },
}

impl Location {
    /// Parses a remote cache URL, refusing what could leak or mislead:
    /// credentials in it (`user:key@`: they belong in the `AWS_*`
    /// variables, which are never printed), a query or fragment, and
    /// `.`/`..` segments.
    pub fn parse(url: &str) -> Result<Location, String> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("`{url}` is not a URL: write s3://bucket/prefix or https://host/path")
        })?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.contains('@') {
            return Err(
                "the URL holds credentials; give them in AWS_ACCESS_KEY_ID and \
                        AWS_SECRET_ACCESS_KEY instead (assetmill never prints those)"
                    .into(),
            );
        }
        if rest.contains(['?', '#']) {
            return Err("a query or fragment is not allowed in the URL".into());
        }
        if authority.is_empty() {
            return Err(format!("`{url}` names no bucket or host"));
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.iter().any(|s| *s == "." || *s == "..") {
            return Err(format!("`{url}`: `.` and `..` are not allowed in the path"));
        }
        let path = segments.join("/");
        match scheme.to_ascii_lowercase().as_str() {
            "s3" => Ok(Location::S3 {
                bucket: authority.to_owned(),
                prefix: path,
            }),
            s @ ("http" | "https") => {
                let base = if path.is_empty() {
                    format!("{s}://{authority}")
                } else {
                    format!("{s}://{authority}/{path}")
                };
                Ok(Location::Http { base })
            }
            other => Err(format!(
                "`{other}://` is not a remote cache assetmill reads: use s3:// (any \
                 S3-compatible store) or https:// (static files, read-only)"
            )),
        }
    }

    /// Whether the store can take writes (HTTP is read-only).
    pub fn writable(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Location::Http { base } => f.write_str(base),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_prefix_or_a_server() {
        assert_eq!(
            Location::parse("s3://site-cache/assetmill/").unwrap(),
            Location::S3 {
                bucket: "site-cache".into(),
                prefix: "assetmill".into()
            }
        );
        assert_eq!(
            Location::parse("s3://b").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        let http = Location::parse("http://127.0.0.1:8000/b/p/").unwrap();
        assert_eq!(
            http,
            Location::Http {
                base: "http://127.0.0.1:8000/b/p".into()
            }
        );
        assert!(!http.writable());
        assert_eq!(http.to_string(), "http://127.0.0.1:8000/b/p");
    }

    #[test]
    fn credentials_queries_dots_and_other_schemes_are_refused() {
        for (url, says) in [
            ("s3://KEY:hunter2@bucket/p", "credentials"),
            ("https://u:p@host/c", "credentials"),
            ("https://host/c?x-amz-signature=1", "query"),
            ("s3://b/../other", "`..`"),
            ("gs://b/p", "not a remote cache"),
            ("bucket/prefix", "not a URL"),
            ("s3:///p", "no bucket"),
        ] {
            let e = Location::parse(url).unwrap_err();
            assert!(e.contains(says), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn modes_read_as_written() {
        assert_eq!(RemoteMode::parse("read-only"), Some(RemoteMode::ReadOnly));
        assert_eq!(RemoteMode::parse("off"), Some(RemoteMode::Off));
        assert_eq!(RemoteMode::parse("rw"), None);
    }
}
