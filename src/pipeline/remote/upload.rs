//! As each unit of a read-write build ends: what it made (not what it
//! fetched or reused) is stored in the background, each output's bytes
//! under their hash (skipped when the store has them) and then its record,
//! so a reader never finds a record before its bytes; and what decoding
//! learnt of each source the store may not have. Several machines storing
//! the same output store the same bytes under the same names: harmless.

use super::objects;
use super::requests::{Put, Stored};
use super::session::Remote;
use crate::error::Result;
use crate::pipeline::outcome::Made;
use crate::stages::decode::ImageInfo;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long the end of a build waits for its uploads (a stopped build:
/// [`WAIT_STOPPED`]).
pub const WAIT: Duration = Duration::from_secs(30);
pub const WAIT_STOPPED: Duration = Duration::from_secs(3);

/// Starts storing what a unit made (read back from `out`, and checked to
/// be what was recorded), and the facts of the sources it decoded that
/// were not `known` before (by content hash in `hashes`, under `limits`).
pub fn store(
    remote: &Arc<Remote>,
    out: &Path,
    made: &[Made],
    infos: &[(usize, Result<ImageInfo>)],
    known: &[Option<ImageInfo>],
    hashes: &[Option<String>],
    limits: &str,
) {
    if !remote.writes || !remote.up() {
        return;
    }
    for m in made {
        if !m.built || m.planned.fetched.is_some() || m.planned.inputs.is_empty() {
            continue;
        }
        let Ok(bytes) = crate::fsread::read_inside(out, &m.planned.path, m.file.bytes) else {
            continue;
        };
        if objects::check_blob(&bytes, &m.file).is_err() {
            // Changed since it was written: not this build's output.
            continue;
        }
        let puts = vec![
            Put {
                name: objects::blob_name(&m.file.hash),
                bytes,
                unless_present: true,
            },
            Put {
                name: objects::record_name(&m.planned),
                bytes: objects::record_bytes(&m.planned, &m.file),
                unless_present: true,
            },
        ];
        put(remote, puts);
    }
    for (s, info) in infos {
        if let (Ok(info), None, Some(hash)) = (info, known[*s], &hashes[*s]) {
            let puts = vec![Put {
                name: objects::source_name(hash, limits),
                bytes: objects::source_bytes(info),
                unless_present: true,
            }];
            put(remote, puts);
        }
    }
}

fn put(remote: &Arc<Remote>, puts: Vec<Put>) {
    let counted = remote.clone();
    remote.store.put_later(
        puts,
        Box::new(move |stored, fault| {
            for s in stored {
                if let Stored::Written(n) = s {
                    counted.count(|f| {
                        f.uploaded += 1;
                        f.uploaded_bytes += n;
                    });
                }
            }
            if let Some(fault) = fault {
                counted.failed("storing outputs", &fault);
            }
        }),
    );
}

/// Waits for every upload started, at most `limit`; says so when some
/// were left unfinished.
pub fn finish(remote: &Remote, limit: Duration) {
    if !remote.store.wait(limit) {
        remote.warn(
            None,
            format!(
                "remote cache: uploads still running after {} s were stopped; the next \
                 build stores those outputs",
                limit.as_secs()
            ),
        );
    }
}
