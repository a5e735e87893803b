//! The object store itself: S3 or plain HTTP through `object_store`, on a
//! small tokio runtime of its own, behind a blocking interface the build
//! calls from its own threads. Every request is bounded (connect and
//! request timeouts, one retry: tight for the small objects that tell
//! whether the store answers, looser for outputs' bytes), every download
//! has a size limit checked before and while its body is read, and
//! background uploads are waited for with a deadline. Nothing here knows
//! what the objects mean.

use super::requests::{Fault, Got, Put, Stored};
use crate::config::Location;
use futures::StreamExt;
use object_store::path::Path as Key;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests in flight at once, for lookups and downloads.
const PARALLEL: usize = 16;
/// Background uploads in flight at once.
const UPLOADS: usize = 8;
/// Downloads up to this size go through the lookup client.
const SMALL: u64 = 1 << 20;

/// How long a request may take: to connect, in all, and with its one
/// retry (which is not made past `retry`).
struct Bounds {
    connect: Duration,
    request: Duration,
    retry: Duration,
}

/// Small requests: a store that refuses connections fails each within
/// about 0.2 s, one that does not answer (a dropped route, a hung server)
/// within 2.5 s; the lookups run 16 at a time and three failures stop the
/// store's use, so a store that is down costs a build about that once.
const LOOKUP: Bounds = Bounds {
    connect: Duration::from_secs(1),
    request: Duration::from_millis(2500),
    retry: Duration::from_millis(2500),
};
/// Outputs' bytes (up to 256 MiB) either way.
const TRANSFER: Bounds = Bounds {
    connect: Duration::from_secs(1),
    request: Duration::from_secs(60),
    retry: Duration::from_secs(10),
};

pub struct Store {
    runtime: tokio::runtime::Runtime,
    /// For small objects (records, source facts, sizes): a failing store
    /// is known within [`LOOKUP`]'s bounds.
    lookups: Arc<dyn ObjectStore>,
    /// For outputs' bytes, both ways.
    transfers: Arc<dyn ObjectStore>,
    /// Prepended to every name (`prefix/`), or empty.
    prefix: String,
    uploads: Arc<tokio::sync::Semaphore>,
    pending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Store {
    /// Opens the store at `location` (see [`client`]): no request is made
    /// yet.
    pub fn open(location: &Location) -> Result<Store, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("assetmill-remote")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start its network threads: {e}"))?;
        let (lookups, prefix) = client(location, LOOKUP)?;
        let (transfers, _) = client(location, TRANSFER)?;
        Ok(Store {
            runtime,
            lookups,
            transfers,
            prefix: if prefix.is_empty() {
                prefix
            } else {
                format!("{prefix}/")
            },
            uploads: Arc::new(tokio::sync::Semaphore::new(UPLOADS)),
            pending: Mutex::new(Vec::new()),
        })
    }

    /// The client for a download of at most `limit` bytes.
    fn for_size(&self, limit: u64) -> &dyn ObjectStore {
        if limit <= SMALL {
            &*self.lookups
        } else {
            &*self.transfers
        }
    }

    fn key(&self, name: &str) -> Key {
        Key::from(format!("{}{name}", self.prefix))
    }

    /// Downloads each `(name, limit)`, [`PARALLEL`] at a time, calling
    /// `done` with its index as each ends. A request is not started once
    /// `go` says no (the store failed meanwhile): `done` is not called for
    /// it.
    pub fn get_each(
        &self,
        requests: &[(String, u64)],
        go: &(dyn Fn() -> bool + Sync),
        done: &(dyn Fn(usize, Result<Got, Fault>) + Sync),
    ) {
        self.each(requests.iter().enumerate().map(|(i, (name, limit))| {
            let key = self.key(name);
            async move {
                if go() {
                    done(i, get(self.for_size(*limit), &key, *limit).await);
                }
            }
        }));
    }

    /// The size of each named object (`None`: not there), like
    /// [`Store::get_each`].
    pub fn size_each(
        &self,
        names: &[String],
        go: &(dyn Fn() -> bool + Sync),
        done: &(dyn Fn(usize, Result<Option<u64>, Fault>) + Sync),
    ) {
        self.each(names.iter().enumerate().map(|(i, name)| {
            let key = self.key(name);
            async move {
                if go() {
                    done(i, size(&*self.lookups, &key).await);
                }
            }
        }));
    }

    /// Runs `requests`, [`PARALLEL`] at a time, until all have ended.
    fn each<F: std::future::Future<Output = ()>>(&self, requests: impl Iterator<Item = F>) {
        self.runtime.block_on(
            futures::stream::iter(requests)
                .buffer_unordered(PARALLEL)
                .for_each(|()| async {}),
        );
    }

    /// Stores `puts` in order, in the background, stopping at the first
    /// failure; `done` gets how each went (up to the failure). Returns at
    /// once; [`Store::wait`] waits for every upload started.
    pub fn put_later(
        &self,
        puts: Vec<Put>,
        done: Box<dyn FnOnce(Vec<Stored>, Option<Fault>) + Send>,
    ) {
        let (lookups, transfers) = (self.lookups.clone(), self.transfers.clone());
        let uploads = self.uploads.clone();
        let keyed: Vec<(Key, Put)> = puts.into_iter().map(|p| (self.key(&p.name), p)).collect();
        let task = self.runtime.spawn(async move {
            let Ok(_permit) = uploads.acquire_owned().await else {
                return;
            };
            let mut stored = Vec::new();
            for (key, put) in keyed {
                if put.unless_present {
                    match size(&*lookups, &key).await {
                        Ok(Some(n)) if n == put.bytes.len() as u64 => {
                            stored.push(Stored::Present);
                            continue;
                        }
                        Ok(_) => {}
                        Err(fault) => return done(stored, Some(fault)),
                    }
                }
                let n = put.bytes.len() as u64;
                match transfers.put(&key, PutPayload::from(put.bytes)).await {
                    Ok(_) => stored.push(Stored::Written(n)),
                    Err(e) => return done(stored, Some(fault(&e))),
                }
            }
            done(stored, None);
        });
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Waits for the uploads started so far, at most `limit`; returns
    /// false when some were still running (they are abandoned: a half
    /// upload is never visible, S3 stores an object whole or not at all).
    pub fn wait(&self, limit: Duration) -> bool {
        let tasks: Vec<_> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let all = futures::future::join_all(tasks);
        self.runtime
            .block_on(async { tokio::time::timeout(limit, all).await.is_ok() })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        for task in self
            .pending
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

/// An `object_store` client for `location` within `bounds`, and the key
/// prefix inside it.
///
/// S3 takes the standard variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, a web
/// identity token), path-style requests, and plain `http://` for an
/// endpoint that is. With no credentials in the environment, requests are
/// unsigned (a public bucket), rather than asking a cloud metadata service
/// that a CI runner may not have.
fn client(location: &Location, bounds: Bounds) -> Result<(Arc<dyn ObjectStore>, String), String> {
    let client = ClientOptions::new()
        .with_connect_timeout(bounds.connect)
        .with_timeout(bounds.request)
        .with_allow_http(true);
    let retry = RetryConfig {
        max_retries: 1,
        retry_timeout: bounds.retry,
        ..RetryConfig::default()
    };
    match location {
        Location::S3 { bucket, prefix } => {
            let env = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
            let anonymous = !env("AWS_ACCESS_KEY_ID") && !env("AWS_WEB_IDENTITY_TOKEN_FILE");
            // The AWS_* variables, as `AmazonS3Builder::from_env` reads
            // them (AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1),
            // but for empty ones (CI sets an unset secret or setting to
            // ""), which are no value.
            let mut s3 = object_store::aws::AmazonS3Builder::new();
            for (key, value) in std::env::vars() {
                if key.starts_with("AWS_")
                    && !value.trim().is_empty()
                    && let Ok(key) = key.to_ascii_lowercase().parse()
                {
                    s3 = s3.with_config(key, value);
                }
            }
            let s3 = s3
                .with_bucket_name(bucket)
                .with_skip_signature(anonymous)
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| e.to_string())?;
            Ok((Arc::new(s3), prefix.clone()))
        }
        Location::Http { base } => {
            let http = object_store::http::HttpBuilder::new()
                .with_url(base)
                .with_client_options(client)
                .with_retry(retry)
                .build()
                .map_err(|e| e.to_string())?;
            Ok((Arc::new(http), String::new()))
        }
    }
}

async fn get(store: &dyn ObjectStore, key: &Key, limit: u64) -> Result<Got, Fault> {
    let result = match store.get_opts(key, Default::default()).await {
        Ok(r) => r,
        Err(object_store::Error::NotFound { .. }) => return Ok(Got::Missing),
        Err(e) => return Err(fault(&e)),
    };
    if result.meta.size > limit {
        return Ok(Got::TooBig(result.meta.size));
    }
    let mut bytes = Vec::with_capacity(result.meta.size as usize);
    let mut body = result.into_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| fault(&e))?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Ok(Got::TooBig((bytes.len() + chunk.len()) as u64));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Got::Found(bytes))
}

async fn size(store: &dyn ObjectStore, key: &Key) -> Result<Option<u64>, Fault> {
    match store.head(key).await {
        Ok(meta) => Ok(Some(meta.size)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(fault(&e)),
    }
}

/// What went wrong, in one line. `object_store` errors name the request
/// and the store's answer; they carry no credentials (signatures are in
/// headers, which it does not print).
fn fault(e: &object_store::Error) -> Fault {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    Fault(line.chars().take(600).collect())
}
