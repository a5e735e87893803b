//! The object store itself: S3 or plain HTTP through `object_store`, on a
//! small tokio runtime of its own, behind a blocking interface the build
//! calls from its own threads. Every request is bounded (connect and
//! request timeouts, one retry), every download has a size limit checked
//! before and while its body is read, and background uploads are waited
//! for with a deadline. Nothing here knows what the objects mean.

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

pub struct Store {
    runtime: tokio::runtime::Runtime,
    inner: Arc<dyn ObjectStore>,
    /// Prepended to every name (`prefix/`), or empty.
    prefix: String,
    uploads: Arc<tokio::sync::Semaphore>,
    pending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Store {
    /// Opens the store at `location`: no request is made yet.
    ///
    /// S3 takes the standard variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// a web identity token), path-style requests, and plain `http://` for
    /// an endpoint that is. With no credentials in the environment,
    /// requests are unsigned (a public bucket), rather than asking a cloud
    /// metadata service that a CI runner may not have.
    pub fn open(location: &Location) -> Result<Store, String> {
        let client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(1))
            .with_timeout(Duration::from_secs(20))
            .with_allow_http(true);
        let retry = RetryConfig {
            max_retries: 1,
            retry_timeout: Duration::from_secs(3),
            ..RetryConfig::default()
        };
        let (inner, prefix): (Arc<dyn ObjectStore>, String) = match location {
            Location::S3 { bucket, prefix } => {
                let env = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
                let anonymous = !env("AWS_ACCESS_KEY_ID") && !env("AWS_WEB_IDENTITY_TOKEN_FILE");
                let region = std::env::var("AWS_REGION")
                    .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                    .unwrap_or_else(|_| "us-east-1".into());
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_skip_signature(anonymous)
                    .with_client_options(client)
                    .with_retry(retry)
                    .build()
                    .map_err(|e| e.to_string())?;
                (Arc::new(s3), prefix.clone())
            }
            Location::Http { base } => {
                let http = object_store::http::HttpBuilder::new()
                    .with_url(base)
                    .with_client_options(client)
                    .with_retry(retry)
                    .build()
                    .map_err(|e| e.to_string())?;
                (Arc::new(http), String::new())
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("assetmill-remote")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start its network threads: {e}"))?;
        Ok(Store {
            runtime,
            inner,
            prefix: if prefix.is_empty() {
                prefix
            } else {
                format!("{prefix}/")
            },
            uploads: Arc::new(tokio::sync::Semaphore::new(UPLOADS)),
            pending: Mutex::new(Vec::new()),
        })
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
        let gets = requests.iter().enumerate().map(|(i, (name, limit))| {
            let key = self.key(name);
            async move {
                if go() {
                    done(i, get(&*self.inner, &key, *limit).await);
                }
            }
        });
        self.runtime.block_on(
            futures::stream::iter(gets)
                .buffer_unordered(PARALLEL)
                .for_each(|()| async {}),
        );
    }

    /// The size of each named object (`None`: not there), like
    /// [`Store::get_each`].
    pub fn size_each(
        &self,
        names: &[String],
        go: &(dyn Fn() -> bool + Sync),
        done: &(dyn Fn(usize, Result<Option<u64>, Fault>) + Sync),
    ) {
        let heads = names.iter().enumerate().map(|(i, name)| {
            let key = self.key(name);
            async move {
                if go() {
                    done(i, size(&*self.inner, &key).await);
                }
            }
        });
        self.runtime.block_on(
            futures::stream::iter(heads)
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
        let inner = self.inner.clone();
        let uploads = self.uploads.clone();
        let keyed: Vec<(Key, Put)> = puts.into_iter().map(|p| (self.key(&p.name), p)).collect();
        let task = self.runtime.spawn(async move {
            let Ok(_permit) = uploads.acquire_owned().await else {
                return;
            };
            let mut stored = Vec::new();
            for (key, put) in keyed {
                if put.unless_present {
                    match size(&*inner, &key).await {
                        Ok(Some(n)) if n == put.bytes.len() as u64 => {
                            stored.push(Stored::Present);
                            continue;
                        }
                        Ok(_) => {}
                        Err(fault) => return done(stored, Some(fault)),
                    }
                }
                let n = put.bytes.len() as u64;
                match inner.put(&key, PutPayload::from(put.bytes)).await {
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
